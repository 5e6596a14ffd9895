"""Fault injection for crash-consistency tests: `TAGGER_KILL_AT=point[@n]` SIGKILLs the process there.

The process kills itself the n-th time (default: the first) it reaches the named point,
so a test can stop a run at exactly the moment it wants to check (between writing the
best weights and the checkpoint, inside a file write, ...). Unset, it costs one lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

VARIABLE = "TAGGER_KILL_AT"
_reached: Counter = Counter()


def point(name: str) -> None:
    """A place where a kill may land; dies here when TAGGER_KILL_AT names it."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    target, _, count = wanted.partition("@")
    if target != name:
        return
    _reached[name] += 1
    if _reached[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
