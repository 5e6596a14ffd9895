"""Exact posterior quantities of a linear chain: token marginals, span marginals, the k best labellings.

A chain (a CRF, or a softmax head under its scheme's transition constraints) scores a
labelling y of a sentence of n tokens as

    start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{n-1}]

and gives it the probability exp(score - log Z), Z summing over every labelling. Forbidden
transitions carry a score of about -10000, so ill-formed labellings have probability 0.

Computed in NumPy, in float64, from a batch's emission scores (whichever engine computed
them): the torch path and the torch-free path share every posterior quantity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tagger.confidence import Confidence, SpanKey
from tagger.decoding import ChainScores, free_chain, softmax
from tagger.schemes import IOB1, IOB2, IOBES, OUTSIDE, extract_spans, split_tag


def logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(values))) along an axis; -inf where every value is -inf."""
    peak = values.max(axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return (np.log(np.exp(values - peak).sum(axis=axis, keepdims=True)) + peak).squeeze(axis)


@dataclass(frozen=True)
class Chain:
    """Scores of a batch of sentences: emissions (batch, time, labels), mask (batch, time) bool with
    each sentence's tokens first, start and end (labels,), transitions (previous label, label)."""

    emissions: np.ndarray
    mask: np.ndarray
    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, scores: ChainScores | None, emissions: np.ndarray, mask: np.ndarray) -> Chain:
        """The chain a head decodes with, for emissions (batch, time, labels); for a softmax head without a
        scheme, its log-probabilities with every transition scoring 0 (its marginals are the softmax)."""
        if scores is None:
            scores = free_chain(emissions.shape[2])
        return cls(scores.emissions(emissions), mask, scores.start, scores.transitions, scores.end)

    def tempered(self, temperature: float) -> Chain:
        """Every score divided by `temperature` (> 1 flattens the distribution; the best labelling stays the best)."""
        if temperature == 1.0:
            return self
        scale = 1.0 / temperature
        return Chain(self.emissions * scale, self.mask, self.start * scale, self.transitions * scale, self.end * scale)

    def in_double(self) -> Chain:
        """The same chain in float64: sums over a sentence's scores lose no digits that confidences near 1 need."""
        return Chain(self.emissions.astype(np.float64), self.mask, *self._double_scores())

    def _double_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.start.astype(np.float64), self.transitions.astype(np.float64), self.end.astype(np.float64)

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per sentence (batch,)."""
        return self.mask.sum(1)


@dataclass(frozen=True)
class ForwardBackward:
    """alphas[b, t, j]: log-sum of the scores of every prefix of sentence b ending in label j at t (its
    emission included); betas[b, t, j]: of every continuation after label j at t (end score included);
    both (batch, time, labels), meaningful at each sentence's tokens; log_z (batch,)."""

    alphas: np.ndarray
    betas: np.ndarray
    log_z: np.ndarray

    def marginals(self, mask: np.ndarray) -> np.ndarray:
        """P(label at t = j | sentence): (batch, time, labels), 0 past each sentence's end."""
        return np.exp(self.alphas + self.betas - self.log_z[:, None, None]) * mask[:, :, None]


def forward_backward(chain: Chain) -> ForwardBackward:
    """The forward and backward variables of every sentence in the batch, in float64.

    Computed in probability space, each step rescaled to sum to 1 and the logs of the
    scales summed afterwards: a matrix product per step instead of a log-sum-exp over
    every pair of labels. Float64 keeps a step exact while its labels' scores differ by
    less than about 700.
    """
    weights = _ExpScores.of(chain.in_double())
    forward, forward_logs = _scaled_forward(weights, chain.mask)
    backward, backward_logs = _scaled_backward(weights, chain.mask)
    with np.errstate(divide="ignore"):
        alphas = np.log(forward) + forward_logs[:, :, None]
        betas = np.log(backward) + backward_logs[:, :, None]
    return ForwardBackward(alphas, betas, _log_z(weights, forward, forward_logs))


@dataclass(frozen=True)
class _ExpScores:
    """A chain's scores as exp(score - shift): emissions (batch, time, labels) shifted per token by
    emission_shift (batch, time); start, end (labels,), transitions (labels, labels) by one shift each."""

    emissions: np.ndarray
    emission_shift: np.ndarray
    start: np.ndarray
    start_shift: float
    transitions: np.ndarray
    transition_shift: float
    end: np.ndarray
    end_shift: float

    @classmethod
    def of(cls, chain: Chain) -> _ExpScores:
        emission_shift = chain.emissions.max(axis=2)
        shifts = [chain.start.max(), chain.transitions.max(), chain.end.max()]
        start, transitions, end = (
            np.exp(scores - shift) for scores, shift in zip((chain.start, chain.transitions, chain.end), shifts)
        )
        emissions = np.exp(chain.emissions - emission_shift[:, :, None])
        return cls(emissions, emission_shift, start, shifts[0], transitions, shifts[1], end, shifts[2])


def _rescaled(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values (batch, labels) scaled to sum to 1 per row, and the sums (batch,); a row of zeros stays zeros."""
    sums = np.maximum(values.sum(1), np.finfo(values.dtype).tiny)
    return values / sums[:, None], sums


def _scaled_forward(weights: _ExpScores, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescaled forward variables (batch, time, labels), carried past each end, and the log of what
    they were divided by (batch, time): alphas = log(rescaled) + logs."""
    emissions = weights.emissions
    alpha, first_sum = _rescaled(weights.start * emissions[:, 0])
    alphas, sums = [alpha], [first_sum]
    for t in range(1, emissions.shape[1]):
        step, step_sum = _rescaled((alpha @ weights.transitions) * emissions[:, t])
        active = mask[:, t]
        alpha = np.where(active[:, None], step, alpha)
        alphas.append(alpha)
        sums.append(np.where(active, step_sum, 1.0))
    step_shift = np.where(mask, weights.emission_shift + weights.transition_shift, 0.0)
    step_shift[:, 0] = weights.emission_shift[:, 0] + weights.start_shift
    logs = (np.log(np.stack(sums, axis=1)) + step_shift).cumsum(1)
    return np.stack(alphas, axis=1), logs


def _scaled_backward(weights: _ExpScores, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescaled backward variables (batch, time, labels), the end scores at and past each sentence's
    last token, and the log of what they were divided by (batch, time): betas = log(rescaled) + logs."""
    emissions, (batch, steps) = weights.emissions, weights.emissions.shape[:2]
    last, last_sum = _rescaled(weights.end[None])
    beta = np.broadcast_to(last, (batch, last.shape[1]))
    betas, sums, shifts = [beta], [], []
    for t in range(steps - 2, -1, -1):
        step, step_sum = _rescaled((emissions[:, t + 1] * beta) @ weights.transitions.T)
        active = mask[:, t + 1]
        beta = np.where(active[:, None], step, last)
        betas.append(beta)
        sums.append(np.where(active, step_sum, 1.0))
        shifts.append(np.where(active, weights.emission_shift[:, t + 1] + weights.transition_shift, 0.0))
    end_log = np.log(last_sum) + weights.end_shift
    if not sums:
        return beta[:, None], np.broadcast_to(end_log, (batch, 1))
    increments = np.log(np.stack(sums, axis=1)) + np.stack(shifts, axis=1)  # from t + 1 to t, t = steps - 2 .. 0
    logs = np.concatenate([np.broadcast_to(end_log, (batch, 1)), increments.cumsum(1) + end_log], axis=1)
    return np.stack(betas, axis=1)[:, ::-1], logs[:, ::-1]


@dataclass(frozen=True)
class SpanEvent:
    """Labellings in which tokens start..end-1 carry `tags` exactly, the label before `start` is in
    `previous_allowed` and the label at `end` (where the sentence goes on) is in `next_allowed`.

    For n spans: rows, starts, ends (n,); tags (n, width) label ids, valid up to each span's
    length; previous_allowed and next_allowed (n, labels) bool.
    """

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    tags: np.ndarray
    previous_allowed: np.ndarray
    next_allowed: np.ndarray


def event_log_probabilities(chain: Chain, passes: ForwardBackward, event: SpanEvent) -> np.ndarray:
    """log P(event) for each of n span events (n,), from the forward and backward variables."""
    rows, starts, ends, tags = event.rows, event.starts, event.ends, event.tags
    emissions, transitions = chain.emissions, chain.transitions
    last_time = emissions.shape[1] - 1
    widths = ends - starts
    first, last = tags[:, 0], np.take_along_axis(tags, (widths - 1)[:, None], axis=1)[:, 0]
    # into the first tag: from an allowed previous label, or from the sentence start
    before = passes.alphas[rows, np.maximum(starts - 1, 0)] + transitions[:, first].T
    entering = logsumexp(np.where(event.previous_allowed, before, -np.inf), axis=1)
    entering = entering + emissions[rows, starts, first]
    entering = np.where(starts == 0, passes.alphas[rows, 0, first], entering)
    # along the span
    offsets = np.arange(tags.shape[1])
    inside = (offsets < widths[:, None])[:, 1:]
    positions = np.minimum(starts[:, None] + offsets[1:], last_time)
    emitted = emissions[rows[:, None], positions, tags[:, 1:]]
    moved = transitions[tags[:, :-1], tags[:, 1:]]
    along = ((emitted + moved) * inside).sum(1)
    # out of the last tag: to an allowed next label, or to the sentence end
    following = np.minimum(ends, last_time)
    after = transitions[last] + emissions[rows, following] + passes.betas[rows, following]
    leaving = logsumexp(np.where(event.next_allowed, after, -np.inf), axis=1)
    leaving = np.where(ends >= chain.lengths[rows], passes.betas[rows, ends - 1, last], leaving)
    return entering + along + leaving - passes.log_z[rows]


@dataclass(frozen=True)
class SpanAt:
    """A span in sentence `row` of a batch: tokens start..end-1 of type `label`."""

    row: int
    start: int
    end: int
    label: str


def span_probabilities(chain: Chain, passes: ForwardBackward, spans: list[SpanAt], labels: list[str], scheme: str) -> np.ndarray:
    """P(exactly this span, this type and these boundaries, is in the labelling) for each span (n,).

    `labels` are the chain's labels, written in `scheme` (the model's internal scheme).
    """
    if not spans:
        return np.zeros(0)
    events = [_span_events(spans, labels, scheme, start_tag) for start_tag in _start_tags(scheme)]
    stacked = np.stack([event_log_probabilities(chain, passes, event) for event in events])
    return np.minimum(np.exp(logsumexp(stacked, axis=0)), 1.0)


def _start_tags(scheme: str) -> tuple[str, ...]:
    """How a span's first tag can be written: IOB1 writes B- only after a span of the same type, else I-."""
    return ("B", "I") if scheme == IOB1 else ("B",)


def _span_events(spans: list[SpanAt], labels: list[str], scheme: str, start_tag: str) -> SpanEvent:
    """The labellings holding each span with its first tag written `start_tag` (B or I)."""
    index = {label: position for position, label in enumerate(labels)}
    width = max(span.end - span.start for span in spans)
    written: dict[tuple[int, str], list[int]] = {}  # label ids of a span of this width and type, padded
    tags, next_blocked, previous_blocked = [], [], []
    for number, span in enumerate(spans):
        key = (span.end - span.start, span.label)
        if key not in written:
            ids = [index.get(tag, 0) for tag in _span_tags(key[0], span.label, scheme, start_tag)]
            written[key] = ids + [0] * (width - len(ids))
        tags.append(written[key])
        if scheme in (IOB1, IOB2):  # an I- of the same type after the span would continue it
            next_blocked.append((number, index[f"I-{span.label}"]))
        if scheme == IOB1 and start_tag == "I":  # I- after the same type would continue the span before
            previous_blocked += [(number, index[f"B-{span.label}"]), (number, index[f"I-{span.label}"])]
    return SpanEvent(
        np.array([span.row for span in spans]),
        np.array([span.start for span in spans]),
        np.array([span.end for span in spans]),
        np.array(tags),
        _allowed(len(spans), len(labels), previous_blocked),
        _allowed(len(spans), len(labels), next_blocked),
    )


def _allowed(spans: int, size: int, blocked: list[tuple[int, int]]) -> np.ndarray:
    """(spans, labels) bool: True except at the (span, label) pairs in `blocked`."""
    allowed = np.ones((spans, size), dtype=bool)
    if blocked:
        allowed[tuple(np.array(blocked).T)] = False
    return allowed


def _span_tags(width: int, kind: str, scheme: str, start_tag: str) -> list[str]:
    if scheme == IOBES:
        return [f"S-{kind}"] if width == 1 else [f"B-{kind}"] + [f"I-{kind}"] * (width - 2) + [f"E-{kind}"]
    return [f"{start_tag}-{kind}"] + [f"I-{kind}"] * (width - 1)


def span_types(labels: list[str]) -> set[str]:
    """The span types among a chain's labels."""
    return {split_tag(label)[1] for label in labels if label != OUTSIDE}


def k_best(chain: Chain, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest-scoring labellings of each sentence, best first, by k-best Viterbi.

    -> label ids (batch, k, time), 0 past each end, and their log probabilities (batch, k);
    a sentence with fewer than k labellings of non-zero probability gets -inf past them.
    """
    emissions, mask, transitions = chain.emissions, chain.mask, chain.transitions
    batch, steps, size = emissions.shape
    score = np.full((batch, size, k), -np.inf)
    score[:, :, 0] = chain.start + emissions[:, 0]
    # pointers[t][b, j, r]: previous label * k + previous rank of the r-th best prefix ending in j at t
    identity = np.broadcast_to(np.arange(size)[:, None] * k + np.arange(k), (batch, size, k))
    pointers = [identity]
    for t in range(1, steps):
        candidates = score[:, :, None, :] + transitions[None, :, :, None]  # (batch, previous, label, rank)
        candidates = candidates.transpose(0, 2, 1, 3).reshape(batch, size, size * k)
        previous, best = _top(candidates, k)
        active = mask[:, t][:, None, None]
        score = np.where(active, best + emissions[:, t][:, :, None], score)
        pointers.append(np.where(active, previous, identity))
    chosen, final = _top((score + chain.end[None, :, None]).reshape(batch, size * k), min(k, size * k))
    paths = [chosen // k]
    state = chosen
    for t in range(steps - 1, 0, -1):
        state = np.take_along_axis(pointers[t].reshape(batch, size * k), state, axis=1)
        paths.append(state // k)
    labels = np.stack(paths, axis=2)[:, :, ::-1] * mask[:, None, :]
    log_probabilities = final - log_partition(chain)[:, None]
    return labels, np.where(log_probabilities < _IMPOSSIBLE_LOG_PROBABILITY, -np.inf, log_probabilities)


def _top(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions and values of the k largest entries along the last axis, largest first (ties: lowest position)."""
    order = np.argsort(-values, axis=-1, kind="stable")[..., :k]
    return order, np.take_along_axis(values, order, axis=-1)


# A labelling this improbable took a forbidden transition (scored about -10000); its
# probability is 0 in floating point anyway.
_IMPOSSIBLE_LOG_PROBABILITY = -5000.0


def log_partition(chain: Chain) -> np.ndarray:
    """log Z per sentence (batch,) by the forward pass alone, in float64."""
    weights = _ExpScores.of(chain.in_double())
    return _log_z(weights, *_scaled_forward(weights, chain.mask))


def _log_z(weights: _ExpScores, forward: np.ndarray, forward_logs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log((forward[:, -1] * weights.end).sum(1)) + forward_logs[:, -1] + weights.end_shift


# Back-pointers of k-best decoding hold batch x time x labels x k entries; a batch is
# decoded in slices of at most this many, so that --nbest 100 on long sentences stays bounded.
NBEST_POINTERS_PER_SLICE = 2**24


def label_probabilities(scores: ChainScores | None, emissions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-token label probabilities (batch, time, labels): a CRF's marginals, or a softmax head's softmax."""
    if scores is not None and not scores.log_softmax:
        return forward_backward(Chain.of(scores, emissions, mask)).marginals(mask)
    return softmax(emissions)


def batch_confidences(
    chain: Chain, labels: list[str], decoded: np.ndarray, scheme: str | None, nbest: int = 0, temperature: float = 1.0
) -> list[Confidence]:
    """Confidences of a decoded batch: the head's chain over its emissions, decoded ids (batch, time).

    `scheme` is the model's internal span scheme (None for token labels).
    """
    mask = chain.mask
    chain = chain.in_double().tempered(temperature)
    passes = forward_backward(chain)
    marginals = np.minimum(passes.marginals(mask), 1.0)
    if scheme:  # a token's confidence: P(it is in a span of its type, at any position), or P(O)
        groups = np.array(_type_groups(labels))
        by_type = marginals @ np.eye(int(groups.max()) + 1)[groups]  # (batch, time, groups)
        token_confidence = np.take_along_axis(by_type, groups[decoded][:, :, None], axis=2)[:, :, 0]
    else:
        token_confidence = np.take_along_axis(marginals, decoded[:, :, None], axis=2)[:, :, 0]
    lengths = mask.sum(1).tolist()
    rows = decoded.tolist()
    predicted = [[labels[i] for i in row[:length]] for row, length in zip(rows, lengths)]
    spans = [SpanAt(row, span.start, span.end, span.label) for row, tags in enumerate(predicted) for span in extract_spans(tags)]
    span_confidence = span_probabilities(chain, passes, spans, labels, scheme).tolist() if scheme and spans else []
    per_row: list[dict[SpanKey, float]] = [{} for _ in rows]
    for span, probability in zip(spans, span_confidence):
        per_row[span.row][(span.start, span.end, span.label)] = probability
    outside = marginals[:, :, labels.index(OUTSIDE)].tolist() if scheme and OUTSIDE in labels else None
    best = _nbest(chain, nbest, lengths, labels) if nbest else [[] for _ in rows]
    token_rows = token_confidence.tolist()  # one conversion per batch, not per row
    return [
        Confidence(
            token_rows[row][:length],
            per_row[row],
            outside[row][:length] if outside is not None else [],
            best[row],
        )
        for row, length in enumerate(lengths)
    ]


def _type_groups(labels: list[str]) -> list[int]:
    """Each label's group: 0 for O, then one per span type (B-PER, I-PER, E-PER and S-PER share one)."""
    types = sorted(span_types(labels))
    return [0 if label == OUTSIDE else 1 + types.index(split_tag(label)[1]) for label in labels]


def _nbest(chain: Chain, k: int, lengths: list[int], labels: list[str]) -> list[list[tuple[list[str], float, float]]]:
    """Per sentence, up to k labellings (labels) with their probabilities and log probabilities, best first.

    A labelling is kept by its log probability: on a sentence of thousands of tokens even
    the best one's probability underflows to 0 in float64, its log does not.

    Slices of the batch bound the memory; a sentence so long that even alone it would
    exceed NBEST_POINTERS_PER_SLICE gets fewer labellings (at least the best one).
    """
    batch, steps, size = chain.emissions.shape
    k = max(1, min(k, NBEST_POINTERS_PER_SLICE // (steps * size)))
    rows_per_slice = max(1, NBEST_POINTERS_PER_SLICE // (steps * size * k))
    found: list[list[tuple[list[str], float, float]]] = []
    for first in range(0, batch, rows_per_slice):
        part = slice(first, first + rows_per_slice)
        sliced = Chain(chain.emissions[part], chain.mask[part], chain.start, chain.transitions, chain.end)
        paths, log_probabilities = k_best(sliced, k)
        paths, logs = paths.tolist(), log_probabilities.tolist()
        for offset, (row_paths, row_logs) in enumerate(zip(paths, logs)):
            length = lengths[first + offset]
            found.append(
                [
                    ([labels[i] for i in path[:length]], math.exp(log), log)
                    for path, log in zip(row_paths, row_logs)
                    if log > -math.inf
                ]
            )
    return found
