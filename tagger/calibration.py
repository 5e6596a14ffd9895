"""Whether confidences mean what they say: expected calibration error, reliability bins, thresholds (torch-free).

A confidence c is calibrated when, of all the predictions given about c, a share c are
right. Expected calibration error (ECE) is the gap between confidence and accuracy in
equal-width bins, weighted by how many predictions fall in each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BINS = 10
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class Bin:
    """Predictions with a confidence in [low, high): how many, their mean confidence, the share right."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> list[Bin]:
    """Equal-width bins over [0, 1] (a confidence of 1 falls in the last), empty ones included."""
    counts, sums, rights = [0] * bins, [0.0] * bins, [0] * bins
    for confidence, right in zip(confidences, correct):
        index = min(int(confidence * bins), bins - 1)
        counts[index] += 1
        sums[index] += confidence
        rights[index] += bool(right)
    return [
        Bin(
            index / bins,
            (index + 1) / bins,
            count,
            sums[index] / count if count else 0.0,
            rights[index] / count if count else 0.0,
        )
        for index, count in enumerate(counts)
    ]


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """Sum over bins of (share of predictions in the bin) x |mean confidence - accuracy|; 0 for no predictions."""
    total = len(confidences)
    if total == 0:
        return 0.0
    return sum(item.count / total * abs(item.confidence - item.accuracy) for item in reliability(confidences, correct, bins))


@dataclass(frozen=True)
class ThresholdRow:
    """The predicted spans kept at confidence >= threshold, and the scores if only those were output."""

    threshold: float
    kept: int
    precision: float
    recall: float
    f1: float


def threshold_rows(
    confidences: Sequence[float], correct: Sequence[bool], gold_count: int, thresholds: Sequence[float] = THRESHOLDS
) -> list[ThresholdRow]:
    """Precision, recall and F1 (in %) of the predictions with confidence >= each threshold."""
    rows = []
    for threshold in thresholds:
        kept = [right for confidence, right in zip(confidences, correct) if confidence >= threshold]
        right = sum(kept)
        precision = 100.0 * right / len(kept) if kept else 0.0
        recall = 100.0 * right / gold_count if gold_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(ThresholdRow(threshold, len(kept), precision, recall, f1))
    return rows


def curve(confidences: Sequence[float], correct: Sequence[bool], gold_count: int, points: int = 21) -> list[ThresholdRow]:
    """threshold_rows at `points` thresholds evenly over [0, 1], for the precision-recall chart."""
    return threshold_rows(confidences, correct, gold_count, [index / (points - 1) for index in range(points)])


def log_loss(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean negative log-likelihood of being right with probability c, wrong with 1 - c (clipped away from 0 and 1)."""
    total = 0.0
    for confidence, right in zip(confidences, correct):
        probability = min(max(confidence if right else 1.0 - confidence, 1e-12), 1.0)
        total -= math.log(probability)
    return total / max(len(confidences), 1)


def calibration_summary(confidences: Sequence[float], correct: Sequence[bool], gold_count: int | None = None) -> dict:
    """What a report says about one kind of confidence: count, ECE, reliability bins, and (for spans) thresholds."""
    summary = {
        "count": len(confidences),
        "ece": expected_calibration_error(confidences, correct),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else 0.0,
        "accuracy": sum(map(bool, correct)) / len(correct) if correct else 0.0,
        "bins": [vars(item) for item in reliability(confidences, correct)],
    }
    if gold_count is not None:
        summary["thresholds"] = [vars(row) for row in threshold_rows(confidences, correct, gold_count)]
        summary["curve"] = [vars(row) for row in curve(confidences, correct, gold_count)]
    return summary


def judged_spans(
    span_confidences: Sequence[dict[tuple[int, int, str], float]], gold: Sequence[Sequence[str]], ignored: Sequence[str] = ()
) -> tuple[list[float], list[bool], int]:
    """Each predicted span's confidence and whether the gold labels hold it, and the number of gold spans.

    Spans of `ignored` types (a file that does not annotate them) count on neither side.
    """
    from tagger.schemes import extract_spans

    left_out = set(ignored)
    confidences, correct, gold_count = [], [], 0
    for predicted, tags in zip(span_confidences, gold):
        truth = {(span.start, span.end, span.label) for span in extract_spans(tags) if span.label not in left_out}
        gold_count += len(truth)
        for key, confidence in predicted.items():
            if key[2] not in left_out:
                confidences.append(confidence)
                correct.append(key in truth)
    return confidences, correct, gold_count


def judged_tokens(
    token_confidences: Sequence[Sequence[float]], gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> tuple[list[float], list[bool]]:
    """Each token's confidence and whether its predicted label is the gold one (both in one scheme)."""
    confidences, correct = [], []
    for scores, truth, labels in zip(token_confidences, gold, predicted):
        confidences.extend(scores)
        correct.extend(g == p for g, p in zip(truth, labels))
    return confidences, correct
