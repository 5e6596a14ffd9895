"""Start-up benchmark (not a test): a bundled model against a trained run directory, in one command.

    python tests/benchmarks/bundled_load.py [--runs 7]

Trains configs/sample-ner.toml into a temporary directory, then alternates
`echo "A short sentence ." | tagger tag en-ner` with the same command on that run
directory, --runs times each, and prints one JSON object with the median wall times and
their difference (the bundled model may cost at most 0.5 s more).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = b"A short sentence .\n"


def timed_tag(model: str) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "tagger", "tag", model, "--quiet"]
    subprocess.run(command, input=SENTENCE, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bundled", default="en-ner")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = str(Path(scratch) / "sample-ner")
        subprocess.run(
            [sys.executable, "-m", "tagger", "train", "configs/sample-ner.toml", "--out", run_dir, "--quiet"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        timed_tag(run_dir)  # file system caches warm for both
        timed_tag(arguments.bundled)
        bundled, trained = [], []
        for _ in range(arguments.runs):
            bundled.append(timed_tag(arguments.bundled))
            trained.append(timed_tag(run_dir))
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.processor() or 'unknown cpu'}",
        "runs": arguments.runs,
        "bundled_model": arguments.bundled,
        "bundled_median_s": round(statistics.median(bundled), 3),
        "run_directory_median_s": round(statistics.median(trained), 3),
    }
    result["difference_s"] = round(result["bundled_median_s"] - result["run_directory_median_s"], 3)
    result["within_0.5_s"] = result["difference_s"] <= 0.5
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
