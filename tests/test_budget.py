"""Training within a time budget: the plan, the schedule, stopping, and resuming to the same end."""

import json
import os
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.training.budget import PROBE_STEPS, StepSchedule, plan_steps
from tests.conftest import run_tagger
from tests.helpers import TINY_MODEL

ARGS = [
    "configs/sample-ner.toml",
    "--epochs",
    "100",
    "--set",
    "train.patience=1000",
    "--hidden",
    "16",
    "--threads",
    "1",
    "--quiet",
]


def train(*args, env=None):
    return run_tagger("train", *args, env=env)


def tiny_sample_config(**train_settings):
    """The sample NER corpus with a tiny network, one thread, in process."""
    from tagger import config as config_module
    from tests.conftest import SAMPLES

    return config_module.from_dict(
        {
            "data": {"train": str(SAMPLES / "sample-ner" / "train.conll"), "dev": str(SAMPLES / "sample-ner" / "dev.conll")},
            "model": TINY_MODEL,
            "train": {"threads": 1, "device": "cpu", **train_settings},
        },
        "test",
    )


def train_with_slow_steps(monkeypatch, run_dir, slow_from, pause, epochs):
    """Train the tiny sample config in a 0.2-minute budget, each step from `slow_from(schedule)` on `pause` s slower."""
    import time

    from tagger import training
    from tagger.training import epoch as epoch_module

    budget_step = epoch_module._budget_step

    def slowed(budget, optimizer, step, seconds_per_token):
        if budget.first_step + step >= slow_from(budget.schedule):
            time.sleep(pause)
        budget_step(budget, optimizer, step, seconds_per_token)

    monkeypatch.setattr(epoch_module, "_budget_step", slowed)
    lines = []
    config = tiny_sample_config(epochs=epochs, patience=1000, batch_size=4, max_minutes=0.2)
    metrics = training.train(config, run_dir, show_progress=False, log=lines.append)
    return metrics, lines


@given(st.floats(10, 3600), st.floats(0, 5), st.floats(0.001, 2), st.integers(1, 500), st.floats(0, 30))
def test_the_plan_fits_the_budget_with_one_evaluation_per_epoch(budget, spent, per_step, per_epoch, per_eval):
    steps = plan_steps(budget, spent, per_step, per_epoch, per_eval)

    def cost(count):
        return count * per_step + -(-count // per_epoch) * per_eval

    assert steps >= 1
    assert steps == 1 or spent + cost(steps) <= budget + 1e-6
    assert spent + cost(steps + 1) > budget - 1e-6 or steps % per_epoch == 0


def test_the_schedule_holds_for_the_probe_then_falls_linearly_to_zero():
    schedule = StepSchedule(0.01, planned_steps=PROBE_STEPS + 100)
    rates = [schedule.learning_rate(step) for step in range(PROBE_STEPS + 101)]
    assert rates[: PROBE_STEPS + 1] == [0.01] * (PROBE_STEPS + 1)
    assert rates[PROBE_STEPS + 50] == pytest.approx(0.005)
    assert rates[-1] == 0.0 and all(a >= b for a, b in zip(rates, rates[1:]))
    assert not schedule.done(PROBE_STEPS + 99) and schedule.done(PROBE_STEPS + 100)
    assert StepSchedule(0.01).learning_rate(10_000) == 0.01  # not planned yet


def test_a_plan_beyond_the_first_epoch_holds_the_rate_over_that_epoch():
    schedule = StepSchedule(0.01, planned_steps=300, steps_per_epoch=100)
    assert [schedule.learning_rate(step) for step in (0, 50, 99, 100)] == [0.01] * 4
    assert schedule.learning_rate(200) == pytest.approx(0.005)
    assert schedule.replans_after_first_epoch(0) and not schedule.replans_after_first_epoch(100)
    within_the_epoch = StepSchedule(0.01, planned_steps=80, steps_per_epoch=100)
    assert within_the_epoch.learning_rate(PROBE_STEPS + 30) == pytest.approx(0.005)
    assert not within_the_epoch.replans_after_first_epoch(0)


def test_a_plan_made_again_during_the_decay_continues_from_the_current_rate_to_zero():
    schedule = StepSchedule(0.01, planned_steps=300, steps_per_epoch=100)
    before = schedule.learning_rate(150)
    schedule.replan(150, 200)
    assert schedule.learning_rate(150) == pytest.approx(before)
    assert schedule.learning_rate(175) == pytest.approx(before / 2)
    assert schedule.learning_rate(200) == 0.0 and schedule.done(200) and not schedule.done(199)
    assert schedule.learning_rate(50) == 0.01  # the held first epoch is unchanged


def test_a_budgeted_run_stops_after_its_planned_steps_within_the_budget(tmp_path):
    budget_minutes = 0.1
    result = train(*ARGS, "--max-minutes", str(budget_minutes), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == metrics["planned_steps"] > 0
    assert "time budget 0.1 min" in result.stderr and "planned steps done" in result.stderr
    # one dev evaluation of the sample takes well under a second; generous for a shared machine
    assert metrics["wall_seconds"] <= budget_minutes * 60 * 1.5 + 2


def test_a_resumed_budgeted_run_ends_where_an_uninterrupted_run_with_its_plan_ends(tmp_path):
    # Six epochs cap the plan far inside the budget: a run cut by the budget's deadline (a slow machine) would
    # follow another plan than the one `train.max_steps` repeats.
    capped = [*ARGS, "--epochs", "6", "--max-minutes", "0.5"]
    killed = train(*capped, "--out", str(tmp_path / "run"), env={**os.environ, "TAGGER_KILL_AT": "checkpoint@2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = train("--resume", str(tmp_path / "run"), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == metrics["planned_steps"]
    again = train(
        *ARGS, "--epochs", "6", "--set", f"train.max_steps={metrics['planned_steps']}", "--out", str(tmp_path / "same-plan")
    )
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "same-plan" / "metrics.json").read_text())["steps"] == metrics["steps"]
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == (tmp_path / "same-plan" / "model.safetensors").read_bytes()


def test_a_run_slower_than_its_probe_is_planned_again_and_keeps_its_budget(tmp_path, monkeypatch):
    """The first steps are fast and the rest slow: the plan after the first epoch still fits the budget."""
    metrics, lines = train_with_slow_steps(monkeypatch, tmp_path / "run", lambda schedule: PROBE_STEPS + 1, 0.03, 100)
    plans = [line for line in lines if line.startswith("time budget")]
    assert len(plans) == 2 and "held over the first epoch" in plans[0], plans
    assert metrics["steps"] == metrics["planned_steps"] < int(plans[0].split()[4].replace(",", ""))
    assert metrics["wall_seconds"] <= 0.2 * 60 * 1.5 + 2


def test_budget_and_step_count_together_are_refused(tmp_path):
    result = train(*ARGS, "--max-minutes", "1", "--set", "train.max_steps=10", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "not both" in result.stderr


def test_an_after_epoch_hook_sees_each_saved_epoch_and_its_time_is_not_the_runs(tmp_path):
    import time

    from tagger import training

    config = tiny_sample_config(epochs=3, patience=10)
    seen = []

    def hook(epoch, minutes):
        assert (tmp_path / "run" / "model.safetensors").is_file()  # the kept model is there to score
        seen.append((epoch, minutes))
        time.sleep(1.5)

    started = time.perf_counter()
    metrics = training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None, after_epoch=hook)
    real = time.perf_counter() - started
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert [minutes for _, minutes in seen] == sorted(minutes for _, minutes in seen)
    assert metrics["wall_seconds"] <= real - 4.5 + 0.05  # the three 1.5 s hooks are left out of the run's clock


def test_a_run_that_slows_down_later_is_planned_again_and_keeps_its_budget(tmp_path, monkeypatch):
    """Fast first epochs, then every step slower: the run plans again and still ends inside its budget."""
    from tagger.training import budget as budget_module

    monkeypatch.setattr(budget_module, "DRIFT_SECONDS", 0.5)
    third_epoch = lambda schedule: 2 * schedule.steps_per_epoch  # noqa: E731
    metrics, lines = train_with_slow_steps(monkeypatch, tmp_path / "run", third_epoch, 0.02, 1000)
    assert any("planned again" in line for line in lines), lines
    assert metrics["steps"] == metrics["planned_steps"]
    assert metrics["wall_seconds"] <= 0.2 * 60 * 1.25 + 2
    rates = [json.loads(line)["lr"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(rates, rates[1:])), rates  # never jumps back up
    assert rates[-1] == 0.0


def test_steps_ten_times_slower_in_the_middle_of_an_epoch_still_end_within_the_budget_and_one_evaluation(tmp_path, monkeypatch):
    """The slowdown starts half-way through an epoch late in the plan; the run stops at its deadline, not at the epoch's end."""
    import time

    from tagger import training
    from tagger.training import epoch as epoch_module

    budget_step, timing = epoch_module._budget_step, {}

    def slowed(budget, optimizer, step, seconds_per_token):
        schedule = budget.schedule
        if schedule.planned_steps is not None and schedule.steps_per_epoch:
            epoch_start = (int(0.6 * schedule.planned_steps) // schedule.steps_per_epoch) * schedule.steps_per_epoch
            if budget.first_step + step >= epoch_start + schedule.steps_per_epoch // 2:
                time.sleep(timing.setdefault("pause", 9 * timing["step"]))
        timing["step"] = min(timing.get("step", 1.0), seconds_per_token * 40)  # about one batch of 40 tokens
        budget_step(budget, optimizer, step, seconds_per_token)

    monkeypatch.setattr(epoch_module, "_budget_step", slowed)
    lines: list[str] = []
    config = tiny_sample_config(epochs=1000, patience=1000, batch_size=1, max_minutes=0.2)
    metrics = training.train(config, tmp_path / "run", show_progress=False, log=lines.append)
    assert any("budget deadline: it came at step" in line for line in lines), lines
    # one dev evaluation of the sample takes well under a second
    assert metrics["wall_seconds"] <= 0.2 * 60 + 1.0, (metrics["wall_seconds"], lines[-3:])


class FakeClock:
    """The run's elapsed seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def planner_on_fake_clock(agree=lambda value: value):
    """A 10-minute budget, 100 steps of 10,000 tokens per epoch, 5 s per dev evaluation, at most 100 epochs."""
    from tagger.training.budget import BudgetPlanner

    clock, lines = FakeClock(), []
    schedule = StepSchedule(0.01, steps_per_epoch=100)
    planner = BudgetPlanner(schedule, 600.0, 100, 10_000, elapsed=clock, agree=agree, log=lines.append)
    planner.eval_seconds = 5.0
    return planner, clock, lines


def test_the_planner_plans_from_the_probe_then_again_from_the_first_epoch():
    planner, clock, lines = planner_on_fake_clock()
    # 0.125 s per step; 600 s less the probe's evaluation leaves 595 s: 34 epochs of 12.5 + 5 s
    planner.plan(0.00125, steps_done=PROBE_STEPS)
    assert planner.schedule.planned_steps == PROBE_STEPS + 34 * 100
    assert "held over the first epoch" in lines[-1]
    clock.now = 30.0  # the first epoch took 25 s (0.25 s per step), 5 s went to the probe's evaluation
    planner.after_epoch(25.0, 10_000, steps_done=100)
    # 600 - 30 - 5 (this epoch's evaluation) = 565 s left: 18 more epochs of 25 + 5 s, then 25 s for 80 steps
    assert planner.schedule.planned_steps == 100 + 18 * 100 + 80
    assert "falls linearly to 0" in lines[-1] and planner.provisional is False
    assert planner.seconds_left() == 600 - 30 - 5


def test_the_planner_plans_again_when_the_machine_slows_down_and_keeps_the_plan_within_the_drift():
    planner, clock, lines = planner_on_fake_clock()
    planner.schedule.steps_per_epoch = 100
    clock.now = 25.0
    planner.after_epoch(20.0, 10_000, steps_done=100)  # no plan yet: planned from the first epoch
    planned = planner.schedule.planned_steps
    clock.now = 50.2
    planner.after_epoch(20.2, 10_000, steps_done=200)  # 1 % slower: within the drift allowed, the plan stays
    assert planner.schedule.planned_steps == planned and len(lines) == 1
    clock.now = 95.2
    planner.after_epoch(40.0, 10_000, steps_done=300)  # the epochs since the plan average 0.3 s per step
    assert planner.schedule.planned_steps < planned
    assert planner.schedule.decay_from == 300
    assert "planned again" in lines[-1]


def test_rank_zeros_decision_is_the_plan():
    planner, _, _ = planner_on_fake_clock(agree=lambda value: 777)
    planner.plan(0.001, steps_done=PROBE_STEPS)
    assert planner.schedule.planned_steps == 777


def test_resuming_a_finished_budgeted_run_gives_advice_that_works_and_leaves_config_json_alone(tmp_path):
    """#44: a finished plan was told `--set train.epochs=N`, which changes nothing, and each try rewrote config.json."""
    run_dir = tmp_path / "run"
    first = train(*ARGS, "--max-minutes", "0.05", "--out", run_dir)
    assert first.returncode == 0, first.stderr
    planned = json.loads((run_dir / "metrics.json").read_text())["planned_steps"]
    config_json = (run_dir / "config.json").read_bytes()
    again = train("--resume", run_dir, "--set", "train.max_minutes=0.3", "--quiet")
    assert again.returncode == 0, again.stderr
    assert f"plan of {planned:,} steps is done" in again.stderr and "--set train.epochs" not in again.stderr
    assert (run_dir / "config.json").read_bytes() == config_json


def test_a_deadline_before_an_epochs_first_step_ends_the_run_at_the_epoch_before(tmp_path, monkeypatch):
    """A deadline at an epoch's first step ran an epoch of no steps: a dev evaluation of unchanged weights, a record."""
    from tagger import training
    from tagger.training import epoch as epoch_module

    def third_epoch_starts_late(budget, step, device):
        return step == 0 and budget.first_step >= 2 * budget.schedule.steps_per_epoch

    monkeypatch.setattr(epoch_module, "_past_deadline", third_epoch_starts_late)
    lines = []
    config = tiny_sample_config(epochs=6, patience=1000, batch_size=16, max_minutes=5)
    metrics = training.train(config, tmp_path / "run", show_progress=False, log=lines.append)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in records] == [1, 2] and metrics["epochs_run"] == 2
    assert metrics["steps"] == metrics["planned_steps"] and not any(line.startswith("epoch   3") for line in lines)
    weights = (tmp_path / "run" / "model.safetensors").read_bytes()
    resumed = []
    training.train(config, tmp_path / "run", resume=True, show_progress=False, log=resumed.append)
    assert not any(line.startswith("epoch") for line in resumed), resumed
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == weights
