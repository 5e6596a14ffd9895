"""Readers and writers by format name, and format detection from a file's content."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

from tagger.choices import CONLL, CONLLU, FORMATS
from tagger.data import Sentence
from tagger.errors import InputError
from tagger.files import read_lines, strip_ending
from tagger.formats import conll, conllu

_DEFAULT_LABEL_COLUMN = {CONLL: conll.LAST, CONLLU: "upos"}


class CorpusStream(NamedTuple):
    """A corpus being read: its format, the label column read (None without labels) and the sentences."""

    format: str
    label_column: str | None
    sentences: Iterator[Sentence]


class Corpus(NamedTuple):
    """A corpus read into memory."""

    format: str
    label_column: str | None
    sentences: list[Sentence]


@dataclass(frozen=True)
class Layout:
    """Where a file's tokens and labels are: its format (None: detected), token and label columns."""

    format: str | None = None
    token_column: str | int = 1
    label_column: str | None = None  # None: the format's default (last column, or upos)
    # a column file with fewer columns than label_column has its labels in its last column
    # (a model's training column read on a file of another layout)
    last_if_missing: bool = False


def default_label_column(format_name: str) -> str:
    """The label column read when none is named: the last column, or UPOS."""
    return _DEFAULT_LABEL_COLUMN[format_name]


def looks_like_conllu(line: str) -> bool:
    """A CoNLL-U token line has 10 tab-separated fields and an integer, range or decimal id."""
    fields = strip_ending(line).split("\t")
    return len(fields) == conllu.FIELD_COUNT and conllu.ID_PATTERN.match(fields[0]) is not None


def _detect(head: list[tuple[int, str]]) -> str:
    for _, line in head:
        text = strip_ending(line).strip()
        if text and not text.startswith("#"):
            return CONLLU if looks_like_conllu(line) else CONLL
    return CONLL


def read_corpus(
    path: str,
    format_name: str | None = None,
    label_column: str | None = None,
    token_column: str | int = 1,
    with_labels: bool = True,
    last_if_missing: bool = False,
) -> CorpusStream:
    """Open a corpus as a stream of sentences.

    Returns the format (detected from the content unless given), the label column used
    (None when `with_labels` is false) and the sentence iterator. Reading stdin ("-")
    works, since detection only looks ahead within the stream. With `last_if_missing`, a
    column file whose first token line has fewer columns than `label_column` is read
    with its last column as the labels (the column returned says which).
    """
    lines = read_lines(path)
    head: list[tuple[int, str]] = []
    for item in lines:
        head.append(item)
        text = strip_ending(item[1]).strip()
        if text and not text.startswith("#"):
            break
    if format_name is None:
        format_name = _detect(head)
    if format_name not in FORMATS:
        raise InputError(path, None, f"unknown format {format_name!r}; expected one of {', '.join(FORMATS)}")
    if format_name == CONLL and head and conll.column_index(token_column, path) == 0 and looks_like_conllu(head[-1][1]):
        raise InputError(
            path,
            head[-1][0],
            "looks like CoNLL-U (10 tab-separated fields, an integer id first), but is read "
            "as a column file whose first column is the token: that would read the ids as "
            "tokens; use the conllu format (--format/--input-format conllu) or name "
            "the --token-column",
        )
    stream = itertools.chain(head, lines)
    column = (label_column or default_label_column(format_name)) if with_labels else None
    if column is not None and last_if_missing and format_name == CONLL and head:
        column = _present_column(column, strip_ending(head[-1][1]))
    columns = (column,) if column is not None else ()
    if format_name == CONLLU:
        sentences = conllu.read_conllu(stream, path, columns)
    else:
        sentences = conll.read_conll(stream, path, token_column, columns)
    return CorpusStream(format_name, column, _non_empty(sentences, path))


def _present_column(column: str, line: str) -> str:
    """`column`, or the line's last column (its number) when the line has fewer columns."""
    count = len(conll.split_fields(line, "\t" if "\t" in line else None))
    return str(count) if column.isdigit() and int(column) > count > 0 else column


def _non_empty(sentences: Iterator[Sentence], path: str) -> Iterator[Sentence]:
    seen = False
    for sentence in sentences:
        seen = True
        yield sentence
    if not seen:
        raise InputError(path, 1, "no sentences: the file is empty or has no token lines")


def read_layout(path: str, layout: Layout, with_labels: bool = True) -> CorpusStream:
    """`read_corpus` with the format and columns of a Layout."""
    return read_corpus(path, layout.format, layout.label_column, layout.token_column, with_labels, layout.last_if_missing)


def read_all(path: str, **options) -> Corpus:
    """The whole corpus in memory (for training), with its format and label column."""
    format_name, column, sentences = read_corpus(path, **options)
    return Corpus(format_name, column, list(sentences))


def write_corpus(
    sentences: Iterable[Sentence], stream: IO[str], format_name: str, label_key: str | None, label_column: str | None = None
) -> None:
    """Write sentences in a format; sentences read from a file come back byte for byte."""
    column = label_column or default_label_column(format_name)
    label_columns = [(label_key, column)] if label_key is not None else []
    if format_name == CONLLU:
        conllu.write_conllu(sentences, stream, label_columns)
    else:
        conll.write_conll(sentences, stream, label_columns)
