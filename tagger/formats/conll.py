"""CoNLL-2003 style column files: one token per line, columns split by spaces or tabs.

Blank lines end sentences, `-DOCSTART-` lines end documents (they are kept for writing
back, never read as sentences). A line starting with `#` before a sentence's first token
is a comment only where it cannot be a token row: it has the `# key = value` form, or
another number of columns than the file's token rows. Tweets start with `#` tokens
(`#\tO`, `#FF\tO`), and dropping them would lose data and break the tags after them;
the first such line kept as a token is reported once (a `FormatNotice` warning).
Columns are counted from 1, as `cut -f` counts; "last" (or -1) is the last column.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from tagger.data import RawLines, Sentence
from tagger.errors import InputError
from tagger.files import BOM, strip_ending

DOCSTART = "-DOCSTART-"
LAST = "last"
_FIELD = re.compile(r"\S+")
_METADATA = re.compile(r"#\s*[\w.:-]+\s*=(\s|$)")  # "# sent_id = 3", "# text = ...", "# newdoc id = x"
_NEWDOC = re.compile(r"#\s*newdoc(\s|$)")


class FormatNotice(UserWarning):
    """Something a reader decided that the user should know once (the CLI prints it as `warning: ...`)."""


def _is_comment(text: str, separator: str | None, expected_columns: int | None, first_field_of_row: bool) -> bool:
    """Whether a line starting with `#` before a sentence's first token is a comment rather than a token row."""
    stripped = text.strip()
    if _METADATA.match(stripped) or _NEWDOC.match(stripped):
        return True
    if expected_columns is None:
        # before any token row: a tab-separated `#...` line with more than one column reads as a token
        return not (first_field_of_row and "\t" in text and len(text.split("\t")) > 1)
    return len(split_fields(text, separator)) != expected_columns


def column_index(spec: str | int, path: str = "") -> int:
    """The 0-based (or negative) index for a 1-based column number, "last" or -1."""
    text = str(spec).strip().lower()
    if text == LAST:
        return -1
    try:
        number = int(text)
    except ValueError:
        raise InputError(path, None, f"column {spec!r} is not a number or 'last'") from None
    if number == 0:
        raise InputError(path, None, "columns are counted from 1 (as `cut -f` counts); 0 is not a column")
    return number - 1 if number > 0 else number


def split_fields(text: str, separator: str | None) -> list[str]:
    """The columns of a line: split on tabs when the file uses tabs, else on white space."""
    return text.split(separator) if separator else text.split()


def _is_docstart(stripped: str, token_index: int) -> bool:
    """Whether a line marks a document: -DOCSTART- first, or in the token column (an id column before it)."""
    fields = stripped.split()
    return fields[0] == DOCSTART or (0 <= token_index < len(fields) and fields[token_index] == DOCSTART)


class _SentenceBuilder:
    """Collects the lines of one sentence while the file is read."""

    def __init__(self, first_line_number: int) -> None:
        self.lines: list[str] = []
        self.token_rows: list[int] = []
        self.tokens: list[str] = []
        self.labels: list[list[str]] = []
        self.first_line_number = first_line_number

    def build(self, label_columns: Sequence[str], separator: str | None) -> Sentence:
        labels = {name: [row[i] for row in self.labels] for i, name in enumerate(label_columns)}
        raw = RawLines(self.lines, self.token_rows, self.first_line_number, separator)
        return Sentence(self.tokens, labels, raw)


def read_conll(
    lines: Iterable[tuple[int, str]],
    path: str,
    token_column: str | int = 1,
    label_columns: Sequence[str] = (LAST,),
) -> Iterator[Sentence]:
    """Sentences of a column file, read as a stream of (line number, line) pairs."""
    token_index = column_index(token_column, path)
    label_indexes = [column_index(spec, path) for spec in label_columns]
    separator: str | None = None
    expected_columns: int | None = None
    current = _SentenceBuilder(1)
    finished: Sentence | None = None
    hash_tokens_noted = False
    for number, line in lines:
        text = strip_ending(line)
        stripped = text.strip()
        breaks = not stripped or _is_docstart(stripped, token_index)  # a blank line or a document marker
        if current.tokens and breaks:
            if not stripped:
                current.lines.append(line)
            if finished is not None:
                yield finished
            finished = current.build(label_columns, separator)
            current = _SentenceBuilder(number + 1 if not stripped else number)
            if not stripped:
                continue
        if breaks:
            current.lines.append(line)
            continue
        if stripped.startswith("#") and not current.tokens:
            if _is_comment(text, separator, expected_columns, not text[:1].isspace()):
                current.lines.append(line)
                continue
            if not hash_tokens_noted:
                hash_tokens_noted = _note_hash_token(path, number)
        if expected_columns is None:
            separator = "\t" if "\t" in text else None
        fields = split_fields(text, separator)
        if expected_columns is None:
            expected_columns = len(fields)
            _check_columns_exist(path, number, fields, token_index, label_indexes, label_columns, token_column)
        elif len(fields) != expected_columns:
            raise InputError(path, number, f"expected {expected_columns} columns like the first token line, found {len(fields)}")
        current.token_rows.append(len(current.lines))
        current.lines.append(line)
        current.tokens.append(fields[token_index])
        current.labels.append([fields[i] for i in label_indexes])
    if current.tokens:
        if finished is not None:
            yield finished
        finished = current.build(label_columns, separator)
    elif finished is not None and finished.raw is not None:
        finished.raw.lines.extend(current.lines)
    if finished is not None:
        yield finished


def _note_hash_token(path: str, number: int) -> bool:
    """Say once per file that a '#' line is read as a token row; True, the file's flag from now on."""
    warnings.warn(
        f"{path}:{number}: a line starting with '#' has the columns of a token row, so it is read as a "
        "token, not a comment (comments are '# key = value' lines or have another number of columns)",
        FormatNotice,
        stacklevel=3,
    )
    return True


def _check_columns_exist(
    path: str,
    number: int,
    fields: list[str],
    token_index: int,
    label_indexes: list[int],
    label_columns: Sequence[str],
    token_column: str | int,
) -> None:
    count = len(fields)
    if not -count <= token_index < count:
        raise InputError(path, number, f"token column {token_column} does not exist: the line has {count} columns")
    for index, spec in zip(label_indexes, label_columns):
        if not -count <= index < count:
            raise InputError(path, number, f"label column {spec} does not exist: the line has {count} columns")


def replace_field(line: str, index: int, value: str, separator: str | None) -> str:
    """The line with one column replaced (or appended when it is one past the last)."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    bom = BOM if body.startswith(BOM) else ""
    body = body[len(bom) :]
    if separator:
        parts = body.split(separator)
        if index == len(parts):
            parts.append(value)
        else:
            parts[index] = value
        return bom + separator.join(parts) + ending
    spans = [match.span() for match in _FIELD.finditer(body)]
    if index == len(spans):
        return bom + body + " " + value + ending
    start, end = spans[index]
    return bom + body[:start] + value + body[end:] + ending


def write_conll(sentences: Iterable[Sentence], stream: IO[str], label_columns: Sequence[tuple[str, str | int]] = ()) -> None:
    """Write sentences back; for sentences read from a file only the given label columns change.

    `label_columns` pairs a sentence's label key with the column to write it in (1-based;
    one past the last column adds a column); plain token lists get the labels in order.
    """
    for sentence in sentences:
        if sentence.raw is None:
            _write_plain(sentence, stream, [key for key, _ in label_columns])
            continue
        lines = list(sentence.raw.lines)
        for label_key, label_column in label_columns:
            index = column_index(label_column)
            for token, row in enumerate(sentence.raw.token_rows):
                lines[row] = replace_field(lines[row], index, sentence.labels[label_key][token], sentence.raw.separator)
        stream.write("".join(lines))


def _write_plain(sentence: Sentence, stream: IO[str], label_keys: Sequence[str]) -> None:
    for index, token in enumerate(sentence.tokens):
        stream.write("\t".join([token, *(sentence.labels[key][index] for key in label_keys)]) + "\n")
    stream.write("\n")
