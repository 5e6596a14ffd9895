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

    def stop_at(self, step: int) -> None:
        """End the plan at `step`: the budget's deadline came before the planned steps were taken."""
        self.planned_steps = step

    def done(self, step: int) -> bool:
        """Whether the planned steps are all taken."""
        return self.planned_steps is not None and step >= self.planned_steps
