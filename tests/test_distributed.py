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
    result = subprocess.run(
        [*launch, *ARGS, "--out", str(distributed_dir)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed: 2 processes; effective batch size 32" in result.stderr
    assert result.stderr.count("best dev f1") == 1  # rank 0 alone reports
    single = subprocess.run(
        [sys.executable, "-m", "tagger", "train", *ARGS, "--out", str(single_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
    for args in (
        [*short, "--out", str(tmp_path / "part")],
        ["--resume", str(tmp_path / "part"), "--set", "train.epochs=5"],
        [*full, "--out", str(tmp_path / "full")],
    ):
        result = subprocess.run([*launch, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "part" / "model.safetensors").read_bytes() == (tmp_path / "full" / "model.safetensors").read_bytes()


def test_tag_with_workers_and_under_torchrun_keeps_the_input_order(ner_model, tmp_path):
    from tests.conftest import SAMPLES

    tokens = [line.split()[0] if line.strip() else "" for line in (SAMPLES / "sample-ner" / "dev.conll").read_text().splitlines()]
    files = []
    for index in range(3):
        path = tmp_path / f"part{index}.txt"
        path.write_text("\n".join(" ".join(tokens[i : i + 12]) for i in range(index * 200, index * 200 + 200, 12)) + "\n")
        files.append(str(path))
    common = ["tag", str(ner_model), *files, "--input-format", "tokens", "--output-format", "inline", "--batch-size", "4"]
    single = subprocess.run(
        [sys.executable, "-m", "tagger", *common, "--output", str(tmp_path / "one.txt")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr
    workers = subprocess.run(
        [sys.executable, "-m", "tagger", *common, "--workers", "2", "--output", str(tmp_path / "w.txt")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert workers.returncode == 0, workers.stderr
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tagger"]
    sharded = subprocess.run(
        [*launch, *common, "--output", str(tmp_path / "ddp.txt")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert sharded.returncode == 0, sharded.stderr[-3000:]
    expected = (tmp_path / "one.txt").read_text()
    assert len(expected.splitlines()) == 51
    assert (tmp_path / "w.txt").read_text() == expected
    assert (tmp_path / "ddp.txt").read_text() == expected
    assert not list(tmp_path.glob("*.part*"))


def test_evaluate_with_workers_gives_the_same_report(upos_model):
    from tests.conftest import SAMPLES

    path = str(SAMPLES / "sample-upos" / "test.conllu")
    reports = [
        json.loads(
            subprocess.run(
                [sys.executable, "-m", "tagger", "evaluate", str(upos_model), path, "--json", "--batch-size", "8", *extra],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for extra in ([], ["--workers", "2"])
    ]
    assert reports[0]["accuracy"] == reports[1]["accuracy"] and reports[0]["per_label"] == reports[1]["per_label"]
