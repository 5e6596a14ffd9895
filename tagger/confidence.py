"""How sure a model is of each labelling it predicts: token and span confidences, the n best labellings.

Confidences are exact posterior probabilities of the model's chain (see posterior.py): a
token's is the marginal probability of its predicted label; a span's is the probability
that exactly this span, with this type and these boundaries, is in the labelling; the
n-best list holds whole-sentence labellings with their probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tagger import schemes

MAX_NBEST = 100  # labellings per sentence `--nbest` can ask for
SpanKey = tuple[int, int, str]  # start, end (exclusive), type


@dataclass(frozen=True)
class Confidence:
    """One sentence's confidences: per token, per predicted span, and the n best labellings (if asked)."""

    tokens: list[float]  # P(the token's predicted label)
    spans: dict[SpanKey, float] = field(default_factory=dict)
    outside: list[float] = field(default_factory=list)  # span labels: P(the token is O), per token
    # labellings, best first, with their probabilities and natural-log probabilities (exact where the
    # probability underflows to 0, as it does for long sentences)
    nbest: list[tuple[list[str], float, float]] = field(default_factory=list)


def nbest_problem(nbest: int | None) -> str | None:
    """Why an n-best size cannot be used (None: it can; None asks for no n-best list)."""
    if nbest is not None and not 1 <= nbest <= MAX_NBEST:
        return f"--nbest {nbest}: give 1 to {MAX_NBEST} labellings per sentence (the most tagger computes)"
    return None


def threshold_problem(threshold: float | None) -> str | None:
    """Why a --min-confidence cannot be used (None: it can)."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        return f"--min-confidence {threshold}: give a probability from 0 to 1"
    return None


@dataclass(frozen=True)
class Judged:
    """A sentence's labels after --min-confidence: the spans below it made O (`dropped`, with their
    confidences), or for token labels the tokens below it (`doubtful`, their labels unchanged)."""

    labels: list[str]
    dropped: list[tuple[SpanKey, float]] = field(default_factory=list)
    doubtful: list[bool] = field(default_factory=list)


def apply_threshold(labels: list[str], confidence: Confidence, threshold: float, scheme: str | None) -> Judged:
    """Labels (span labels in `scheme`, None for token labels) with the doubtful readings set apart."""
    if scheme is None:
        return Judged(labels, doubtful=[value < threshold for value in confidence.tokens])
    spans = schemes.extract_spans(labels)
    kept = [span for span in spans if confidence.spans.get((span.start, span.end, span.label), 1.0) >= threshold]
    if len(kept) == len(spans):
        return Judged(labels)
    dropped = [
        ((span.start, span.end, span.label), confidence.spans[(span.start, span.end, span.label)])
        for span in spans
        if span not in kept
    ]
    return Judged(schemes.encode_spans(kept, len(labels), scheme), dropped)


def token_readings(labels: list[str], confidence: Confidence, spans: bool) -> list[float]:
    """Per token, the confidence a column output shows: of the span it is in, else of it being O (span
    labels); of its label (token labels)."""
    if not spans:
        return list(confidence.tokens)
    readings = list(confidence.outside)
    for span in schemes.extract_spans(labels):
        value = confidence.spans.get((span.start, span.end, span.label))
        if value is not None:
            readings[span.start : span.end] = [value] * (span.end - span.start)
    return readings
