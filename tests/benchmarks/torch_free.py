"""Tagging without torch (#43), not a test: start-up, throughput, memory and agreement, in one command.

    python tests/benchmarks/torch_free.py [--runs 7] [--text-mb 20] [--agreement] [--skip-speed]
        [--startup-only | --throughput-only | --text-only numpy|torch [--text-threads N]]

1. start-up: `echo SENTENCE | tagger tag en-ner` (the NumPy engine), the same with
   `--runtime torch`, `tagger tag en-upos,en-ner`, and `python -c "import torch"`, run in
   turn `--runs` times each; median wall time and peak RSS of each process;
2. throughput at batch 256 on eng.testb (en-ner, xx-ner) and EWT test (en-upos): `tagger
   benchmark speed --runtime torch --runtime numpy` (both in one process, one thread each
   and the machine's default), tokens/s and the ratio;
3. peak RSS of tagging --text-mb MB of raw text with each engine, one after the other;
4. with --agreement: every token's label from both engines on eng.testb, btc.test, EWT test
   and every UNER test file, for the models that read them, with token and span
   confidences and 3-best probabilities compared (largest difference reported).
Prints one JSON object. Run it on an idle machine: the figures are ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
SENTENCE = b"Maria Lopez flew from Oslo to Lagos on Monday.\n"
TAG = [sys.executable, "-m", "tagger", "tag"]
STARTUP = {
    "import torch": [sys.executable, "-c", "import torch"],
    "tag en-ner (numpy)": [*TAG, "en-ner"],
    "tag en-ner --runtime torch": [*TAG, "en-ner", "--runtime", "torch"],
    "tag en-upos,en-ner (numpy)": [*TAG, "en-upos,en-ner"],
}
EWT_TEST = CORPORA / "ud-en-ewt" / "en_ewt-ud-test.conllu"
UNER = sorted((CORPORA / "uner").glob("*/*-test.iob2"))


def measured(command: list[str], stdin: bytes | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process."""
    begin = time.perf_counter()
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child.stdin.write(stdin or b"")
    child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)}: exit status {status}")
    return time.perf_counter() - begin, usage.ru_maxrss / 1024


def startup(runs: int) -> dict:
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in STARTUP}
    for _ in range(runs):
        for name, command in STARTUP.items():
            timings[name].append(measured(command, SENTENCE))
    return {
        name: {"median_s": statistics.median(t for t, _ in values), "peak_rss_mib": max(m for _, m in values)}
        for name, values in timings.items()
    }


def throughput(threads: int | None) -> dict:
    files = {"en-ner": CORPORA / "conll2003-en" / "eng.testb", "xx-ner": CORPORA / "conll2003-en" / "eng.testb"}
    files["en-upos"] = EWT_TEST
    results = {}
    for model, path in files.items():
        command = [sys.executable, "-m", "tagger", "benchmark", "speed", model, str(path), "--json", "--passes", "3"]
        command += ["--runtime", "torch", "--runtime", "numpy"] + (["--threads", str(threads)] if threads else [])
        report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        results[model] = {
            "torch_tokens_per_s": report["results"][0]["tokens_per_s"],
            "numpy_tokens_per_s": report["results"][1]["tokens_per_s"],
            "numpy_over_torch": report["ratios"]["numpy"],
        }
    return results


def big_text(megabytes: int, runtimes: tuple[str, ...] = ("numpy", "torch"), threads: int | None = None) -> dict:
    sample = (ROOT / "README.md").read_text()
    paragraph = " ".join(line for line in sample.splitlines() if line and not line.startswith(("|", "`", "#")))[:4000]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        for _ in range(megabytes * 1_000_000 // (len(paragraph) + 2) + 1):
            handle.write(paragraph + "\n\n")
    results = {}
    for runtime in runtimes:
        command = [*TAG, "en-ner", handle.name, "--output-format", "inline", "--runtime", runtime]
        command += ["--threads", str(threads)] if threads else []
        seconds, peak = measured(command)
        results[runtime] = {"seconds": seconds, "peak_rss_mib": peak}
    os.unlink(handle.name)
    return {"text_mb": megabytes, **results}


def agreement() -> dict:
    from tagger.predict import ConfidenceRequest, Predictor
    from tagger.tagging import read_input

    plan = {
        "en-ner": [(CORPORA / "conll2003-en" / "eng.testb", None), (CORPORA / "btc-en" / "btc.test", None)],
        "en-upos": [(EWT_TEST, None)],
        "xx-ner": [(CORPORA / "conll2003-en" / "eng.testb", None), (CORPORA / "btc-en" / "btc.test", None)]
        + [(path, 2) for path in UNER],
    }
    report = {}
    for model, files in plan.items():
        engines = [Predictor.load(model, "cpu", runtime) for runtime in ("torch", "numpy")]
        for path, token_column in files:
            layout = engines[0].layout(engines[0].task.format, token_column, labelled=False)
            sentences = [s.tokens for s in read_input(str(path), engines[0].task.format, layout)]
            items = engines[0].encode(sentences)
            outputs = [e.predict_encoded(items, 256, True, ConfidenceRequest(nbest=3)) for e in engines]
            report[f"{model} {path.name}"] = compared(*outputs)
    return report


def compared(reference, found) -> dict:
    tokens = sum(map(len, reference.labels))
    differing = sum(a != b for x, y in zip(reference.labels, found.labels) for a, b in zip(x, y))
    largest = 0.0
    for ours, theirs in zip(found.confidences, reference.confidences):
        pairs = list(zip(ours.tokens, theirs.tokens)) + [(ours.spans[k], theirs.spans.get(k, -1.0)) for k in ours.spans]
        pairs += [(p, q) for (_, p, _), (_, q, _) in zip(ours.nbest, theirs.nbest)]
        largest = max([largest] + [abs(p - q) for p, q in pairs])
    pairs = zip(found.confidences, reference.confidences)
    same_nbest = all([a for a, *_ in x.nbest] == [b for b, *_ in y.nbest] for x, y in pairs)
    return {"tokens": tokens, "labels_differing": differing, "largest_probability_difference": largest, "same_nbest": same_nbest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--text-mb", type=int, default=20)
    parser.add_argument("--agreement", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument(
        "--text-only", choices=["numpy", "torch"], help="only tag the --text-mb text, with this runtime (an hour at 200 MB)"
    )
    parser.add_argument("--text-threads", type=int, help="tag the big text with this many threads (default: tag's)")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up part (1.)")
    parser.add_argument("--throughput-only", action="store_true", help="only the throughput part (2.)")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {"date": date.today().isoformat(), "commit": commit, "machine": platform.platform(), "cpu_count": os.cpu_count()}
    if args.startup_only:
        result["startup"] = startup(args.runs)
    elif args.throughput_only:
        result["throughput_one_thread"] = throughput(1)
        result["throughput_default_threads"] = throughput(None)
    elif args.text_only:
        result["big_text"] = {**big_text(args.text_mb, (args.text_only,), args.text_threads), "threads": args.text_threads}
    elif not args.skip_speed:
        result["startup"] = startup(args.runs)
        result["throughput_one_thread"] = throughput(1)
        result["throughput_default_threads"] = throughput(None)
        result["big_text"] = big_text(args.text_mb)
    if args.agreement:
        result["agreement"] = agreement()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
