"""The training loop: bucketed batches, clipping, schedule, dev evaluation, early stopping,
checkpoints after every epoch, resume, DDP under torchrun, and the model directory."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from tagger import checkpoint, distributed, faults, store
from tagger.batching import Encoded, bucketed_batches, encode
from tagger.budget import PROBE_STEPS, BudgetPlanner, StepSchedule
from tagger.bundled import table_file
from tagger.checkpoint import TrainingProgress
from tagger.config import Config
from tagger.data import Sentence
from tagger.distributed import World
from tagger.errors import Interrupted, TaggerError, interrupt_exit_code
from tagger.files import WriteError
from tagger.memory import check_fits
from tagger.metrics import dev_score
from tagger.predict import Predictor, choose_device
from tagger.schemes import OUTSIDE, split_tag, without_types
from tagger.task import Task
from tagger.training_data import (
    Corpus,
    DevSet,
    Log,
    Pretrained,
    build_vocab,
    log_to_stderr,
    read_corpus_for_training,
    singleton_ids,
    table_rows,
)
from tagger.training_setup import resume_changes
from tagger.vectors import VectorTable
from tagger.vocab import Index, Vocab

METRICS_LOG = "metrics.jsonl"
AfterEpoch = Callable[[int, float], None]  # (epoch, minutes of training so far)


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
class BudgetedSteps:
    """What a budgeted epoch needs: the step schedule, the global step it starts at, and who makes the plan."""

    schedule: StepSchedule
    first_step: int
    plan: Callable[[float], None]  # called once with the measured seconds per token, if no plan exists yet
    deadline: float | None = None  # time.perf_counter() by which the steps stop, leaving time for one dev evaluation
    world: World | None = None  # the ranks that must agree to stop at the deadline
    stopped_early_from: int | None = None  # the planned steps, when the deadline stopped the run before them


DEADLINE_CHECK_STEPS = 10  # how often distributed ranks agree on the deadline (a broadcast); a single process: every step


def run_epoch(
    run: Run, epoch: int, show_progress: bool = False, items: list[Encoded] | None = None, budget: BudgetedSteps | None = None
) -> tuple[float, int, float, int]:
    """One pass over (this rank's share of) the training data, or of `items`.

    With a `budget`, the learning rate follows its schedule step by step and the pass
    ends early at the last planned step. Returns the mean loss per sentence, tokens,
    seconds and steps taken.
    """
    loss_module, optimizer, config, device, world = run.loss_module, run.optimizer, run.config, run.device, run.world
    weights, variants = (run.train_weights, run.case_variants) if items is None else (None, None)
    items = run.train_items if items is None else items
    loss_module.train()
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, epoch)
    batches = epoch_batches(items, config, epoch, world, weights, variants)
    if budget is not None:
        batches = batches[: _steps_allowed(budget, len(batches))]
    started = time.perf_counter()
    total_loss, total_tokens, sentences = torch.zeros((), device=device), 0, 0
    bar = tqdm(
        total=sum(batch.tokens for batch in batches),
        desc=f"epoch {epoch}",
        unit="tok",
        disable=None if show_progress and world.is_main else True,
        leave=False,
        file=sys.stderr,
    )
    for step, batch in enumerate(batches):
        if budget is not None:
            _budget_step(budget, optimizer, step, (time.perf_counter() - started) / max(total_tokens, 1))
            if budget.first_step + step > 0 and _past_deadline(budget, step, device):
                budget.stopped_early_from = budget.schedule.planned_steps
                budget.schedule.stop_at(budget.first_step + step)
            if budget.schedule.done(budget.first_step + step):
                break
        batch = batch.to(device)
        loss = loss_module(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.train.clip > 0:
            torch.nn.utils.clip_grad_norm_(loss_module.parameters(), config.train.clip)
        optimizer.step()
        size = batch.words.size(0)
        total_loss += loss.detach() * size
        total_tokens += batch.tokens
        sentences += size
        bar.update(batch.tokens)
        if step % 20 == 0:
            mean_loss = _finite_loss(total_loss, sentences, epoch, config)
            elapsed = time.perf_counter() - started
            bar.set_postfix(loss=f"{mean_loss:.3f}", tok_s=f"{total_tokens / max(elapsed, 1e-9):,.0f}")
    bar.close()
    seconds = time.perf_counter() - started
    steps = len(batches) if budget is None else min(len(batches), _steps_allowed(budget, len(batches)))
    return _finite_loss(total_loss, sentences, epoch, config), total_tokens, seconds, steps


def _steps_allowed(budget: BudgetedSteps, available: int) -> int:
    planned = budget.schedule.planned_steps
    return available if planned is None else max(min(available, planned - budget.first_step), 0)


def _past_deadline(budget: BudgetedSteps, step: int, device: torch.device) -> bool:
    """Whether the budget's deadline has come (rank 0's clock decides, every few steps when distributed)."""
    if budget.deadline is None:
        return False
    if budget.world is None or not budget.world.distributed:
        return time.perf_counter() >= budget.deadline
    if step % DEADLINE_CHECK_STEPS:
        return False
    return distributed.broadcast_flag(budget.world, time.perf_counter() >= budget.deadline, device)


def _budget_step(budget: BudgetedSteps, optimizer: torch.optim.Optimizer, step: int, seconds_per_token: float) -> None:
    """Plan after the probe steps; set this step's learning rate."""
    if step == PROBE_STEPS and budget.schedule.planned_steps is None:
        budget.plan(seconds_per_token)
    for group in optimizer.param_groups:
        group["lr"] = budget.schedule.learning_rate(budget.first_step + step)


def _finite_loss(total_loss: torch.Tensor, sentences: int, epoch: int, config: Config) -> float:
    """The mean loss so far; stops training with a clear error once it is NaN or infinite."""
    mean = total_loss.item() / max(sentences, 1)
    if not math.isfinite(mean):
        raise TaggerError(
            f"training diverged in epoch {epoch}: the loss became {mean}; lower train.lr "
            f"(now {config.train.lr}) or set train.clip; the weights of the best earlier epoch are kept"
        )
    return mean


@dataclass
class DevData:
    """One dev file, encoded: its name, items, gold labels and the span types it leaves unscored."""

    name: str
    items: list[Encoded]
    gold: list[list[str]]
    ignored: tuple[str, ...] = ()


def evaluate_dev(predictor: Predictor, dev_sets: list[DevData], config: Config) -> tuple[dict[str, float], dict[str, dict]]:
    """The mean of the dev files' scores (what early stopping follows), and each file's scores."""
    per_file = {}
    for dev in dev_sets:
        predicted = predictor.predict_encoded(dev.items, config.train.eval_batch_size).labels
        if dev.ignored:
            predicted = [without_types(tags, dev.ignored) for tags in predicted]
        per_file[dev.name] = dev_score(dev.gold, predicted, spans=predictor.task.spans)
    first = next(iter(per_file.values()))
    mean = {key: sum(scores[key] for scores in per_file.values()) / len(per_file) for key in first}
    return mean, per_file


def main_score(scores: dict[str, float]) -> float:
    """F1 for span labels, accuracy otherwise: what early stopping and "best" follow."""
    return scores.get("f1", scores["accuracy"])


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


@dataclass
class CaseVariants:
    """The training items with their tokens lowercased and upper-cased, in the same order (case augmentation)."""

    lower: list[Encoded]
    upper: list[Encoded]


def prepare_run(config: Config, out: Path | None, resume: bool = False, log: Log = log_to_stderr) -> Run:
    """Read and check the data, build (or reload) vocabulary, model and optimizer.

    With `out` and not `resume`, the run directory gets config.json and vocab.json (from
    rank 0; every rank builds the same vocabulary from the same data). The caller sets the
    process-wide state first (`set_process_state`).
    """
    device = distributed.device_for(choose_device(config.train.device))
    world = distributed.start(device)
    corpus = read_corpus_for_training(config, log if world.is_main else _quiet)
    pretrained = None
    if out is not None and out.is_dir() and world.is_main:
        store.remove_stale_temporaries(out)
    if resume and out is not None:
        vocab, task = _reload_definition(out, config, log if world.is_main else _quiet, world.is_main)
        if store.uses_table(config):
            table = store.read_table(table_file(out), config.model.word_dim)
            pretrained = Pretrained(torch.empty(0, config.model.word_dim), table, _table_rows(vocab, table, config))
    else:
        vocab, pretrained = build_vocab(config, corpus, log if world.is_main else _quiet)
        check_fits(config.model, len(vocab.words), len(vocab.chars), len(vocab.labels))
        task = corpus.task
        if out is not None and world.is_main:
            _refuse_to_overwrite(out)
            _write_definition(out, config, vocab, task, pretrained)
            # Records of a run killed before its first checkpoint are not part of this one.
            (out / METRICS_LOG).unlink(missing_ok=True)
    model = store.build_model(config, vocab, task)
    if pretrained is not None:
        model.set_pretrained(pretrained.initial)  # a resumed run's rows come from its checkpoint
        if pretrained.table is not None:
            store.attach_table(model, vocab, pretrained.table, pretrained.table_rows)
    if config.model.singleton_dropout > 0:
        model.mark_singletons(singleton_ids(corpus, vocab))
    model.to(device)
    loss_module: torch.nn.Module = LossModule(model)
    if world.distributed:
        # The model's buffers (singletons, decoding masks) are constants, the same on every
        # rank: broadcasting them before every step would only cost time.
        loss_module = torch.nn.parallel.DistributedDataParallel(loss_module, broadcast_buffers=False)
    train_items = _training_items(corpus, corpus.train, vocab)
    variants = None
    if config.train.lower_share or config.train.upper_share:
        lowered = [dataclasses.replace(s, tokens=[token.lower() for token in s.tokens]) for s in corpus.train]
        raised = [dataclasses.replace(s, tokens=[token.upper() for token in s.tokens]) for s in corpus.train]
        variants = CaseVariants(_training_items(corpus, lowered, vocab), _training_items(corpus, raised, vocab))
    dev_sets = [_encoded_dev(dev, vocab, task) for dev in corpus.dev_sets]
    optimizer = make_optimizer(model, config)
    counts = Counter(label for sentence in corpus.train for label in sentence.labels[task.label_column])
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


def _training_items(corpus: Corpus, sentences: list[Sentence], vocab: Vocab) -> list[Encoded]:
    items = [encode(s.tokens, vocab, labels) for s, labels in zip(sentences, corpus.train_labels)]
    return _partially_labelled(items, corpus.unannotated, vocab)


def _encoded_dev(dev: DevSet, vocab: Vocab, task: Task) -> DevData:
    gold = [sentence.labels[task.label_column] for sentence in dev.sentences]
    return DevData(dev.path, [encode(sentence.tokens, vocab) for sentence in dev.sentences], gold, dev.ignored)


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


def set_process_state(config: Config) -> None:
    """Seed Python's and torch's global generators with train.seed and apply train.threads.

    Process-wide, so only entry points call it: `train` and the training benchmark.
    """
    random.seed(config.train.seed)
    torch.manual_seed(config.train.seed)
    if config.train.threads > 0:
        torch.set_num_threads(config.train.threads)


def _write_definition(out: Path, config: Config, vocab: Vocab, task: Task, pretrained: Pretrained | None) -> None:
    try:
        store.save_definition(out, config, vocab, task)
        if pretrained is not None and pretrained.table is not None:
            store.save_table(out / store.VECTORS, pretrained.table)
    except OSError as error:
        raise TaggerError(f"{out}: cannot create the run directory ({error.strerror})") from None
    faults.point("definition")


def _table_rows(vocab: Vocab, table: VectorTable, config: Config) -> torch.Tensor:
    return table_rows(vocab.words.symbols, Index(table.words), table.lowercase and not config.model.lowercase)


def _reload_definition(out: Path, config: Config, log: Log, is_main: bool) -> tuple[Vocab, Task]:
    """Vocabulary and task of a run being resumed; config.json takes the run's new training settings."""
    saved, vocab, task = store.load_definition(out)
    changes = resume_changes(saved, config, out)
    if changes:
        log("resuming with changed settings: " + "; ".join(changes))
        if is_main:
            store.save_config(out, config, task)
    return vocab, task


def _step_schedule(config: Config) -> StepSchedule | None:
    """The step schedule of a budgeted run (planned later) or of one with max_steps (planned now); else None."""
    if config.train.max_steps > 0:
        return StepSchedule(config.train.lr, config.train.max_steps)
    return StepSchedule(config.train.lr) if config.train.max_minutes > 0 else None


def _quiet(message: str) -> None:
    """Log sink for ranks other than 0."""


class Trainer:
    """The epoch loop of one run: train, evaluate on dev, keep the best, checkpoint, stop early."""

    def __init__(
        self,
        run: Run,
        out: Path,
        show_progress: bool,
        log: Log,
        started: float | None = None,
        after_epoch: AfterEpoch | None = None,
    ) -> None:
        self.run, self.out, self.show_progress = run, out, show_progress
        self.after_epoch = after_epoch
        self.log = log if run.world.is_main else _quiet
        self.progress = TrainingProgress()
        self.predictor = Predictor(run.model, run.vocab, run.task, run.config, run.device)
        self.started = time.perf_counter() if started is None else started  # wall clock of this process's share
        self.elapsed_before = 0.0  # seconds spent by the processes before this one (a resumed run)
        self.steps_done = 0  # optimizer steps, kept on every rank (end_epoch runs on rank 0 alone)
        self.planner = self._planner()
        self.schedule = None if self.planner is None else self.planner.schedule

    def _planner(self) -> BudgetPlanner | None:
        """The planner of a run with a time budget or max_steps (None for a run of whole epochs)."""
        run, schedule = self.run, _step_schedule(self.run.config)
        if schedule is None:
            return None
        batches = epoch_batches(run.train_items, run.config, 1, run.world, run.train_weights)
        schedule.steps_per_epoch = len(batches)
        return BudgetPlanner(
            schedule,
            run.config.train.max_minutes * 60,
            run.config.train.epochs,
            sum(batch.tokens for batch in batches),
            elapsed=self.elapsed,
            agree=lambda value: distributed.broadcast_number(run.world, value, run.device),
            log=self.log,
        )

    def elapsed(self) -> float:
        """Wall-clock seconds the run has taken so far, earlier processes of a resumed run included."""
        return self.elapsed_before + time.perf_counter() - self.started

    def resume(self) -> None:
        progress = checkpoint.restore(self.out, self.run.model, self.run.optimizer, self.run.world.rank)
        self.progress = progress
        self.elapsed_before, self.steps_done = progress.elapsed, progress.step
        if self.schedule is not None and progress.planned_steps is not None:
            self.schedule.planned_steps = progress.planned_steps
            self.schedule.decay_from, self.schedule.decay_lr = progress.decay_from, progress.decay_lr
        if self.run.world.is_main:
            _truncate_metrics_log(self.out / METRICS_LOG, progress.epoch)
            if progress.best_epoch == progress.epoch:
                # The checkpoint's weights are the best ones: rewriting them repairs a kill
                # that landed before or during the write of model.safetensors.
                store.save_weights(self.out, self.run.model)
        if self.finished():
            self.log(
                f"{self.out}: training is already complete ({progress.epoch} epochs; "
                f"{describe_best(_final_metrics(progress, self.run.task, self.run.config))}); to train "
                f"longer: tagger train --resume {self.out} --set train.epochs={progress.epoch + 10}"
                + (f" --set train.patience={self.run.config.train.patience + 5}" if self._stopped_early() else "")
            )
        else:
            self.log(f"resuming {self.out} after epoch {progress.epoch}")

    def _stopped_early(self) -> bool:
        return bool(self.run.dev_sets) and self.progress.bad_epochs >= self.run.config.train.patience

    def finished(self) -> bool:
        """No epoch is left to train: the last one is done, the budget's steps are taken, or early stopping ended the run."""
        budget_spent = self.schedule is not None and self.schedule.done(self.steps_done)
        return self.progress.epoch >= self.run.config.train.epochs or budget_spent or self._stopped_early()

    def _budgeted_steps(self) -> BudgetedSteps | None:
        planner = self.planner
        if planner is None:
            return None
        if planner.schedule.planned_steps is None and not planner.eval_seconds and self.run.dev_sets:
            started = time.perf_counter()
            evaluate_dev(self.predictor, self.run.dev_sets, self.run.config)
            planner.eval_seconds = time.perf_counter() - started
        left = planner.seconds_left()
        deadline = None if left is None else time.perf_counter() + left
        steps_done = self.steps_done
        plan = lambda seconds_per_token: planner.plan(seconds_per_token, steps_done)  # noqa: E731
        return BudgetedSteps(planner.schedule, steps_done, plan, deadline, self.run.world)

    def fit(self) -> dict:
        run, config = self.run, self.run.config
        if not self.finished():  # a finished run's resume has said so already
            self.log(_describe(run.train_items, run.dev_sets, run.task, config, run.device))
        if run.world.distributed:
            self.log(
                f"distributed: {run.world.size} processes; effective batch size "
                f"{config.train.batch_size * run.world.size}, learning rate {config.train.lr}"
            )
        try:
            first = self.progress.epoch + 1
            for epoch in range(first, config.train.epochs + 1) if not self.finished() else ():
                budget = self._budgeted_steps()
                loss, tokens, seconds, steps = run_epoch(run, epoch, self.show_progress, budget=budget)
                self.steps_done += steps
                if budget is not None and budget.stopped_early_from is not None:
                    self.log(
                        f"budget deadline: it came at step {self.steps_done:,} of the {budget.stopped_early_from:,} planned "
                        "(the machine slowed down); stopping there, after one dev evaluation"
                    )
                if self.planner is not None:
                    self.planner.after_epoch(seconds, tokens, self.steps_done)
                states = distributed.rng_states(run.world)
                main = run.world.is_main
                stop = self.end_epoch(epoch, loss, tokens * run.world.size, seconds, states) if main else False
                if main and self.after_epoch is not None:
                    self._call_after_epoch(epoch)
                if distributed.broadcast_flag(run.world, stop, run.device):
                    break
            if run.world.is_main:
                faults.point("final")
                self._calibrate()
                metrics = {**_final_metrics(self.progress, run.task, config), "label_counts": run.label_counts}
                store.save_metrics(self.out, {**metrics, **self._test_scores()})
        except KeyboardInterrupt as interrupt:
            raise Interrupted(
                f"interrupted; {self._kept()}. Resume with: tagger train --resume {self.out}", interrupt_exit_code(interrupt)
            ) from None
        except WriteError as error:
            raise TaggerError(
                f"{error}; {self._kept()}. Once there is room, continue with: tagger train --resume {self.out}"
            ) from None
        distributed.barrier(run.world)
        return json.loads((self.out / store.METRICS).read_text(encoding="utf-8"))

    def _call_after_epoch(self, epoch: int) -> None:
        """The caller's hook, its time left out of the run's clock (and so of a time budget)."""
        paused = time.perf_counter()
        self.after_epoch(epoch, self.elapsed() / 60)
        self.started += time.perf_counter() - paused

    def _calibrate(self) -> None:
        """Fit the confidence temperature of the kept model on the dev files (calibration.json)."""
        if not self.run.dev_sets or self.progress.epoch == 0:
            return
        from tagger.temperature import fit_temperature, save_calibration

        predictor = Predictor.load(self.out, str(self.run.device))
        fit = fit_temperature(predictor, self.run.dev_sets, self.run.config.train.eval_batch_size)
        if fit is not None:
            save_calibration(self.out, fit)
            self.log(fit.describe())

    def _test_scores(self) -> dict:
        """The kept model's scores on data.test, read as the training files were ({} without a test file)."""
        test = self.run.config.data.test
        if not test or self.progress.epoch == 0:
            return {}
        from tagger.evaluate import evaluate_file

        report = evaluate_file(Predictor.load(self.out, str(self.run.device)), test)
        keys = ("precision", "recall", "f1", "accuracy") if self.run.task.spans else ("accuracy",)
        scores = {key: round(report[key], 4) for key in keys}
        self.log(f"test {test}: " + "  ".join(f"{key} {value:.2f}" for key, value in scores.items()))
        return {"test": {"file": test, **scores}}

    def _time_left(self) -> str:
        if self.schedule is None:
            return ""
        if self.run.config.train.max_minutes <= 0:
            return f"  step {self.steps_done:,} of {self.schedule.planned_steps:,}"
        left = self.run.config.train.max_minutes - self.elapsed() / 60
        return f"  {max(left, 0.0):.1f} min left"

    def _kept(self) -> str:
        if self.progress.epoch == 0:
            return f"no epoch was finished, so {self.out} holds no trained weights yet"
        return f"the checkpoint after epoch {self.progress.epoch} is in {self.out / checkpoint.DIRECTORY}"

    def end_epoch(self, epoch: int, loss: float, tokens: int, seconds: float, rng_states: list) -> bool:
        """Dev evaluation, best model, metrics record, checkpoint (rank 0); True to stop (early, or the budget is spent)."""
        run, progress = self.run, self.progress
        scores, per_file = evaluate_dev(self.predictor, run.dev_sets, run.config) if run.dev_sets else ({}, {})
        score = main_score(scores) if scores else -loss
        updated = dataclasses.replace(progress, epoch=epoch, seconds=progress.seconds + seconds, step=self.steps_done)
        if self.schedule is not None:
            schedule = self.schedule
            updated.planned_steps, updated.decay_from, updated.decay_lr = (
                schedule.planned_steps,
                schedule.decay_from,
                schedule.decay_lr,
            )
        updated.elapsed = self.elapsed()
        if score > progress.best_score:
            updated.best_score, updated.best_epoch, updated.bad_epochs = score, epoch, 0
            store.save_weights(self.out, run.model)
            faults.point("weights")
        else:
            updated.bad_epochs += 1
        record = {
            "epoch": epoch,
            "train_loss": round(loss, 5),
            "lr": learning_rate(run.config, epoch) if self.schedule is None else self.schedule.learning_rate(updated.step),
            "dev": _rounded(scores),
            **({"dev_files": {name: _rounded(values) for name, values in per_file.items()}} if len(per_file) > 1 else {}),
            "best_epoch": updated.best_epoch,
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds),
        }
        _append_metrics(self.out / METRICS_LOG, record)
        faults.point("metrics-line")
        checkpoint.save(self.out, run.model, run.optimizer, updated, rng_states)
        self.progress = progress = updated  # only now is the epoch kept: messages and metrics.json follow the checkpoint
        faults.point("checkpoint")
        self.log(_summary(record, scores, progress) + self._time_left())
        if run.dev_sets and progress.bad_epochs >= run.config.train.patience:
            self.log(f"early stopping: no improvement for {run.config.train.patience} epochs")
            return True
        if self.schedule is not None and self.schedule.done(self.steps_done):
            self.log(f"planned steps done: {self.steps_done:,} steps in {self.elapsed() / 60:.1f} min")
            return True
        return False


def train(
    config: Config,
    out: str | Path,
    resume: bool = False,
    show_progress: bool = True,
    log: Log = log_to_stderr,
    after_epoch: AfterEpoch | None = None,
) -> dict:
    """Train a model into `out` (the model directory); returns the final metrics.

    Under `torchrun`, every process trains on its share of each epoch's batches and
    rank 0 alone evaluates, logs and writes the run directory. Seeds the global random
    generators and sets torch's threads from the config (`set_process_state`).
    `after_epoch(epoch, minutes)` runs on rank 0 once each epoch is saved (the kept model
    is then in `out`); its own time does not count against `train.max_minutes`.
    """
    out = Path(out)
    started = time.perf_counter()  # a time budget counts reading the data too
    set_process_state(config)
    if resume and checkpoint.find(out) is None:
        if (out / store.METRICS).exists():
            raise TaggerError(f"--resume {out}: the run is finished and has no checkpoint/ left to continue from")
        log(f"{out}: the run stopped before its first epoch was saved; starting it again from the beginning")
        resume = False
    run = prepare_run(config, out, resume, log)
    distributed.barrier(run.world)
    try:
        trainer = Trainer(run, out, show_progress, log, started, after_epoch)
        if resume:
            trainer.resume()
        return trainer.fit()
    finally:
        distributed.stop(run.world)


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in scores.items()}


def _describe(train_items: list[Encoded], dev_sets: list[DevData], task: Task, config: Config, device: torch.device) -> str:
    scheme = task.corpus_scheme or "none (token labels)"
    head = "CRF" if config.model.crf else "softmax"
    dev = " + ".join(f"{len(dev.items):,}" for dev in dev_sets) or "0"
    return (
        f"training on {len(train_items):,} sentences ({sum(map(len, train_items)):,} tokens), dev {dev}; "
        f"label column {task.label_column}; scheme {scheme}; {config.model.cell.upper()} {head}, hidden "
        f"{config.model.hidden}; batch {config.train.batch_size}, lr {config.train.lr}, up to {config.train.epochs} epochs; "
        f"device {device}, {torch.get_num_threads()} threads"
    )


def _refuse_to_overwrite(out: Path) -> None:
    """A directory with a finished epoch is kept (resume it); one killed before that is started afresh."""
    if out.exists() and not out.is_dir():
        raise TaggerError(f"{out}: is a file; --out names the directory to write the model to")
    if checkpoint.find(out) is not None or (out / store.METRICS).exists():
        raise TaggerError(f"{out}: already holds a model; choose another --out, or continue it with --resume {out}")


def _summary(record: dict, scores: dict[str, float], progress: TrainingProgress) -> str:
    if scores:
        dev = (
            "dev " + ("mean " if "dev_files" in record else "") + " ".join(f"{key} {value:.2f}" for key, value in scores.items())
        )
        if "dev_files" in record:
            main = [f"{Path(name).name} {main_score(values):.2f}" for name, values in record["dev_files"].items()]
            dev += f" ({', '.join(main)})"
        best = f"best {progress.best_score:.2f} (epoch {progress.best_epoch})"
    else:
        dev, best = "no dev set", f"lowest loss at epoch {progress.best_epoch}"
    return (
        f"epoch {record['epoch']:>3}  loss {record['train_loss']:.4f}  {dev}  {best}  "
        f"{record['seconds']:.1f}s  {record['tokens_per_s']:,} tok/s"
    )


def _append_metrics(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def _truncate_metrics_log(path: Path, last_epoch: int) -> None:
    """Drop records of epochs after the checkpoint (and a line cut short by a crash): they are redone."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            if json.loads(line)["epoch"] <= last_epoch:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def describe_best(metrics: dict) -> str:
    """One line on the kept epoch, for people: its dev score, or its training loss without dev data."""
    if metrics["best_dev_metric"] == "train_loss":
        return f"no dev set: kept epoch {metrics['best_epoch']} (lowest training loss, {metrics['best_dev_score']:.4f})"
    return f"best dev {metrics['best_dev_metric']} {metrics['best_dev_score']:.2f} at epoch {metrics['best_epoch']}"


def _final_metrics(progress: TrainingProgress, task: Task, config: Config) -> dict:
    import platform

    with_dev = bool(config.data.dev)
    return {
        "best_dev_score": progress.best_score if with_dev else -progress.best_score,
        "best_dev_metric": ("f1" if task.corpus_scheme else "accuracy") if with_dev else "train_loss",
        "best_epoch": progress.best_epoch,
        "epochs_run": progress.epoch,
        "steps": progress.step,
        "planned_steps": progress.planned_steps,
        "wall_seconds": round(progress.elapsed, 1),
        "training_seconds": round(progress.seconds, 2),
        "versions": {
            "tagger": _version(),
            "commit": _source_commit(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }


def _source_commit() -> str | None:
    """The git commit of the tagger source that trained the model, where it runs from a checkout."""
    import subprocess

    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tagger")
    except PackageNotFoundError:
        return "unknown"
