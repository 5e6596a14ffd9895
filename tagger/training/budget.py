"""Training within a time budget: how many optimizer steps fit, and the learning rate at each step.

The budget is turned into a number of steps from speeds measured at the start of the run
(one dev evaluation, the first training steps). When that plan reaches beyond the first
epoch, the learning rate is held over the first epoch and the plan is made again from
the epoch's measured speed, which a few probe steps of random lengths misjudge by up to
a fifth. From then on the run follows a schedule over the planned steps and stops after
the last, so a resumed run (which reads the plan from its checkpoint) ends where an
uninterrupted one ends. The learning rate falls linearly to zero over the planned
steps, which is strong for budgeted training (Li et al., "Budgeted Training", ICLR 2020).

A shared machine can slow down (or speed up) by a fifth within a run. When the mean speed
of the epochs since the plan says the run would miss the end of its budget by more than
`drift_allowed` seconds, the plan is made again at the end of an epoch: the learning rate
then falls linearly from where it stands to zero over the new number of steps. Only a run
that never re-planned is repeated exactly by `train.max_steps`.

Whatever the plan, a run stops at the first step past its deadline (the budget less one
dev evaluation, checked before every step), so however slow the machine becomes within
an epoch, the run ends within its budget plus one dev evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PROBE_STEPS = 20  # steps timed before the plan is made (they run at the full learning rate)
DRIFT_SHARE = 0.05  # of the budget: how far a run may drift from its end before it is planned again
DRIFT_SECONDS = 20.0  # ... and at least this far, so that short budgets keep their first plan


def drift_allowed(budget_seconds: float) -> float:
    """Seconds by which a run's projected end may miss its budget before the plan is made again."""
    return max(DRIFT_SHARE * budget_seconds, DRIFT_SECONDS)


def plan_steps(
    budget_seconds: float, spent_seconds: float, seconds_per_step: float, steps_per_epoch: int, seconds_per_eval: float
) -> int:
    """Steps that fit in what is left of the budget, with one dev evaluation after each (partial) epoch.

    At least one step, so that every run trains.
    """
    remaining = budget_seconds - spent_seconds
    per_epoch = steps_per_epoch * seconds_per_step + seconds_per_eval
    full_epochs = max(int(remaining // per_epoch), 0)
    left = remaining - full_epochs * per_epoch - seconds_per_eval
    partial = min(max(int(left // seconds_per_step), 0), steps_per_epoch)
    return max(full_epochs * steps_per_epoch + partial, 1)


@dataclass
class StepSchedule:
    """Learning rate per global step: `lr` while held, then linear decay to zero at `planned_steps`.

    The rate is held for the first epoch when the plan goes beyond it, else for the probe
    steps. It depends on the step, the plan and the epoch's length alone, not on when the
    plan was made, so a run given the same number of steps up front (`train.max_steps`)
    follows it exactly.
    """

    lr: float
    planned_steps: int | None = None  # None: not planned yet
    steps_per_epoch: int | None = None  # None: not known yet (nothing is held beyond the probe)
    decay_from: int | None = None  # the step of the last plan made during the decay (None: none was)
    decay_lr: float | None = None  # the learning rate at that step

    def held_steps(self) -> int:
        """Steps taken at the full rate before the decay starts."""
        planned, epoch = self.planned_steps, self.steps_per_epoch
        return epoch if planned is not None and epoch is not None and planned > epoch else PROBE_STEPS

    def learning_rate(self, step: int) -> float:
        held = self.held_steps()
        if self.planned_steps is None or step < held:
            return self.lr
        start, rate = (held, self.lr) if self.decay_from is None else (self.decay_from, self.decay_lr)
        return rate * max(0.0, (self.planned_steps - step) / max(self.planned_steps - start, 1))

    def replan(self, step: int, planned_steps: int) -> None:
        """A new end for the decay, planned at `step`: the rate falls from where it stands there."""
        self.decay_lr = self.learning_rate(step)
        self.decay_from, self.planned_steps = step, planned_steps

    def replans_after_first_epoch(self, steps_done: int) -> bool:
        """Whether a plan made now, `steps_done` steps in, is made again from the first epoch's speed."""
        return self.held_steps() == self.steps_per_epoch and steps_done < self.steps_per_epoch

    def restore(self, planned_steps: int, decay_from: int | None, decay_lr: float | None) -> None:
        """The plan a checkpoint saved: a resumed run follows it to the same end."""
        self.planned_steps, self.decay_from, self.decay_lr = planned_steps, decay_from, decay_lr

    def stop_at(self, step: int) -> None:
        """End the plan at `step`: the budget's deadline came before the planned steps were taken."""
        self.planned_steps = step

    def done(self, step: int) -> bool:
        """Whether the planned steps are all taken."""
        return self.planned_steps is not None and step >= self.planned_steps


class BudgetPlanner:
    """The plan of a run with a time budget (or with max_steps): its schedule and every planning decision.

    Torch-free: the run's clock (`elapsed`, seconds spent so far, earlier processes of a
    resumed run included) and the way ranks agree on a number (`agree`: rank 0's value,
    broadcast; a single process keeps its own) are passed in, so it is tested with a fake
    clock. The trainer reports what it measured (`plan`, `after_epoch`); the planner sets
    the schedule's steps and says why.
    """

    def __init__(
        self,
        schedule: StepSchedule,
        budget_seconds: float,
        max_epochs: int,
        epoch_tokens: int,
        elapsed: Callable[[], float],
        agree: Callable[[int], int] = lambda value: value,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.schedule = schedule
        self.budget_seconds = budget_seconds  # 0 for a run planned up front with max_steps
        self.max_epochs = max_epochs
        self.epoch_tokens = epoch_tokens  # training tokens per epoch (this rank's share)
        self.elapsed, self.agree, self.log = elapsed, agree, log
        self.eval_seconds = 0.0  # one dev evaluation, timed before the plan
        self.provisional = False  # planned from the probe, to be planned again after the first epoch
        # training seconds and tokens of the epochs since the plan made from a measured speed: their mean
        # speed (steadier than one epoch's on a shared machine) is what drift is judged on
        self.seconds_since_plan, self.tokens_since_plan = 0.0, 0

    def seconds_left(self) -> float | None:
        """Seconds until the steps must stop, leaving one dev evaluation; None without a time budget."""
        if self.budget_seconds <= 0:
            return None
        return self.budget_seconds - self.elapsed() - self.eval_seconds

    def plan(self, seconds_per_token: float, steps_done: int) -> None:
        """Turn what is left of the budget into steps (rank 0 decides, every rank follows).

        The probe's speed is taken per token: a few batches of random lengths say little
        about the time of an average step, their tokens much more.
        """
        schedule = self.schedule
        seconds_per_step = self._seconds_per_step(seconds_per_token)
        schedule.planned_steps = self.agree(self._steps_that_fit(seconds_per_step, steps_done))
        self.provisional = schedule.replans_after_first_epoch(steps_done)
        self.seconds_since_plan, self.tokens_since_plan = 0.0, 0
        then = (
            "the learning rate is held over the first epoch, then the plan is made again from its speed"
            if self.provisional
            else "the learning rate falls linearly to 0 over them "
            f"(the same plan elsewhere: --set train.max_steps={schedule.planned_steps})"
        )
        self.log(
            f"time budget {self.budget_seconds / 60:g} min: {schedule.planned_steps:,} steps "
            f"({schedule.planned_steps / schedule.steps_per_epoch:.1f} epochs) at {seconds_per_step:.3f} s per step, "
            f"{self.eval_seconds:.1f} s per dev evaluation; {then}"
        )

    def after_epoch(self, seconds: float, tokens: int, steps_done: int) -> None:
        """Plan from the epoch just trained: when the probe made no plan (a short epoch) or a provisional one,
        or when the epochs since the plan say the run would miss the end of its budget."""
        if self.budget_seconds <= 0 or not tokens:
            return
        if self.schedule.planned_steps is None or self.provisional:
            self.plan(seconds / tokens, steps_done)
        elif not self.schedule.done(steps_done):
            self.seconds_since_plan += seconds
            self.tokens_since_plan += tokens
            self._correct_drift(self.seconds_since_plan / self.tokens_since_plan, steps_done)

    def _seconds_per_step(self, seconds_per_token: float) -> float:
        """An average step's seconds at this speed (an epoch's tokens over its steps)."""
        return seconds_per_token * self.epoch_tokens / self.schedule.steps_per_epoch

    def _steps_that_fit(self, seconds_per_step: float, steps_done: int) -> int:
        """The run's total steps when what is left of the budget goes at this speed."""
        steps_per_epoch = self.schedule.steps_per_epoch
        # at the end of an epoch, its dev evaluation is still to come
        spent = self.elapsed() + (self.eval_seconds if steps_done else 0.0)
        left = plan_steps(self.budget_seconds, spent, seconds_per_step, steps_per_epoch, self.eval_seconds)
        return min(steps_done + left, self.max_epochs * steps_per_epoch)

    def _correct_drift(self, seconds_per_token: float, steps_done: int) -> None:
        """Plan again, at the end of an epoch, when the run would miss its budget's end by more than the drift allowed."""
        schedule = self.schedule
        seconds_per_step = self._seconds_per_step(seconds_per_token)
        planned = self._steps_that_fit(seconds_per_step, steps_done)
        if abs(planned - schedule.planned_steps) * seconds_per_step <= drift_allowed(self.budget_seconds):
            planned = schedule.planned_steps
        planned = self.agree(planned)  # rank 0's decision holds
        if planned == schedule.planned_steps:
            return
        before = schedule.planned_steps
        schedule.replan(steps_done, planned)
        miss = (before - planned) * seconds_per_step / 60
        self.log(
            f"time budget: the epochs since the plan ran at {seconds_per_step:.3f} s per step, so {before:,} steps would end "
            f"{abs(miss):.1f} min {'after' if miss > 0 else 'before'} the budget; planned again: {planned:,} steps, "
            f"the learning rate falling linearly from {schedule.decay_lr:.2e} to 0 over the {planned - steps_done:,} left"
        )
