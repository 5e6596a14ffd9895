"""Sentences to padded arrays: encoding once, length-bucketed batches, NumPy arrays or torch tensors.

Padding is done once, in NumPy (`collate_arrays`); the torch batch wraps those arrays, so
this module imports torch only where a torch batch is asked for.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from tagger.vocab import Vocab

if TYPE_CHECKING:
    import torch


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
    head: int = 0  # the head its labels train, by position (a model with several heads)

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
    heads: torch.Tensor | None = None  # (batch,) the head each sentence's labels train, when some train another than the first

    def to(self, device: torch.device) -> Batch:
        move = (lambda tensor: tensor.to(device, non_blocking=True)) if device.type != "cpu" else (lambda tensor: tensor)
        labels, allowed, heads = (
            move(tensor) if tensor is not None else None for tensor in (self.labels, self.allowed, self.heads)
        )
        tensors = (move(self.words), move(self.cases), move(self.chars), move(self.mask))
        return Batch(*tensors, self.lengths, labels, self.positions, allowed, heads)

    @property
    def tokens(self) -> int:
        return int(self.lengths.sum())


def encode(tokens: Sequence[str], vocab: Vocab, labels: Sequence[str] | None = None) -> Encoded:
    """Ids for one sentence; unknown labels become -1 (they count as errors, never as targets)."""
    ids = [vocab.token_ids(token) for token in tokens]
    label_ids = None if labels is None else [vocab.labels.get(label, -1) for label in labels]
    return Encoded([word for word, _, _ in ids], [case for _, case, _ in ids], [chars for _, _, chars in ids], label_ids)


@dataclass
class ArrayBatch:
    """A batch as NumPy arrays (int64 ids): words, cases and mask (batch, time), chars (tokens, max characters)."""

    words: np.ndarray
    cases: np.ndarray
    chars: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray  # (batch,)
    positions: list[int]  # where each sentence stands in the input


def _padded(rows: Sequence[list[int]], width: int, fill: int = 0) -> np.ndarray:
    """(rows, width) ids, each row left-aligned and padded with `fill`."""
    # One flat array scattered into place: half the time of padding each list in Python.
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    padded = np.full((len(rows), width), fill, dtype=np.int64)
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    padded[np.arange(width) < lengths[:, None]] = flat
    return padded


def collate_arrays(items: Sequence[Encoded], positions: list[int]) -> ArrayBatch:
    """Pad a list of encoded sentences into one batch of arrays."""
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    steps = int(lengths.max())
    words = _padded([item.words for item in items], steps)
    cases = _padded([item.cases for item in items], steps)
    token_chars = [chars for item in items for chars in item.chars]
    chars = _padded(token_chars, max(map(len, token_chars)))
    mask = np.arange(steps)[None] < lengths[:, None]
    return ArrayBatch(words, cases, chars, mask, lengths, positions)


def collate(items: Sequence[Encoded], positions: list[int]) -> Batch:
    """Pad a list of encoded sentences into one batch of tensors (with labels, where every sentence has them)."""
    import torch

    batch = tensor_batch(collate_arrays(items, positions))
    if all(item.labels is not None for item in items):
        batch.labels = torch.from_numpy(_padded([item.labels for item in items], batch.words.shape[1])).clamp(min=0)
        if any(item.open_label is not None for item in items):
            batch.allowed = _allowed_labels(items, batch.labels)
        if any(item.head for item in items):
            batch.heads = torch.tensor([item.head for item in items])
    return batch


def tensor_batch(arrays: ArrayBatch) -> Batch:
    """The torch batch over the same arrays (no copy on the CPU), without labels."""
    import torch

    words, cases, chars, mask, lengths = (
        torch.from_numpy(array) for array in (arrays.words, arrays.cases, arrays.chars, arrays.mask, arrays.lengths)
    )
    return Batch(words, cases, chars, mask, lengths, None, arrays.positions)


def _allowed_labels(items: Sequence[Encoded], labels: torch.Tensor) -> torch.Tensor:
    """(batch, time, ids) bool: each token's own label, plus the open alternatives of partially labelled sentences.

    The last dimension reaches the largest label id in the batch; the model pads it to its label count.
    """
    import torch

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
    """Batches of tensors of sentences of similar length (see `bucketed_groups`)."""
    for group in bucketed_groups(items, batch_size, shuffle_seed, max_tokens):
        yield collate([items[index] for index in group], group)


def bucketed_array_batches(items: Sequence[Encoded], batch_size: int, max_tokens: int | None = None) -> Iterator[ArrayBatch]:
    """Batches of arrays of sentences of similar length (see `bucketed_groups`)."""
    for group in bucketed_groups(items, batch_size, None, max_tokens):
        yield collate_arrays([items[index] for index in group], group)


def bucketed_groups(
    items: Sequence[Encoded], batch_size: int, shuffle_seed: int | None = None, max_tokens: int | None = None
) -> list[list[int]]:
    """Positions of sentences of similar length, grouped by batch; with a seed, batch order (and ties) shuffled.

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
    return [group for group in groups if group]
