"""Hostile model directories: loading never imports code, and wrong shapes, vocabularies and sizes are refused."""

import json

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
