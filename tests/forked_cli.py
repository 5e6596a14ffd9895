"""`python -m tagger ARGS` as a new process, without paying for importing torch each time.

A new `python -m tagger` spends about 2.7 s of its start importing torch, and the suite
runs the command line a few hundred times. Here each run is a child forked from a server
process that imported torch and the CLI's modules once (multiprocessing's forkserver,
started on first use): like a new process, the child has its own working directory,
environment, standard streams (files, read back afterwards), signal handlers, thread
settings and exit code (a negative one when a signal ends it). The server never runs a
torch operation, because OpenMP's thread pool does not survive a fork.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# what `tagger train`, `tag` and `evaluate` import on their way; anything else is imported by the child
PRELOAD = ["torch", "tagger.cli", "tagger.training", "tagger.tagging", "tagger.evaluate", "tagger.predict"]

_server: multiprocessing.context.ForkServerContext | None = None


def _context() -> multiprocessing.context.ForkServerContext:
    global _server
    if _server is None:
        _server = multiprocessing.get_context("forkserver")
        _server.set_forkserver_preload(PRELOAD)
    return _server


def run_forked(
    args: list[str],
    cwd: Path,
    input: str | bytes | None = None,
    text: bool = False,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """What subprocess.run([python, -m, tagger, *args], capture_output=True, ...) returns, from a forked child."""
    with tempfile.TemporaryDirectory(prefix="tagger-cli-") as scratch:
        stdin, stdout, stderr = (Path(scratch) / name for name in ("stdin", "stdout", "stderr"))
        stdin.write_bytes(input.encode("utf-8") if isinstance(input, str) else input or b"")
        child = _context().Process(target=_run_cli, args=(args, str(cwd), (str(stdin), str(stdout), str(stderr)), env))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["tagger", *args], timeout)
        out, err = stdout.read_bytes(), stderr.read_bytes()
    if text:
        out, err = out.decode("utf-8"), err.decode("utf-8")
    return subprocess.CompletedProcess(["tagger", *args], child.exitcode, out, err)


def _run_cli(args: list[str], cwd: str, streams: tuple[str, str, str], env: dict[str, str] | None) -> None:
    """In the child: the working directory, environment and streams of a new process, then the CLI."""
    os.chdir(cwd)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    stdin, stdout, stderr = streams
    for descriptor, path, flags in ((0, stdin, os.O_RDONLY), (1, stdout, os.O_WRONLY), (2, stderr, os.O_WRONLY)):
        opened = os.open(path, flags | (os.O_CREAT | os.O_TRUNC if descriptor else 0), 0o644)
        os.dup2(opened, descriptor)
        os.close(opened)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # as Python opens a new process's streams
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    sys.argv = ["tagger", *args]
    from tagger.cli import main

    main(args=args, prog_name="python -m tagger")
