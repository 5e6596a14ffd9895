"""Scores of predicted labels against gold: token accuracy and conlleval span precision/recall/F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tagger.schemes import extract_spans


@dataclass
class SpanCounts:
    """Correct, predicted and gold span counts, overall and per type."""

    correct: Counter = field(default_factory=Counter)
    predicted: Counter = field(default_factory=Counter)
    gold: Counter = field(default_factory=Counter)

    def add(self, gold_tags: Sequence[str], predicted_tags: Sequence[str]) -> None:
        gold_spans = set(extract_spans(gold_tags))
        predicted_spans = set(extract_spans(predicted_tags))
        self.gold.update(span.label for span in gold_spans)
        self.predicted.update(span.label for span in predicted_spans)
        self.correct.update(span.label for span in gold_spans & predicted_spans)

    def scores(self, label: str | None = None) -> dict[str, float]:
        """Precision, recall and F1 in percent (micro over all types when `label` is None)."""
        pick = (lambda counts: sum(counts.values())) if label is None else (lambda counts: counts[label])
        correct, predicted, gold = pick(self.correct), pick(self.predicted), pick(self.gold)
        precision = 100.0 * correct / predicted if predicted else 0.0
        recall = 100.0 * correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Percent of tokens whose predicted label equals the gold label."""
    total = sum(len(tags) for tags in gold)
    right = sum(g == p for gold_tags, predicted_tags in zip(gold, predicted) for g, p in zip(gold_tags, predicted_tags))
    return 100.0 * right / total if total else 0.0


def dev_score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], spans: bool) -> dict[str, float]:
    """What training reports each epoch: accuracy, plus span micro P/R/F1 for span labels."""
    result = {"accuracy": token_accuracy(gold, predicted)}
    if spans:
        counts = SpanCounts()
        for gold_tags, predicted_tags in zip(gold, predicted):
            counts.add(gold_tags, predicted_tags)
        result.update({key: value for key, value in counts.scores().items() if key != "support"})
    return result
