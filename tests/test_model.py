"""Parts of the network on their own."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tagger.dropout import Dropout
from tagger.model import CharCNN
from tagger.recurrent import bidirectional


def test_char_cnn_features_of_a_word_do_not_depend_on_the_other_words_in_its_batch():
    torch.manual_seed(0)
    encoder = CharCNN(chars=40, dim=8, hidden=12)
    words = [[5], [3, 7, 9, 2, 11, 4, 8, 6, 1, 3, 3, 12], [1, 2], [39] * 5]
    width = max(map(len, words)) + 3
    together = encoder(torch.tensor([word + [0] * (width - len(word)) for word in words]))
    for row, word in enumerate(words):
        # the definition: the best of each filter over the word's own windows, zero-padded at both ends
        windows = encoder.conv(encoder.embedding(torch.tensor([word])).transpose(1, 2))[0]
        torch.testing.assert_close(together[row], windows.max(dim=1).values)


def tiny_model(crf):
    from tagger.config import ModelConfig
    from tagger.model import TaggerModel

    torch.manual_seed(0)
    config = ModelConfig(word_dim=4, case_dim=2, char_dim=3, char_hidden=3, hidden=4, crf=crf, dropout=0.0, word_dropout=0.0)
    return TaggerModel(config, 10, 10, ["B-MISC", "B-PER", "I-MISC", "I-PER", "O"], "IOB2" if crf else None)


def partial_batch():
    from tagger.batching import Encoded, collate

    # sentence 1 comes from a corpus without MISC: its O tokens may also be B-MISC (0) or I-MISC (2)
    partial = Encoded([2, 3, 4], [1, 1, 1], [[2], [3], [4]], [1, 4, 4], open_label=4, also_allowed=(0, 2))
    full = Encoded([5, 6], [1, 1], [[5], [6]], [4, 1])
    return collate([partial, full], [0, 1])


def test_partial_batches_allow_the_unannotated_tags_only_where_the_label_is_o():
    batch = partial_batch()
    no, yes = False, True
    assert batch.allowed[0].tolist() == [[no, yes, no, no, no], [yes, no, yes, no, yes], [yes, no, yes, no, yes]]
    assert batch.allowed[1, :2].sum(dim=1).tolist() == [1, 1]  # the fully labelled sentence: its own label only


def test_softmax_partial_loss_is_minus_log_of_the_allowed_probability():
    model = tiny_model(crf=False).eval()
    batch = partial_batch()
    emissions = model(batch)
    probabilities = emissions.softmax(dim=2)
    allowed = torch.nn.functional.pad(batch.allowed, (0, 5 - batch.allowed.size(2)))
    expected = -sum(
        torch.log((probabilities[b, t] * allowed[b, t]).sum()) for b in range(2) for t in range(int(batch.lengths[b]))
    )
    assert torch.allclose(model.loss(batch), expected / 2, atol=1e-5)


def test_the_lstm_run_without_packing_gives_the_packed_states_and_gradients():
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True)
    inputs = torch.randn(3, 6, 5, requires_grad=True)
    lengths = torch.tensor([6, 2, 4])
    real = torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=6)
    (expected_gradient,) = torch.autograd.grad(expected[real].square().sum(), inputs)
    states = bidirectional(rnn, inputs, lengths)
    (gradient,) = torch.autograd.grad(states[real].square().sum(), inputs)
    assert torch.allclose(states, expected, atol=1e-6)  # padding included: 0 in both
    assert torch.allclose(gradient, expected_gradient, atol=1e-6)


def test_dropout_zeroes_about_its_share_and_keeps_the_expected_value_while_training_only():
    torch.manual_seed(0)
    dropout = Dropout(0.3)
    values = torch.ones(200, 500)
    dropped = dropout(values)
    assert (dropped == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert dropped[dropped != 0].unique().tolist() == [pytest.approx(1 / 0.7)]
    assert dropped.mean().item() == pytest.approx(1.0, abs=0.02)
    dropout.eval()
    assert torch.equal(dropout(values), values)
