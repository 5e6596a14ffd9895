"""Shared fixtures: paths to the bundled samples and to ../shared/corpora (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpora"
SHARED = ROOT.parent / "shared" / "corpora"


@pytest.fixture
def shared_corpora() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (they sit beside the checkout in CI)")
    return SHARED


def write(path: Path, text: str | bytes) -> Path:
    """Write a small fixture file exactly as given (bytes, or text without newline translation)."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    path.write_bytes(data)
    return path
