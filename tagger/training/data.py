"""Training data: reading and checking train and dev files, the task they define, the vocabulary, each epoch's draw."""

from __future__ import annotations

import dataclasses
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tagger import schemes
from tagger.batching import Encoded, bucketed_batches, encode
from tagger.config import Config, TrainingCorpus, check_files, dev_corpora, training_corpora
from tagger.data import Sentence
from tagger.distributed import World
from tagger.errors import TaggerError
from tagger.formats import Corpus as CorpusFile
from tagger.formats import read_all
from tagger.schemes import OUTSIDE, split_tag
from tagger.task import Task
from tagger.vectors import VectorTable, load_table
from tagger.vocab import UNK, Index, Vocab

Log = Callable[[str], None]


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Corpus:
    """Training and dev data, read and checked, with the task they define.

    With several training files, every sentence's labels are under the first file's
    label column, mapped by its file's `label_map`; `unannotated` and `weights` say, per
    training sentence, which span types its file does not annotate and how often an
    epoch draws it.
    """

    task: Task
    train: list[Sentence]
    dev_sets: list[DevSet]
    train_labels: list[list[str]]  # in the internal scheme of the head each sentence trains
    unannotated: list[tuple[str, ...]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)  # per training sentence, the position of the head it trains
    # per training sentence, whether its words count for the vocabulary: not when its file is one an earlier
    # entry already read (one file listed for two heads holds each word once, not twice)
    counted: list[bool] = field(default_factory=list)

    def counted_sentences(self) -> list[Sentence]:
        """The training sentences whose words count (each file once)."""
        return [sentence for sentence, counts in zip(self.train, self.counted or [True] * len(self.train)) if counts]

    def label_counts(self, head: str | None = None) -> Counter:
        """How often each label (as the files write it, mapped) occurs in the training sentences of a head (the first)."""
        names = self.task.head_names or [""]
        position = names.index(head) if head in names else 0
        column = self.task.head(names[position]).label_column
        return Counter(
            label for sentence, own in zip(self.train, self.heads) if own == position for label in sentence.labels[column]
        )


@dataclass
class DevSet:
    """One dev file: its sentences with gold labels under its head's label column, mapped as its entry says.

    `ignored`: span types the file does not annotate; predictions of them are not scored.
    """

    path: str
    sentences: list[Sentence]
    ignored: tuple[str, ...] = ()
    head: str = ""  # the head it scores (a model with several)
    weight: float = 1.0  # its share of the dev mean


def _reading(corpus: TrainingCorpus) -> dict:
    return {
        "format_name": corpus.format or None,
        "label_column": corpus.label_column or None,
        "token_column": corpus.token_column,
    }


def _read_file(spec: TrainingCorpus, **reading) -> CorpusFile:
    """A training or dev file as read; with `scheme = "io"`, each bare type becomes an I- tag (IOB1)."""
    file = read_all(spec.path, **reading)
    if spec.scheme != "io":
        return file
    column = file.label_column

    def prefixed(tag: str) -> str:
        return OUTSIDE if spec.label_map.get(tag, tag) == OUTSIDE else f"I-{tag}"

    return file._replace(
        sentences=[
            dataclasses.replace(s, labels={**s.labels, column: [prefixed(tag) for tag in s.labels[column]]})
            for s in file.sentences
        ]
    )


def _mapped(tags: list[str], label_map: dict[str, str], spans: bool) -> list[str]:
    """Tags with their span types (or token labels) renamed; a type mapped to O leaves its spans unlabelled."""
    if not label_map:
        return tags
    if not spans:
        return [label_map.get(tag, tag) for tag in tags]
    renamed = []
    for tag in tags:
        prefix, kind = schemes.split_tag(tag)
        target = label_map.get(kind, kind) if kind else kind
        renamed.append(schemes.OUTSIDE if not kind or target == schemes.OUTSIDE else f"{prefix}-{target}")
    return renamed


def read_corpus_for_training(config: Config, log: Log = log_to_stderr) -> Corpus:
    """Read the training files and dev, work out the task (each head's), reject bad labels before any training."""
    check_files(config)
    specs = training_corpora(config.data)
    files = [_read_file(spec, **_reading(spec)) for spec in specs]
    names = list(dict.fromkeys(spec.head for spec in specs))
    if len(names) > 1 and "" in names:
        raise TaggerError("data.train[0].head: the files train several heads; name the first file's head too")
    tasks = {
        name: _head_task(config, [(spec, file) for spec, file in zip(specs, files) if spec.head == name], log) for name in names
    }
    first = tasks[names[0]]
    task = dataclasses.replace(first, heads=tuple(tasks.items())) if len(names) > 1 else first
    corpus = Corpus(task, [], [], [])
    read_before: set[Path] = set()
    for spec, file in zip(specs, files):
        own = tasks[spec.head]
        corpus.counted += [Path(spec.path).resolve() not in read_before] * len(file.sentences)
        read_before.add(Path(spec.path).resolve())
        for sentence in file.sentences:
            tags = _mapped(sentence.labels[file.label_column], spec.label_map, own.spans)
            corpus.train.append(dataclasses.replace(sentence, labels={own.label_column: tags}))
            corpus.train_labels.append(own.to_internal(tags))
        corpus.unannotated += [tuple(spec.unannotated)] * len(file.sentences)
        corpus.weights += [spec.weight] * len(file.sentences)
        corpus.heads += [names.index(spec.head)] * len(file.sentences)
    trained = {name: corpus.label_counts(name) for name in names}
    for name in names:
        own_specs = [(index, spec) for index, spec in enumerate(specs) if spec.head == name]
        _check_unannotated(own_specs, trained[name], tasks[name].spans)
    for index, spec in enumerate(dev_corpora(config.data, specs)):
        if spec.head not in tasks:
            raise TaggerError(f"data.dev[{index}].head: no training file trains the head {spec.head!r}")
        own = tasks[spec.head]
        dev = read_dev_set(spec, own.format, own.label_column, own.spans, log)
        unseen = sorted({label for s in dev.sentences for label in s.labels[own.label_column]} - set(trained[spec.head]))
        if unseen:
            log(f"warning: {dev.path}: labels never seen in training, counted as errors: {', '.join(unseen[:20])}")
        corpus.dev_sets.append(dev)
    return corpus


def _head_task(config: Config, files: list[tuple[TrainingCorpus, CorpusFile]], log: Log) -> Task:
    """What one head learns, from its training files: the first file's format and column, its span scheme."""
    format_name, column = files[0][1].format, files[0][1].label_column
    per_file = [Counter(label for s in file.sentences for label in s.labels[file.label_column]) for _, file in files]
    spans = schemes.is_span_labelling(sum(per_file, Counter()))
    _check_one_kind([spec for spec, _ in files], per_file, spans)
    if not spans:
        return Task(column, format_name, None, None)
    internal_scheme = schemes.normalise_scheme_name(config.model.scheme)
    file_schemes = [_checked_scheme(file.sentences, file.label_column, spec.path, log) for spec, file in files]
    return Task(column, format_name, file_schemes[0], internal_scheme)  # outputs are in the first file's scheme


def _check_one_kind(specs: list[TrainingCorpus], label_counts: list[Counter], spans: bool) -> None:
    """Span labels (NER, chunks) and token labels (POS) do not train one output layer: name the file that differs."""
    if len(label_counts) < 2:
        return
    for spec, own in zip(specs, label_counts):
        if schemes.is_span_labelling(own) != spans:
            kind, other = ("token labels (such as parts of speech)", "span labels") if spans else ("span labels", "token labels")
            raise TaggerError(
                f"{spec.path}: its label column holds {kind}, the other training files {other}; "
                "one output layer learns one kind: give the files different `head`s, or train them separately"
            )


def _checked_scheme(sentences: list[Sentence], column: str, path: str, log: Log) -> str:
    """A file's span scheme, after checking every tag; ill-formed I- tags of an IOB2 file are named once."""
    detector = schemes.detect_file_scheme(sentences, column)
    schemes.check_span_tags(sentences, column, path, detector.scheme)
    warning = detector.warning(path)
    if warning:
        log(f"warning: {warning}")
    return detector.scheme


def read_dev_set(spec: TrainingCorpus, format_name: str, column: str, spans: bool, log: Log) -> DevSet:
    """A dev file read with its own columns (the training format unless it names one), checked and mapped."""
    file = _read_file(spec, **{**_reading(spec), "format_name": spec.format or format_name})
    if spans:
        _checked_scheme(file.sentences, file.label_column, spec.path, log)
    sentences = [
        dataclasses.replace(s, labels={column: _mapped(s.labels[file.label_column], spec.label_map, spans)})
        for s in file.sentences
    ]
    return DevSet(spec.path, sentences, tuple(spec.unannotated), spec.head, spec.weight)


def _check_unannotated(specs: list[tuple[int, TrainingCorpus]], trained: Counter, spans: bool) -> None:
    """Each file's `unannotated` types are trained by another file of its head."""
    types = {schemes.split_tag(label)[1] for label in trained} if spans else set(trained)
    for index, spec in specs:
        missing = sorted(set(spec.unannotated) - types)
        if missing:
            raise TaggerError(
                f"data.train[{index}].unannotated: {', '.join(missing)} is annotated by no training file, "
                "so the model has no such labels to allow"
            )


@dataclass
class Pretrained:
    """What pretrained vectors give a new model: initial trained rows, and the frozen table with each trained word's row.

    `initial` (trained words, dim); `table` None when every vector is a trained row (model.tune_vectors = "all");
    `table_rows` (trained words,): a trained word's row in the table, or -1.
    """

    initial: torch.Tensor
    table: VectorTable | None = None
    table_rows: torch.Tensor | None = None


def build_vocab(config: Config, corpus: Corpus, log: Log = log_to_stderr) -> tuple[Vocab, Pretrained | None]:
    """Vocabulary from the training data (plus every pretrained word when all are trained), and the pretrained rows.

    A model with several heads gets each head's labels (vocab.heads); its `labels` are the first head's.
    """
    vocab, pretrained = _words_and_labels(config, corpus, log)
    for position, name in enumerate(corpus.task.head_names):
        labels = {label for labels, head in zip(corpus.train_labels, corpus.heads) if head == position for label in labels}
        vocab.heads[name] = vocab.labels if position == 0 else Index(sorted(labels))
    return vocab, pretrained


def _words_and_labels(config: Config, corpus: Corpus, log: Log) -> tuple[Vocab, Pretrained | None]:
    model = config.model
    token_lists = [s.tokens for s in corpus.counted_sentences()]
    label_lists = [labels for labels, head in zip(corpus.train_labels, corpus.heads) if head == 0]
    if not model.vectors:
        return Vocab.build(token_lists, label_lists, model.lowercase, min_count=model.min_word_count), None
    table = load_table(model.vectors, model.lowercase)
    if table.dim != model.word_dim:
        raise TaggerError(f"model.vectors: {model.vectors} has {table.dim} dimensions, model.word_dim is {model.word_dim}")
    log(f"read {len(table.words):,} vectors from {model.vectors}")
    every_word_trained = model.tune_vectors == "all"
    extra_words = table.words if every_word_trained else ()
    vocab = Vocab.build(token_lists, label_lists, model.lowercase, extra_words, model.min_word_count)
    rows = table_rows(vocab.words.symbols, Index(table.words), table.lowercase and not model.lowercase)
    generator = torch.Generator().manual_seed(config.train.seed)
    initial = torch.randn(len(vocab.words), model.word_dim, generator=generator) * 0.1
    found = rows >= 0
    initial[found] = table.matrix[rows[found]]
    initial[0] = 0
    if every_word_trained:
        return vocab, Pretrained(initial)
    vocab.attach_table(table.words, table.lowercase)
    covered = int(found.sum()) - int(found[:2].sum())
    log(
        f"{covered:,} of the {len(vocab.words) - 2:,} training words start from their pretrained vector and are trained; "
        f"the other {len(table.words) - covered:,} pretrained words keep their vectors, frozen"
    )
    return vocab, Pretrained(initial, table, rows)


def table_rows(words: list[str], table: Index, lower: bool) -> torch.Tensor:
    """(words,) each word's row in the table (looked up lowercased with `lower`), -1 where it has none; none for <pad>."""
    rows = [table.get(word.lower() if lower else word, -1) for word in words]
    rows[0] = -1
    return torch.tensor(rows, dtype=torch.long)


def singleton_ids(corpus: Corpus, vocab: Vocab) -> list[int]:
    """Ids of the vocabulary words that occur exactly once in the training data."""
    counts = Counter(vocab.word_id(token) for sentence in corpus.counted_sentences() for token in sentence.tokens)
    unknown = vocab.words.get(UNK)
    return [word for word, count in counts.items() if count == 1 and word != unknown]


def read_model_dev_sets(config: Config, task: Task, log: Log = log_to_stderr, head: str | None = None) -> list[DevSet]:
    """The dev files a model's config names (those scoring `head` only, when given), read as its training read
    them (paths as the config has them)."""
    train = training_corpora(config.data)
    dev_sets = []
    for spec in dev_corpora(config.data, train):
        if head is not None and spec.head != head:
            continue
        own = task.head(spec.head)
        dev_sets.append(read_dev_set(spec, own.format, own.label_column, own.spans, log))
    return dev_sets


def weighted_items(items: list[Encoded], weights: list[float] | None, seed: int) -> list[Encoded]:
    """An epoch's draw: each item int(weight) times, plus once more with the chance of the weight's fraction."""
    if weights is None:
        return items
    rng = random.Random(seed)
    drawn = []
    for item, weight in zip(items, weights):
        drawn += [item] * (int(weight) + (rng.random() < weight - int(weight)))
    return drawn


def case_augmented(items: list[Encoded], variants: CaseVariants | None, config: Config, seed: int) -> list[Encoded]:
    """An epoch's items with a share of the sentences lowercased and a share upper-cased (train.lower_share, upper_share)."""
    if variants is None:
        return items
    rng = random.Random(f"case-{seed}")
    lower, upper = config.train.lower_share, config.train.upper_share
    augmented = []
    for index, item in enumerate(items):
        draw = rng.random()
        augmented.append(variants.lower[index] if draw < lower else variants.upper[index] if draw < lower + upper else item)
    return augmented


def epoch_batches(
    items: list[Encoded],
    config: Config,
    epoch: int,
    world: World,
    weights: list[float] | None = None,
    variants: CaseVariants | None = None,
):
    """This rank's share of the epoch's batches: every rank gets as many (a remainder is dropped).

    `weights` (one per item; None for all 1) draw each training file's sentences more or less often;
    `variants` (the items lowercased and upper-cased) replace a share of them.
    """
    seed = config.train.seed * 100_003 + epoch
    items = case_augmented(items, variants, config, seed)
    items = weighted_items(items, weights, seed)
    batches = list(bucketed_batches(items, config.train.batch_size, shuffle_seed=seed))
    if not world.distributed:
        return batches
    usable = len(batches) - len(batches) % world.size
    return batches[world.rank : usable : world.size]


@dataclass
class DevData:
    """One dev file, encoded: its name, items, gold labels and the span types it leaves unscored."""

    name: str
    items: list[Encoded]
    gold: list[list[str]]
    ignored: tuple[str, ...] = ()
    head: str = ""  # the head it scores (a model with several)
    weight: float = 1.0  # its share of the dev mean


@dataclass
class CaseVariants:
    """The training items with their tokens lowercased and upper-cased, in the same order (case augmentation)."""

    lower: list[Encoded]
    upper: list[Encoded]


def training_items(corpus: Corpus, sentences: list[Sentence], vocab: Vocab) -> list[Encoded]:
    """The training sentences encoded, each with its labels as ids of its head's labels."""
    if not corpus.task.heads:
        items = [encode(s.tokens, vocab, labels) for s, labels in zip(sentences, corpus.train_labels)]
        return _partially_labelled(items, corpus.unannotated, vocab)
    views = [vocab.for_head(name) for name in corpus.task.head_names]
    items = []
    for sentence, labels, unannotated, head in zip(sentences, corpus.train_labels, corpus.unannotated, corpus.heads):
        item = encode(sentence.tokens, views[head], labels)
        item.head = head
        items += _partially_labelled([item], [unannotated], views[head])
    return items


def case_variants(corpus: Corpus, vocab: Vocab) -> CaseVariants:
    """Every training sentence lowercased and upper-cased, encoded (for case augmentation)."""
    lowered = [dataclasses.replace(s, tokens=[token.lower() for token in s.tokens]) for s in corpus.train]
    raised = [dataclasses.replace(s, tokens=[token.upper() for token in s.tokens]) for s in corpus.train]
    return CaseVariants(training_items(corpus, lowered, vocab), training_items(corpus, raised, vocab))


def encoded_dev(dev: DevSet, vocab: Vocab, task: Task) -> DevData:
    column = task.head(dev.head).label_column
    gold = [sentence.labels[column] for sentence in dev.sentences]
    items = [encode(sentence.tokens, vocab) for sentence in dev.sentences]
    return DevData(dev.path, items, gold, dev.ignored, dev.head, dev.weight)


def _partially_labelled(items: list[Encoded], unannotated: list[tuple[str, ...]], vocab: Vocab) -> list[Encoded]:
    """Items whose file leaves span types unannotated: their O tokens may also take those types' tags."""
    if not any(unannotated):
        return items
    outside = vocab.labels.get(OUTSIDE, -1)
    tags = {
        kind: tuple(i for i, label in enumerate(vocab.labels.symbols) if split_tag(label)[1] == kind)
        for kind in {k for ks in unannotated for k in ks}
    }
    return [
        dataclasses.replace(item, open_label=outside, also_allowed=tuple(sorted(i for kind in kinds for i in tags[kind])))
        if kinds
        else item
        for item, kinds in zip(items, unannotated)
    ]


def quiet(message: str) -> None:
    """Log sink for ranks other than 0."""
