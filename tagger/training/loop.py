"""The epoch loop of a training run: train, evaluate on dev, keep the best, checkpoint, stop early, resume."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

from tagger import distributed, faults, store
from tagger.config import Config
from tagger.errors import Interrupted, TaggerError, interrupt_exit_code
from tagger.files import WriteError, directory_lock
from tagger.metrics import dev_score, main_metric, main_score
from tagger.model_files import METRICS, METRICS_LOG, append_epoch_record, read_json_object, truncate_epoch_records
from tagger.predict import Predictor
from tagger.schemes import without_types
from tagger.training import checkpoint
from tagger.training.budget import BudgetPlanner, StepSchedule
from tagger.training.checkpoint import TrainingProgress
from tagger.training.data import (
    DevData,
    Log,
    epoch_batches,
    log_to_stderr,
    quiet,
)
from tagger.training.epoch import BudgetedSteps, run_epoch
from tagger.training.messages import describe_best, describe_run, epoch_summary
from tagger.training.records import final_metrics, rounded
from tagger.training.setup import Run, learning_rate, prepare_run, set_process_state

AfterEpoch = Callable[[int, float], None]  # (epoch, minutes of training so far)


def _step_schedule(config: Config) -> StepSchedule | None:
    """The step schedule of a budgeted run (planned later) or of one with max_steps (planned now); else None."""
    if config.train.max_steps > 0:
        return StepSchedule(config.train.lr, config.train.max_steps)
    return StepSchedule(config.train.lr) if config.train.max_minutes > 0 else None


def evaluate_dev(predictor: Predictor, dev_sets: list[DevData], config: Config) -> tuple[dict[str, float], dict[str, dict]]:
    """The mean of the dev files' scores, weighted by each file's weight (what early stopping follows), and each
    file's scores."""
    per_file, scores = {}, []
    for dev in dev_sets:
        head = predictor.head(dev.head) if predictor.task.heads else predictor
        predicted = head.predict_encoded(dev.items, config.train.eval_batch_size).labels
        if dev.ignored:
            predicted = [without_types(tags, dev.ignored) for tags in predicted]
        scores.append(dev_score(dev.gold, predicted, spans=head.task.spans))
        per_file[dev.name] = scores[-1]
    total = sum(dev.weight for dev in dev_sets)
    weights = [dev.weight / total for dev in dev_sets]
    if any(main_metric(each) != main_metric(scores[0]) for each in scores):  # heads of both kinds
        return {"score": sum(weight * main_score(each) for weight, each in zip(weights, scores))}, per_file
    mean = {key: sum(weight * each[key] for weight, each in zip(weights, scores)) for key in scores[0]}
    return mean, per_file


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
        self.log = log if run.world.is_main else quiet
        self.progress = TrainingProgress()
        self.predictor = Predictor.of_model(run.model, run.vocab, run.task, run.config, run.device)
        self.started = time.perf_counter() if started is None else started  # wall clock of this process's share
        self.elapsed_before = 0.0  # seconds spent by the processes before this one (a resumed run)
        self.steps_done = 0  # optimizer steps, kept on every rank (end_epoch runs on rank 0 alone)
        self.planner = self._planner()

    @property
    def schedule(self) -> StepSchedule | None:
        return None if self.planner is None else self.planner.schedule

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
            self.schedule.restore(progress.planned_steps, progress.decay_from, progress.decay_lr)
        if self.run.world.is_main:
            truncate_epoch_records(self.out / METRICS_LOG, progress.epoch)
            if progress.best_epoch == progress.epoch or self.run.config.train.keep == "last":
                # The checkpoint's weights are the kept ones: rewriting them repairs a kill
                # that landed before or during the write of model.safetensors.
                store.save_weights(self.out, self.run.model)
        if self.finished():
            self.log(f"{self.out}: training is already complete ({progress.epoch} epochs; {self._how_to_go_on()}")
            return
        if self.run.world.is_main and store.load_definition(self.out)[0] != self.run.config:
            store.save_config(self.out, self.run.config, self.run.task)  # the settings changed with --set
        self.log(f"resuming {self.out} after epoch {progress.epoch}")

    def _how_to_go_on(self) -> str:
        """The best epoch, and how to train longer: more epochs (or patience), or for a budgeted run a new plan."""
        config, progress = self.run.config, self.progress
        best = describe_best(final_metrics(progress, self.run.task, config))
        if self.schedule is not None and self.schedule.done(self.steps_done):
            # more epochs or minutes do not extend a plan whose learning rate has fallen to 0
            return (
                f"{best}); its plan of {progress.planned_steps:,} steps is done and the learning rate fell to 0 at the "
                "last one: to train longer, start a new run with a larger train.max_minutes (--out)"
            )
        more = f" --set train.patience={config.train.patience + 5}" if self._stopped_early() else ""
        return f"{best}); to train longer: tagger train --resume {self.out} --set train.epochs={progress.epoch + 10}{more}"

    def _stopped_early(self) -> bool:
        return bool(self.run.dev_sets) and self.progress.bad_epochs >= self.run.config.train.patience

    def finished(self) -> bool:
        """No epoch is left to train: the last one is done, the budget's steps are taken, or early stopping ended the run."""
        budget_spent = self.schedule is not None and self.schedule.done(self.steps_done)
        return self.progress.epoch >= self.run.config.train.epochs or budget_spent or self._stopped_early()

    def _end_at_last_epoch(self, planned: int) -> None:
        """The budget's deadline came before an epoch's first step: the epoch before is the run's last. Its
        checkpoint is saved again with the plan ended there (weights, optimizer and random states are as it left
        them), so that a resume finds the run finished; no epoch without steps is evaluated or recorded."""
        self.log(
            f"budget deadline: it came at step {self.steps_done:,} of the {planned:,} planned, before epoch "
            f"{self.progress.epoch + 1} began; epoch {self.progress.epoch} is the last"
        )
        states = distributed.rng_states(self.run.world)  # every rank takes part in gathering them
        if not self.run.world.is_main:
            return
        schedule = self.schedule
        self.progress = dataclasses.replace(
            self.progress, planned_steps=schedule.planned_steps, decay_from=schedule.decay_from, decay_lr=schedule.decay_lr
        )
        checkpoint.save(self.out, self.run.model, self.run.optimizer, self.progress, states)
        self.log(f"planned steps done: {self.steps_done:,} steps in {self.elapsed() / 60:.1f} min")

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
            self.log(describe_run(run.train_items, run.dev_sets, run.task, config, run.device))
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
                if budget is not None and budget.stopped_early_from is not None and steps == 0 and self.progress.epoch:
                    self._end_at_last_epoch(budget.stopped_early_from)
                    break
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
                metrics = {**final_metrics(self.progress, run.task, config), "label_counts": run.label_counts}
                store.save_metrics(self.out, {**metrics, **self._test_scores()})
        except KeyboardInterrupt as interrupt:
            raise Interrupted(
                f"interrupted; {self._kept()}. Resume with: tagger train --resume {self.out}", interrupt_exit_code(interrupt)
            ) from None
        except WriteError as error:
            when = "Once there is room" if error.out_of_room else "Once the directory can be written to again"
            raise TaggerError(f"{error}; {self._kept()}. {when}, continue with: tagger train --resume {self.out}") from None
        distributed.barrier(run.world)
        return read_json_object(self.out / METRICS)

    def _call_after_epoch(self, epoch: int) -> None:
        """The caller's hook, its time left out of the run's clock (and so of a time budget)."""
        paused = time.perf_counter()
        self.after_epoch(epoch, self.elapsed() / 60)
        self.started += time.perf_counter() - paused

    def _calibrate(self) -> None:
        """Fit the confidence temperature of the kept model on the dev files (calibration.json)."""
        if not self.run.dev_sets or self.progress.epoch == 0:
            return
        from tagger.training.calibrate import fit_temperature, save_calibration

        predictor = Predictor.load(self.out, str(self.run.device))
        fits = {}
        for name, head in predictor.heads() or [("", predictor)]:
            dev_sets = [dev for dev in self.run.dev_sets if not predictor.task.heads or dev.head == name]
            fits[name] = fit_temperature(head, dev_sets, self.run.config.train.eval_batch_size) if dev_sets else None
            if fits[name] is not None:
                self.log((f"head {name}: " if name else "") + fits[name].describe())
        first = next(iter(fits.values()))
        if first is not None:
            save_calibration(self.out, first, {name: fit.temperature for name, fit in list(fits.items())[1:] if fit is not None})

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
        improved = score > progress.best_score
        if improved:
            updated.best_score, updated.best_epoch, updated.bad_epochs = score, epoch, 0
        else:
            updated.bad_epochs += 1
        if improved or run.config.train.keep == "last":
            store.save_weights(self.out, run.model)
            faults.point("weights")
        record = {
            "epoch": epoch,
            "train_loss": round(loss, 5),
            "lr": learning_rate(run.config, epoch) if self.schedule is None else self.schedule.learning_rate(updated.step),
            "dev": rounded(scores),
            **({"dev_files": {name: rounded(values) for name, values in per_file.items()}} if len(per_file) > 1 else {}),
            "best_epoch": updated.best_epoch,
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds),
        }
        append_epoch_record(self.out / METRICS_LOG, record)
        faults.point("metrics-line")
        checkpoint.save(self.out, run.model, run.optimizer, updated, rng_states)
        self.progress = progress = updated  # only now is the epoch kept: messages and metrics.json follow the checkpoint
        faults.point("checkpoint")
        self.log(epoch_summary(record, scores, progress) + self._time_left())
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
    held = directory_lock(out) if _holds_the_lock(out) else contextlib.nullcontext(False)
    with held as interrupted:  # a stale lock: a killed run's directory, which may hold weights without a checkpoint
        return _train_in(config, out, resume, show_progress, log, after_epoch, started, interrupted)


def _holds_the_lock(out: Path) -> bool:
    """The process that writes the run directory takes its lock (rank 0 under torchrun); a file is refused later."""
    return os.environ.get("RANK", "0") == "0" and (out.is_dir() or not out.exists())


def _train_in(
    config: Config,
    out: Path,
    resume: bool,
    show_progress: bool,
    log: Log,
    after_epoch: AfterEpoch | None,
    started: float,
    interrupted: bool,
) -> dict:
    set_process_state(config)
    if resume and checkpoint.find(out) is None:
        if (out / store.METRICS).exists():
            raise TaggerError(f"--resume {out}: the run is finished and has no checkpoint/ left to continue from")
        if (out / store.WEIGHTS).exists() and not interrupted:
            raise TaggerError(f"--resume {out}: it holds a model but no checkpoint/ to continue from; train into another --out")
        log(f"{out}: the run stopped before its first epoch was saved; starting it again from the beginning")
        resume = False
    run = prepare_run(config, out, resume, log, interrupted)
    distributed.barrier(run.world)
    try:
        trainer = Trainer(run, out, show_progress, log, started, after_epoch)
        if resume:
            trainer.resume()
        if run.model.char_lm is not None:
            # now, with the weights final: inside the first timed dev evaluation it made a budget plan for 123-s ones
            run.model.char_lm.fill_cache()
        return trainer.fit()
    finally:
        distributed.stop(run.world)
