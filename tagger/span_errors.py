"""Span errors in the MUC / SemEval-2013 categories, counted so that they reconcile with conlleval.

Every gold span falls in exactly one gold-side category and every predicted span in
exactly one predicted-side category, so the gold side sums to conlleval's gold count
and the predicted side to its "found" count; `correct` is conlleval's correct count.
A span that is not matched exactly is classified by the spans of the other side it
overlaps: one with the same boundaries (wrong type), else one of the same type (wrong
boundaries), else any (wrong both); with no overlap it is missed (gold) or spurious
(predicted).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from tagger.schemes import Span, extract_spans

CORRECT, WRONG_TYPE, WRONG_BOUNDARIES, WRONG_BOTH = "correct", "wrong_type", "wrong_boundaries", "wrong_both"
MISSED, SPURIOUS = "missed", "spurious"
GOLD_SIDE = (CORRECT, WRONG_TYPE, WRONG_BOUNDARIES, WRONG_BOTH, MISSED)
PREDICTED_SIDE = (CORRECT, WRONG_TYPE, WRONG_BOUNDARIES, WRONG_BOTH, SPURIOUS)
ERROR_CATEGORIES = (WRONG_TYPE, WRONG_BOUNDARIES, WRONG_BOTH, MISSED, SPURIOUS)


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _category(span: Span, exact: set[Span], others: list[Span], unmatched: str) -> str:
    if span in exact:
        return CORRECT
    overlapping = [other for other in others if _overlaps(span, other)]
    if not overlapping:
        return unmatched
    if any(other.start == span.start and other.end == span.end for other in overlapping):
        return WRONG_TYPE
    if any(other.label == span.label for other in overlapping):
        return WRONG_BOUNDARIES
    return WRONG_BOTH


def classify(gold_tags: Sequence[str], predicted_tags: Sequence[str]) -> tuple[list[tuple[Span, str]], list[tuple[Span, str]]]:
    """The category of each gold span and of each predicted span of one sentence."""
    gold, predicted = extract_spans(gold_tags), extract_spans(predicted_tags)
    exact = set(gold) & set(predicted)
    return (
        [(span, _category(span, exact, predicted, MISSED)) for span in gold],
        [(span, _category(span, exact, gold, SPURIOUS)) for span in predicted],
    )


class SpanErrors:
    """Category counts over a corpus (overall and per span type) and the first example sentences of each error."""

    def __init__(self, examples: int = 5) -> None:
        self.examples_wanted = examples
        self.gold: Counter = Counter()
        self.predicted: Counter = Counter()
        self.gold_by_type: defaultdict[str, Counter] = defaultdict(Counter)
        self.predicted_by_type: defaultdict[str, Counter] = defaultdict(Counter)
        self.examples: dict[str, list[int]] = {category: [] for category in ERROR_CATEGORIES}

    def add(self, sentence: int, gold_tags: Sequence[str], predicted_tags: Sequence[str]) -> None:
        gold, predicted = classify(gold_tags, predicted_tags)
        for span, category in gold:
            self.gold[category] += 1
            self.gold_by_type[span.label][category] += 1
        for span, category in predicted:
            self.predicted[category] += 1
            self.predicted_by_type[span.label][category] += 1
        for category in {category for _, category in gold + predicted} - {CORRECT}:
            if len(self.examples[category]) < self.examples_wanted:
                self.examples[category].append(sentence)

    def to_json(self) -> dict:
        """Counts: `gold` sums to the gold spans, `predicted` to the predicted ones; per type likewise."""
        types = sorted(set(self.gold_by_type) | set(self.predicted_by_type))
        return {
            "gold": {category: self.gold[category] for category in GOLD_SIDE},
            "predicted": {category: self.predicted[category] for category in PREDICTED_SIDE},
            "per_type": {
                label: {
                    "gold": {category: self.gold_by_type[label][category] for category in GOLD_SIDE},
                    "predicted": {category: self.predicted_by_type[label][category] for category in PREDICTED_SIDE},
                }
                for label in types
            },
        }


def span_errors(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], examples: int = 5) -> SpanErrors:
    """The span error categories of a corpus."""
    errors = SpanErrors(examples)
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        errors.add(index, gold_tags, predicted_tags)
    return errors
