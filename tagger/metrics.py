"""Scores of predicted against gold labels: conlleval spans, seqeval strict spans, token accuracy, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tagger.schemes import IOB2, convert, detect_scheme, extract_spans


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
        return _prf(pick(self.correct), pick(self.predicted), pick(self.gold))


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Percent of tokens whose predicted label equals the gold label."""
    total = sum(len(tags) for tags in gold)
    right = sum(g == p for gold_tags, predicted_tags in zip(gold, predicted) for g, p in zip(gold_tags, predicted_tags))
    return 100.0 * right / total if total else 0.0


def dev_score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], spans: bool) -> dict[str, float]:
    """What training reports each epoch: accuracy, plus span micro P/R/F1 for span labels."""
    result = {"accuracy": token_accuracy(gold, predicted)}
    if spans:
        scores = conlleval_spans(gold, predicted)
        result.update({key: scores[key] for key in ("precision", "recall", "f1")})
    return result


def _prf(correct: int, predicted: int, gold: int) -> dict[str, float]:
    precision = 100.0 * correct / predicted if predicted else 0.0
    recall = 100.0 * correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def _averages(per_label: dict[str, dict[str, float]], micro: dict[str, float]) -> dict[str, dict[str, float]]:
    """Micro (given), macro (unweighted mean) and support-weighted averages of a per-label table."""
    labels = list(per_label.values())
    support = sum(row["support"] for row in labels)
    keys = ("precision", "recall", "f1")
    macro = {key: sum(row[key] for row in labels) / len(labels) if labels else 0.0 for key in keys}
    weighted = {key: sum(row[key] * row["support"] for row in labels) / support if support else 0.0 for key in keys}
    return {"micro": micro, "macro": {**macro, "support": support}, "weighted": {**weighted, "support": support}}


def token_label_table(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Per-label precision, recall and F1 over tokens (for POS-like labels)."""
    correct, guessed, expected = Counter(), Counter(), Counter()
    for gold_tags, predicted_tags in zip(gold, predicted):
        for g, p in zip(gold_tags, predicted_tags):
            expected[g] += 1
            guessed[p] += 1
            if g == p:
                correct[g] += 1
    return {label: _prf(correct[label], guessed[label], expected[label]) for label in sorted(set(expected) | set(guessed))}


def confusions(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], top: int = 10) -> list[dict]:
    """The most frequent (gold, predicted) token errors."""
    errors = Counter((g, p) for gt, pt in zip(gold, predicted) for g, p in zip(gt, pt) if g != p)
    return [{"gold": g, "predicted": p, "count": count} for (g, p), count in errors.most_common(top)]


def conlleval_spans(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Span scores exactly as conlleval counts them (also for ill-formed predictions)."""
    counts = SpanCounts()
    for gold_tags, predicted_tags in zip(gold, predicted):
        counts.add(gold_tags, predicted_tags)
    types = sorted(set(counts.gold) | set(counts.predicted))
    per_type = {label: counts.scores(label) for label in types}
    micro = counts.scores()
    return {
        **{key: micro[key] for key in ("precision", "recall", "f1")},
        "spans": {
            "correct": sum(counts.correct.values()),
            "predicted": sum(counts.predicted.values()),
            "gold": sum(counts.gold.values()),
        },
        "per_type": per_type,
        "averages": _averages(per_type, micro),
    }


def strict_spans(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str) -> dict:
    """seqeval's strict mode: a span counts only if its tags are well-formed in `scheme`."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2 as SEQEVAL_IOB2
    from seqeval.scheme import IOBES as SEQEVAL_IOBES

    seqeval_scheme = {IOB2: SEQEVAL_IOB2, "IOBES": SEQEVAL_IOBES}[scheme]
    if detect_scheme(gold) != scheme:
        # gold in another scheme (CoNLL-2003 is IOB1): predictions made in that scheme are re-encoded with it;
        # with gold already in `scheme`, predictions are scored as they are, so ill-formed tags count as errors
        gold = [convert(tags, scheme) for tags in gold]
        predicted = [convert(tags, scheme) for tags in predicted]
    table = classification_report(gold, predicted, mode="strict", scheme=seqeval_scheme, output_dict=True, zero_division=0)

    def percent(row: dict) -> dict[str, float]:
        return {
            "precision": 100 * row["precision"],
            "recall": 100 * row["recall"],
            "f1": 100 * row["f1-score"],
            "support": int(row["support"]),
        }

    averages = {
        "micro": percent(table.pop("micro avg")),
        "macro": percent(table.pop("macro avg")),
        "weighted": percent(table.pop("weighted avg")),
    }
    per_type = {label: percent(row) for label, row in sorted(table.items())}
    micro = averages["micro"]
    return {
        "precision": micro["precision"],
        "recall": micro["recall"],
        "f1": micro["f1"],
        "per_type": per_type,
        "averages": averages,
    }


def build_report(
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    spans: bool,
    mode: str = "conlleval",
    scheme: str | None = None,
) -> dict:
    """The full report of `tagger evaluate` and `tagger score` (percentages).

    `mode` conlleval (alias default) counts spans as conlleval does; strict is seqeval's strict mode in `scheme`.
    """
    mode = "conlleval" if mode == "default" else mode
    report: dict = {
        "sentences": len(gold),
        "tokens": sum(len(tags) for tags in gold),
        "accuracy": token_accuracy(gold, predicted),
    }
    token_table = token_label_table(gold, predicted)
    if spans:
        span_scores = conlleval_spans(gold, predicted) if mode == "conlleval" else strict_spans(gold, predicted, scheme)
        report.update(mode="conlleval" if mode == "conlleval" else f"strict {scheme}", **span_scores)
        report["scheme"] = detect_scheme(gold)
        report["per_label"] = span_scores["per_type"]
        report["per_tag"] = token_table
    else:
        report["per_label"] = token_table
        report["averages"] = _averages(
            token_table,
            {
                "precision": report["accuracy"],
                "recall": report["accuracy"],
                "f1": report["accuracy"],
                "support": report["tokens"],
            },
        )
    report["confusions"] = confusions(gold, predicted)
    return report


def is_span_report(report: dict) -> bool:
    """Whether a report (or a dict of scores) scores span labels: it has span F1, not only token accuracy."""
    return "f1" in report


def main_metric(report: dict) -> str:
    """The name of a report's main score: "f1" for span labels, "accuracy" for token labels; "score" for the mean
    of dev files scored by heads of both kinds (F1 and accuracy)."""
    if "score" in report:
        return "score"
    return "f1" if is_span_report(report) else "accuracy"


def main_score(scores: dict[str, float]) -> float:
    """The main score (main_metric) of a report or dev scores: what early stopping, "best" and comparisons follow."""
    return scores[main_metric(scores)]
