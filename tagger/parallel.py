"""Labelling on several CPU processes: chunks go out to worker processes, results come back in order.

Each worker loads the model once and uses one thread; at most two chunks per worker are in
flight, so memory stays bounded however long the input is.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.world import set_blas_threads, set_engine_threads

if TYPE_CHECKING:
    from tagger.predict import ConfidenceRequest, Predictions

_predictor = None
_batch_size = 256


def _start_worker(model_dir: str, batch_size: int, runtime: str) -> None:
    from tagger.predict import Predictor

    global _predictor, _batch_size
    set_blas_threads(1)  # before NumPy loads: one thread per worker, as for torch
    set_engine_threads(1)
    if runtime == "torch":
        import torch

        torch.set_num_threads(1)
    _predictor = Predictor.load(model_dir, "cpu", runtime)
    _batch_size = batch_size


def _label(token_lists: list[list[str]], with_scores: bool, confidence: ConfidenceRequest | None) -> Predictions:
    return _predictor.predict_encoded(_predictor.encode(token_lists), _batch_size, with_scores, confidence)


def label_in_order(
    model_dir: str | Path,
    token_chunks: Iterable[list[list[str]]],
    batch_size: int,
    with_scores: bool,
    workers: int,
    confidence: ConfidenceRequest | None = None,
    runtime: str = "numpy",
) -> Iterator[Predictions]:
    """Predictions for each chunk of token lists, in input order, from `workers` processes (`runtime`: numpy or torch)."""
    context = multiprocessing.get_context("spawn")  # fork after torch has started threads can deadlock
    with context.Pool(workers, initializer=_start_worker, initargs=(str(model_dir), batch_size, runtime)) as pool:
        pending: deque = deque()
        for chunk in token_chunks:
            pending.append(pool.apply_async(_label, (chunk, with_scores, confidence)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
