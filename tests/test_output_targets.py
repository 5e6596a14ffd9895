"""What an output may replace (#44): only a regular file or stdout; never a link, a FIFO or a device, never a file
of the installed package, never the same file twice in one command; a bundled model is recalibrated as a copy."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import tagger
from tagger.predict import Predictor
from tests.conftest import SAMPLES
from tests.helpers import cli

PACKAGE = Path(tagger.__file__).resolve().parent
SENTENCE = "Maria Lopez flew from Oslo to Lagos .\n"


def digest(directory: Path) -> dict[str, str]:
    """Every regular file under a directory with its SHA-256, to show that nothing changed."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def assert_one_line(result, fragment: str) -> None:
    message = result.stderr.strip()
    assert result.exit_code == 2 and fragment in message and "\n" not in message, (result.exit_code, message)


def test_a_fifo_given_as_the_output_is_refused_and_stays_a_fifo(ner_model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_one_line(cli("tag", ner_model, "--output", fifo, "--force", stdin=SENTENCE), "not a regular file")
    assert fifo.is_fifo()


def test_a_symbolic_link_given_as_the_output_is_refused_and_kept(ner_model, tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("keep me\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert_one_line(cli("tag", ner_model, "--output", link, "--force", stdin=SENTENCE), "symbolic link")
    assert link.is_symlink() and target.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["models/shared/glove-6b-50d-top180k.safetensors", "models/en-ner/model.safetensors", "x.html"])
def test_outputs_inside_the_installed_package_are_refused_and_it_is_unchanged(ner_model, where):
    before = digest(PACKAGE / "models")
    assert_one_line(cli("tag", ner_model, "--output", PACKAGE / where, "--force", stdin=SENTENCE), "installed tagger package")
    test_file = SAMPLES / "sample-ner" / "test.conll"
    assert_one_line(cli("evaluate", ner_model, test_file, "--html", PACKAGE / where, "--force"), "installed tagger package")
    assert digest(PACKAGE / "models") == before


def test_one_file_named_for_both_the_predictions_and_the_page_is_refused(ner_model, tmp_path):
    test_file = SAMPLES / "sample-ner" / "test.conll"
    same = tmp_path / "out"
    result = cli("evaluate", ner_model, test_file, "--output", same, "--html", same)
    assert result.exit_code == 2 and "same file" in result.stderr and not same.exists()


def test_a_bundled_model_is_recalibrated_into_a_copy_and_the_installed_one_is_unchanged(tmp_path):
    dev = SAMPLES / "sample-ner" / "dev.conll"
    before = digest(PACKAGE / "models")
    assert_one_line(cli("calibrate", "en-ner", dev), "--out DIR")
    copy = tmp_path / "en-ner-mine"
    result = cli("calibrate", "en-ner", dev, "--out", copy)
    assert result.exit_code == 0, result.stderr
    assert digest(PACKAGE / "models") == before
    assert (copy / "calibration.json").is_file() and Predictor.load(copy, "cpu").temperature > 0
    assert_one_line(cli("calibrate", "en-ner", dev, "--out", copy), "already exists")
