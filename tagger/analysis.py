"""Error analysis beyond the scores: token confusion matrix, known versus unknown words, example sentences.

`details` adds to a report of `metrics.build_report` what a person looks at to find
errors; everything is JSON, so the HTML report and `--json` show the same figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tagger.metrics import is_span_report
from tagger.span_errors import ERROR_CATEGORIES, SpanErrors, span_errors

MAX_MATRIX_LABELS = 30  # beyond this a heatmap is unreadable; rarer labels are folded into OTHER
OTHER = "(other)"
CONFUSION_EXAMPLE_PAIRS = 5  # token labels: examples of this many of the most frequent confusions


def confusion_matrix(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Token counts: `counts[i][j]` tokens of gold label `labels[i]` predicted as `labels[j]`.

    Labels are ordered by gold frequency (then predicted); past MAX_MATRIX_LABELS the
    rarest are counted together as "(other)".
    """
    pairs = Counter((g, p) for gold_tags, predicted_tags in zip(gold, predicted) for g, p in zip(gold_tags, predicted_tags))
    frequency: Counter = Counter()
    for (g, p), count in pairs.items():
        frequency[g] += count
        frequency[p] += 0  # a label only ever predicted still gets a row and a column
    labels = [label for label, _ in sorted(frequency.items(), key=lambda item: (-item[1], item[0]))]
    if len(labels) > MAX_MATRIX_LABELS:
        labels = labels[: MAX_MATRIX_LABELS - 1] + [OTHER]
    index = {label: position for position, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for (g, p), count in pairs.items():
        counts[index.get(g, len(labels) - 1)][index.get(p, len(labels) - 1)] += count
    return {"labels": labels, "counts": counts}


def known_word_accuracy(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], known: Sequence[Sequence[bool]]
) -> dict[str, dict[str, float]]:
    """Token accuracy on words in the model's vocabulary and on the others."""
    tokens, right = Counter(), Counter()
    for gold_tags, predicted_tags, flags in zip(gold, predicted, known):
        for g, p, is_known in zip(gold_tags, predicted_tags, flags):
            group = "known" if is_known else "unknown"
            tokens[group] += 1
            right[group] += g == p
    return {
        group: {"tokens": tokens[group], "accuracy": 100.0 * right[group] / tokens[group] if tokens[group] else 0.0}
        for group in ("known", "unknown")
    }


def _example(category: str, index: int, tokens: Sequence[str], gold: Sequence[str], predicted: Sequence[str]) -> dict:
    return {"category": category, "sentence": index + 1, "tokens": list(tokens), "gold": list(gold), "predicted": list(predicted)}


def span_examples(
    token_lists: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], errors: SpanErrors
) -> list[dict]:
    """The example sentences `errors` collected for each span error category (first in file order)."""
    return [
        _example(category, i, token_lists[i], gold[i], predicted[i])
        for category in ERROR_CATEGORIES
        for i in errors.examples[category]
    ]


def confusion_examples(
    token_lists: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    confusions: Sequence[dict],
    per_category: int,
) -> list[dict]:
    """Up to `per_category` sentences for each of the most frequent token confusions."""
    examples = []
    for confusion in confusions[:CONFUSION_EXAMPLE_PAIRS]:
        pair, taken = (confusion["gold"], confusion["predicted"]), 0
        for i, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
            if taken == per_category:
                break
            if pair in zip(gold_tags, predicted_tags):
                examples.append(_example(f"{pair[0]} -> {pair[1]}", i, token_lists[i], gold_tags, predicted_tags))
                taken += 1
    return examples


def details(
    report: dict,
    token_lists: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    known: Sequence[Sequence[bool]] | None = None,
    examples: int = 5,
) -> dict:
    """The report with `confusion_matrix`, `examples`, for span labels `span_errors`, and (given `known`) `known_words`.

    The error categories and their examples come from one pass (`span_errors.SpanErrors`).
    """
    extra: dict = {}
    if is_span_report(report):
        errors = span_errors(gold, predicted, examples)
        extra["span_errors"] = errors.to_json()
        sentences = span_examples(token_lists, gold, predicted, errors)
    else:
        sentences = confusion_examples(token_lists, gold, predicted, report["confusions"], examples)
    extra.update(confusion_matrix=confusion_matrix(gold, predicted), examples=sentences)
    if known is not None:
        extra["known_words"] = known_word_accuracy(gold, predicted, known)
    return {**report, **extra}
