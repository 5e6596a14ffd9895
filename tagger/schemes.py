"""Span tagging schemes: IOB1, IOB2 and IOBES detection, conversion and span extraction.

Spans are read with the chunk rules of conlleval (as extended for IOBES tags by its
widely used Python port), so counts agree with the CoNLL shared-task scorer whatever the
scheme and however ill-formed a prediction is (an `I-PER` after `O` opens a span).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tagger.data import Sentence
from tagger.errors import InputError

OUTSIDE = "O"
IOB1, IOB2, IOBES = "IOB1", "IOB2", "IOBES"
SCHEMES = (IOB1, IOB2, IOBES)
SPAN_TAG = re.compile(r"^([BIES])-(\S.*)$")


@dataclass(frozen=True, order=True)
class Span:
    """A typed span of tokens, `start` inclusive and `end` exclusive."""

    start: int
    end: int
    label: str


def split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER", ("O", "") for "O"; like conlleval, the prefix is what stands
    before the first hyphen, so an odd tag such as "PER" is ("PER", "")."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, type_ = tag.partition("-")
    return prefix, type_


def is_valid_tag(tag: str) -> bool:
    """Whether a tag is `O` or a prefix (B, I, E, S), a hyphen and a type."""
    return tag == OUTSIDE or SPAN_TAG.match(tag) is not None


def is_span_labelling(label_counts: Counter) -> bool:
    """Whether a label column holds span tags (NER, chunks) rather than token labels (POS).

    A column is taken as span labels when most of its tokens are `O` or prefixed tags;
    the rest are then errors (`X-PER`, `B-`) rather than labels of their own.
    """
    total = sum(label_counts.values())
    valid = sum(count for tag, count in label_counts.items() if is_valid_tag(tag))
    return total > 0 and valid * 2 >= total


_PREFIXES = {IOB1: "IB", IOB2: "BI", IOBES: "BIES"}


def span_labels(tags: Iterable[str], scheme: str | None = None) -> list[str]:
    """O and every tag of the span types in `tags`, written in `scheme` (None: every prefix, B, I, E, S)."""
    types = sorted({split_tag(tag)[1] for tag in tags if tag != OUTSIDE})
    prefixes = _PREFIXES.get(scheme, "BIES") if scheme is not None else "BIES"
    return [OUTSIDE] + [f"{prefix}-{kind}" for kind in types for prefix in prefixes]


def first_invalid_tag(tags: Sequence[str]) -> int | None:
    """The index of the first tag that is no span tag (`X-PER`, `B-`), or None."""
    return next((index for index, tag in enumerate(tags) if not is_valid_tag(tag)), None)


def check_span_tags(sentences: Iterable[Sentence], column: str, path: str, scheme: str) -> None:
    """Raise InputError, naming the file, line and tag, at the first tag of `column` that is no span tag."""
    for sentence in sentences:
        index = first_invalid_tag(sentence.labels[column])
        if index is not None:
            tag = sentence.labels[column][index]
            problem = f"tag {tag!r} is not valid in the {scheme} scheme (expected O or B-, I-, E-, S- and a type)"
            raise InputError(path, sentence.line_number(index), problem)


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE):
        return True
    return prev_prefix != OUTSIDE and prev_type != type_


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in ("E", "S", OUTSIDE):
        return True
    return prefix != OUTSIDE and prev_type != type_


def without_types(tags: Sequence[str], types: Iterable[str]) -> list[str]:
    """Tags with every span of the given types made O (the other spans are unchanged)."""
    dropped = set(types)
    return [OUTSIDE if split_tag(tag)[1] in dropped else tag for tag in tags]


def extract_spans(tags: Sequence[str]) -> list[Span]:
    """The typed spans of a tag sequence, read with conlleval's chunk rules."""
    spans: list[Span] = []
    start: int | None = None
    prev_prefix, prev_type = OUTSIDE, ""
    for index, tag in enumerate([*tags, OUTSIDE]):
        prefix, type_ = split_tag(tag)
        if start is not None and _chunk_ends(prev_prefix, prefix, prev_type, type_):
            spans.append(Span(start, index, prev_type))
            start = None
        if _chunk_starts(prev_prefix, prefix, prev_type, type_):
            start = index
        prev_prefix, prev_type = prefix, type_
    return spans


def encode_spans(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Tags in `scheme` for non-overlapping spans over `length` tokens."""
    tags = [OUTSIDE] * length
    previous: Span | None = None
    for span in sorted(spans):
        size = span.end - span.start
        for index in range(span.start, span.end):
            tags[index] = f"I-{span.label}"
        if scheme == IOB2:
            tags[span.start] = f"B-{span.label}"
        elif scheme == IOB1:
            touches_same_type = previous is not None and previous.end == span.start and previous.label == span.label
            if touches_same_type:
                tags[span.start] = f"B-{span.label}"
        elif scheme == IOBES:
            if size == 1:
                tags[span.start] = f"S-{span.label}"
            else:
                tags[span.start] = f"B-{span.label}"
                tags[span.end - 1] = f"E-{span.label}"
        else:
            raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
        previous = span
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """The same spans written in another scheme."""
    return encode_spans(extract_spans(tags), len(tags), scheme)


MAX_LINES_NAMED = 5  # ill-formed tags whose lines a warning names


class SchemeDetector:
    """Works out the scheme of a column one sentence at a time (streaming), by the evidence.

    E- or S- tags make IOBES. Otherwise the span starts decide: IOB1 starts spans with I-
    (B- only between two spans of one type), IOB2 with B-. A file whose spans mostly start
    with B- (more than with I-) is IOB2 even with a few I- tags after O or another type: those are ill-formed
    (`ill_formed`, the lines of the first few in `ill_formed_lines`), and each starts a span,
    as conlleval and IOB2 readers take them.
    """

    def __init__(self) -> None:
        self.has_end_or_single = False
        self.begin_starts = 0
        self.inside_starts = 0
        self.inside_start_lines: list[int] = []

    def observe(self, tags: Sequence[str], line_number: Callable[[int], int] | None = None) -> None:
        """Count the span starts of one sentence; `line_number(index)` says where a token is, for warnings."""
        prev_prefix, prev_type = OUTSIDE, ""
        for index, tag in enumerate(tags):
            prefix, type_ = split_tag(tag)
            if prefix in ("E", "S"):
                self.has_end_or_single = True
            elif prefix == "B":
                self.begin_starts += 1
            elif prefix == "I" and (prev_prefix == OUTSIDE or prev_type != type_):
                self.inside_starts += 1
                if line_number is not None and len(self.inside_start_lines) < MAX_LINES_NAMED:
                    self.inside_start_lines.append(line_number(index))
            prev_prefix, prev_type = prefix, type_

    @property
    def scheme(self) -> str:
        if self.has_end_or_single:
            return IOBES
        return IOB1 if self.inside_starts and self.inside_starts >= self.begin_starts else IOB2

    @property
    def ill_formed(self) -> int:
        """I- tags that start a span in a file read as IOB2."""
        return self.inside_starts if self.scheme == IOB2 else 0

    def warning(self, path: str) -> str | None:
        """One line on the ill-formed tags of an IOB2 file, or None."""
        if not self.ill_formed:
            return None
        lines = ", ".join(map(str, self.inside_start_lines))
        more = ", ..." if self.ill_formed > len(self.inside_start_lines) else ""
        return (
            f"{path}: {self.ill_formed:,} I- tag(s) follow O or another type (line {lines}{more}) in a file whose "
            f"{self.begin_starts:,} other spans start with B-: read as IOB2, each of them starting a span"
        )


def detect_scheme(sequences: Iterable[Sequence[str]]) -> str:
    """IOBES if E- or S- tags occur; else IOB1 if at least as many spans start with I- as with B-, else IOB2."""
    detector = SchemeDetector()
    for tags in sequences:
        detector.observe(tags)
    return detector.scheme


def detect_file_scheme(sentences: Iterable[Sentence], column: str) -> SchemeDetector:
    """The scheme evidence of a file's label column, with the lines of ill-formed tags."""
    detector = SchemeDetector()
    for sentence in sentences:
        detector.observe(sentence.labels[column], sentence.line_number)
    return detector


def normalise_scheme_name(name: str) -> str:
    """Accept iob1, iob2, iobes, bioes (any case) and return the canonical name."""
    upper = name.upper()
    if upper == "BIOES":
        return IOBES
    if upper not in SCHEMES:
        raise ValueError(f"unknown tagging scheme {name!r}; expected iob1, iob2 or iobes")
    return upper


def allowed_transition(previous: str | None, current: str | None, scheme: str) -> bool:
    """Whether tag `current` may follow `previous` in a well-formed sequence.

    None stands for the sentence start (as `previous`) or end (as `current`).
    """
    prev_prefix, prev_type = split_tag(previous) if previous is not None else (OUTSIDE, "")
    prefix, type_ = split_tag(current) if current is not None else (OUTSIDE, "")
    continues = prev_type == type_ and prev_prefix != OUTSIDE
    if scheme == IOB1:
        return prefix != "B" or continues
    if scheme == IOB2:
        return prefix != "I" or continues
    prev_open = prev_prefix in ("B", "I")
    if prefix in ("I", "E"):
        return prev_open and continues
    return not prev_open
