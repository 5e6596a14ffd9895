"""This process's place among the processes of a run (from torchrun's environment) and its share of the cores (torch-free)."""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T, R = TypeVar("T"), TypeVar("R")


@dataclass(frozen=True)
class World:
    """This process's place among the processes of a run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def choose_threads(requested: int | None = None, workers: int = 1) -> int:
    """Threads for prediction: as requested, else one per core that is free now.

    Two processes with 2 threads each on 2 cores run about 10 times slower than with one
    each (their OpenMP threads spin against each other), so the default leaves out the
    cores the 1-minute load average says are busy; worker processes use one thread each
    and the parent, which only hands out chunks, one too.
    """
    if requested:
        return bounded_threads(requested)
    if workers > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    return max(1, min(cores, (os.cpu_count() or cores) - busy))


def bounded_threads(requested: int) -> int:
    """At most one thread per core: torch's pool crashes (SIGSEGV) when asked for 100,000."""
    return max(1, min(requested, os.cpu_count() or 1))


_engine_threads: int | None = None


def set_engine_threads(count: int) -> None:
    """The threads the NumPy engine labels batches on (the command line's --threads, or the free cores)."""
    global _engine_threads
    _engine_threads = bounded_threads(count)


def engine_threads() -> int:
    """As set, else one per free core (see choose_threads)."""
    return _engine_threads if _engine_threads is not None else choose_threads()


def in_threads(work: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[tuple[T, R]]:
    """(item, work(item)) in the order of `items`, computed on `threads` threads, at most two per thread in
    flight. NumPy releases the interpreter lock in its array loops and products, so batches run side by side."""
    if threads <= 1:
        yield from ((item, work(item)) for item in items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(work, item)))
            if len(pending) >= 2 * threads:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_blas_threads(count: int) -> None:
    """NumPy's BLAS reads its thread count once, when NumPy is first imported: set it before then."""
    if "numpy" in sys.modules:
        return
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, str(count))
