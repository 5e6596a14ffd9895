"""A batched linear-chain CRF: log-likelihood, Viterbi decoding, transition constraints."""

from __future__ import annotations

import torch
from torch import nn

from tagger.decoding import IMPOSSIBLE, constraint_scores


class TransitionConstraints(nn.Module):
    """Additive masks (0 allowed, IMPOSSIBLE forbidden) for a scheme's start, transitions and end.

    With no scheme (token labels such as POS) every transition is allowed. The masks are
    non-persistent buffers: derived from the labels, never saved with the weights.
    """

    def __init__(self, labels: list[str], scheme: str | None) -> None:
        super().__init__()
        start, pairs, end = (torch.from_numpy(scores) for scores in constraint_scores(labels, scheme))
        self.register_buffer("start", start, persistent=False)  # (labels,)
        self.register_buffer("pairs", pairs, persistent=False)  # (previous label, label)
        self.register_buffer("end", end, persistent=False)  # (labels,)


class CRF(nn.Module):
    """Linear-chain CRF over emission scores of shape (batch, time, labels).

    `mask` is (batch, time) bool with each sentence's tokens first; every sentence has at
    least one token. Forbidden transitions get a fixed, very low score, in training and
    in decoding, so predictions are always well-formed in the scheme.
    """

    def __init__(self, labels: list[str], scheme: str | None) -> None:
        super().__init__()
        size = len(labels)
        self.transitions = nn.Parameter(torch.zeros(size, size))
        self.start = nn.Parameter(torch.zeros(size))
        self.end = nn.Parameter(torch.zeros(size))
        self.constraints = TransitionConstraints(labels, scheme)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start (labels,), transition (labels, labels) and end (labels,) scores, constraints added."""
        constraints = self.constraints
        return self.start + constraints.start, self.transitions + constraints.pairs, self.end + constraints.end

    def _alphas(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Forward variables: for each step t, log-sum of the scores of all paths ending in each label at t.

        emissions (batch, time, labels), mask (batch, time) -> `time` tensors of (batch, labels);
        past a sentence's end its last value is carried forward.
        """
        start, transitions, _ = self.scores()
        alphas = [start + emissions[:, 0]]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alphas[-1].unsqueeze(2) + transitions.unsqueeze(0), dim=1) + emissions[:, t]
            alphas.append(torch.where(mask[:, t].unsqueeze(1), step, alphas[-1]))
        return alphas

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sentence by the forward algorithm: emissions (batch, time, labels), mask (batch, time) -> (batch,)."""
        return torch.logsumexp(self._alphas(emissions, mask)[-1] + self.scores()[2], dim=1)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of given tag sequences: emissions (batch, time, labels), tags and mask (batch, time) -> (batch,)."""
        start, transitions, end = self.scores()
        maskf = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + (emitted * maskf).sum(1)
        moves = transitions[tags[:, :-1], tags[:, 1:]]
        score = score + (moves * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return score + end[last]

    def neg_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Summed negative log-likelihood of the batch: emissions (batch, time, labels), tags and mask (batch, time) -> ().

        With `allowed` (batch, time, labels) bool, a token may have any of several labels (a
        corpus that does not annotate some types): the likelihood is of all the paths that
        keep to the allowed labels, log-summed, minus the partition function.
        """
        log_z = self.log_partition(emissions, mask)
        if allowed is None:
            return (log_z - self.path_score(emissions, tags, mask)).sum()
        restricted = emissions.masked_fill(~allowed, IMPOSSIBLE)
        return (log_z - self.log_partition(restricted, mask)).sum()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best tag sequence per sentence: emissions (batch, time, labels) -> ids (batch, time), 0 past each end."""
        start, transitions, end = self.scores()
        return viterbi(emissions, mask, start, transitions, end)


def viterbi(
    emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """Batched Viterbi: the argmax path under emission and transition scores.

    emissions (batch, time, labels), mask (batch, time) bool, start and end (labels,),
    transitions (previous label, label) -> label ids (batch, time), 0 past each sentence's end.
    Written so that TorchScript can compile it (the ONNX export turns its loops into ONNX Loops).
    """
    batch, steps, size = emissions.shape
    score = start + emissions[:, 0]
    # pointers[:, t, j]: the best previous label for label j at t; a finished sentence
    # points each label to itself, so the trace passes through its padding unchanged
    identity = torch.arange(size, device=emissions.device).unsqueeze(0).expand(batch, size)
    pointers = [identity]
    for t in range(1, steps):
        best, previous = (score.unsqueeze(2) + transitions.unsqueeze(0)).max(dim=1)
        active = mask[:, t].unsqueeze(1)
        score = torch.where(active, best + emissions[:, t], score)
        pointers.append(torch.where(active, previous, identity))
    last = (score + end).argmax(dim=1)
    path = [last]
    for t in range(steps - 1, 0, -1):
        last = pointers[t].gather(1, last.unsqueeze(1)).squeeze(1)
        path.append(last)
    return torch.stack(path, dim=1).flip([1]) * mask.long()
