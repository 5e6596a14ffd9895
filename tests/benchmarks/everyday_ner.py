"""Everyday-text NER benchmark (not a test): news, lowercased news and tweets for each model, in one command.

    python tests/benchmarks/everyday_ner.py MODEL [MODEL ...] [--json]

For each model (a run directory or a bundled name): conlleval F1 on eng.testb, on
eng.testb with every token lowercased (gold unchanged) and the gap between the two, and
F1 over PER/LOC/ORG on the Broad Twitter Corpus test split (section F), MISC left out
of gold and predictions (`tagger evaluate --ignore-type MISC`). Needs ../shared/corpora.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tagger.evaluate import EvaluateOptions, evaluate_file
from tagger.predict import Predictor

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
TESTB = CORPORA / "conll2003-en" / "eng.testb"
BTC_TEST = CORPORA / "btc-en" / "btc.test"


def lowercased_copy(source: Path, target: Path) -> Path:
    """The file with the first column (the token) lowercased; -DOCSTART- lines and labels as they are."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        fields = line.split(" ")
        if line.strip() and not line.startswith("-DOCSTART-"):
            fields[0] = fields[0].lower()
        lines.append(" ".join(fields))
    target.write_text("".join(lines), encoding="utf-8")
    return target


def scores(model: str, lowercased: Path) -> dict:
    predictor = Predictor.load(model, "cpu")
    news_layout = predictor.layout("conll", 1, "4")
    news = evaluate_file(predictor, str(TESTB), news_layout)["f1"]
    lower = evaluate_file(predictor, str(lowercased), news_layout)["f1"]
    btc_layout = predictor.layout("conll", 1, "2")
    tweets = evaluate_file(predictor, str(BTC_TEST), btc_layout, EvaluateOptions(ignore_types=("MISC",)))["f1"]
    return {"model": model, "testb_f1": news, "testb_lowercased_f1": lower, "lowercase_gap": news - lower, "btc_test_f1": tweets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        lowercased = lowercased_copy(TESTB, Path(scratch) / "eng.testb.lower")
        rows = [scores(model, lowercased) for model in arguments.models]
    if arguments.json:
        print(json.dumps(rows, indent=2))
        return
    print("| model | eng.testb F1 | lowercased | gap | BTC test F1 (PER/LOC/ORG) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['model']} | {row['testb_f1']:.2f} | {row['testb_lowercased_f1']:.2f} | "
            f"{row['lowercase_gap']:.2f} | {row['btc_test_f1']:.2f} |"
        )


if __name__ == "__main__":
    main()
