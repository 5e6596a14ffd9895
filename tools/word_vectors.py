"""Word vectors from unlabelled text, for a recipe's `model.vectors` (a maintainers' tool).

Tokenizes plain text (optionally xz-compressed) the way `tagger tag` tokenizes raw text,
splits contractions as a UD treebank does when given its CoNLL-U training files (UD
Portuguese `do` -> `de o`, `disse-me` -> `disse me`), and trains skip-gram vectors with
gensim, written in word2vec text format, which `model.vectors` reads:

    pip install gensim
    python tools/word_vectors.py ../shared/corpora/text/eltec-por.txt.xz \
        --contractions-from ../shared/corpora/ud-more/pt-bosque/pt_bosque-ud-train.conllu \
        --dim 100 --out runs/vectors-pt.txt

gensim is needed only here, not by the tagger.
"""

from __future__ import annotations

import argparse
import lzma
import time
from collections.abc import Iterator
from pathlib import Path

from tagger.contractions import Contractions, learn_contractions
from tagger.formats.text import tokenize


def _lines(path: Path) -> Iterator[str]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def token_lines(paths: list[Path], contractions: Contractions, lowercase: bool) -> Iterator[list[str]]:
    """Each non-empty line of `paths` as the words the tagger would see."""
    for path in paths:
        for line in _lines(path):
            words: list[str] = []
            for start, end in tokenize(line):
                token = line[start:end]
                words.extend(contractions.words(token) or [token])
            if words:
                yield [word.lower() for word in words] if lowercase else words


def write_tokens(lines: Iterator[list[str]], path: Path) -> int:
    """One line of space-joined words per text line (gensim's corpus_file); the number of words."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for words in lines:
            handle.write(" ".join(words) + "\n")
            count += len(words)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", nargs="+", type=Path, help="plain text files (.xz read as such)")
    parser.add_argument("--out", type=Path, required=True, help="the word2vec text file to write")
    parser.add_argument("--contractions-from", nargs="*", default=[], help="CoNLL-U training files")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cased", action="store_true", help="keep case (default: lowercased)")
    args = parser.parse_args()

    from gensim.models import Word2Vec

    contractions = learn_contractions(args.contractions_from) if args.contractions_from else Contractions({})
    began = time.monotonic()
    tokens = args.out.with_name(args.out.name + ".tokens")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = write_tokens(token_lines(args.text, contractions, not args.cased), tokens)
    print(f"{count:,} words tokenized in {(time.monotonic() - began) / 60:.1f} min", flush=True)
    model = Word2Vec(
        corpus_file=str(tokens),
        vector_size=args.dim,
        window=args.window,
        min_count=args.min_count,
        sg=1,
        workers=args.threads,
        epochs=args.epochs,
        seed=1,
    )
    tokens.unlink()
    partial = args.out.with_name(args.out.name + ".partial")
    model.wv.save_word2vec_format(str(partial))
    partial.replace(args.out)
    minutes = (time.monotonic() - began) / 60
    print(f"{len(model.wv):,} words x {args.dim} from {count:,} words in {minutes:.1f} min: {args.out}")


if __name__ == "__main__":
    main()
