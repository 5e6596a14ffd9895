"""What must survive a kill, a full disk or an interrupted write: training resumes to the same model, outputs are whole."""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from tagger import store
from tagger.errors import TaggerError
from tagger.files import atomic_output
from tagger.predict import Predictor
from tagger.training import checkpoint
from tests.conftest import ROOT, SAMPLES, run_tagger, write
from tests.helpers import TINY_MODEL

TRAIN_ARGS = [
    "configs/sample-ner.toml",
    "--epochs",
    "6",
    "--set",
    "train.patience=100",
    "--set",
    "train.threads=1",
    "--set",
    "model.hidden=32",
    "--quiet",
]


def train_process(out, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "tagger", "train", *TRAIN_ARGS, "--out", str(out), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def assert_consistent(run_dir):
    """Whatever a kill left: readable JSON, loadable weights and a loadable checkpoint, or nothing yet."""
    for name in ("config.json", "vocab.json"):
        if (run_dir / name).exists():
            json.loads((run_dir / name).read_text())
    if (run_dir / "model.safetensors").exists():
        Predictor.load(run_dir, "cpu")
    found = checkpoint.find(run_dir)
    if found is not None:
        for name in ("model.safetensors", "optimizer.safetensors", "rng.safetensors"):
            load_file(str(found / name))
        json.loads((found / "state.json").read_text())


def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_result(tmp_path):
    full = tmp_path / "full"
    assert train_process(full).wait(timeout=300) == 0
    run_dir = tmp_path / "killed"
    rng = random.Random(7)
    for _ in range(4):
        resume = ["--resume", str(run_dir)] if checkpoint.find(run_dir) is not None else []
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tagger",
                "train",
                *(TRAIN_ARGS if not resume else ["--quiet"]),
                *resume,
                *([] if resume else ["--out", str(run_dir)]),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(2.5, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert_consistent(run_dir)
    resume = ["--resume", str(run_dir)] if checkpoint.find(run_dir) is not None else TRAIN_ARGS + ["--out", str(run_dir)]
    finished = run_tagger("train", *resume, "--quiet")
    assert finished.returncode == 0, finished.stderr
    assert (run_dir / "model.safetensors").read_bytes() == (full / "model.safetensors").read_bytes()
    epochs = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 7))
    assert not list(run_dir.glob(".*"))


def test_checkpoint_swap_interrupted_between_renames_keeps_the_previous_one(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters())
    states = [{"torch": torch.get_rng_state()}]
    checkpoint.save(run_dir, model, optimizer, checkpoint.TrainingProgress(epoch=1, best_score=0.5, best_epoch=1), states)
    real_replace = os.replace
    calls = []

    def crash_on_second_rename(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after the old checkpoint was moved aside
        real_replace(source, target)

    monkeypatch.setattr(store.os, "replace", crash_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(run_dir, model, optimizer, checkpoint.TrainingProgress(epoch=2, best_score=0.5, best_epoch=1), states)
    monkeypatch.setattr(store.os, "replace", real_replace)
    assert checkpoint.restore(run_dir, model, optimizer).epoch == 1


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = write(tmp_path / "out.txt", "old content\n")

    with pytest.raises(TaggerError, match="write failed"):
        with atomic_output(target) as stream:
            stream.write("new ")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_output_in_a_read_only_place_is_a_clear_error():
    source = SAMPLES / "sample-ner" / "dev.conll"
    result = run_tagger("corpora", "convert", source, "/proc/tagger-output.conll", "--to", "iob2")
    assert result.returncode == 2
    assert "cannot write here" in result.stderr and "Traceback" not in result.stderr


KILL_ARGS = [
    "configs/sample-ner.toml",
    "--epochs",
    "4",
    "--set",
    "train.patience=100",
    "--set",
    "train.threads=1",
    "--set",
    "model.hidden=16",
    "--quiet",
]


def run_train(*args, env=None, timeout=300):
    return run_tagger("train", *args, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert run_train(*KILL_ARGS, "--out", str(out)).returncode == 0
    return out


@pytest.mark.parametrize(
    "kill_at",
    [
        "definition",
        "write:model.safetensors",
        "weights",
        "metrics-line",
        "metrics-line@2",
        "write:state.json@2",
        "checkpoint@3",
        "write:metrics.json",
        "final",
    ],
)
def test_a_kill_at_each_point_of_training_resumes_to_the_uninterrupted_model(uninterrupted, tmp_path, kill_at):
    out = tmp_path / "run"
    killed = run_train(*KILL_ARGS, "--out", str(out), env={**os.environ, "TAGGER_KILL_AT": kill_at})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert_consistent(out)
    resumed = run_train("--resume", str(out), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "model.safetensors").read_bytes() == (uninterrupted / "model.safetensors").read_bytes()
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]
    assert (
        json.loads((out / "metrics.json").read_text())["best_epoch"]
        == json.loads((uninterrupted / "metrics.json").read_text())["best_epoch"]
    )
    Predictor.load(out, "cpu")
    assert not list(out.glob(".*"))


def test_a_run_killed_before_its_first_checkpoint_can_be_started_again_with_out(tmp_path):
    out = tmp_path / "run"
    killed = run_train(*KILL_ARGS, "--out", str(out), env={**os.environ, "TAGGER_KILL_AT": "metrics-line"})
    assert killed.returncode == -signal.SIGKILL
    again = run_train(*KILL_ARGS, "--epochs", "2", "--out", str(out))
    assert again.returncode == 0, again.stderr
    Predictor.load(out, "cpu")
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]


def test_resuming_a_finished_run_says_it_is_complete_and_how_to_go_on(uninterrupted, tmp_path):
    import shutil

    shutil.copytree(uninterrupted, tmp_path / "run")
    result = run_train("--resume", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 0
    assert "training is already complete (4 epochs" in result.stderr and "--set train.epochs=" in result.stderr
    assert "training on" not in result.stderr  # nothing suggests that it trains again
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == (uninterrupted / "model.safetensors").read_bytes()


def test_a_config_given_with_resume_is_refused_not_ignored(uninterrupted):
    result = run_train("configs/sample-ner.toml", "--resume", str(uninterrupted))
    assert result.returncode == 2
    assert "would be ignored" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("damage", ["config.json", "checkpoint/state.json", "checkpoint/optimizer.safetensors"])
def test_a_damaged_run_directory_on_resume_is_one_line(uninterrupted, tmp_path, damage):
    import shutil

    shutil.copytree(uninterrupted, tmp_path / "run")
    (tmp_path / "run" / damage).write_text('{"truncated": ')
    result = run_train("--resume", str(tmp_path / "run"), "--set", "train.epochs=5")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and damage.split("/")[-1] in last
    assert "Traceback" not in result.stderr


def test_disk_full_while_saving_says_what_is_kept_and_resume_works(tmp_path, monkeypatch):
    from tagger import config as config_module
    from tagger import training
    from tagger.files import WriteError

    config = config_module.from_dict(
        {
            "data": {"train": str(SAMPLES / "sample-ner" / "train.conll"), "dev": str(SAMPLES / "sample-ner" / "dev.conll")},
            "model": TINY_MODEL,
            "train": {"epochs": 2, "device": "cpu", "threads": 1},
        },
        "test",
    )

    def disk_full(directory, model):
        raise WriteError(f"{directory / 'model.safetensors'}: write failed (No space left on device)", errno.ENOSPC)

    def read_only(directory, model):
        raise WriteError(f"{directory / 'model.safetensors'}: write failed (Read-only file system)", errno.EROFS)

    monkeypatch.setattr(store, "save_weights", disk_full)
    with pytest.raises(TaggerError, match="No space left.*holds no trained weights yet.*Once there is room.*--resume"):
        training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    # a directory made read-only is not a full disk (#44: it said "Once there is room")
    monkeypatch.setattr(store, "save_weights", read_only)
    with pytest.raises(TaggerError, match="Read-only.*Once the directory can be written to again, continue with"):
        training.train(config, tmp_path / "run", resume=True, show_progress=False, log=lambda message: None)
    monkeypatch.undo()
    metrics = training.train(config, tmp_path / "run", resume=True, show_progress=False, log=lambda message: None)
    assert metrics["epochs_run"] == 2
    Predictor.load(tmp_path / "run", "cpu")


def model_without_metrics(tmp_path):
    """A model directory as a user may hold one: config, vocabulary and weights, no metrics.json, no checkpoint."""
    import shutil

    model = shutil.copytree(ROOT / "tests" / "data" / "v1-models" / "ner-crf", tmp_path / "model")
    (model / "metrics.json").unlink(missing_ok=True)
    shutil.rmtree(model / "checkpoint", ignore_errors=True)
    return model


def test_a_model_without_metrics_is_never_trained_over(tmp_path):
    model = model_without_metrics(tmp_path)
    weights = (model / "model.safetensors").read_bytes()
    resumed = run_tagger("train", "--resume", model)
    assert resumed.returncode == 2 and "no checkpoint/" in resumed.stderr, resumed.stderr
    config = ROOT / "configs" / "sample-ner.toml"
    again = run_tagger("train", config, "--out", model, "--epochs", "1")
    assert again.returncode == 2 and "already holds a model" in again.stderr, again.stderr
    assert (model / "model.safetensors").read_bytes() == weights


def test_a_run_directory_is_held_by_one_process_at_a_time(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "run"
        out.mkdir()
        (out / ".lock").write_text(f"{holder.pid}\n")
        config = ROOT / "configs" / "sample-ner.toml"
        held = run_tagger("train", config, "--out", out, "--epochs", "1")
        assert held.returncode == 2 and f"in use by another tagger process (pid {holder.pid})" in held.stderr, held.stderr
        assert sorted(path.name for path in out.iterdir()) == [".lock"]
    finally:
        holder.kill()
        holder.wait()
    stale = run_tagger("train", config, "--out", out, "--epochs", "1", "--set", "model.hidden=8")
    assert stale.returncode == 0, stale.stderr  # the holder is gone: its lock is taken over, and released at the end
    assert not (out / ".lock").exists() and (out / "model.safetensors").is_file()
