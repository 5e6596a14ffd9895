"""Training with DistributedDataParallel: two CPU processes (gloo) under torchrun."""
import json
import subprocess
import sys

from tagger.predict import Predictor
from tests.conftest import ROOT

ARGS = ["configs/sample-ner.toml", "--epochs", "8", "--set", "train.patience=100", "--threads", "1", "--quiet"]


def best_dev_f1(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())["best_dev_score"]


def test_two_gloo_processes_train_a_model_that_loads_in_one_process(tmp_path):
    distributed_dir, single_dir = tmp_path / "ddp", tmp_path / "single"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tagger", "train"]
    result = subprocess.run([*launch, *ARGS, "--out", str(distributed_dir)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed: 2 processes; effective batch size 32" in result.stderr
    assert result.stderr.count("best dev f1") == 1  # rank 0 alone reports
    single = subprocess.run([sys.executable, "-m", "tagger", "train", *ARGS, "--out", str(single_dir)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr
    assert abs(best_dev_f1(distributed_dir) - best_dev_f1(single_dir)) <= 5.0
    predictor = Predictor.load(distributed_dir, "cpu")
    assert len(predictor.predict([["Maria", "Lopez", "visited", "Oslo", "."]])[0]) == 5
    records = (distributed_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in records] == list(range(1, 9))


def test_resumed_distributed_run_equals_the_uninterrupted_one(tmp_path):
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tagger", "train"]
    short = [ARGS[0], "--epochs", "3", *ARGS[3:]]
    full = [ARGS[0], "--epochs", "5", *ARGS[3:]]
    for args in ([*short, "--out", str(tmp_path / "part")], ["--resume", str(tmp_path / "part"), "--set", "train.epochs=5"],
                 [*full, "--out", str(tmp_path / "full")]):
        result = subprocess.run([*launch, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "part" / "model.safetensors").read_bytes() == (tmp_path / "full" / "model.safetensors").read_bytes()
