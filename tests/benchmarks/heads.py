"""One network with two heads against two separate models (#46), not a test: accuracy, F1, tagging time, size.

    python tests/benchmarks/heads.py JOINT --pos POS_MODEL --ner NER_MODEL --pos-test FILE --ner-test FILE
        [--ner-head ner] [--runs 5] [--threads 1]

Scores the joint model's first head on --pos-test (accuracy) and its --ner-head on
--ner-test (F1), and the two separate models on the same files, as `tagger evaluate`
does; then times `tagger tag` on the tokens of --pos-test, writing both label sets: the
joint model (one encoder pass) against `POS_MODEL,NER_MODEL` (two), --pos-test read as
CoNLL-U (its words), the two commands in
turn --runs times each (median wall time of the whole process); and the size on disk of
each model directory (a shared vector table counted once per model that reads it).
Prints a Markdown table. Time ratios come from one run: compare them, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tagger.bundled import resolve_model, table_file
from tagger.evaluate import EvaluateOptions, evaluate_files


def score(model: str, path: str, head: str | None, metric: str) -> float:
    options = EvaluateOptions(calibration=False, examples=0)
    return evaluate_files(model, [path], options, device="cpu", head=head)[0][metric]


def tagging_seconds(models: list[str], path: str, runs: int, threads: int) -> list[float]:
    """Median wall time of `tagger tag MODEL PATH` per model argument, the commands run in turn."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    times: dict[str, list[float]] = {model: [] for model in models}
    for _ in range(runs):
        for model in models:
            command = [sys.executable, "-m", "tagger", "tag", model, path, "--input-format", "conllu", "--output-format", "conll"]
            command += ["--threads", str(threads)]
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=environment)
            times[model].append(time.perf_counter() - started)
    return [statistics.median(times[model]) for model in models]


def size_bytes(model: str) -> int:
    directory = Path(resolve_model(model))
    files = [path for path in directory.iterdir() if path.is_file() and path.suffix in (".json", ".safetensors")]
    table = table_file(directory)
    if table.is_file() and table not in files:
        files.append(table)
    return sum(path.stat().st_size for path in files if path.name not in ("card.json",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("joint")
    parser.add_argument("--pos", required=True)
    parser.add_argument("--ner", required=True)
    parser.add_argument("--pos-test", required=True)
    parser.add_argument("--ner-test", required=True)
    parser.add_argument("--ner-head", default="ner")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rows = {
        "accuracy (pos test)": (
            score(args.joint, args.pos_test, None, "accuracy"),
            score(args.pos, args.pos_test, None, "accuracy"),
        ),
        "F1 (ner test)": (score(args.joint, args.ner_test, args.ner_head, "f1"), score(args.ner, args.ner_test, None, "f1")),
    }
    joint_time, separate_time = tagging_seconds([args.joint, f"{args.pos},{args.ner}"], args.pos_test, args.runs, args.threads)
    rows["tag both, wall s (median)"] = (joint_time, separate_time)
    rows["size, MB"] = (size_bytes(args.joint) / 1e6, (size_bytes(args.pos) + size_bytes(args.ner)) / 1e6)
    print(f"| | {args.joint} | {args.pos} + {args.ner} |\n|---|---|---|")
    for name, (joint, separate) in rows.items():
        print(f"| {name} | {joint:.2f} | {separate:.2f} |")
    print(json.dumps({"time_ratio_joint_to_separate": round(joint_time / separate_time, 3)}))


if __name__ == "__main__":
    main()
