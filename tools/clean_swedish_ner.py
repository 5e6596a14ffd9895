"""Write a readable copy of swedish-ner's train file for training (#45), outside the repository.

../shared/corpora/ner-sv-pt-more/swedish-ner/train_corpus.txt separates token and tag by a
tab on some lines and by spaces on others (47,176 of them), and one line holds a stray `bn`
with no tag. tagger's column reader keeps the separator of a file's first token line (so
that tab files may have spaces inside tokens), so it stops at the first space-separated
line. This writes `token<TAB>tag` lines to runs/corpora/swedish-ner/train_corpus.tsv,
dropping lines that do not split into two fields, and prints how many it dropped.

    python tools/clean_swedish_ner.py [SOURCE] [TARGET]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared/corpora/ner-sv-pt-more/swedish-ner/train_corpus.txt"
TARGET = ROOT / "runs/corpora/swedish-ner/train_corpus.tsv"


def clean(source: Path, target: Path) -> int:
    """Copy source to target as tab-separated pairs; the number of lines dropped."""
    dropped = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with open(source, encoding="utf-8") as lines, open(partial, "w", encoding="utf-8") as out:
        for line in lines:
            fields = line.split()
            if not fields:
                out.write("\n")
            elif len(fields) == 2:
                out.write("\t".join(fields) + "\n")
            else:
                dropped += 1
    partial.replace(target)
    return dropped


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else TARGET
    print(f"{target}: {clean(source, target)} line(s) dropped")
