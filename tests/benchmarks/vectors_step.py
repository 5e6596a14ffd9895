"""Step-time benchmark (not a test): training with GloVe against training without vectors, in one run.

    python tests/benchmarks/vectors_step.py [--config configs/conll03-ner.toml] [--batches 150] [--rounds 2]

Runs `tagger benchmark train` on the same data and batches for each variant, alternating
the variants round by round so that a busy moment of the machine spreads over all of them:
  none      the config as it is (no vectors);
  none-50d  the same with 50-dimensional word rows (GloVe's size), the control;
  seen      glove-6b-50d, the training words' rows trained, every other word frozen (default);
  all       glove-6b-50d with every one of the 400,000 rows trained at every step.
Prints one JSON object: the median seconds per step of each variant and its ratio to `none`.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from datetime import date

VARIANTS = {
    "none": [],
    "none-50d": ["--set", "model.word_dim=50"],
    "seen": ["--set", "model.vectors=glove-6b-50d", "--set", "model.word_dim=50"],
    "all": ["--set", "model.vectors=glove-6b-50d", "--set", "model.word_dim=50", "--set", "model.tune_vectors=all"],
}


def step_seconds(config: str, batches: int, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "tagger", "benchmark", "train", config, "--max-batches", str(batches), "--json", *extra]
    result = json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)
    epoch = result["epochs"][0]
    return {"step_s": epoch["seconds"] / batches, "tokens_per_s": epoch["tokens_per_s"], "peak_rss_mib": result["peak_rss_mib"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/conll03-ner.toml")
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for _ in range(arguments.rounds):
        for name, extra in VARIANTS.items():
            runs[name].append(step_seconds(arguments.config, arguments.batches, extra))
    medians = {name: statistics.median(run["step_s"] for run in measured) for name, measured in runs.items()}
    report = {
        "date": date.today().isoformat(),
        "machine": platform.processor() or platform.machine(),
        "config": arguments.config,
        "batches": arguments.batches,
        "step_s": medians,
        "ratio_to_none": {name: medians[name] / medians["none"] for name in VARIANTS},
        "peak_rss_mib": {name: max(run["peak_rss_mib"] for run in measured) for name, measured in runs.items()},
        "runs": runs,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
