"""What `tagger corpora` does, callable from Python: statistics and scheme conversion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tagger import schemes
from tagger.data import Sentence
from tagger.files import atomic_output, check_output
from tagger.formats import Layout, read_corpus, read_layout, write_corpus


@dataclass
class CorpusStats:
    """What `tagger corpora stats` reports for one label column."""

    sentences: int = 0
    tokens: int = 0
    labels: Counter = field(default_factory=Counter)
    scheme: str | None = None
    entities: Counter = field(default_factory=Counter)
    ill_formed: int = 0  # I- tags that start a span in an IOB2 file (each read as the start of a span)
    ill_formed_lines: list[int] = field(default_factory=list)  # the lines of the first few

    def as_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "labels": dict(sorted(self.labels.items())),
            "scheme": self.scheme,
            "ill_formed_tags": self.ill_formed,
            "ill_formed_lines": self.ill_formed_lines,
            "entities": dict(sorted(self.entities.items())),
            "entity_total": sum(self.entities.values()),
        }


def corpus_stats(sentences: Iterable[Sentence], label_column: str | None, path: str = "") -> CorpusStats:
    """Count sentences, tokens, labels and, for span labels, entities per type (streaming).

    Raises InputError at the first tag that is not valid in a span-labelled column.
    """
    stats = CorpusStats()
    detector = schemes.SchemeDetector()
    entities: Counter = Counter()
    first_odd: Sentence | None = None  # the first sentence with a tag that is no span tag
    for sentence in sentences:
        stats.sentences += 1
        stats.tokens += len(sentence)
        if label_column is None:
            continue
        tags = sentence.labels[label_column]
        stats.labels.update(tags)
        detector.observe(tags, sentence.line_number)
        entities.update(span.label for span in schemes.extract_spans(tags))
        if first_odd is None and schemes.first_invalid_tag(tags) is not None:
            first_odd = sentence
    if label_column is not None and schemes.is_span_labelling(stats.labels):
        stats.scheme = detector.scheme
        stats.ill_formed, stats.ill_formed_lines = detector.ill_formed, detector.inside_start_lines
        stats.entities = entities
        schemes.check_span_tags([first_odd] if first_odd else [], label_column, path, stats.scheme)
    return stats


def stats(path: str, format_name: str | None = None, label_column: str | None = None, token_column: str | int = 1) -> CorpusStats:
    """Sentence, token, label and entity counts of one corpus file."""
    _, column, sentences = read_corpus(path, format_name, label_column, token_column)
    return corpus_stats(sentences, column, path)


def convert_file(source: str, target: str, scheme: str, layout: Layout | None = None, force: bool = False) -> int:
    """Write `source` to `target` with its span labels in `scheme`; returns the sentence count.

    Every byte but the label column stays as it was. The target is written atomically,
    so a failure leaves no partial file (and an existing target untouched); an existing
    target is replaced only with `force`.
    """
    scheme = schemes.normalise_scheme_name(scheme)
    check_output(target, [source], force)
    detected, column, sentences = read_layout(source, layout or Layout())
    count = 0

    def converted() -> Iterator[Sentence]:
        nonlocal count
        for sentence in sentences:
            schemes.check_span_tags([sentence], column, source, scheme)
            sentence.labels[column] = schemes.convert(sentence.labels[column], scheme)
            count += 1
            yield sentence

    with atomic_output(target) as stream:
        write_corpus(converted(), stream, detected, column, column)
    return count
