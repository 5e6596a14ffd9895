"""Sentences to padded tensors: encoding once, length-bucketed batches, device moves."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import torch

from tagger.vocab import Vocab


@dataclass
class Encoded:
    """One sentence as ids: words, case classes, characters per word, labels (or None).

    Plain lists: tensors are built once per batch, which is much cheaper than per sentence.
    """

    words: list[int]
    cases: list[int]
    chars: list[list[int]]
    labels: list[int] | None
    # Partial annotation: tokens labelled `open_label` may also have any of `also_allowed`
    # (the tags of the types this sentence's corpus does not annotate); None: fully labelled.
    open_label: int | None = None
    also_allowed: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.words)


@dataclass
class Batch:
    """Padded tensors for a group of sentences; `chars` holds one row per real token."""

    words: torch.Tensor  # (batch, time)
    cases: torch.Tensor  # (batch, time)
    chars: torch.Tensor  # (tokens, max characters)
    mask: torch.Tensor  # (batch, time) bool
    lengths: torch.Tensor  # (batch,) on the CPU, for packing
    labels: torch.Tensor | None  # (batch, time)
    positions: list[int]  # where each sentence stands in the input
    allowed: torch.Tensor | None = None  # (batch, time, labels) bool, when some sentence is partially annotated

    def to(self, device: torch.device) -> Batch:
        move = (lambda tensor: tensor.to(device, non_blocking=True)) if device.type != "cpu" else (lambda tensor: tensor)
        labels = move(self.labels) if self.labels is not None else None
        allowed = move(self.allowed) if self.allowed is not None else None
        tensors = (move(self.words), move(self.cases), move(self.chars), move(self.mask))
        return Batch(*tensors, self.lengths, labels, self.positions, allowed)

    @property
    def tokens(self) -> int:
        return int(self.lengths.sum())


def encode(tokens: Sequence[str], vocab: Vocab, labels: Sequence[str] | None = None) -> Encoded:
    """Ids for one sentence; unknown labels become -1 (they count as errors, never as targets)."""
    ids = [vocab.token_ids(token) for token in tokens]
    label_ids = None if labels is None else [vocab.labels.get(label, -1) for label in labels]
    return Encoded([word for word, _, _ in ids], [case for _, case, _ in ids], [chars for _, _, chars in ids], label_ids)


def _padded(rows: Sequence[list[int]], width: int) -> torch.Tensor:
    """(rows, width) ids, each row left-aligned and 0-padded."""
    # One flat tensor scattered into place: half the time of padding each list in Python.
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    padded = torch.zeros(len(rows), width, dtype=torch.long)
    padded[torch.arange(width) < lengths.unsqueeze(1)] = torch.tensor(list(chain.from_iterable(rows)), dtype=torch.long)
    return padded


def collate(items: Sequence[Encoded], positions: list[int]) -> Batch:
    """Pad a list of encoded sentences into one batch."""
    lengths = torch.tensor([len(item) for item in items], dtype=torch.long)
    steps = int(lengths.max())
    words = _padded([item.words for item in items], steps)
    cases = _padded([item.cases for item in items], steps)
    token_chars = [chars for item in items for chars in item.chars]
    chars = _padded(token_chars, max(map(len, token_chars)))
    mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
    labels, allowed = None, None
    if all(item.labels is not None for item in items):
        labels = _padded([item.labels for item in items], steps).clamp(min=0)
        if any(item.open_label is not None for item in items):
            allowed = _allowed_labels(items, labels)
    return Batch(words, cases, chars, mask, lengths, labels, positions, allowed)


def _allowed_labels(items: Sequence[Encoded], labels: torch.Tensor) -> torch.Tensor:
    """(batch, time, ids) bool: each token's own label, plus the open alternatives of partially labelled sentences.

    The last dimension reaches the largest label id in the batch; the model pads it to its label count.
    """
    largest = max([int(labels.max())] + [max(item.also_allowed, default=0) for item in items])
    allowed = torch.nn.functional.one_hot(labels, largest + 1).bool()
    for row, item in enumerate(items):
        if item.open_label is not None and item.also_allowed:
            is_open = labels[row] == item.open_label
            is_open[len(item) :] = False
            allowed[row, is_open.nonzero(as_tuple=True)[0].unsqueeze(1), torch.tensor(item.also_allowed)] = True
    return allowed


def bucketed_batches(
    items: Sequence[Encoded], batch_size: int, shuffle_seed: int | None = None, max_tokens: int | None = None
) -> Iterator[Batch]:
    """Batches of sentences of similar length; with a seed, batch order (and ties) shuffled.

    With `max_tokens`, a batch also stays within that many padded tokens (sentences x
    longest sentence), which bounds memory when long sentences come in.
    """
    order = list(range(len(items)))
    rng = random.Random(shuffle_seed) if shuffle_seed is not None else None
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda index: len(items[index]))
    groups: list[list[int]] = [[]]
    for index in order:
        group = groups[-1]
        full = len(group) >= batch_size or (max_tokens is not None and (len(group) + 1) * len(items[index]) > max_tokens)
        if group and full:
            groups.append([index])
        else:
            group.append(index)
    if rng is not None:
        rng.shuffle(groups)
    for group in groups:
        if group:
            yield collate([items[index] for index in group], group)
