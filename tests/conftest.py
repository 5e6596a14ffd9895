"""Shared fixtures: paths to the bundled samples and to ../shared/corpora (skipped when absent)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
from forked_cli import run_forked

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpora"
SHARED = ROOT.parent / "shared" / "corpora"


@pytest.fixture
def shared_corpora() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (they sit beside the checkout in CI)")
    return SHARED


def run_tagger(
    *args: object,
    input: str | bytes | None = None,
    text: bool = True,
    timeout: float = 300,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    stdout: IO | None = None,
    stderr: IO | None = None,
) -> subprocess.CompletedProcess:
    """`python -m tagger ARGS` as a user runs it (from the repository root), its output captured.

    Each run is a new process forked from one that has imported torch (tests/forked_cli.py),
    without the 2.7 s import; one whose stdout and stderr go to an open file is a plain subprocess.
    """
    if stdout is not None or stderr is not None:
        command = [sys.executable, "-m", "tagger", *map(str, args)]
        return subprocess.run(command, cwd=cwd, input=input, timeout=timeout, env=env, stdout=stdout, stderr=stderr)
    return run_forked([str(arg) for arg in args], cwd=cwd, input=input, text=text, timeout=timeout, env=env)


def write(path: Path, text: str | bytes) -> Path:
    """Write a small fixture file exactly as given (bytes, or text without newline translation)."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    path.write_bytes(data)
    return path


def _train_tiny(directory: Path, corpus: str, label_column: str, crf: bool) -> Path:
    from tagger import config as config_module
    from tagger import training

    suffix = "conll" if corpus == "sample-ner" else "conllu"
    config = config_module.from_dict(
        {
            "data": {
                "train": str(SAMPLES / corpus / f"train.{suffix}"),
                "dev": str(SAMPLES / corpus / f"dev.{suffix}"),
                "label_column": label_column,
            },
            "model": {"word_dim": 24, "char_dim": 12, "char_hidden": 16, "hidden": 32, "case_dim": 4, "dropout": 0.2, "crf": crf},
            "train": {"epochs": 6, "batch_size": 16, "lr": 0.01, "device": "cpu", "threads": 1},
        },
        "test",
    )
    training.train(config, directory, show_progress=False, log=lambda message: None)
    return directory


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory) -> Path:
    """A small NER model trained once per test session on the bundled sample."""
    return _train_tiny(tmp_path_factory.mktemp("models") / "ner", "sample-ner", "4", crf=True)


@pytest.fixture(scope="session")
def upos_model(tmp_path_factory) -> Path:
    """A small UPOS model trained once per test session on the bundled sample."""
    return _train_tiny(tmp_path_factory.mktemp("models") / "upos", "sample-upos", "upos", crf=False)
