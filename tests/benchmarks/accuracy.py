"""Accuracy benchmark (not a test): train a shipped config with several seeds, evaluate on
dev and test once per seed, and print a Markdown table with mean and spread.

    python tests/benchmarks/accuracy.py configs/conll03-ner.toml --seeds 1 2 3 --out runs/bench
    python tests/benchmarks/accuracy.py configs/ud-ewt-upos.toml --set model.cell=gru
    python tests/benchmarks/accuracy.py --report runs/bench   # tables from OUT/results.jsonl
    python tests/benchmarks/accuracy.py CONFIG --seeds 2 --resume  # continue a run (e.g. more patience)

Seeds can also run as separate processes at once (`--seeds 2` in one shell, `--seeds 3`
in another, same `--out`); `--report` then gathers them, one table per config and variant.

Each run is `tagger train CONFIG --set train.seed=N`; results are also written as JSON
lines to OUT/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from tagger import config as config_module
from tagger import training
from tagger.evaluate import evaluate_file
from tagger.predict import Predictor


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def run_seed(config_path: str, overrides: list[str], seed: int, out: Path, threads: int, resume: bool = False) -> dict:
    config = config_module.load(config_path, [*overrides, f"train.seed={seed}", f"train.threads={threads}"])
    run_dir = out / f"{Path(config_path).stem}{'-' + '-'.join(overrides) if overrides else ''}-seed{seed}".replace("=", "_")
    started = time.time()
    metrics = training.train(config, run_dir, resume=resume, show_progress=False)
    predictor = Predictor.load(run_dir, config.train.device)
    scores = {}
    for split in ("dev", "test"):
        report = evaluate_file(predictor, getattr(config.data, split))
        scores[split] = report.get("f1", report["accuracy"])
    return {
        "config": config_path,
        "overrides": overrides,
        "seed": seed,
        "dev": scores["dev"],
        "test": scores["test"],
        "metric": metrics["best_dev_metric"],
        "epochs": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "train_seconds": metrics["training_seconds"],
        "wall_seconds": round(time.time() - started, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''} threads={threads}".strip(),
        "date": date.today().isoformat(),
        "commit": commit(),
        "run_dir": str(run_dir),
    }


def table(results: list[dict]) -> str:
    lines = ["| config | seed | dev | test | epochs (best) | train s |", "|---|---|---|---|---|---|"]
    for r in results:
        name = r["config"] + (" " + " ".join(r["overrides"]) if r["overrides"] else "")
        lines.append(
            f"| {name} | {r['seed']} | {r['dev']:.2f} | {r['test']:.2f} | {r['epochs']} ({r['best_epoch']}) | "
            f"{r['train_seconds']:.0f} |"
        )
    if len(results) > 1:
        spread = [
            f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}"
            for v in ([r["dev"] for r in results], [r["test"] for r in results])
        ]
        lines.append(f"| mean ± sd | {len(results)} seeds | {spread[0]} | {spread[1]} | | |")
    return "\n".join(lines)


def report(out: Path) -> str:
    """One table per config and variant from OUT/results.jsonl (the latest result of each seed)."""
    latest: dict[tuple, dict] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        result = json.loads(line)
        latest[(result["config"], tuple(result["overrides"]), result["seed"])] = result
    groups: dict[tuple, list[dict]] = {}
    for (config, overrides, _), result in sorted(latest.items()):
        groups.setdefault((config, overrides), []).append(result)
    return "\n\n".join(table(results) for results in groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?")
    parser.add_argument("--report", metavar="OUT", help="print the tables of the results in OUT and stop")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue existing runs from their last checkpoint (after raising epochs or patience)",
    )
    args = parser.parse_args()
    if args.report:
        print(report(Path(args.report)))
        return
    if not args.config:
        parser.error("a config is needed (or --report OUT)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        result = run_seed(args.config, args.overrides, seed, out, args.threads, args.resume)
        results.append(result)
        with open(out / "results.jsonl", "a") as stream:
            stream.write(json.dumps(result) + "\n")
        print(json.dumps(result), file=sys.stderr, flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
