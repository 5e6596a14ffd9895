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
