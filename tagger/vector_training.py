"""Word vectors from unlabelled text (`tagger vectors`), for a config's `model.vectors`.

The text is tokenized as `tagger tag` tokenizes raw text, and, given a UD treebank's CoNLL-U
training files, contractions are split as the treebank splits them (UD Portuguese `do` ->
`de o`, `disse-me` -> `disse me`), so that the vectors' words are the words the tagger reads.
gensim trains skip-gram vectors on them (the `tagger[vectors]` extra: its word2vec does this
job faster than code of ours would). The file is word2vec text format, written whole or not
at all.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.contractions import Contractions, learn_contractions
from tagger.errors import TaggerError
from tagger.files import WriteError, atomic_output, read_lines
from tagger.formats.text import tokenize


@dataclass
class VectorOptions:
    """What `tagger vectors` trains: its text files, the output file and word2vec's settings."""

    files: list[str]
    out: str
    contractions_from: list[str] = field(default_factory=list)  # CoNLL-U training files of a treebank
    dim: int = 100
    window: int = 5
    min_count: int = 3  # words seen fewer times get no vector
    max_words: int = 0  # the most frequent words kept (a smaller model); 0: every word seen min_count times
    epochs: int = 5
    threads: int = 1
    lowercase: bool = True  # as a config's model.lowercase (the default) reads words
    seed: int = 1


def token_lines(paths: Iterable[str], contractions: Contractions, lowercase: bool) -> Iterator[list[str]]:
    """Each non-empty line of the files as the words the tagger would read from it."""
    for path in paths:
        for _, line in read_lines(path):
            words: list[str] = []
            for start, end in tokenize(line):
                token = line[start:end]
                words.extend(contractions.words(token) or [token])
            if words:
                yield [word.lower() for word in words] if lowercase else words


def train_vectors(options: VectorOptions, log: Callable[[str], None] = lambda message: None) -> dict:
    """Tokenize the files, train the vectors and write them to options.out; what was done, as a record."""
    word2vec, callback = _word2vec()
    contractions = learn_contractions(options.contractions_from) if options.contractions_from else Contractions({})
    began = time.monotonic()
    target = Path(options.out)
    try:
        handle, tokens_path = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tokens", dir=target.parent)
    except OSError as error:
        raise WriteError(f"{target}: cannot write here ({error.strerror})", error.errno) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            count = _write_tokens(token_lines(options.files, contractions, options.lowercase), stream)
        if count == 0:
            raise TaggerError(f"{', '.join(options.files)}: no words to train vectors on")
        log(f"{count:,} words tokenized in {(time.monotonic() - began) / 60:.1f} min; training {options.epochs} epochs")
        model = word2vec(
            corpus_file=tokens_path,
            vector_size=options.dim,
            window=options.window,
            min_count=options.min_count,
            max_final_vocab=options.max_words or None,
            sg=1,
            workers=options.threads,
            epochs=options.epochs,
            seed=options.seed,
            callbacks=[_epoch_log(callback, options.epochs, began, log)],
        )
    finally:
        os.unlink(tokens_path)
    words = list(model.wv.index_to_key)
    if not words:
        raise TaggerError(f"no word is seen {options.min_count} times; lower --min-count or give more text")
    write_vectors(target, words, model.wv.vectors)
    return {"words": len(words), "dim": options.dim, "tokens": count, "minutes": (time.monotonic() - began) / 60}


def _word2vec():
    """gensim's Word2Vec and its callback class, or the one line saying what to install."""
    try:
        from gensim.models import Word2Vec
        from gensim.models.callbacks import CallbackAny2Vec
    except ImportError:
        raise TaggerError("tagger vectors needs gensim, which is not installed: pip install 'tagger[vectors]'") from None
    return Word2Vec, CallbackAny2Vec


def _epoch_log(base: type, epochs: int, began: float, log: Callable[[str], None]):
    """A gensim callback that says when each epoch ends (a pass over a large text takes minutes)."""

    class EpochLog(base):
        def __init__(self) -> None:
            self.done = 0

        def on_epoch_end(self, model) -> None:
            self.done += 1
            log(f"epoch {self.done} of {epochs} done, {(time.monotonic() - began) / 60:.1f} min")

    return EpochLog()


def _write_tokens(lines: Iterable[list[str]], stream) -> int:
    """One line of space-joined words per text line (gensim's corpus_file); the number of words written."""
    count = 0
    for words in lines:
        stream.write(" ".join(words) + "\n")
        count += len(words)
    return count


def write_vectors(path: Path, words: Sequence[str], matrix) -> None:
    """word2vec text format: a line `WORDS DIM`, then each word and its values (matrix (words, dim))."""
    with atomic_output(path) as stream:
        stream.write(f"{len(words)} {matrix.shape[1]}\n")
        for word, row in zip(words, matrix.tolist()):
            stream.write(word + " " + " ".join(f"{value:.5f}" for value in row) + "\n")
