"""The sentence every reader produces and every writer consumes, and corpus statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tagger import schemes


@dataclass
class RawLines:
    """The sentence's lines exactly as read, so that a writer can give them back.

    `lines` holds every line that belongs to the sentence (comments, `-DOCSTART-`,
    multiword-token and empty-node lines, blank separators), each with its line ending;
    `token_rows[i]` is the index in `lines` of token i; `separator` is the column
    separator (None: runs of white space).
    """

    lines: list[str]
    token_rows: list[int]
    first_line_number: int = 1
    separator: str | None = "\t"


@dataclass
class Sentence:
    """Tokens, their label columns and, for round trips, the lines they came from."""

    tokens: list[str]
    labels: dict[str, list[str]] = field(default_factory=dict)
    raw: RawLines | None = None
    offsets: list[tuple[int, int]] | None = None
    text: str | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def line_number(self, token_index: int) -> int | None:
        """The 1-based input line of a token, where the sentence came from a file."""
        if self.raw is None:
            return None
        return self.raw.first_line_number + self.raw.token_rows[token_index]


@dataclass
class CorpusStats:
    """What `tagger corpora stats` reports for one label column."""

    sentences: int = 0
    tokens: int = 0
    labels: Counter = field(default_factory=Counter)
    scheme: str | None = None
    entities: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "labels": dict(sorted(self.labels.items())),
            "scheme": self.scheme,
            "entities": dict(sorted(self.entities.items())),
            "entity_total": sum(self.entities.values()),
        }


def first_invalid_span_tag(sentence: Sentence, column: str) -> tuple[str, int | None] | None:
    """The first tag of a sentence that is no span tag, with its input line; None if all are valid."""
    for index, tag in enumerate(sentence.labels[column]):
        if not schemes.is_valid_tag(tag):
            return tag, sentence.line_number(index)
    return None


def corpus_stats(sentences: Iterable[Sentence], label_column: str | None, path: str = "") -> CorpusStats:
    """Count sentences, tokens, labels and, for span labels, entities per type (streaming).

    Raises InputError at the first tag that is not valid in a span-labelled column.
    """
    stats = CorpusStats()
    detector = schemes.SchemeDetector()
    entities: Counter = Counter()
    odd_tags: dict[str, int | None] = {}
    for sentence in sentences:
        stats.sentences += 1
        stats.tokens += len(sentence)
        if label_column is None:
            continue
        tags = sentence.labels[label_column]
        stats.labels.update(tags)
        detector.observe(tags)
        entities.update(span.label for span in schemes.extract_spans(tags))
        for index, tag in enumerate(tags):
            if tag not in odd_tags and not schemes.is_valid_tag(tag):
                odd_tags[tag] = sentence.line_number(index)
    if label_column is not None and schemes.is_span_labelling(stats.labels):
        stats.scheme = detector.scheme
        stats.entities = entities
        schemes.raise_on_invalid_tags(odd_tags, stats.scheme, path)
    return stats
