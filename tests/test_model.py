"""Parts of the network on their own."""

import torch

from tagger.model import CharCNN


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
