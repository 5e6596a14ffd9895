"""Training, the model directory and resume, on the bundled sample (a few seconds each)."""

import json
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from tagger import config as config_module
from tagger import store, training
from tagger.batching import bucketed_batches
from tagger.errors import TaggerError
from tagger.formats import read_all
from tagger.predict import Predictor
from tagger.store import ModelDirError
from tagger.vectors import read_vectors
from tagger.vocab import UNKNOWN_ID
from tests.conftest import ROOT, SAMPLES, run_tagger, write
from tests.helpers import cli

TINY = {
    "data": {
        "train": str(SAMPLES / "sample-ner" / "train.conll"),
        "dev": str(SAMPLES / "sample-ner" / "dev.conll"),
        "label_column": "4",
    },
    "model": {
        "word_dim": 16,
        "char_dim": 8,
        "char_hidden": 12,
        "hidden": 16,
        "case_dim": 4,
        "dropout": 0.2,
        "singleton_dropout": 0.5,
    },
    "train": {"epochs": 4, "batch_size": 32, "lr": 0.01, "patience": 10, "device": "cpu", "threads": 1},
}


def tiny_config(**sections) -> config_module.Config:
    data = json.loads(json.dumps(TINY))
    for section, values in sections.items():
        data[section].update(values)
    return config_module.from_dict(data, "test")


def dev_tokens():
    return [s.tokens for s in read_all(str(SAMPLES / "sample-ner" / "dev.conll"), label_column="4").sentences]


@pytest.mark.parametrize("model", [{"cell": "lstm", "crf": True}, {"cell": "gru", "crf": False, "char_encoder": "lstm"}])
def test_save_load_gives_the_same_predictions(tmp_path, model):
    config = tiny_config(model=model)
    training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    first = Predictor.load(tmp_path / "run", device="cpu")
    before = first.predict(dev_tokens())
    second = Predictor.load(tmp_path / "run", device="cpu")
    assert second.predict(dev_tokens()) == before
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "vocab.json", "model.safetensors", "metrics.json"}
    assert not [p for p in (tmp_path / "run").rglob("*") if p.suffix in (".pt", ".pkl", ".bin")]


def test_singleton_dropout_hides_exactly_the_words_seen_once_and_only_in_training():
    run = training.prepare_run(tiny_config(model={"singleton_dropout": 1.0, "word_dropout": 0.0}), out=None)
    counts = Counter(
        run.vocab.word_id(token)
        for sentence in read_all(TINY["data"]["train"], label_column="4").sentences
        for token in sentence.tokens
    )
    assert 1 in counts.values() and max(counts.values()) > 1
    batch = next(bucketed_batches(run.train_items, 64))
    run.model.train()
    dropped = run.model._dropped_words(batch)
    once = torch.tensor([[counts[int(word)] == 1 for word in row] for row in batch.words]) & batch.mask
    assert torch.equal(dropped, once)
    run.model.eval()
    assert run.model._dropped_words(batch) is None


def test_min_word_count_gives_rows_only_to_words_seen_that_often():
    train = read_all(TINY["data"]["train"], label_column="4").sentences
    counts = Counter(token.lower() for sentence in train for token in sentence.tokens)
    run = training.prepare_run(tiny_config(model={"min_word_count": 2}), out=None)
    assert set(run.vocab.words.symbols[2:]) == {word for word, count in counts.items() if count >= 2}
    once = next(word for word, count in counts.items() if count == 1)
    assert run.vocab.word_id(once) == UNKNOWN_ID
    assert run.model.state_dict()["words.weight"].shape[0] == len(run.vocab.words)


def test_outputs_keep_the_corpus_scheme(tmp_path):
    training.train(tiny_config(), tmp_path / "run", show_progress=False, log=lambda message: None)
    labels = {label for sentence in Predictor.load(tmp_path / "run", "cpu").predict(dev_tokens()) for label in sentence}
    assert labels <= {"O", "I-PER", "I-LOC", "I-ORG", "I-MISC", "B-PER", "B-LOC", "B-ORG", "B-MISC"}


def test_same_seed_same_dev_score(tmp_path):
    first = training.train(tiny_config(), tmp_path / "a", show_progress=False, log=lambda message: None)
    second = training.train(tiny_config(), tmp_path / "b", show_progress=False, log=lambda message: None)
    assert first["best_dev_score"] == second["best_dev_score"]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_resume_after_an_interruption_reaches_the_same_result(tmp_path):
    full = training.train(tiny_config(), tmp_path / "full", show_progress=False, log=lambda message: None)
    training.train(tiny_config(train={"epochs": 2}), tmp_path / "part", show_progress=False, log=lambda message: None)
    resumed = training.train(tiny_config(), tmp_path / "part", resume=True, show_progress=False, log=lambda message: None)
    assert resumed["best_dev_score"] == full["best_dev_score"]
    assert (tmp_path / "part" / "model.safetensors").read_bytes() == (tmp_path / "full" / "model.safetensors").read_bytes()
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]


def test_resume_takes_new_training_settings_and_refuses_new_model_settings(tmp_path):
    run = tmp_path / "run"
    training.train(tiny_config(train={"epochs": 1}), run, show_progress=False, log=lambda message: None)
    saved = (run / "config.json").read_bytes()
    with pytest.raises(config_module.ConfigError, match=r"model\.hidden is 16 in this run .* train a new model with --out"):
        training.train(
            tiny_config(model={"hidden": 32}, train={"epochs": 2}),
            run,
            resume=True,
            show_progress=False,
            log=lambda message: None,
        )
    assert (run / "config.json").read_bytes() == saved
    messages = []
    training.train(tiny_config(train={"epochs": 2, "patience": 3}), run, resume=True, show_progress=False, log=messages.append)
    recorded = store.load_definition(run)[0]
    assert (recorded.train.epochs, recorded.train.patience) == (2, 3)
    assert any("train.patience: 10 -> 3" in message for message in messages)
    assert Predictor.load(run, device="cpu").predict(dev_tokens())


def test_pickled_weights_are_refused_without_unpickling(tmp_path):
    training.train(tiny_config(train={"epochs": 1}), tmp_path / "run", show_progress=False, log=lambda message: None)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "run" / "model.safetensors").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelDirError, match="not a safetensors file"):
        Predictor.load(tmp_path / "run", "cpu")
    (tmp_path / "run" / "model.safetensors").unlink()
    torch.save({"weights": Exploit()}, tmp_path / "run" / "model.pt")
    with pytest.raises(ModelDirError, match="pickle"):
        Predictor.load(tmp_path / "run", "cpu")
    assert not marker.exists()


def test_vectors_loader_reads_glove_and_word2vec_text(tmp_path):
    glove = write(tmp_path / "glove.txt", "the 0.1 0.2\nParis 1 2\nparis 3 4\n")
    words, vectors = read_vectors(glove, lowercase=True)
    assert words == ["the", "paris"] and vectors[1] == [1.0, 2.0]
    word2vec = write(tmp_path / "w2v.vec", "2 2\nthe 0.1 0.2\nzebra 5 6\n")
    assert read_vectors(word2vec, lowercase=False)[0] == ["the", "zebra"]
    tabs = write(tmp_path / "tabs.tsv", "the\t0.1\t0.2\nzebra\t5\t6\n")  # was "no vectors found" (#44)
    assert read_vectors(tabs, lowercase=False) == (["the", "zebra"], [[0.1, 0.2], [5.0, 6.0]])


def test_a_word_outside_training_keeps_its_pretrained_vector_unless_every_vector_is_trained(tmp_path):
    vectors = write(tmp_path / "v.txt", "zanzibar " + " ".join(["0.5"] * 16) + "\n")
    for tune in ("seen", "all"):
        config = tiny_config(model={"vectors": str(vectors), "tune_vectors": tune}, train={"epochs": 1})
        training.train(config, tmp_path / tune, show_progress=False, log=lambda message: None)
    frozen, trained = Predictor.load(tmp_path / "seen", "cpu", "torch"), Predictor.load(tmp_path / "all", "cpu", "torch")
    row = frozen.vocab.word_id("Zanzibar")
    assert row >= len(frozen.vocab.words)  # a row of the frozen table, not a trained word
    with torch.no_grad():
        assert frozen.model.words(torch.tensor([[row]]))[0, 0].tolist() == [0.5] * 16
    row = trained.vocab.word_id("Zanzibar")
    assert 1 < row < len(trained.vocab.words)  # a trained row, initialised from the vector
    assert trained.model.words.weight[row].tolist() == [0.5] * 16


def test_frozen_vectors_stay_frozen_and_a_resumed_run_equals_the_uninterrupted_one(tmp_path):
    vectors = write(tmp_path / "v.txt", "paris " + " ".join(["0.25"] * 16) + "\n")

    def run(name, epochs, resume=False):
        config = tiny_config(model={"vectors": str(vectors), "freeze_vectors": True}, train={"epochs": epochs})
        training.train(config, tmp_path / name, resume=resume, show_progress=False, log=lambda message: None)
        return Predictor.load(tmp_path / name, "cpu", "torch")

    after_one = run("part", 1).model.words.weight
    resumed = run("part", 3, resume=True)
    assert torch.equal(after_one, resumed.model.words.weight)
    assert resumed.model.words.weight[resumed.vocab.word_id("Paris")].tolist() == [0.25] * 16
    run("full", 3)
    assert (tmp_path / "part" / "model.safetensors").read_bytes() == (tmp_path / "full" / "model.safetensors").read_bytes()


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"model": {"colour": "red"}}, "model.colour: unknown key"),
        ({"model": {"hidden": "big"}}, "model.hidden: expected int"),
        ({"model": {"cell": "rnn"}}, "model.cell"),
        ({"data": {"train": "missing.conll"}}, "data.train: file not found"),
    ],
)
def test_bad_config_is_rejected_before_training(tmp_path, change, fragment):
    data = json.loads(json.dumps(TINY))
    for section, values in change.items():
        data[section].update(values)
    with pytest.raises(TaggerError, match=fragment.replace(".", r"\.")):
        training.train(config_module.from_dict(data, "test"), tmp_path / "run", show_progress=False)


def test_long_and_short_sentences_in_one_batch(tmp_path):
    training.train(tiny_config(train={"epochs": 1}), tmp_path / "run", show_progress=False, log=lambda message: None)
    predictor = Predictor.load(tmp_path / "run", "cpu")
    labels = predictor.predict([["Paris"], ["word"] * 2000, ["Maria", "Lopez", "visited", "Oslo", "."]])
    assert [len(sentence) for sentence in labels] == [1, 2000, 5]


def tagger_cli(*args, cwd=ROOT):
    return run_tagger(*args, cwd=cwd)


def test_cli_trains_the_sample_and_the_dev_score_rises(tmp_path):
    out = tmp_path / "run"
    result = tagger_cli("train", "configs/sample-ner.toml", "--out", str(out), "--epochs", "4", "--quiet")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 4
    assert max(r["dev"]["f1"] for r in records[1:]) > records[0]["dev"]["f1"]
    assert "epoch   1" in result.stderr and "best dev f1" in result.stderr
    again = tagger_cli("train", "configs/sample-ner.toml", "--out", str(out), "--quiet")
    assert again.returncode == 2 and "--resume" in again.stderr
    changed = tagger_cli("train", "--resume", str(out), "--set", "model.cell=gru", "--quiet")
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert "model.cell is 'lstm' in this run" in changed.stderr and "--out" in changed.stderr


def test_cli_flags_without_config_and_bad_inputs_exit_2(tmp_path):
    empty = write(tmp_path / "empty.conll", "")
    result = tagger_cli("train", "--train", str(empty), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "no sentences" in result.stderr and "Traceback" not in result.stderr
    bad = write(tmp_path / "bad.toml", "[model]\nlayers = 'two'\n")
    result = tagger_cli("train", str(bad))
    assert result.returncode == 2 and "model.layers" in result.stderr


def test_ctrl_c_keeps_a_checkpoint_and_says_how_to_resume(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tagger",
            "train",
            "configs/sample-ner.toml",
            "--out",
            str(out),
            "--epochs",
            "200",
            "--set",
            "train.patience=200",
            "--quiet",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job starts with SIGINT ignored, and Python then keeps it ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not (out / "checkpoint" / "state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert f"tagger train --resume {out}" in stderr and "Traceback" not in stderr
    resumed = tagger_cli("train", "--resume", str(out), "--set", "train.epochs=3", "--quiet")
    assert resumed.returncode == 0, resumed.stderr


def test_dev_labels_never_seen_in_training_are_reported_and_count_as_errors(tmp_path):
    dev = write(tmp_path / "dev.conll", "Paris NNP I-NP I-LOC\nis VBZ I-VP O\n\nZorg NNP I-NP I-ALIEN\n\n")
    messages = []
    config = tiny_config(data={"dev": str(dev)}, train={"epochs": 1})
    training.train(config, tmp_path / "run", show_progress=False, log=messages.append)
    assert any("never seen in training" in m and "I-ALIEN" in m for m in messages)
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert record["dev"]["recall"] < 100.0


def test_keep_last_keeps_the_last_epochs_weights_and_says_which_epoch_the_dev_score_preferred(tmp_path):
    """train.keep = "last": the model directory holds the last epoch's weights (the checkpoint's), with both epochs named."""
    from safetensors.torch import load_file

    messages = []
    config = tiny_config(train={"epochs": 4, "keep": "last", "lr": 0.05})
    metrics = training.train(config, tmp_path / "run", show_progress=False, log=messages.append)
    kept = load_file(str(tmp_path / "run" / "model.safetensors"))
    last = load_file(str(tmp_path / "run" / "checkpoint" / "model.safetensors"))
    assert kept.keys() == last.keys() and all(torch.equal(kept[name], last[name]) for name in kept)
    assert metrics["kept_epoch"] == metrics["epochs_run"] == 4
    assert "kept the last epoch (4" in training.describe_best(metrics)
    shown = cli("info", tmp_path / "run")
    assert shown.exit_code == 0 and "the weights are epoch 4's" in shown.stdout
    best_config = tiny_config(train={"epochs": 4, "lr": 0.05})
    best = training.train(best_config, tmp_path / "best", show_progress=False, log=messages.append)
    assert "kept_epoch" not in best and best["best_epoch"] == metrics["best_epoch"]  # the same run, the same dev choice
