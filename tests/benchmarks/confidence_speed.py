"""Speed benchmark (not a test): tagging with confidences against plain tagging, in one run.

    python tests/benchmarks/confidence_speed.py [--model en-ner] [--file ../shared/corpora/conll2003-en/eng.testb]
        [--batch-size 256] [--rounds 5] [--baseline-checkout /path/to/an/older/checkout] [--baseline-rounds 8]

Loads the model once and times, round by round (so that a busy moment of the machine
spreads over every variant), a pass over the file's sentences with:
  plain       labels only (what `tagger tag` does without options);
  confidence  labels, token and span confidences (`--confidence`);
  nbest3      the same and the 3 best labellings (`--nbest 3`).
Encoding is included; reading the file and loading the model are not. With
--baseline-checkout, `tagger benchmark speed` of that checkout and of this one are run
alternately too, to show that plain tagging did not get slower. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import torch

from tagger.formats import read_layout
from tagger.predict import ConfidenceRequest, Predictor

VARIANTS = {"plain": None, "confidence": ConfidenceRequest(), "nbest3": ConfidenceRequest(nbest=3)}


def timed_passes(predictor: Predictor, token_lists: list[list[str]], batch_size: int, rounds: int) -> dict[str, list[float]]:
    predictor.predict_encoded(predictor.encode(token_lists[: 2 * batch_size]), batch_size, confidence=ConfidenceRequest(3))
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, request in VARIANTS.items():
            started = time.perf_counter()
            predictor.predict_encoded(predictor.encode(token_lists), batch_size, confidence=request)
            seconds[name].append(time.perf_counter() - started)
    return seconds


def checkout_speed(checkout: Path, model: str, path: str, batch_size: int) -> float:
    command = [sys.executable, "-m", "tagger", "benchmark", "speed", model, path, "--batch-size", str(batch_size), "--json"]
    result = subprocess.run(
        command, cwd=checkout, capture_output=True, check=True, text=True, env={**os.environ, "PYTHONPATH": str(checkout)}
    )
    return json.loads(result.stdout)["tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="en-ner")
    parser.add_argument("--file", default="../shared/corpora/conll2003-en/eng.testb")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline-checkout", type=Path, default=None)
    parser.add_argument("--baseline-rounds", type=int, default=8, help="alternating runs of each (they vary by 10%%)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.model, "cpu")
    _, _, sentences = read_layout(args.file, predictor.layout(labelled=False))
    token_lists = [sentence.tokens for sentence in sentences]
    seconds = timed_passes(predictor, token_lists, args.batch_size, args.rounds)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "model": args.model,
        "file": args.file,
        "tokens": sum(map(len, token_lists)),
        "batch_size": args.batch_size,
        "median_seconds": medians,
        "ratio_to_plain": {name: medians[name] / medians["plain"] for name in VARIANTS},
    }
    if args.baseline_checkout is not None:
        here = Path(__file__).resolve().parents[2]
        speeds: dict[str, list[float]] = {"baseline": [], "this": []}
        for _ in range(args.baseline_rounds):
            speeds["baseline"].append(
                checkout_speed(args.baseline_checkout, args.model, str(Path(args.file).resolve()), args.batch_size)
            )
            speeds["this"].append(checkout_speed(here, args.model, str(Path(args.file).resolve()), args.batch_size))
        plain = {name: statistics.median(values) for name, values in speeds.items()}
        result["plain_tokens_per_s"] = {**plain, "ratio_this_to_baseline": plain["this"] / plain["baseline"], "runs": speeds}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
