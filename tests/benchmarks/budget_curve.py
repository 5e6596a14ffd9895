"""Test score against training minutes (not a test): one budgeted run per seed, snapshots on the way.

    python tests/benchmarks/budget_curve.py configs/conll03-ner-10min.toml --minutes 20 --marks 2 5 10 20 --seeds 1 2 3

Each seed trains once with `train.max_minutes = --minutes`. After every epoch, when the
run has passed a mark, the model kept so far (the best dev epoch, what a user stopping
there would have) is scored on the config's test file; that scoring is left out of the
run's clock. Prints one Markdown table (rows: seeds and their mean; columns: marks and
the end) and writes OUT/curve.jsonl. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tagger import config as config_module
from tagger import training
from tagger.evaluate import evaluate_file
from tagger.predict import Predictor


def score(model_dir: Path, test: str) -> float:
    report = evaluate_file(Predictor.load(model_dir, "cpu"), test)
    return report.get("f1", report["accuracy"])


def run_seed(config_path: str, seed: int, minutes: float, marks: list[float], out: Path, overrides: list[str]) -> dict:
    config = config_module.load(config_path, [*overrides, f"train.seed={seed}", f"train.max_minutes={minutes}"])
    test = config.data.test
    if not test:
        raise SystemExit(f"{config_path}: no data.test to score")
    directory = out / f"seed{seed}"
    pending, scores = sorted(marks), {}

    def snapshot(epoch: int, elapsed: float) -> None:
        while pending and elapsed >= pending[0]:
            scores[f"{pending.pop(0):g} min"] = score(directory, test)

    metrics = training.train(config, directory, show_progress=False, after_epoch=snapshot)
    for mark in pending:  # the run ended before these marks
        scores[f"{mark:g} min"] = None
    scores["end"] = metrics["test"].get("f1", metrics["test"]["accuracy"])
    return {"seed": seed, "scores": scores, "wall_seconds": metrics.get("wall_seconds"), "steps": metrics.get("steps")}


def table(results: list[dict]) -> str:
    columns = list(results[0]["scores"])
    lines = ["| seed | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for result in results:
        cells = [f"{value:.2f}" if value is not None else "-" for value in result["scores"].values()]
        lines.append(f"| {result['seed']} | " + " | ".join(cells) + " |")
    means = []
    for column in columns:
        values = [r["scores"][column] for r in results if r["scores"][column] is not None]
        means.append(f"**{statistics.mean(values):.2f}**" if values else "-")
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--minutes", type=float, default=20.0, help="The run's budget (train.max_minutes).")
    parser.add_argument("--marks", type=float, nargs="+", default=[2, 5, 10, 20], help="Minutes at which to score.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default="runs/budget-curve")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        result = run_seed(args.config, seed, args.minutes, args.marks, out, args.overrides)
        results.append(result)
        with open(out / "curve.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"config": args.config, "minutes": args.minutes, **result}) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
