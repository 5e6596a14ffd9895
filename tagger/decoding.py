"""Decoding without torch: a scheme's transition constraints, a head's chain scores, and Viterbi in NumPy.

A chain scores a labelling y of n tokens as start[y_0] + sum_t emissions[t, y_t] +
sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{n-1}]. A CRF head's chain is its trained
scores plus the scheme's constraints; a softmax head's, its log-probabilities under the
constraints alone. Forbidden transitions score IMPOSSIBLE, so no well-formed labelling
loses to an ill-formed one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.schemes import allowed_transition

IMPOSSIBLE = -10000.0
CrfScores = tuple[np.ndarray, np.ndarray, np.ndarray]  # a CRF's trained start, transitions and end


def constraint_scores(labels: list[str], scheme: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Additive masks (0 allowed, IMPOSSIBLE forbidden): start (labels,), pairs (previous, label), end (labels,).

    With no scheme (token labels such as POS) every transition is allowed.
    """
    size = len(labels)
    start, end, pairs = np.zeros(size, np.float32), np.zeros(size, np.float32), np.zeros((size, size), np.float32)
    if scheme is not None:
        for j, label in enumerate(labels):
            start[j] = 0.0 if allowed_transition(None, label, scheme) else IMPOSSIBLE
            end[j] = 0.0 if allowed_transition(label, None, scheme) else IMPOSSIBLE
            for i, previous in enumerate(labels):
                pairs[i, j] = 0.0 if allowed_transition(previous, label, scheme) else IMPOSSIBLE
    return start, pairs, end


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """log-probabilities over the last axis, of the same shape."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis, of the same shape."""
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ChainScores:
    """A head's chain scores: start (labels,), transitions (previous label, label), end (labels,)."""

    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray
    log_softmax: bool  # the chain reads log-probabilities (softmax head), not the raw emissions

    def emissions(self, emissions: np.ndarray) -> np.ndarray:
        """The per-token scores the chain reads: emissions (batch, time, labels) -> the same shape."""
        return log_softmax(emissions) if self.log_softmax else emissions

    @classmethod
    def of_head(cls, labels: list[str], scheme: str | None, crf: CrfScores | None) -> ChainScores | None:
        """The chain of a CRF head (its start, transitions and end) or of a softmax head; None for a softmax
        head without a scheme, whose labels are each token's argmax."""
        constraints = constraint_scores(labels, scheme)
        if crf is not None:
            start, transitions, end = (trained + mask for trained, mask in zip(crf, constraints))
            return cls(start, transitions, end, log_softmax=False)
        if scheme is None:
            return None
        start, pairs, end = constraints
        return cls(start, pairs, end, log_softmax=True)


def free_chain(size: int) -> ChainScores:
    """The chain of a softmax head without a scheme: every transition scores 0 (its marginals are the softmax)."""
    return ChainScores(np.zeros(size, np.float32), np.zeros((size, size), np.float32), np.zeros(size, np.float32), True)


def viterbi(emissions: np.ndarray, lengths: np.ndarray, scores: ChainScores) -> np.ndarray:
    """The best labelling of each sentence: chain emissions (batch, time, labels), lengths (batch,) -> ids (batch, time),
    0 past each sentence's end. Ties go to the lowest label id, as torch's max does."""
    batch, steps, size = emissions.shape
    score = scores.start + emissions[:, 0]
    identity = np.broadcast_to(np.arange(size), (batch, size))
    pointers = np.empty((steps, batch, size), dtype=np.int64)
    pointers[0] = identity
    transitions = scores.transitions[None]
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions  # (batch, previous, label)
        previous = candidates.argmax(axis=1)
        best = np.take_along_axis(candidates, previous[:, None, :], axis=1)[:, 0]
        active = (t < lengths)[:, None]
        score = np.where(active, best + emissions[:, t], score)
        pointers[t] = np.where(active, previous, identity)
    last = (score + scores.end).argmax(axis=1)
    path = np.empty((batch, steps), dtype=np.int64)
    path[:, steps - 1] = last
    rows = np.arange(batch)
    for t in range(steps - 1, 0, -1):
        last = pointers[t, rows, last]
        path[:, t - 1] = last
    return path * (np.arange(steps)[None] < lengths[:, None])
