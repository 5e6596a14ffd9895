"""One training epoch: the epoch's batches through the optimizer, within a time budget's steps and deadline."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

from tagger import distributed
from tagger.batching import Encoded
from tagger.config import Config
from tagger.distributed import World
from tagger.errors import TaggerError
from tagger.training.budget import PROBE_STEPS, StepSchedule
from tagger.training.data import (
    epoch_batches,
)
from tagger.training.setup import Run, learning_rate


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
