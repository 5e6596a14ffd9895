"""Speed benchmark (not a test): the project against the bare BiLSTM ceiling, in one command.

    python tests/benchmarks/speed.py configs/conll03-ner.toml [--device cpu] [--text-mb 200]

1. runs ../shared/bench/bilstm_ceiling.py with the config's hidden size and word dimension;
2. measures `tagger benchmark train` and `tagger benchmark speed` for the same config
   (a model with the config's architecture and vocabulary and random weights, or the
   trained run given with --model: a trained model's outputs have fewer spans to convert);
3. times `echo ... | tagger tag` against `python -c "import torch"`;
4. tags a generated text file of --text-mb MB and reports the peak RSS of that process.
Prints one JSON object with the figures and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CEILING = ROOT.parent / "shared" / "bench" / "bilstm_ceiling.py"
LENGTHS = ROOT.parent / "shared" / "bench" / "conll03_train_lengths.json"


def tagger(*args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "tagger", *args], input=stdin, capture_output=True, check=True)
    return result.stdout.decode()


def ceiling(config, device: str, train_batch: int, infer_batch: int, seconds: float) -> dict:
    command = [
        sys.executable,
        str(CEILING),
        "--device",
        device,
        "--lengths",
        str(LENGTHS),
        "--seconds",
        str(seconds),
        "--hidden",
        str(config.model.hidden),
        "--emb",
        str(config.model.word_dim),
        "--cell",
        config.model.cell,
        "--train-batches",
        str(train_batch),
        "--infer-batches",
        str(infer_batch),
    ]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def untrained_model(config, directory: Path) -> None:
    """A model directory with the config's architecture and training vocabulary, random weights."""
    from tagger import store
    from tagger.training import prepare_run

    run = prepare_run(config, directory, log=lambda message: None)
    store.save_weights(directory, run.model)


def startup(model_dir: Path) -> dict:
    def timed(command: list[str], stdin: bytes | None = None) -> float:
        best = float("inf")
        for _ in range(3):
            begin = time.perf_counter()
            subprocess.run(command, input=stdin, capture_output=True, check=True)
            best = min(best, time.perf_counter() - begin)
        return best

    torch_import = timed([sys.executable, "-c", "import torch"])
    tag = timed([sys.executable, "-m", "tagger", "tag", str(model_dir)], b"A short sentence .\n")
    return {"import_torch_s": torch_import, "tag_one_sentence_s": tag, "overhead_s": tag - torch_import}


def big_text(model_dir: Path, megabytes: int, device: str) -> dict:
    sample = (ROOT / "README.md").read_text()
    paragraph = " ".join(line for line in sample.splitlines() if line and not line.startswith(("|", "`", "#")))[:4000]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        written = 0
        while written < megabytes * 1_000_000:
            handle.write(paragraph + "\n\n")
            written += len(paragraph) + 2
        path = handle.name
    command = [sys.executable, "-m", "tagger", "tag", str(model_dir), path, "--device", device, "--output-format", "inline"]
    # a fresh watcher process, so that the peak RSS is the tagging process's alone; it also
    # notes when the first output arrives, which shows that output is written as it goes
    measured = json.loads(
        subprocess.run([sys.executable, "-c", WATCHER, *command], capture_output=True, text=True, check=True).stdout
    )
    os.unlink(path)
    return {
        "text_mb": megabytes,
        "seconds": measured["seconds"],
        "peak_rss_mib": measured["peak_kib"] / 1024,
        "first_output_s": measured["first_output_s"],
        "output_mb": measured["output_bytes"] / 1e6,
    }


WATCHER = """
import json, resource, subprocess, sys, time
begin = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
first, total = None, 0
while chunk := child.stdout.read1(1 << 16):
    first = time.perf_counter() - begin if first is None else first
    total += len(chunk)
if child.wait() != 0:
    sys.exit(child.returncode)
print(json.dumps({"seconds": time.perf_counter() - begin, "first_output_s": first, "output_bytes": total,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def main() -> None:
    from tagger import config as config_module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--infer-batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--text-mb", type=int, default=20)
    parser.add_argument("--tag-file", default=str(ROOT.parent / "shared" / "corpora" / "conll2003-en" / "eng.testb"))
    parser.add_argument(
        "--model",
        help="A trained run of the config to time tagging with (default: random weights, whose random span "
        "labels make converting the output slower than a trained model's)",
    )
    args = parser.parse_args()
    overrides = [f"train.batch_size={args.train_batch}", f"train.device={args.device}"]
    config = config_module.load(args.config, overrides)
    result = {
        "config": args.config,
        "model": args.model or "untrained",
        "date": date.today().isoformat(),
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }
    result["ceiling"] = ceiling(config, args.device, args.train_batch, args.infer_batch, args.seconds)
    with tempfile.TemporaryDirectory() as temporary:
        model_dir = Path(args.model) if args.model else Path(temporary) / "model"
        if not args.model:
            untrained_model(config, model_dir)
        max_batches = max(20, int(args.seconds * 10))
        config_file = Path(temporary) / "config.toml"
        config_file.write_text(Path(args.config).read_text())
        train = json.loads(
            tagger(
                "benchmark",
                "train",
                str(config_file),
                "--max-batches",
                str(max_batches),
                "--epochs",
                "2",
                "--json",
                *[item for o in overrides for item in ("--set", o)],
            )
        )
        tag = json.loads(
            tagger(
                "benchmark",
                "speed",
                str(model_dir),
                args.tag_file,
                "--batch-size",
                str(args.infer_batch),
                "--device",
                args.device,
                "--json",
            )
        )
        result["train"] = {"tokens_per_s": train["epochs"][-1]["tokens_per_s"], "batch_size": args.train_batch}
        result["tag"] = {"tokens_per_s": tag["tokens_per_s"], "batch_size": args.infer_batch, "load_s": tag["load_seconds"]}
        result["ratio_train"] = result["train"]["tokens_per_s"] / result["ceiling"][f"train_tok_s_b{args.train_batch}"]
        result["ratio_tag"] = result["tag"]["tokens_per_s"] / result["ceiling"][f"infer_tok_s_b{args.infer_batch}"]
        result["startup"] = startup(model_dir)
        if args.text_mb > 0:
            result["big_text"] = big_text(model_dir, args.text_mb, args.device)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
