"""Measurement (not a test): how the raw-text tokenizer agrees with the gold words of UD-style files.

    python tests/benchmarks/tokenizer_agreement.py [FILE ...] [--token-column 2] [--model DIR | --contractions-from TRAIN]
        (default: the six Universal NER test files under ../shared/corpora/uner)

With --model, the model directory's contractions.json splits the tokens as `tagger tag`
does with that model; with --contractions-from, the table is learnt from CoNLL-U training
files as training learns it (tagger.contractions).

For each sentence with a `# text = ...` line, the text is tokenized as `tagger tag` does
(tagger.formats.text.tokenize) and the tokens are aligned with the sentence's gold words
as sequences of strings (the longest matching blocks, difflib): precision is the share of
the tokenizer's tokens that match a gold word in place, recall the share of gold words
matched, F1 their harmonic mean. A word that no split of the text can give (Portuguese
`no` written as the UD words `em o`) counts against the tokenizer. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path

from tagger.contractions import Contractions, learn_contractions, read_contractions, split_contractions
from tagger.data import Sentence
from tagger.formats import Layout, read_layout
from tagger.formats.text import tokenize

TEXT_LINE = "# text = "
UNER = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "uner"


@dataclass
class Agreement:
    sentences: int = 0
    gold: int = 0
    predicted: int = 0
    matched: int = 0

    def add(self, gold: list[str], predicted: list[str]) -> None:
        blocks = SequenceMatcher(None, gold, predicted, autojunk=False).get_matching_blocks()
        self.sentences += 1
        self.gold += len(gold)
        self.predicted += len(predicted)
        self.matched += sum(block.size for block in blocks)

    def summary(self) -> dict[str, float | int]:
        precision = self.matched / max(self.predicted, 1)
        recall = self.matched / max(self.gold, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {
            "sentences": self.sentences,
            "gold_words": self.gold,
            "tokens": self.predicted,
            "precision": round(100 * precision, 2),
            "recall": round(100 * recall, 2),
            "f1": round(100 * f1, 2),
        }


def sentences_with_text(path: Path, token_column: int) -> list[tuple[str, list[str]]]:
    """(the `# text` line, the gold words) of each sentence that has a text line."""
    found = []
    for sentence in read_layout(str(path), Layout(token_column=token_column), with_labels=False).sentences:
        texts = [line.rstrip("\n")[len(TEXT_LINE) :] for line in sentence.raw.lines if line.startswith(TEXT_LINE)]
        if texts and sentence.tokens:
            found.append((texts[0], sentence.tokens))
    return found


def agreement(path: Path, token_column: int, contractions: Contractions) -> dict[str, float | int]:
    result = Agreement()
    for text, words in sentences_with_text(path, token_column):
        tokens = [text[start:end] for start, end in tokenize(text)]
        result.add(words, next(split_contractions([Sentence(tokens)], contractions)).tokens)
    return result.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--token-column", type=int, default=2)
    parser.add_argument("--model", type=Path, help="split contractions as this model directory does")
    parser.add_argument("--contractions-from", nargs="+", default=[], help="learn the contractions from these CoNLL-U files")
    args = parser.parse_args()
    contractions = Contractions({})
    if args.model:
        contractions = read_contractions(args.model)
    elif args.contractions_from:
        contractions = learn_contractions(args.contractions_from)
    files = args.files or sorted(UNER.glob("*/*-test.iob2"))
    if not files:
        sys.exit(f"no files given and none found under {UNER}")
    report = {
        "date": date.today().isoformat(),
        "files": {str(path): agreement(path, args.token_column, contractions) for path in files},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
