"""Pretrained word vectors from text files: GloVe, word2vec text format, fastText `.vec`."""

from __future__ import annotations

from pathlib import Path

from tagger.errors import InputError
from tagger.files import read_lines


def read_vectors(path: str | Path, lowercase: bool) -> tuple[list[str], list[list[float]]]:
    """Words and vectors of a text file, one `word v1 v2 ...` per line.

    A first line of two integers (word count and dimension, as word2vec and fastText
    write) is skipped. With `lowercase`, the first vector of each lowercased word wins.
    """
    words: list[str] = []
    vectors: list[list[float]] = []
    seen: set[str] = set()
    dimension: int | None = None
    for number, line in read_lines(path):
        fields = line.rstrip().split(" ")
        if number == 1 and len(fields) == 2 and all(field.isdigit() for field in fields):
            continue
        if len(fields) < 2:
            continue
        if dimension is None:
            dimension = len(fields) - 1
        if len(fields) - 1 != dimension:
            raise InputError(path, number, f"expected {dimension} numbers after the word, found {len(fields) - 1}")
        word = fields[0].lower() if lowercase else fields[0]
        if word in seen:
            continue
        try:
            vectors.append([float(value) for value in fields[1:]])
        except ValueError:
            raise InputError(path, number, "a vector value is not a number") from None
        seen.add(word)
        words.append(word)
    if not words:
        raise InputError(path, 1, "no vectors found")
    return words, vectors
