"""A training run's setup: its config (file, `--set` overrides, flags), vocabulary, model, optimizer, run directory."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from tagger import config as config_module
from tagger import distributed, faults, store
from tagger.batching import Encoded
from tagger.bundled import table_file
from tagger.char_lm import CharLM, embedding_for, read_char_lm
from tagger.choices import CONLLU
from tagger.config import Config, ConfigError
from tagger.contractions import CONTRACTIONS, contractions_json, learn_contractions
from tagger.distributed import World
from tagger.errors import TaggerError
from tagger.memory import check_fits
from tagger.model import TaggerModel
from tagger.model_files import METRICS_LOG
from tagger.store import CONFIG, read_json
from tagger.task import Task
from tagger.torch_engine import choose_device
from tagger.training import checkpoint
from tagger.training.data import (
    CaseVariants,
    Corpus,
    DevData,
    Log,
    Pretrained,
    build_vocab,
    case_variants,
    encoded_dev,
    log_to_stderr,
    quiet,
    read_corpus_for_training,
    singleton_ids,
    table_rows,
    training_items,
)
from tagger.vectors import VectorTable
from tagger.vocab import Index, Vocab
from tagger.world import bounded_threads


def _flag_overrides(flags: dict[str, object]) -> list[str]:
    items = []
    for key, value in flags.items():
        if value is None:
            continue
        text = (
            ("true" if value else "false")
            if isinstance(value, bool)
            else json.dumps(value)
            if isinstance(value, str | list)
            else str(value)
        )
        items.append(f"{key}={text}")
    return items


def config_for_run(
    config_file: str | None, overrides: list[str], flags: dict[str, object], out: str | None, resume_dir: str | None
) -> tuple[Config, str]:
    """The validated config and the output directory of a `tagger train` call.

    Flags win over `--set`, which wins over the file. With `--resume DIR` the run's own
    saved config is used (plus any overrides, such as more epochs).
    """
    items = overrides + _flag_overrides(flags)
    if resume_dir is not None:
        saved = Path(resume_dir) / CONFIG
        if not saved.is_file():
            raise ConfigError(f"--resume {resume_dir}: no {CONFIG} there; is it a run directory?")
        data = read_json(saved).get("config")
        if not isinstance(data, dict):
            raise ConfigError(f"{saved}: no config in it; the run directory is damaged")
        return config_module.from_dict(data, str(saved), config_module.apply_overrides(data, items)), resume_dir
    if config_file is not None:
        config = config_module.load(config_file, items)
    else:
        data: dict = {}
        config = config_module.from_dict(data, "command line", config_module.apply_overrides(data, items))
    return config, out or config.out


# Where the corpus and vector files are may change between machines (a resumed run reads
# no vectors: its vocabulary and weights are saved); the other data and model settings fix
# the vocabulary, the labels and the shapes of the trained weights.
_RESUMABLE = {("data", "train"), ("data", "dev"), ("data", "test"), ("model", "vectors")}


def resume_changes(saved: Config, wanted: Config, run_directory: Path) -> list[str]:
    """The settings `wanted` changes in a run being resumed, as "section.key: old -> new".

    Raises ConfigError for a change a resumed run cannot take: any model setting but the
    vectors' path, and the data format and columns. Training settings (epochs, patience,
    batch size...) and file paths may change.
    """
    changes = []
    for section in ("data", "model", "train"):
        old_values, new_values = asdict(getattr(saved, section)), asdict(getattr(wanted, section))
        for key, old in old_values.items():
            new = new_values[key]
            if new == old:
                continue
            if section != "train" and (section, key) not in _RESUMABLE:
                raise ConfigError(
                    f"--resume {run_directory}: {section}.{key} is {old!r} in this run and cannot change when "
                    f"resuming (the trained model depends on it); to try {new!r}, train a new model with --out"
                )
            changes.append(f"{section}.{key}: {old!r} -> {new!r}")
    return changes


def make_optimizer(model: torch.nn.Module, config: Config) -> torch.optim.Optimizer:
    parameters = [p for p in model.parameters() if p.requires_grad]
    settings = config.train
    if settings.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    try:
        # One fused kernel instead of a loop of small ones per tensor: about 20 % more
        # training tokens per second on CPU (torch >= 2.4; CUDA since earlier).
        return torch.optim.Adam(parameters, lr=settings.lr, weight_decay=settings.weight_decay, fused=True)
    except RuntimeError:
        return torch.optim.Adam(parameters, lr=settings.lr, weight_decay=settings.weight_decay)


def learning_rate(config: Config, epoch: int) -> float:
    """The schedule lr / (1 + decay * (epoch - 1)); depends on the epoch alone, so resuming needs no state."""
    return config.train.lr / (1.0 + config.train.lr_decay * (epoch - 1))


class LossModule(torch.nn.Module):
    """The model's training loss as `forward`, so that DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch) -> torch.Tensor:
        return self.model.loss(batch)


@dataclass
class Run:
    """Everything a training run works with, built from a config (and a run directory to resume)."""

    config: Config
    device: torch.device
    world: World
    task: Task
    vocab: Vocab
    model: torch.nn.Module
    loss_module: torch.nn.Module  # the model's loss, wrapped in DistributedDataParallel under torchrun
    optimizer: torch.optim.Optimizer
    train_items: list[Encoded]
    dev_sets: list[DevData]
    label_counts: dict[str, int]  # of the training file's label column, for `tagger info`
    train_weights: list[float] | None = None  # per training item, when training files are drawn unevenly
    case_variants: CaseVariants | None = None  # with case augmentation: every training item lowercased and upper-cased


def prepare_run(
    config: Config, out: Path | None, resume: bool = False, log: Log = log_to_stderr, interrupted: bool = False
) -> Run:
    """Read and check the data, build (or reload) vocabulary, model and optimizer.

    With `out` and not `resume`, the run directory gets config.json and vocab.json (from
    rank 0; every rank builds the same vocabulary from the same data). The caller sets the
    process-wide state first (`set_process_state`). `interrupted`: `out` is what a killed
    run left (it may hold weights without a checkpoint, and is started again).
    """
    device = distributed.device_for(choose_device(config.train.device))
    world = distributed.start(device)
    corpus = read_corpus_for_training(config, log if world.is_main else quiet)
    pretrained, char_lm = None, None
    if out is not None and out.is_dir() and world.is_main:
        store.remove_stale_temporaries(out)
    if resume and out is not None:
        config, vocab, task = _reload_definition(out, config, log if world.is_main else quiet)
        if store.uses_table(config):
            table = store.read_table(table_file(out), config.model.word_dim)
            pretrained = Pretrained(torch.empty(0, config.model.word_dim), table, _table_rows(vocab, table, config))
    else:
        config, char_lm = with_char_lm(config)
        vocab, pretrained = build_vocab(config, corpus, log if world.is_main else quiet)
        check_fits(config.model, len(vocab.words), len(vocab.chars), len(vocab.labels))
        task = corpus.task
        if out is not None and world.is_main:
            refuse_to_overwrite(out, interrupted)
            _write_definition(out, config, vocab, task, pretrained)
            # Records of a run killed before its first checkpoint are not part of this one.
            (out / METRICS_LOG).unlink(missing_ok=True)
    model = _build_model(config, corpus, vocab, task, pretrained, char_lm).to(device)
    loss_module: torch.nn.Module = LossModule(model)
    if world.distributed:
        # The model's buffers (singletons, decoding masks) are constants, the same on every
        # rank: broadcasting them before every step would only cost time.
        loss_module = torch.nn.parallel.DistributedDataParallel(loss_module, broadcast_buffers=False)
    train_items = training_items(corpus, corpus.train, vocab)
    variants = case_variants(corpus, vocab) if config.train.lower_share or config.train.upper_share else None
    dev_sets = [encoded_dev(dev, vocab, task) for dev in corpus.dev_sets]
    if model.char_lm is not None:
        _cache_char_lm_features(model, train_items, variants, dev_sets, log if world.is_main else quiet)
    optimizer = make_optimizer(model, config)
    counts = corpus.label_counts()
    return Run(
        config,
        device,
        world,
        task,
        vocab,
        model,
        loss_module,
        optimizer,
        train_items,
        dev_sets,
        dict(sorted(counts.items())),
        None if all(weight == 1 for weight in corpus.weights) else corpus.weights,
        variants,
    )


def with_char_lm(config: Config) -> tuple[Config, CharLM | None]:
    """The config with its character LM's sizes filled in, and the LM (None without `model.char_lm`)."""
    if not config.model.char_lm:
        return config, None
    char_lm = read_char_lm(config.model.char_lm)
    model = replace(config.model, char_lm_dim=char_lm.dim, char_lm_hidden=char_lm.hidden)
    return replace(config, model=model), char_lm


MAX_CACHE_BYTES = 6 << 30


def _cache_char_lm_features(
    model: TaggerModel, train_items: list[Encoded], variants: CaseVariants | None, dev_sets: list[DevData], log: Log
) -> None:
    """The character LM's features of every training (and case variant) and dev sentence, computed once (unless they
    need more than 6 GiB)."""
    augmented = [*variants.lower, *variants.upper] if variants is not None else []
    items = [*train_items, *augmented, *(item for dev in dev_sets for item in dev.items)]
    size = sum(len(item) for item in items) * model.char_lm.output_dim * 4
    if size > MAX_CACHE_BYTES:
        log(f"the character LM's features would need {size / 2**30:.1f} GiB: computed in every step instead")
        return
    model.char_lm.cache_features(items)
    log(f"the character LM's features of {len(items):,} sentences are computed before training starts ({size / 2**20:,.0f} MiB)")


def _build_model(
    config: Config, corpus: Corpus, vocab: Vocab, task: Task, pretrained: Pretrained | None, char_lm: CharLM | None = None
) -> TaggerModel:
    """The network of a new or resumed run, its pretrained rows, table and character LM attached, on the CPU.

    A resumed run's LM weights, like its other weights, come from its checkpoint.
    """
    model = store.build_model(config, vocab, task)
    if char_lm is not None:
        lstm = {name.removeprefix("lstm."): values for name, values in char_lm.arrays.items() if name.startswith("lstm.")}
        model.char_lm.load(embedding_for(char_lm, vocab.chars.symbols), lstm)
    if pretrained is not None:
        model.set_pretrained(pretrained.initial)  # a resumed run's rows come from its checkpoint
        if pretrained.table is not None:
            store.attach_table(model, vocab, pretrained.table, pretrained.table_rows)
    if config.model.singleton_dropout > 0:
        model.mark_singletons(singleton_ids(corpus, vocab))
    return model


def set_process_state(config: Config) -> None:
    """Seed Python's and torch's global generators with train.seed and apply train.threads.

    Process-wide, so only entry points call it: `train` and the training benchmark.
    """
    random.seed(config.train.seed)
    torch.manual_seed(config.train.seed)
    if config.train.threads > 0:
        torch.set_num_threads(bounded_threads(config.train.threads))


def _write_definition(out: Path, config: Config, vocab: Vocab, task: Task, pretrained: Pretrained | None) -> None:
    try:
        store.save_definition(out, config, vocab, task)
        if pretrained is not None and pretrained.table is not None:
            store.save_table(out / store.VECTORS, pretrained.table)
        if task.format == CONLLU:  # a treebank's multiword tokens: raw text is split as it splits them
            contractions = learn_contractions(entry.path for entry in config_module.training_corpora(config.data))
            if contractions:
                store.write_json(out / CONTRACTIONS, contractions_json(contractions))
    except OSError as error:
        raise TaggerError(f"{out}: cannot create the run directory ({error.strerror})") from None
    faults.point("definition")


def _table_rows(vocab: Vocab, table: VectorTable, config: Config) -> torch.Tensor:
    return table_rows(vocab.words.symbols, Index(table.words), table.lowercase and not config.model.lowercase)


def _reload_definition(out: Path, config: Config, log: Log) -> tuple[Config, Vocab, Task]:
    """Config, vocabulary and task of a run being resumed; config.json takes the run's new training settings.

    The character LM's sizes, filled in when the run started, come from its config.json.
    """
    saved, vocab, task = store.load_definition(out)
    if config.model.char_lm_hidden == 0 and config.model.char_lm == saved.model.char_lm:
        sizes = {"char_lm_dim": saved.model.char_lm_dim, "char_lm_hidden": saved.model.char_lm_hidden}
        config = replace(config, model=replace(config.model, **sizes))
    changes = resume_changes(saved, config, out)
    if changes:
        # config.json takes them when the run goes on (tagger.training.loop), not when it is already complete
        log("resuming with changed settings: " + "; ".join(changes))
    return config, vocab, task


def refuse_to_overwrite(out: Path, interrupted: bool = False) -> None:
    """A directory with a finished epoch is kept (resume it); one killed before that is started afresh; a model
    that no run of this process's kind left behind (weights, no lock of a killed run) is never trained over."""
    if out.exists() and not out.is_dir():
        raise TaggerError(f"{out}: is a file; --out names the directory to write the model to")
    if checkpoint.find(out) is not None or (out / store.METRICS).exists():
        raise TaggerError(f"{out}: already holds a model; choose another --out, or continue it with --resume {out}")
    if (out / store.WEIGHTS).exists() and not interrupted:
        raise TaggerError(f"{out}: already holds a model ({store.WEIGHTS}); choose another --out, or delete it first")
