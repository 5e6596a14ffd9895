"""Training data: reading and checking train and dev files, the task they define, the vocabulary."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch

from tagger import schemes
from tagger.config import Config, check_files
from tagger.data import Sentence
from tagger.errors import TaggerError
from tagger.formats import read_all
from tagger.task import Task
from tagger.vectors import read_vectors
from tagger.vocab import UNK, Vocab

Log = Callable[[str], None]


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Corpus:
    """Training and dev data, read and checked, with the task they define."""

    task: Task
    train: list[Sentence]
    dev: list[Sentence]
    train_labels: list[list[str]]  # in the model's internal scheme


def read_corpus_for_training(config: Config, log: Log = log_to_stderr) -> Corpus:
    """Read train and dev, work out the task, reject bad labels before any training."""
    check_files(config)
    options = {
        "format_name": config.data.format or None,
        "label_column": config.data.label_column or None,
        "token_column": config.data.token_column,
    }
    format_name, column, train = read_all(config.data.train, **options)
    dev = read_all(config.data.dev, **{**options, "format_name": format_name}).sentences if config.data.dev else []
    counts = Counter(label for sentence in train for label in sentence.labels[column])
    corpus_scheme = internal_scheme = None
    if schemes.is_span_labelling(counts):
        corpus_scheme = schemes.detect_scheme(s.labels[column] for s in train)
        internal_scheme = schemes.normalise_scheme_name(config.model.scheme)
        for path, sentences in ((config.data.train, train), (config.data.dev, dev)):
            schemes.check_span_tags(sentences, column, path, corpus_scheme)
    unseen = sorted({label for s in dev for label in s.labels[column]} - set(counts))
    if unseen:
        log(f"warning: {config.data.dev}: labels never seen in training, counted as errors: {', '.join(unseen[:20])}")
    task = Task(column, format_name, corpus_scheme, internal_scheme)
    return Corpus(task, train, dev, [task.to_internal(s.labels[column]) for s in train])


def build_vocab(config: Config, corpus: Corpus, log: Log = log_to_stderr) -> tuple[Vocab, torch.Tensor | None]:
    """Vocabulary from the training data (plus pretrained words), and the pretrained matrix if any."""
    extra_words, vectors = [], None
    if config.model.vectors:
        words, rows = read_vectors(config.model.vectors, config.model.lowercase)
        if len(rows[0]) != config.model.word_dim:
            raise TaggerError(
                f"model.vectors: {config.model.vectors} has {len(rows[0])} dimensions, model.word_dim is {config.model.word_dim}"
            )
        extra_words, vectors = words, dict(zip(words, rows))
        log(f"read {len(words):,} vectors from {config.model.vectors}")
    vocab = Vocab.build((s.tokens for s in corpus.train), corpus.train_labels, config.model.lowercase, extra_words)
    if vectors is None:
        return vocab, None
    generator = torch.Generator().manual_seed(config.train.seed)
    matrix = torch.randn(len(vocab.words), config.model.word_dim, generator=generator) * 0.1
    for position, word in enumerate(vocab.words.symbols):
        if word in vectors:
            matrix[position] = torch.tensor(vectors[word])
    matrix[0] = 0
    return vocab, matrix


def singleton_ids(corpus: Corpus, vocab: Vocab) -> list[int]:
    """Ids of the vocabulary words that occur exactly once in the training data."""
    counts = Counter(vocab.word_id(token) for sentence in corpus.train for token in sentence.tokens)
    unknown = vocab.words.get(UNK)
    return [word for word, count in counts.items() if count == 1 and word != unknown]
