"""A character language model's files, and the character sequences a tagger feeds it, without torch.

`tagger pretrain` (tagger.pretrain) writes a directory holding char_lm.json (the characters,
the sizes and how it was trained) and char_lm.safetensors: a character embedding, one
bidirectional LSTM layer stored as torch's nn.LSTM stores it (the `_reverse` direction
reads the text backwards) and each direction's output layer, which predicts the next
(or previous) character. A tagger with `model.char_lm` copies the embedding and the LSTM
into its own weights when training starts, frozen, and reads for each word the forward
state at the space after it and the backward state at the space before it (Akbik et al.
2018). The model directory is self-contained: the LM's directory is not read again.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from tagger.model_definition import read_arrays
from tagger.model_files import ModelDirError, read_json_object
from tagger.network import recurrent_shapes
from tagger.vocab import PAD_ID

LM_CONFIG = "char_lm.json"
LM_WEIGHTS = "char_lm.safetensors"
LM_UNKNOWN, LM_SPACE = 0, 1  # the LM's own character ids: unknown characters, and the space between words
MAX_LM_CHARS = 100_000
MAX_LM_SIZE = 8192
_KEYS = {"format_version", "chars", "dim", "hidden", "training"}


class CharLM(NamedTuple):
    """A trained character LM: its characters (id 0 unknown, id 1 the space), sizes, training record and weights."""

    chars: list[str]
    dim: int
    hidden: int
    training: dict
    arrays: dict[str, np.ndarray]


def lm_shapes(chars: int, dim: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """The LM's parameters by stored name: embedding, bidirectional LSTM, the two directions' output layers."""
    return {
        "embedding.weight": (chars, dim),
        **recurrent_shapes("lstm", "lstm", dim, hidden, 1),
        "forward_output.weight": (chars, hidden),
        "forward_output.bias": (chars,),
        "backward_output.weight": (chars, hidden),
        "backward_output.bias": (chars,),
    }


def read_char_lm(directory: str | Path) -> CharLM:
    """A pretrained LM directory, every file checked; damage or absence is one ModelDirError line."""
    directory = Path(directory)
    if not (directory / LM_CONFIG).is_file():
        raise ModelDirError(f"{directory}: not a character language model directory (no {LM_CONFIG}; see tagger pretrain)")
    data = read_json_object(directory / LM_CONFIG)
    chars, dim, hidden = data.get("chars"), data.get("dim"), data.get("hidden")
    if (
        set(data) != _KEYS
        or data["format_version"] != 1
        or not isinstance(chars, list)
        or not 2 < len(chars) <= MAX_LM_CHARS
        or not all(isinstance(char, str) and len(char) == 1 for char in chars[1:])
        or chars[LM_SPACE] != " "
        or len(set(chars)) != len(chars)
        or not all(isinstance(size, int) and not isinstance(size, bool) and 0 < size <= MAX_LM_SIZE for size in (dim, hidden))
        or not isinstance(data["training"], dict)
    ):
        raise ModelDirError(
            f"{directory / LM_CONFIG}: expected format_version 1, distinct single characters (the second ' '), dim and hidden"
        )
    expected = {name: (shape, "float32") for name, shape in lm_shapes(len(chars), dim, hidden).items()}
    arrays = read_arrays(directory / LM_WEIGHTS, expected) if (directory / LM_WEIGHTS).is_file() else None
    if arrays is None:
        raise ModelDirError(f"{directory}: the language model's weights ({LM_WEIGHTS}) are missing")
    return CharLM(chars, dim, hidden, data["training"], arrays)


def lm_description(chars: list[str], dim: int, hidden: int, training: dict) -> dict:
    """The content of char_lm.json."""
    return {"format_version": 1, "chars": chars, "dim": dim, "hidden": hidden, "training": training}


def embedding_for(lm: CharLM, tagger_chars: list[str]) -> np.ndarray:
    """The LM's character embedding re-indexed by a tagger's character ids: (tagger chars, dim).

    The tagger's padding id reads the LM's space (it separates the words of a sentence);
    a character the LM never saw, and the tagger's unknown id, read the LM's unknown row.
    """
    lm_ids = {char: index for index, char in enumerate(lm.chars) if index != LM_UNKNOWN}
    rows = [lm_ids.get(char, LM_UNKNOWN) for char in tagger_chars]
    rows[PAD_ID] = LM_SPACE
    return lm.arrays["embedding.weight"][np.asarray(rows, dtype=np.int64)]


class SentenceSequences(NamedTuple):
    """A batch's sentences as character sequences ` w1 w2 ... wn ` and where each word's features are read.

    ids (batch, length): tagger character ids, 0 (the LM's space) before, between and after
    the words, and as padding past each sentence's length; lengths (batch,); after and before
    (tokens,): flat positions in (batch * length) of the space after and the space before each
    token, tokens in the order of the batch's mask (row-major).
    """

    ids: np.ndarray
    lengths: np.ndarray
    after: np.ndarray
    before: np.ndarray


def sentence_sequences(chars: np.ndarray, mask: np.ndarray) -> SentenceSequences:
    """chars (tokens, max characters) 0-padded tagger ids of the real tokens; mask (batch, time) -> the sequences."""
    word_lengths = (chars != 0).sum(axis=1)
    sentence_of = np.nonzero(mask)[0]  # each token's sentence
    # every word followed by one space: "w1 _ w2 _ ...", all sentences one after another
    with_space = np.pad(chars, ((0, 0), (0, 1)))
    flat = with_space[np.arange(with_space.shape[1])[None] <= word_lengths[:, None]]
    token_start = np.concatenate([[0], np.cumsum(word_lengths + 1)[:-1]]).astype(np.int64)
    batch = mask.shape[0]
    tokens_per_sentence = mask.sum(axis=1)
    first_token = np.concatenate([[0], np.cumsum(tokens_per_sentence)[:-1]]).astype(np.int64)
    sentence_chars = np.zeros(batch, np.int64)
    np.add.at(sentence_chars, sentence_of, word_lengths + 1)
    sentence_start = np.zeros(batch, np.int64)
    present = tokens_per_sentence > 0
    sentence_start[present] = token_start[first_token[present]]
    lengths = sentence_chars + 1  # the leading space
    length = int(lengths.max()) if batch else 1
    owner = np.repeat(sentence_of, word_lengths + 1)
    position = np.arange(len(flat)) - sentence_start[owner] + 1
    ids = np.zeros((batch, length), dtype=chars.dtype)
    ids[owner, position] = flat
    start_in_sentence = token_start - sentence_start[sentence_of] + 1
    row = sentence_of * length
    return SentenceSequences(ids, lengths, row + start_in_sentence + word_lengths, row + start_in_sentence - 1)
