"""One network with two heads against two separate models (#46), not a test: accuracy, F1, tagging time, size.

    python tests/benchmarks/heads.py JOINT --pos POS_MODEL --ner NER_MODEL --pos-test FILE --ner-test FILE
        [--ner-head ner] [--runs 5] [--threads 1]

Scores the joint model's first head on --pos-test (accuracy) and its --ner-head on
--ner-test (F1), and the two separate models on the same files, as `tagger evaluate`
does; then times `tagger tag` on the tokens of --pos-test, writing both label sets: the
joint model (one encoder pass) against `POS_MODEL,NER_MODEL` (two), --pos-test read as
CoNLL-U (its words), the two commands in
turn --runs times each (median wall time of the whole process); and the size on disk of
each model directory (a shared vector table counted once per model that reads it) and its
parameters. --ner-columns names --ner-test's token and label columns for the separate NER
model, where its own training columns differ (xx-ner on Universal NER files: 2,3);
--ner-ignore-type MISC leaves out a type the test file does not annotate (UNER pt has no MISC).
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
from tagger.info import model_info


def score(
    model: str, path: str, head: str | None, metric: str, columns: tuple[int | None, str | None] = (None, None), ignore=()
) -> float:
    options = EvaluateOptions(calibration=False, examples=0, ignore_types=tuple(ignore))
    token_column, label_column = columns
    return evaluate_files(model, [path], options, None, token_column, label_column, "cpu", head=head)[0][metric]


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


def parameters(model: str) -> int:
    return model_info(model)["sizes"]["parameters"]


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
    parser.add_argument("--ner-ignore-type", action="append", default=[], help="a type left out of both NER scores")
    parser.add_argument("--ner-columns", default=None, help="TOKEN,LABEL columns of --ner-test for the separate NER model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    token, _, label = (args.ner_columns or ",").partition(",")
    columns = (int(token) if token else None, label or None)
    rows = {
        "accuracy (pos test)": (
            score(args.joint, args.pos_test, None, "accuracy"),
            score(args.pos, args.pos_test, None, "accuracy"),
        ),
        "F1 (ner test)": (
            score(args.joint, args.ner_test, args.ner_head, "f1", ignore=args.ner_ignore_type),
            score(args.ner, args.ner_test, None, "f1", columns, args.ner_ignore_type),
        ),
    }
    joint_time, separate_time = tagging_seconds([args.joint, f"{args.pos},{args.ner}"], args.pos_test, args.runs, args.threads)
    rows["tag both, wall s (median)"] = (joint_time, separate_time)
    rows["size on disk, MB (float32 run or float16 bundle)"] = (
        size_bytes(args.joint) / 1e6,
        (size_bytes(args.pos) + size_bytes(args.ner)) / 1e6,
    )
    rows["parameters, millions"] = (parameters(args.joint) / 1e6, (parameters(args.pos) + parameters(args.ner)) / 1e6)
    print(f"| | {args.joint} | {args.pos} + {args.ner} |\n|---|---|---|")
    for name, (joint, separate) in rows.items():
        print(f"| {name} | {joint:.2f} | {separate:.2f} |")
    print(json.dumps({"time_ratio_joint_to_separate": round(joint_time / separate_time, 3)}))


if __name__ == "__main__":
    main()
