"""Exact posterior quantities of a linear chain: token marginals, span marginals, the k best labellings.

A chain (a CRF, or a softmax head under its scheme's transition constraints) scores a
labelling y of a sentence of n tokens as

    start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{n-1}]

and gives it the probability exp(score - log Z), Z summing over every labelling. Forbidden
transitions carry a score of about -10000, so ill-formed labellings have probability 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tagger.confidence import Confidence, SpanKey
from tagger.schemes import IOB1, IOB2, IOBES, OUTSIDE, extract_spans, split_tag


@dataclass(frozen=True)
class Chain:
    """Scores of a batch of sentences: emissions (batch, time, labels), mask (batch, time) bool with
    each sentence's tokens first, start and end (labels,), transitions (previous label, label)."""

    emissions: torch.Tensor
    mask: torch.Tensor
    start: torch.Tensor
    transitions: torch.Tensor
    end: torch.Tensor

    def tempered(self, temperature: float) -> Chain:
        """Every score divided by `temperature` (> 1 flattens the distribution; the best labelling stays the best)."""
        if temperature == 1.0:
            return self
        scale = 1.0 / temperature
        return Chain(self.emissions * scale, self.mask, self.start * scale, self.transitions * scale, self.end * scale)

    def in_double(self) -> Chain:
        """The same chain in float64: sums over a sentence's scores lose no digits that confidences near 1 need."""
        return Chain(self.emissions.double(), self.mask, self.start.double(), self.transitions.double(), self.end.double())

    @property
    def lengths(self) -> torch.Tensor:
        """Tokens per sentence (batch,)."""
        return self.mask.sum(1)


@dataclass(frozen=True)
class ForwardBackward:
    """alphas[b, t, j]: log-sum of the scores of every prefix of sentence b ending in label j at t (its
    emission included); betas[b, t, j]: of every continuation after label j at t (end score included);
    both (batch, time, labels), meaningful at each sentence's tokens; log_z (batch,)."""

    alphas: torch.Tensor
    betas: torch.Tensor
    log_z: torch.Tensor

    def marginals(self, mask: torch.Tensor) -> torch.Tensor:
        """P(label at t = j | sentence): (batch, time, labels), 0 past each sentence's end."""
        return (self.alphas + self.betas - self.log_z[:, None, None]).exp() * mask.unsqueeze(2)


def forward_backward(chain: Chain) -> ForwardBackward:
    """The forward and backward variables of every sentence in the batch."""
    emissions, mask, transitions = chain.emissions, chain.mask, chain.transitions
    alphas = [chain.start + emissions[:, 0]]
    for t in range(1, emissions.size(1)):
        step = torch.logsumexp(alphas[-1].unsqueeze(2) + transitions, dim=1) + emissions[:, t]
        alphas.append(torch.where(mask[:, t].unsqueeze(1), step, alphas[-1]))
    end = chain.end.expand_as(alphas[0])
    betas = [end]
    for t in range(emissions.size(1) - 2, -1, -1):
        following = (emissions[:, t + 1] + betas[-1]).unsqueeze(1) + transitions
        betas.append(torch.where(mask[:, t + 1].unsqueeze(1), torch.logsumexp(following, dim=2), end))
    betas.reverse()
    log_z = torch.logsumexp(alphas[-1] + chain.end, dim=1)
    return ForwardBackward(torch.stack(alphas, dim=1), torch.stack(betas, dim=1), log_z)


@dataclass(frozen=True)
class SpanEvent:
    """Labellings in which tokens start..end-1 carry `tags` exactly, the label before `start` is in
    `previous_allowed` and the label at `end` (where the sentence goes on) is in `next_allowed`.

    For n spans: rows, starts, ends (n,); tags (n, width) label ids, valid up to each span's
    length; previous_allowed and next_allowed (n, labels) bool.
    """

    rows: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor
    tags: torch.Tensor
    previous_allowed: torch.Tensor
    next_allowed: torch.Tensor


def event_log_probabilities(chain: Chain, passes: ForwardBackward, event: SpanEvent) -> torch.Tensor:
    """log P(event) for each of n span events (n,), from the forward and backward variables."""
    rows, starts, ends, tags = event.rows, event.starts, event.ends, event.tags
    emissions, transitions = chain.emissions, chain.transitions
    last_time = emissions.size(1) - 1
    widths = ends - starts
    first, last = tags[:, 0], tags.gather(1, (widths - 1).unsqueeze(1)).squeeze(1)
    # into the first tag: from an allowed previous label, or from the sentence start
    before = passes.alphas[rows, (starts - 1).clamp(min=0)] + transitions[:, first].T
    entering = torch.logsumexp(before.masked_fill(~event.previous_allowed, -torch.inf), dim=1)
    entering = entering + emissions[rows, starts, first]
    entering = torch.where(starts == 0, passes.alphas[rows, 0, first], entering)
    # along the span
    offsets = torch.arange(tags.size(1), device=tags.device)
    inside = (offsets < widths.unsqueeze(1))[:, 1:]
    positions = (starts.unsqueeze(1) + offsets[1:]).clamp(max=last_time)
    emitted = emissions[rows.unsqueeze(1), positions, tags[:, 1:]]
    moved = transitions[tags[:, :-1], tags[:, 1:]]
    along = ((emitted + moved) * inside).sum(1)
    # out of the last tag: to an allowed next label, or to the sentence end
    following = ends.clamp(max=last_time)
    after = transitions[last] + emissions[rows, following] + passes.betas[rows, following]
    leaving = torch.logsumexp(after.masked_fill(~event.next_allowed, -torch.inf), dim=1)
    leaving = torch.where(ends >= chain.lengths[rows], passes.betas[rows, ends - 1, last], leaving)
    return entering + along + leaving - passes.log_z[rows]


@dataclass(frozen=True)
class SpanAt:
    """A span in sentence `row` of a batch: tokens start..end-1 of type `label`."""

    row: int
    start: int
    end: int
    label: str


def span_probabilities(
    chain: Chain, passes: ForwardBackward, spans: list[SpanAt], labels: list[str], scheme: str
) -> torch.Tensor:
    """P(exactly this span, this type and these boundaries, is in the labelling) for each span (n,).

    `labels` are the chain's labels, written in `scheme` (the model's internal scheme).
    """
    if not spans:
        return chain.emissions.new_zeros(0)
    events = [_span_events(chain, spans, labels, scheme, start_tag) for start_tag in _start_tags(scheme)]
    stacked = torch.stack([event_log_probabilities(chain, passes, event) for event in events])
    return torch.logsumexp(stacked, dim=0).exp().clamp(max=1.0)


def _start_tags(scheme: str) -> tuple[str, ...]:
    """How a span's first tag can be written: IOB1 writes B- only after a span of the same type, else I-."""
    return ("B", "I") if scheme == IOB1 else ("B",)


def _span_events(chain: Chain, spans: list[SpanAt], labels: list[str], scheme: str, start_tag: str) -> SpanEvent:
    """The labellings holding each span with its first tag written `start_tag` (B or I)."""
    index = {label: position for position, label in enumerate(labels)}
    width = max(span.end - span.start for span in spans)
    size, device = len(labels), chain.emissions.device
    tags, previous_allowed, next_allowed = (
        [],
        torch.ones(len(spans), size, dtype=torch.bool),
        torch.ones(len(spans), size, dtype=torch.bool),
    )
    for number, span in enumerate(spans):
        written = _span_tags(span.end - span.start, span.label, scheme, start_tag)
        tags.append([index.get(tag, 0) for tag in written] + [0] * (width - len(written)))
        if scheme in (IOB1, IOB2):  # an I- of the same type after the span would continue it
            next_allowed[number, index[f"I-{span.label}"]] = False
        if scheme == IOB1 and start_tag == "I":  # I- after the same type would continue the span before
            for label in (f"B-{span.label}", f"I-{span.label}"):
                previous_allowed[number, index[label]] = False
    column = torch.tensor
    return SpanEvent(
        column([span.row for span in spans], device=device),
        column([span.start for span in spans], device=device),
        column([span.end for span in spans], device=device),
        column(tags, device=device),
        previous_allowed.to(device),
        next_allowed.to(device),
    )


def _span_tags(width: int, kind: str, scheme: str, start_tag: str) -> list[str]:
    if scheme == IOBES:
        return [f"S-{kind}"] if width == 1 else [f"B-{kind}"] + [f"I-{kind}"] * (width - 2) + [f"E-{kind}"]
    return [f"{start_tag}-{kind}"] + [f"I-{kind}"] * (width - 1)


def span_types(labels: list[str]) -> set[str]:
    """The span types among a chain's labels."""
    return {split_tag(label)[1] for label in labels if label != OUTSIDE}


def k_best(chain: Chain, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k highest-scoring labellings of each sentence, best first, by k-best Viterbi.

    -> label ids (batch, k, time), 0 past each end, and their log probabilities (batch, k);
    a sentence with fewer than k labellings of non-zero probability gets -inf past them.
    """
    emissions, mask, transitions = chain.emissions, chain.mask, chain.transitions
    batch, steps, size = emissions.shape
    score = emissions.new_full((batch, size, k), -torch.inf)
    score[:, :, 0] = chain.start + emissions[:, 0]
    # pointers[t][b, j, r]: previous label * k + previous rank of the r-th best prefix ending in j at t
    identity = torch.arange(size, device=emissions.device).unsqueeze(1) * k + torch.arange(k, device=emissions.device)
    identity = identity.expand(batch, size, k)
    pointers = [identity]
    for t in range(1, steps):
        candidates = score.unsqueeze(2) + transitions[None, :, :, None]  # (batch, previous, label, rank)
        candidates = candidates.permute(0, 2, 1, 3).reshape(batch, size, size * k)
        best, previous = candidates.topk(k, dim=2)
        active = mask[:, t].view(batch, 1, 1)
        score = torch.where(active, best + emissions[:, t].unsqueeze(2), score)
        pointers.append(torch.where(active, previous, identity))
    final, chosen = (score + chain.end[None, :, None]).reshape(batch, size * k).topk(min(k, size * k), dim=1)
    paths = [chosen // k]
    state = chosen
    for t in range(steps - 1, 0, -1):
        state = pointers[t].reshape(batch, size * k).gather(1, state)
        paths.append(state // k)
    labels = torch.stack(paths, dim=2).flip([2]) * mask.unsqueeze(1).long()
    log_probabilities = final - log_partition(chain).unsqueeze(1)
    return labels, log_probabilities.masked_fill(log_probabilities < _IMPOSSIBLE_LOG_PROBABILITY, -torch.inf)


# A labelling this improbable took a forbidden transition (scored about -10000); its
# probability is 0 in floating point anyway.
_IMPOSSIBLE_LOG_PROBABILITY = -5000.0


def log_partition(chain: Chain) -> torch.Tensor:
    """log Z per sentence (batch,) by the forward pass alone."""
    emissions, mask, transitions = chain.emissions, chain.mask, chain.transitions
    alpha = chain.start + emissions[:, 0]
    for t in range(1, emissions.size(1)):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
        alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + chain.end, dim=1)


# Back-pointers of k-best decoding hold batch x time x labels x k entries; a batch is
# decoded in slices of at most this many, so that --nbest 100 on long sentences stays bounded.
NBEST_POINTERS_PER_SLICE = 2**24


def batch_confidences(
    model: torch.nn.Module,
    emissions: torch.Tensor,
    mask: torch.Tensor,
    decoded: torch.Tensor,
    scheme: str | None,
    nbest: int = 0,
    temperature: float = 1.0,
) -> list[Confidence]:
    """Confidences of a decoded batch: emissions (batch, time, labels), mask and decoded ids (batch, time).

    `scheme` is the model's internal span scheme (None for token labels).
    """
    chain = model.chain(emissions, mask).in_double().tempered(temperature)
    passes = forward_backward(chain)
    marginals = passes.marginals(mask).clamp(max=1.0)
    labels = model.labels
    if scheme:  # a token's confidence: P(it is in a span of its type, at any position), or P(O)
        groups = torch.tensor(_type_groups(labels), device=marginals.device)
        by_type = marginals.new_zeros(*marginals.shape[:2], int(groups.max()) + 1).index_add_(2, groups, marginals)
        token_confidence = by_type.gather(2, groups[decoded].unsqueeze(2)).squeeze(2).cpu()
    else:
        token_confidence = marginals.gather(2, decoded.unsqueeze(2)).squeeze(2).cpu()
    lengths = mask.sum(1).tolist()
    rows = decoded.cpu().tolist()
    predicted = [[labels[i] for i in row[:length]] for row, length in zip(rows, lengths)]
    spans = [SpanAt(row, span.start, span.end, span.label) for row, tags in enumerate(predicted) for span in extract_spans(tags)]
    span_confidence = span_probabilities(chain, passes, spans, labels, scheme).tolist() if scheme and spans else []
    per_row: list[dict[SpanKey, float]] = [{} for _ in rows]
    for span, probability in zip(spans, span_confidence):
        per_row[span.row][(span.start, span.end, span.label)] = probability
    outside = marginals[:, :, labels.index(OUTSIDE)].cpu() if scheme and OUTSIDE in labels else None
    best = _nbest(chain, nbest, lengths, labels) if nbest else [[] for _ in rows]
    return [
        Confidence(
            token_confidence[row, :length].tolist(),
            per_row[row],
            outside[row, :length].tolist() if outside is not None else [],
            best[row],
        )
        for row, length in enumerate(lengths)
    ]


def _type_groups(labels: list[str]) -> list[int]:
    """Each label's group: 0 for O, then one per span type (B-PER, I-PER, E-PER and S-PER share one)."""
    types = sorted(span_types(labels))
    return [0 if label == OUTSIDE else 1 + types.index(split_tag(label)[1]) for label in labels]


def _nbest(chain: Chain, k: int, lengths: list[int], labels: list[str]) -> list[list[tuple[list[str], float]]]:
    """Per sentence, up to k labellings (labels) with their probabilities, best first.

    Slices of the batch bound the memory; a sentence so long that even alone it would
    exceed NBEST_POINTERS_PER_SLICE gets fewer labellings (at least the best one).
    """
    batch, steps, size = chain.emissions.shape
    k = max(1, min(k, NBEST_POINTERS_PER_SLICE // (steps * size)))
    rows_per_slice = max(1, NBEST_POINTERS_PER_SLICE // (steps * size * k))
    found: list[list[tuple[list[str], float]]] = []
    for first in range(0, batch, rows_per_slice):
        part = slice(first, first + rows_per_slice)
        sliced = type(chain)(chain.emissions[part], chain.mask[part], chain.start, chain.transitions, chain.end)
        paths, log_probabilities = k_best(sliced, k)
        paths, probabilities = paths.cpu().tolist(), log_probabilities.exp().cpu().tolist()
        for offset, (row_paths, row_probabilities) in enumerate(zip(paths, probabilities)):
            length = lengths[first + offset]
            found.append(
                [
                    ([labels[i] for i in path[:length]], probability)
                    for path, probability in zip(row_paths, row_probabilities)
                    if probability > 0.0
                ]
            )
    return found
