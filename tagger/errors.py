"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class TaggerError(Exception):
    """A problem with the user's input, config or model directory (not a bug)."""


class InputError(TaggerError):
    """A file that cannot be used, with the line where the problem is."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.problem}"


class Interrupted(TaggerError):
    """Ctrl-C or SIGTERM during a long job; the message says what was kept and how to continue."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that every clean-up path handles both (exit 143)."""


def interrupt_exit_code(interrupt: BaseException) -> int:
    """128 + the signal number: 143 for SIGTERM, 130 for Ctrl-C."""
    return 143 if isinstance(interrupt, Terminated) else 130
