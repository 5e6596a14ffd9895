"""The torch-free NumPy engine against the torch reference (#43): one layer description, the same labels,
probabilities, confidences and n-best on every kind of stored model, and tagging with torch unimportable."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tagger import config as config_module
from tagger import network, training
from tagger.config import ModelConfig
from tagger.model import TaggerModel
from tagger.predict import ConfidenceRequest, Predictor
from tests.conftest import SAMPLES, write
from tests.helpers import cli

ROOT = Path(__file__).resolve().parent.parent
V1_MODELS = ROOT / "tests" / "data" / "v1-models"
NER, UPOS = SAMPLES / "sample-ner", SAMPLES / "sample-upos"
SMALL = {"word_dim": 8, "char_dim": 6, "char_hidden": 6, "hidden": 10, "case_dim": 3}
# One of each kind of network the tests can train: (name, corpus, model settings, with a vectors file)
KINDS = [
    ("lstm-cnn-crf", "ner", {}, False),
    ("gru-charlstm-softmax", "ner", {"cell": "gru", "char_encoder": "lstm", "crf": False}, False),
    ("lstm-nochars-crf-2layers-nocase", "ner", {"char_encoder": "none", "layers": 2, "case_dim": 0}, False),
    ("gru-cnn-iob2", "ner", {"cell": "gru", "scheme": "iob2"}, False),
    ("vectors-frozen-table", "ner", {"tune_vectors": "seen"}, True),
    ("vectors-all-trained", "ner", {"cell": "gru", "tune_vectors": "all", "crf": False}, True),
    ("vectors-rows-frozen", "ner", {"tune_vectors": "seen", "freeze_vectors": True}, True),
    ("upos-softmax", "upos", {"crf": False, "cell": "gru"}, False),
    ("upos-crf-charlstm", "upos", {"char_encoder": "lstm"}, False),
]
ODD_SENTENCES = [
    ["Kilimanjaro", "zebra", "Tuesday", "xyzzyq", "Ünïcödé", "1,234", "http://example.com/" + "a" * 60],
    ["Peter"],
    ["the", "the", "the", "The", "THE", "tHe"],
]


def vectors_file(path: Path) -> Path:
    """A small word-vector text file: some training words and some words the training never saw."""
    words = [line.split()[0] for line in (NER / "train.conll").read_text(encoding="utf-8").splitlines()[:400] if line.split()]
    words = sorted({word.lower() for word in words} | {"kilimanjaro", "zebra", "tuesday", "ünïcödé"})
    rng = random.Random(5)
    lines = [" ".join([word] + [f"{rng.uniform(-1, 1):.4f}" for _ in range(SMALL["word_dim"])]) for word in words]
    return write(path, "\n".join(lines) + "\n")


def train_kind(directory: Path, corpus: str, settings: dict, with_vectors: bool) -> Path:
    folder, suffix, column = {"ner": (NER, "conll", "4"), "upos": (UPOS, "conllu", "upos")}[corpus]
    model = {**SMALL, **settings}
    if with_vectors:
        model["vectors"] = str(vectors_file(directory / "vectors.txt"))
    config = config_module.from_dict(
        {
            "data": {
                "train": str(folder / f"train.{suffix}"),
                "dev": str(folder / f"dev.{suffix}"),
                "label_column": column,
            },
            "model": model,
            "train": {"epochs": 2, "batch_size": 16, "lr": 0.02, "device": "cpu", "threads": 1},
        },
        "test",
    )
    training.train(config, directory / "run", show_progress=False, log=lambda message: None)
    return directory / "run"


def sentences_for(predictor: Predictor) -> list[list[str]]:
    path = NER / "test.conll" if predictor.task.format == "conll" else UPOS / "test.conllu"
    from tagger.tagging import read_input

    layout = predictor.layout(predictor.task.format, None, labelled=False)
    return [sentence.tokens for sentence in read_input(str(path), predictor.task.format, layout)] + ODD_SENTENCES


def assert_engines_agree(directory: Path | str) -> None:
    """Labels equal on every token; label probabilities, confidences and n-best probabilities within 1e-5."""
    reference, engine = Predictor.load(directory, "cpu", "torch"), Predictor.load(directory, "cpu", "numpy")
    items = reference.encode(sentences_for(reference))
    request = ConfidenceRequest(nbest=3)
    expected = reference.predict_encoded(items, 64, with_scores=True, confidence=request)
    found = engine.predict_encoded(items, 64, with_scores=True, confidence=request)
    assert found.labels == expected.labels
    for ours, theirs in zip(found.scores, expected.scores):
        assert ours == pytest.approx(theirs, abs=1e-5)
    for ours, theirs in zip(found.confidences, expected.confidences):
        assert ours.tokens == pytest.approx(theirs.tokens, abs=1e-5)
        assert ours.spans.keys() == theirs.spans.keys()
        assert list(ours.spans.values()) == pytest.approx(list(theirs.spans.values()), abs=1e-5)
        assert [labels for labels, *_ in ours.nbest] == [labels for labels, *_ in theirs.nbest]
        assert [p for _, p, _ in ours.nbest] == pytest.approx([p for _, p, _ in theirs.nbest], abs=1e-5)
        assert [log for *_, log in ours.nbest] == pytest.approx([log for *_, log in theirs.nbest], abs=1e-4)


@pytest.mark.parametrize("settings", [kind[2] for kind in KINDS], ids=[kind[0] for kind in KINDS])
def test_the_layer_description_names_every_torch_parameter_in_order(settings):
    config = ModelConfig(**{**SMALL, **settings})
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    model = TaggerModel(config, 40, 30, labels, "iobes")
    described = network.parameter_shapes(network.layers(config, 40, 30, len(labels)))
    assert list(described.items()) == [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]


@pytest.mark.parametrize("kind", KINDS, ids=[kind[0] for kind in KINDS])
def test_engines_agree_on_every_kind_of_trained_model(kind, tmp_path):
    _, corpus, settings, with_vectors = kind
    assert_engines_agree(train_kind(tmp_path, corpus, settings, with_vectors))


@pytest.mark.parametrize(
    "name", ["en-ner", "en-upos", "pt-upos-ner", "sk-upos-ner", "xx-ner", V1_MODELS / "ner-crf", V1_MODELS / "ner-softmax"]
)
def test_engines_agree_on_the_bundled_and_v1_models(name):
    assert_engines_agree(name)


def test_a_directory_whose_weights_differ_from_the_description_is_refused_by_both_engines(tmp_path):
    """One check for both: a tensor of the wrong shape is named in one line, whichever engine loads it."""
    import shutil

    from safetensors.numpy import load_file, save_file

    model = shutil.copytree(V1_MODELS / "ner-crf", tmp_path / "model")
    weights = load_file(model / "model.safetensors")
    weights["output.bias"] = weights["output.bias"][:-1]
    save_file(weights, model / "model.safetensors")
    for runtime in ("numpy", "torch"):
        with pytest.raises(Exception, match="output.bias has shape"):
            Predictor.load(model, "cpu", runtime)


WITH_RUNTIME = ("tag", "joined", "confidence", "conll", "scores", "evaluate")  # the commands with --runtime
WITHOUT_TORCH = """
import json, sys
sys.modules["torch"] = None  # any import of torch fails
from click.testing import CliRunner
from tagger import Tagger
from tagger.cli import main
results = {}
for name, args, stdin in json.loads(sys.argv[1]):
    outcome = CliRunner().invoke(main, args, input=stdin)
    results[name] = [outcome.exit_code, outcome.stdout, outcome.stderr]
results["api"] = Tagger.load(sys.argv[2]).tag("Maria Lopez flew from Oslo to Lagos.", confidence=True)
results["torch"] = "torch" in sys.modules and sys.modules["torch"] is not None
print(json.dumps(results))
"""


def test_the_default_paths_never_import_torch_and_give_torchs_results(ner_model, upos_model):
    """tag (one model, two joined, confidences, n-best, conll), evaluate, compare, info, models and the Python
    API, run with torch unimportable, print what the torch runtime prints; what needs torch says so in one line."""
    text = "Maria Lopez flew from Oslo to Lagos .\nPeter works for Acme in Berlin .\n"
    test_file = str(NER / "test.conll")
    commands = [
        ("tag", ["tag", str(ner_model)], text),
        ("joined", ["tag", f"{upos_model},{ner_model}", "--output-format", "inline"], text),
        ("confidence", ["tag", str(ner_model), "--confidence", "--nbest", "2"], text),
        ("conll", ["tag", str(ner_model), test_file, "--input-format", "conll", "--output-format", "conll"], None),
        ("scores", ["tag", str(ner_model), "--scores"], text),
        ("evaluate", ["evaluate", str(ner_model), test_file, "--json"], None),
        ("compare", ["compare", str(ner_model), "en-ner", "--files", test_file], None),
        ("info", ["info", str(ner_model)], None),
        ("models", ["models"], None),
    ]
    needing_torch = [
        ("tag-torch", ["tag", str(ner_model), "--runtime", "torch"], text),
        ("train", ["train", str(ROOT / "configs" / "sample-ner.toml"), "--out", str(ner_model.parent / "never")], None),
    ]
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, json.dumps(commands + needing_torch), str(ner_model)],
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(run.stdout)
    assert results.pop("torch") is False
    api = results.pop("api")
    for name in ("tag-torch", "train"):
        exit_code, _, errors = results.pop(name)
        assert exit_code == 2 and errors.count("\n") == 1 and "pip install torch" in errors, (name, errors)
    for name, args, stdin in commands:
        exit_code, output, _ = results[name]
        reference = cli(
            *args,
            *(["--runtime", "torch"] if name in ("tag", "joined", "confidence", "conll", "scores", "evaluate") else []),
            stdin=stdin,
        )
        assert exit_code == 0 == reference.exit_code, (name, output)
        if name in ("confidence", "scores", "evaluate"):
            assert_json_lines_close(output, reference.stdout)
        else:  # compare, info and models have no runtime option: the same command, torch importable
            assert output == reference.stdout, name
    from tagger import Tagger

    expected = Tagger.load(ner_model, runtime="torch").tag("Maria Lopez flew from Oslo to Lagos.", confidence=True)
    assert_close(api, expected)


def assert_json_lines_close(found: str, expected: str) -> None:
    """The same JSON documents (one per line), numbers within 1e-5."""
    for ours, theirs in zip(found.splitlines(), expected.splitlines(), strict=True):
        assert_close(without_certain_threshold(json.loads(ours)), without_certain_threshold(json.loads(theirs)))


def without_certain_threshold(report: dict) -> dict:
    """A report without its confidence curve's point at threshold 1.0, which counts the spans whose probability
    is 1 to the last bit of a float64: 1e-7 in an emission moves a span across it, in either engine."""
    for curve in (part.get("curve", []) for part in report.get("calibration", {}).values() if isinstance(part, dict)):
        curve[:] = [point for point in curve if point.get("threshold") != 1.0]
    return report


def assert_close(ours, theirs, where: str = "") -> None:
    """Equal JSON values, numbers within 1e-5 (`where`: the path, for the message)."""
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), where
        for key in ours.keys() - {"tokens_per_s"}:  # a timing, not a result
            assert_close(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), where
        for index, (mine, other) in enumerate(zip(ours, theirs)):
            assert_close(mine, other, f"{where}[{index}]")
    elif isinstance(ours, float):
        assert ours == pytest.approx(theirs, abs=1e-5), where
    else:
        assert ours == theirs, where


def test_torch_stays_the_reference_and_a_gpu_request_of_the_numpy_runtime_is_one_line(ner_model):
    assert cli("tag", ner_model, "--runtime", "torch", stdin="Maria flew to Oslo .\n").exit_code == 0
    refused = cli("tag", ner_model, "--runtime", "numpy", "--device", "cuda", stdin="Maria flew .\n")
    assert refused.exit_code == 2 and "--runtime torch" in refused.stderr


@pytest.mark.parametrize("damage", ["nan", "infinity", "duplicate word"])
def test_a_damaged_vector_table_is_refused_by_both_engines(tmp_path, damage):
    """The table a model reads beside its weights: float16 NaN or infinity, or a word twice, is one line."""
    import shutil

    import numpy
    from safetensors.numpy import save_file

    model = shutil.copytree(train_kind(tmp_path, "ner", {"tune_vectors": "seen"}, True), tmp_path / "model")
    from safetensors import safe_open

    with safe_open(str(model / "vectors.safetensors"), framework="np") as handle:
        metadata, vectors = handle.metadata(), handle.get_tensor("vectors").copy()
    words = json.loads(metadata["words"])
    if damage == "duplicate word":
        words[1] = words[0]
    else:
        vectors[3, 2] = numpy.nan if damage == "nan" else numpy.inf
    save_file({"vectors": vectors}, model / "vectors.safetensors", {**metadata, "words": json.dumps(words)})
    for runtime in ("numpy", "torch"):
        with pytest.raises(Exception, match="must be finite|must be distinct"):
            Predictor.load(model, "cpu", runtime)
