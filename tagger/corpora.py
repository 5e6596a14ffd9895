"""What `tagger corpora` does, callable from Python: statistics and scheme conversion."""

from __future__ import annotations

from collections.abc import Iterator

from tagger import schemes
from tagger.data import CorpusStats, Sentence, corpus_stats, first_invalid_span_tag
from tagger.files import atomic_output, check_output
from tagger.formats import read_corpus, write_corpus


def stats(path: str, format_name: str | None = None, label_column: str | None = None, token_column: str | int = 1) -> CorpusStats:
    """Sentence, token, label and entity counts of one corpus file."""
    _, column, sentences = read_corpus(path, format_name, label_column, token_column)
    return corpus_stats(sentences, column, path)


def convert(
    source: str,
    target: str,
    scheme: str,
    format_name: str | None = None,
    label_column: str | None = None,
    token_column: str | int = 1,
    force: bool = False,
) -> int:
    """Write `source` to `target` with its span labels in `scheme`; returns the sentence count.

    Every byte but the label column stays as it was. The target is written atomically,
    so a failure leaves no partial file (and an existing target untouched); an existing
    target is replaced only with `force`.
    """
    scheme = schemes.normalise_scheme_name(scheme)
    check_output(target, [source], force)
    detected, column, sentences = read_corpus(source, format_name, label_column, token_column)
    count = 0

    def converted() -> Iterator[Sentence]:
        nonlocal count
        for sentence in sentences:
            invalid = first_invalid_span_tag(sentence, column)
            if invalid is not None:
                raise schemes.invalid_tag_error(source, invalid[1], invalid[0], scheme)
            sentence.labels[column] = schemes.convert(sentence.labels[column], scheme)
            count += 1
            yield sentence

    with atomic_output(target) as stream:
        write_corpus(converted(), stream, detected, column, column)
    return count
