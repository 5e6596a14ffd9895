"""`tagger pretrain` and `model.char_lm` (#45): a character LM trained on plain text, read frozen by a tagger."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from tagger.char_lm import LM_CONFIG, LM_WEIGHTS, read_char_lm, sentence_sequences
from tagger.predict import Predictor
from tagger.pretrain import CharLanguageModel, PretrainOptions, held_out_perplexity, pretrain, read_corpus
from tests.conftest import SAMPLES, write
from tests.helpers import cli
from tests.test_engines import assert_engines_agree, train_kind

TINY_LM = {"hidden": 12, "dim": 6, "window": 40, "batch_size": 8, "eval_every": 10, "min_count": 2, "lr": 0.02}


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    """About 20 KB of plain text: the sample NER corpus's sentences, one per line."""
    sentences, words = [], []
    for line in (SAMPLES / "sample-ner" / "train.conll").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("-DOCSTART-"):
            words.append(line.split()[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    return write(tmp_path_factory.mktemp("text") / "text.txt", "\n".join(sentences) + "\n")


@pytest.fixture(scope="module")
def char_lm(text_file, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("lm") / "lm"
    pretrain(directory, PretrainOptions(files=[str(text_file)], steps=60, **TINY_LM), show_progress=False)
    return directory


def test_pretraining_lowers_the_held_out_perplexity(text_file, char_lm):
    lm = read_char_lm(char_lm)
    corpus = read_corpus([str(text_file)], lm.chars, 2, 300)
    torch.manual_seed(1)
    untrained = CharLanguageModel(len(lm.chars), lm.dim, lm.hidden)
    before = held_out_perplexity(untrained, corpus.held_out, 40, 8)
    after = lm.training["held_out_perplexity"]
    assert lm.training["steps"] == 60
    assert before[0] > len(lm.chars) * 0.5  # about uniform over the characters at first
    assert after["forward"] < before[0] * 0.6 and after["backward"] < before[1] * 0.6


def test_a_run_split_into_three_processes_reaches_the_weights_of_an_unbroken_one(text_file, char_lm, tmp_path):
    """Each process stops after a step once its (tiny) time bound is spent; --resume continues the same plan
    (with the run's own bound unless given another)."""
    split = tmp_path / "split"
    options = PretrainOptions(files=[str(text_file)], steps=60, max_minutes=1e-6, **TINY_LM)
    pretrain(split, options, show_progress=False)
    first_stop = read_char_lm(split).training["steps"]
    pretrain(split, None, show_progress=False, max_minutes=1e-6)
    assert 0 < first_stop < read_char_lm(split).training["steps"] < 60
    record = pretrain(split, None, show_progress=False, max_minutes=0)  # no bound: the rest of the plan
    assert record["steps"] == 60
    whole, parts = load_file(char_lm / LM_WEIGHTS), load_file(split / LM_WEIGHTS)
    assert whole.keys() == parts.keys()
    for name in whole:
        np.testing.assert_array_equal(parts[name], whole[name], err_msg=name)


def test_sentence_sequences_put_a_space_around_every_word():
    chars = np.array([[5, 6, 0], [7, 0, 0], [8, 9, 10], [11, 12, 0]])
    mask = np.array([[True, True, False], [True, True, False]])
    sequences = sentence_sequences(chars, mask)
    assert sequences.ids.tolist() == [[0, 5, 6, 0, 7, 0, 0, 0], [0, 8, 9, 10, 0, 11, 12, 0]]
    assert sequences.lengths.tolist() == [6, 8]
    flat = np.arange(sequences.ids.size)
    # the space after each word and the space before it
    assert flat[sequences.after].tolist() == [3, 5, 12, 15]
    assert flat[sequences.before].tolist() == [0, 3, 8, 12]


def test_a_tagger_reads_the_lm_frozen_and_keeps_its_own_copy(char_lm, tmp_path):
    lm_copy = shutil.copytree(char_lm, tmp_path / "lm")
    run = train_kind(tmp_path, "ner", {"char_lm": str(lm_copy)}, False)
    shutil.rmtree(lm_copy)  # the model directory does not need the LM's directory
    weights = load_file(run / "model.safetensors")
    lm = read_char_lm(char_lm)
    for name in ("weight_ih_l0", "weight_hh_l0_reverse", "bias_ih_l0"):
        np.testing.assert_array_equal(weights[f"char_lm.lstm.{name}"], lm.arrays[f"lstm.{name}"])  # not trained
    assert not [path for path in run.rglob("*") if path.suffix in (".pt", ".pth", ".bin", ".pkl", ".pickle")]
    predictor = Predictor.load(run, "cpu", "numpy")
    assert predictor.config.model.char_lm_hidden == lm.hidden and predictor.config.model.char_lm_dim == lm.dim
    assert_engines_agree(run)
    tagged = cli("tag", run, stdin="Maria Lopez flew from Oslo to Lagos .\n", catch_exceptions=False)
    assert tagged.exit_code == 0 and "Lagos" in tagged.stdout
    info = cli("info", run)
    assert "character LM 12 x 2 (frozen)" in info.stdout
    exported = cli("export", run, tmp_path / "m.onnx")
    assert exported.exit_code == 2 and "character language model" in exported.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_the_lm_features_change_the_tagging(char_lm, tmp_path):
    """The LM's states reach the output: the same tagger with the LM's weights scrambled scores differently."""
    run = train_kind(tmp_path, "ner", {"char_lm": str(char_lm)}, False)
    predictor = Predictor.load(run, "cpu", "numpy")
    items = predictor.encode([["Maria", "Lopez", "flew", "to", "Oslo", "."]])
    before = predictor.predict_encoded(items, 8, with_scores=True).scores[0]
    arrays = predictor.engine.network.arrays
    arrays["char_lm.embedding.weight"] = arrays["char_lm.embedding.weight"][::-1].copy()
    after = predictor.predict_encoded(items, 8, with_scores=True).scores[0]
    assert not np.allclose(np.asarray(before), np.asarray(after))


def test_pretrain_on_the_command_line(text_file, tmp_path):
    out = tmp_path / "lm"
    result = cli("pretrain", text_file, "--out", out, "--steps", 3, "--hidden", 8, "--dim", 4, "--window", 30)
    assert result.exit_code == 0, result.output
    assert "held-out perplexity forward" in result.stderr and (out / LM_CONFIG).is_file()
    again = cli("pretrain", text_file, "--out", out, "--steps", 3)
    assert again.exit_code == 2 and "--resume" in again.stderr
    mixed = cli("pretrain", text_file, "--resume", out)
    assert mixed.exit_code == 2 and "leave out TEXT_FILES" in mixed.stderr
    resumed = cli("pretrain", "--resume", out)
    assert resumed.exit_code == 0 and "after 3 steps" in resumed.stderr


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda lm: (lm / LM_CONFIG).unlink(), "not a character language model directory"),
        (lambda lm: (lm / LM_WEIGHTS).unlink(), "weights (char_lm.safetensors) are missing"),
        (lambda lm: write(lm / LM_CONFIG, '{"format_version": 1}'), "expected format_version 1"),
        (lambda lm: write(lm / LM_WEIGHTS, b"\x80\x04pickle"), "not a safetensors file"),
    ],
    ids=["no-config", "no-weights", "bad-config", "pickle-weights"],
)
def test_a_damaged_lm_directory_is_refused_in_one_line(char_lm, tmp_path, damage, message):
    lm = shutil.copytree(char_lm, tmp_path / "lm")
    damage(lm)
    result = cli(
        "train",
        "--train",
        SAMPLES / "sample-ner" / "train.conll",
        "--label-column",
        4,
        "--epochs",
        1,
        "--set",
        f"model.char_lm={lm}",
        "--out",
        tmp_path / "run",
        "--quiet",
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_too_little_text_is_refused(tmp_path):
    short = write(tmp_path / "short.txt", "a few words\n")
    result = cli("pretrain", short, "--out", tmp_path / "lm", "--steps", 3)
    assert result.exit_code == 2 and "too little text" in result.stderr


def test_the_layer_description_names_the_lm_parameters_in_order():
    from tagger import network
    from tagger.config import ModelConfig
    from tagger.model import TaggerModel

    config = ModelConfig(word_dim=8, char_dim=6, char_hidden=6, hidden=10, case_dim=3, char_lm_dim=5, char_lm_hidden=7)
    model = TaggerModel(config, 40, 30, ["O", "S-PER"], "iobes")
    described = network.parameter_shapes(network.layers(config, 40, 30, 2))
    assert list(described.items()) == [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]
    assert described["char_lm.lstm.weight_ih_l0_reverse"] == (28, 5)


def test_a_tagger_with_an_lm_resumes_to_the_uninterrupted_model_and_the_cache_changes_nothing(char_lm, tmp_path, monkeypatch):
    from tagger import training
    from tagger.training import setup
    from tests.test_training import tiny_config

    quiet = {"show_progress": False, "log": lambda message: None}
    model = {"char_lm": str(char_lm)}
    training.train(tiny_config(model=model), tmp_path / "full", **quiet)
    training.train(tiny_config(model=model, train={"epochs": 2}), tmp_path / "part", **quiet)
    training.train(tiny_config(model=model), tmp_path / "part", resume=True, **quiet)
    full = (tmp_path / "full" / "model.safetensors").read_bytes()
    assert (tmp_path / "part" / "model.safetensors").read_bytes() == full
    # without the cache (features computed in every step) the run trains on the same numbers
    monkeypatch.setattr(setup, "MAX_CACHE_BYTES", 0)
    training.train(tiny_config(model=model), tmp_path / "uncached", **quiet)
    uncached, cached = load_file(tmp_path / "uncached" / "model.safetensors"), load_file(tmp_path / "full" / "model.safetensors")
    for name in cached:
        np.testing.assert_allclose(uncached[name], cached[name], atol=1e-4, err_msg=name)


def test_ctrl_c_saves_the_last_step_and_resume_reaches_the_unbroken_weights(text_file, char_lm, tmp_path, monkeypatch):
    from tagger.errors import Interrupted
    from tagger.pretrain import PretrainRun

    step = PretrainRun.train_step

    def interrupted_at_step_25(run):
        if run.progress.step == 25:
            raise KeyboardInterrupt
        return step(run)

    monkeypatch.setattr(PretrainRun, "train_step", interrupted_at_step_25)
    directory = tmp_path / "lm"
    with pytest.raises(Interrupted, match="interrupted at step 25, saved; continue with: tagger pretrain --resume"):
        pretrain(directory, PretrainOptions(files=[str(text_file)], steps=60, **TINY_LM), show_progress=False)
    monkeypatch.undo()
    assert pretrain(directory, None, show_progress=False)["steps"] == 60
    whole, resumed = load_file(char_lm / LM_WEIGHTS), load_file(directory / LM_WEIGHTS)
    for name in whole:
        np.testing.assert_array_equal(resumed[name], whole[name], err_msg=name)


def test_a_budgeted_run_fills_the_lm_cache_before_it_times_a_dev_evaluation(char_lm, tmp_path, monkeypatch):
    """The budget's plan timed its first dev evaluation with the whole cache's computation inside it (123 s on
    Bosque), and planned 8 epochs where 40 fitted."""
    from tagger import training
    from tagger.training import loop
    from tests.test_training import tiny_config

    pending_at_evaluations = []
    evaluate_dev = loop.evaluate_dev

    def recording(predictor, dev_sets, config):
        pending_at_evaluations.append(predictor.engine.model.char_lm.cache_for is not None)
        return evaluate_dev(predictor, dev_sets, config)

    monkeypatch.setattr(loop, "evaluate_dev", recording)
    config = tiny_config(model={"char_lm": str(char_lm)}, train={"max_minutes": 0.2, "epochs": 2})
    training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    assert pending_at_evaluations and not any(pending_at_evaluations)
