"""Hostile model directories: loading never imports code, and wrong shapes, vocabularies and sizes are refused."""

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tagger.errors import TaggerError
from tagger.predict import Predictor


@pytest.fixture
def model_copy(ner_model, tmp_path):
    import shutil

    target = tmp_path / "model"
    shutil.copytree(ner_model, target)
    return target


def test_config_naming_a_class_to_import_is_refused(model_copy):
    data = json.loads((model_copy / "config.json").read_text())
    data["config"]["model"]["cls"] = "os.system"
    (model_copy / "config.json").write_text(json.dumps(data))
    with pytest.raises(TaggerError, match="model.cls: unknown key"):
        Predictor.load(model_copy, "cpu")


def test_wrong_shapes_and_dtypes_are_refused(model_copy):
    tensors = load_file(str(model_copy / "model.safetensors"))
    name = "output.weight"
    changed = {**tensors, name: torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])}
    save_file(changed, str(model_copy / "model.safetensors"))
    with pytest.raises(TaggerError, match="output.weight has shape"):
        Predictor.load(model_copy, "cpu")
    save_file({**tensors, name: tensors[name].double()}, str(model_copy / "model.safetensors"))
    with pytest.raises(TaggerError, match="float64"):
        Predictor.load(model_copy, "cpu")


def test_vocabulary_that_does_not_match_the_weights_is_refused(model_copy):
    vocab = json.loads((model_copy / "vocab.json").read_text())
    vocab["words"].append("an-extra-word")
    (model_copy / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(TaggerError, match="has shape"):
        Predictor.load(model_copy, "cpu")


def test_huge_declared_sizes_are_refused_before_allocating(model_copy):
    data = json.loads((model_copy / "config.json").read_text())
    data["config"]["model"]["hidden"] = 10**9
    (model_copy / "config.json").write_text(json.dumps(data))
    with pytest.raises(TaggerError, match="model.hidden"):
        Predictor.load(model_copy, "cpu")


def copied_v1_model(tmp_path):
    import shutil

    return shutil.copytree(Path(__file__).parent / "data" / "v1-models" / "ner-crf", tmp_path / "model")


@pytest.mark.parametrize("name", ["vocab.json", "config.json", "calibration.json"])
def test_a_fifo_in_a_model_directory_is_one_line_not_a_hang(tmp_path, name):
    from tests.conftest import run_tagger

    model = copied_v1_model(tmp_path)
    (model / name).unlink(missing_ok=True)
    os.mkfifo(model / name)
    for command in (["tag", model], ["info", model]):
        result = run_tagger(*command, input="Maria flew .\n", timeout=60)
        assert result.returncode == 2 and "not a regular file" in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_info_on_a_calibration_whose_figures_are_text_shows_the_temperature(tmp_path):
    from tests.helpers import cli

    model = copied_v1_model(tmp_path)
    (model / "calibration.json").write_text(json.dumps({"temperature": 1.5, "count": 10, "ece_before": 0.1, "ece_after": "x"}))
    result = cli("info", model)
    assert result.exit_code == 0 and "temperature 1.500" in result.stdout, result.output


@pytest.mark.parametrize("damage", [{"epoch": "x"}, {"planned_steps": float("nan")}, {"step": -3}])
def test_a_damaged_checkpoint_progress_is_one_line_on_resume(tmp_path, damage):
    from tests.conftest import ROOT, run_tagger

    out = tmp_path / "run"
    trained = run_tagger("train", ROOT / "configs" / "sample-ner.toml", "--out", out, "--epochs", "2", "--set", "model.hidden=8")
    assert trained.returncode == 0, trained.stderr
    (out / "metrics.json").unlink()
    state = out / "checkpoint" / "state.json"
    data = json.loads(state.read_text())
    progress_key = next(key for key in data if isinstance(data[key], dict) and "epoch" in data[key])
    data[progress_key].update(damage)
    state.write_text(json.dumps(data))
    result = run_tagger("train", "--resume", out)
    assert result.returncode == 2 and "progress is damaged" in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    "task",
    [
        {"label_column": {"a": 1}, "format": "conll", "corpus_scheme": "IOB1", "internal_scheme": "IOBES"},
        {"label_column": "4", "format": "pickle", "corpus_scheme": "IOB1", "internal_scheme": "IOBES"},
        {"label_column": "4", "format": "conll", "corpus_scheme": "IOB9", "internal_scheme": "IOBES"},
        {"label_column": "4", "format": "conll", "corpus_scheme": None, "internal_scheme": "IOBES"},
    ],
)
def test_a_task_of_the_wrong_kind_in_config_json_is_one_line(tmp_path, task):
    from tests.helpers import cli

    model = copied_v1_model(tmp_path)
    saved = json.loads((model / "config.json").read_text())
    saved["task"] = task
    (model / "config.json").write_text(json.dumps(saved))
    for command in (("tag", model), ("info", model)):
        result = cli(*command, stdin="Maria flew .\n")
        assert result.exit_code == 2 and "task" in result.stderr and result.stderr.count("\n") == 1, result.output
