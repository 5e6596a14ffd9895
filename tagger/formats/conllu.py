"""CoNLL-U files, parsed field by field with the `conllu` package.

Labels come from one word per integer id: multiword-token lines (`1-2`) and empty nodes
(`8.1`) carry no label but stay in the sentence's raw lines, so that writing a file
back changes nothing but the predicted column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from conllu.exceptions import ParseException
from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS, parse_id_value

from tagger.data import RawLines, Sentence
from tagger.errors import InputError
from tagger.files import strip_ending

FIELD_COUNT = len(DEFAULT_FIELDS)
FORM_INDEX = DEFAULT_FIELDS.index("form")
MISC_INDEX = DEFAULT_FIELDS.index("misc")
ID_PATTERN = re.compile(r"^(\d+|\d+-\d+|\d+\.\d+)$")


def field_index(column: str) -> int | None:
    """The 0-based index of a named or numbered CoNLL-U field; None for a MISC key."""
    name = column.strip().lower()
    if name in ("upostag", "xpostag"):
        name = name[:-3]
    if name in DEFAULT_FIELDS:
        return DEFAULT_FIELDS.index(name)
    if name.isdigit() and 1 <= int(name) <= FIELD_COUNT:
        return int(name) - 1
    return None


def read_misc(misc: str) -> dict[str, str]:
    """The key=value pairs of a MISC field (`_` is empty)."""
    if misc == "_":
        return {}
    pairs = (item.partition("=") for item in misc.split("|"))
    return {key: value for key, _, value in pairs}


def write_misc(misc: str, key: str, value: str) -> str:
    """A MISC field with one key set, other items kept in their order."""
    items = [] if misc == "_" else misc.split("|")
    for position, item in enumerate(items):
        if item.partition("=")[0] == key:
            items[position] = f"{key}={value}"
            return "|".join(items)
    return "|".join([*items, f"{key}={value}"])


def _label(fields: list[str], column: str, path: str, number: int) -> str:
    index = field_index(column)
    if index is not None:
        return fields[index]
    misc = read_misc(fields[MISC_INDEX])
    if column not in misc:
        raise InputError(path, number, f"label column {column!r} is neither a CoNLL-U field nor a key in MISC")
    return misc[column]


def _word_id(fields: list[str], path: str, number: int) -> int | tuple:
    try:
        word_id = parse_id_value(fields[0])
    except ParseException:
        word_id = None
    if word_id is None:
        raise InputError(path, number, f"invalid CoNLL-U id {fields[0]!r}: expected an integer, a range 1-2 or a decimal 8.1")
    return word_id


def read_conllu(lines: Iterable[tuple[int, str]], path: str, label_columns: Sequence[str] = ("upos",)) -> Iterator[Sentence]:
    """Sentences of a CoNLL-U file, one token per word, read as a stream."""
    raw_lines: list[str] = []
    token_rows: list[int] = []
    tokens: list[str] = []
    labels: list[list[str]] = []
    first = 1
    for number, line in lines:
        text = strip_ending(line)
        raw_lines.append(line)
        if not text.strip():
            if tokens:
                yield Sentence(tokens, _columns(labels, label_columns), RawLines(raw_lines, token_rows, first, "\t"))
                raw_lines, token_rows, tokens, labels, first = [], [], [], [], number + 1
            continue
        if text.startswith("#") and not tokens:
            continue
        fields = text.split("\t")
        if len(fields) != FIELD_COUNT:
            raise InputError(path, number, f"expected {FIELD_COUNT} tab-separated CoNLL-U fields, found {len(fields)}")
        if not isinstance(_word_id(fields, path, number), int):
            continue
        token_rows.append(len(raw_lines) - 1)
        tokens.append(fields[FORM_INDEX])
        labels.append([_label(fields, column, path, number) for column in label_columns])
    if tokens:
        yield Sentence(tokens, _columns(labels, label_columns), RawLines(raw_lines, token_rows, first, "\t"))
    elif raw_lines and any(strip_ending(line).strip() for line in raw_lines):
        raise InputError(path, first, "comment lines with no token lines after them")


def _columns(rows: list[list[str]], names: Sequence[str]) -> dict[str, list[str]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _set_label(line: str, column: str, value: str) -> str:
    body = line.rstrip("\r\n")
    fields = body.split("\t")
    index = field_index(column)
    if index is None:
        fields[MISC_INDEX] = write_misc(fields[MISC_INDEX], column, value)
    else:
        fields[index] = value
    return "\t".join(fields) + line[len(body) :]


def write_conllu(sentences: Iterable[Sentence], stream: IO[str], label_columns: Sequence[tuple[str, str]] = ()) -> None:
    """Write sentences; for those read from a file only the given label columns change.

    `label_columns` pairs a sentence's label key with a CoNLL-U field (`upos`, `xpos`, ...)
    or, for any other name, a MISC key.
    """
    for sentence in sentences:
        if sentence.raw is None:
            stream.write(serialize_new(sentence, label_columns))
            continue
        lines = list(sentence.raw.lines)
        for label_key, label_column in label_columns:
            for token, row in enumerate(sentence.raw.token_rows):
                lines[row] = _set_label(lines[row], label_column, sentence.labels[label_key][token])
        stream.write("".join(lines))


def serialize_new(
    sentence: Sentence, label_columns: Sequence[tuple[str, str]] = (), metadata: dict[str, str] | None = None
) -> str:
    """A CoNLL-U block for a sentence that did not come from a CoNLL-U file.

    `metadata` comes first (`newdoc id`, `sent_id`), then `# text`; a token written with
    no space after it in the input gets `SpaceAfter=No`, so the text can be rebuilt.
    """
    glued = _glued_to_next(sentence)
    words = []
    for position, form in enumerate(sentence.tokens, start=1):
        token = Token({name: "_" for name in DEFAULT_FIELDS})
        misc = {"SpaceAfter": "No"} if glued[position - 1] else {}
        token.update(id=position, form=form)
        for label_key, label_column in label_columns:
            label = sentence.labels[label_key][position - 1]
            index = field_index(label_column)
            if index is None:
                misc[label_column] = label
            else:
                token[DEFAULT_FIELDS[index]] = label
        token["misc"] = misc or None
        words.append(token)
    header = dict(metadata or {})
    if sentence.text is not None:
        header["text"] = " ".join(sentence.text.split())
    return TokenList(words, header).serialize()


def _glued_to_next(sentence: Sentence) -> list[bool]:
    """For each token, whether the next one follows it with no space between (never for the last)."""
    if sentence.offsets is None:
        return [False] * len(sentence)
    ends = [end for _, end in sentence.offsets[:-1]]
    starts = [start for start, _ in sentence.offsets[1:]]
    return [end == start for end, start in zip(ends, starts)] + [False]
