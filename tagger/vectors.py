"""Pretrained word vectors: text files (GloVe, word2vec text format, fastText `.vec`) and named sources.

A named source is a vectors package from the registry (`glove-6b-50d`: the `tagger[glove]`
extra), checked against its known shape and digests before use. Whatever the source, a
table is kept as float16 values (the form a model directory stores), so a model trained
on it scores the same once saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tagger.errors import InputError, TaggerError
from tagger.files import read_lines
from tagger.vector_sources import NAMED_SOURCES, NamedSource, checked_folder


@dataclass
class VectorTable:
    """Words and their vectors (rows, dim), float32 holding float16 values; `lowercase`: looked up lowercased."""

    words: list[str]
    matrix: torch.Tensor
    source: str
    lowercase: bool

    @property
    def dim(self) -> int:
        return self.matrix.size(1)


def load_table(source: str, lowercase: bool) -> VectorTable:
    """The vectors of a named source or a text file, rounded to float16 values."""
    if source in NAMED_SOURCES:
        return _load_named(NAMED_SOURCES[source])
    words, rows = read_vectors(source, lowercase)
    matrix = _half_rounded(torch.tensor(rows, dtype=torch.float32))
    if not bool(torch.isfinite(matrix).all()):
        row = int((~torch.isfinite(matrix)).any(dim=1).nonzero()[0])
        raise TaggerError(f"{source}: the vector of {words[row]!r} has a value beyond +-65,504 (float16), or NaN")
    return VectorTable(words, matrix, Path(source).name, lowercase)


def _half_rounded(matrix: torch.Tensor) -> torch.Tensor:
    return matrix.to(torch.float16).to(torch.float32)


def _load_named(named: NamedSource) -> VectorTable:
    folder = checked_folder(named)
    import numpy
    import pyarrow.parquet

    matrix = numpy.load(folder / named.matrix_file, allow_pickle=False)
    words = pyarrow.parquet.read_table(folder / named.words_file).column(0).to_pylist()
    if tuple(matrix.shape) != named.shape or len(words) != named.shape[0] or str(matrix.dtype) != "float32":
        raise TaggerError(f"{folder}: {named.name} is not the expected table ({named.shape[0]:,} x {named.shape[1]} float32)")
    tensor = torch.from_numpy(numpy.ascontiguousarray(matrix))
    return VectorTable(words, _half_rounded(tensor), named.name, named.lowercase)


def read_vectors(path: str | Path, lowercase: bool) -> tuple[list[str], list[list[float]]]:
    """Words and vectors of a text file, one `word v1 v2 ...` per line (separated by spaces or tabs).

    A first line of two integers (word count and dimension, as word2vec and fastText
    write) is skipped. With `lowercase`, the first vector of each lowercased word wins.
    """
    words: list[str] = []
    vectors: list[list[float]] = []
    seen: set[str] = set()
    dimension: int | None = None
    for number, line in read_lines(path):
        fields = line.rstrip().replace("\t", " ").split(" ")  # tab-separated files (spreadsheet exports) too
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
