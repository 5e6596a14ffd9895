"""What a run records in metrics.json: the final figures and the versions that trained it."""

from __future__ import annotations

from pathlib import Path

import torch

from tagger.config import Config, dev_corpora, training_corpora
from tagger.task import Task
from tagger.training.checkpoint import TrainingProgress


def dev_metric(task: Task, config: Config) -> str:
    """What the dev score is: F1 (span labels), accuracy (token labels), or the mean "score" of heads of both kinds."""
    if not task.heads:
        return "f1" if task.corpus_scheme else "accuracy"
    dev_heads = {corpus.head for corpus in dev_corpora(config.data, training_corpora(config.data))}
    kinds = {task.head(name).spans for name in dev_heads if name in task.head_names}
    return "score" if len(kinds) > 1 else "f1" if kinds == {True} else "accuracy"


def final_metrics(progress: TrainingProgress, task: Task, config: Config) -> dict:
    import platform

    with_dev = bool(config.data.dev)
    return {
        "best_dev_score": progress.best_score if with_dev else -progress.best_score,
        "best_dev_metric": dev_metric(task, config) if with_dev else "train_loss",
        "best_epoch": progress.best_epoch,
        **({"kept_epoch": progress.epoch} if config.train.keep == "last" else {}),
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


def rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in scores.items()}


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
