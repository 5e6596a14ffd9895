"""What training tells people: the run's description, one line per epoch, the kept epoch."""

from __future__ import annotations

from pathlib import Path

import torch

from tagger.batching import Encoded
from tagger.config import Config
from tagger.metrics import main_score
from tagger.task import Task
from tagger.training.checkpoint import TrainingProgress
from tagger.training.data import DevData


def describe_run(train_items: list[Encoded], dev_sets: list[DevData], task: Task, config: Config, device: torch.device) -> str:
    scheme = task.corpus_scheme or "none (token labels)"
    head = "CRF" if config.model.crf else "softmax"
    dev = " + ".join(f"{len(dev.items):,}" + (f" (weight {dev.weight:g})" if dev.weight != 1 else "") for dev in dev_sets)
    dev = dev or "0"
    return (
        f"training on {len(train_items):,} sentences ({sum(map(len, train_items)):,} tokens), dev {dev}; "
        f"{_labelled(task, scheme)}; {config.model.cell.upper()} {head}, hidden "
        f"{config.model.hidden}; batch {config.train.batch_size}, lr {config.train.lr}, up to {config.train.epochs} epochs; "
        f"device {device}, {torch.get_num_threads()} threads"
    )


def _labelled(task: Task, scheme: str) -> str:
    """What the model labels: its label column and scheme, or each head's."""
    if not task.heads:
        return f"label column {task.label_column}; scheme {scheme}"
    heads = [f"{name} (column {own.label_column}, {own.corpus_scheme or 'token labels'})" for name, own in task.heads]
    return "heads " + ", ".join(heads)


def epoch_summary(record: dict, scores: dict[str, float], progress: TrainingProgress) -> str:
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


def describe_best(metrics: dict) -> str:
    """One line on the kept epoch, for people: its dev score, or its training loss without dev data."""
    if metrics["best_dev_metric"] == "train_loss":
        return f"no dev set: kept epoch {metrics['best_epoch']} (lowest training loss, {metrics['best_dev_score']:.4f})"
    best = f"best dev {metrics['best_dev_metric']} {metrics['best_dev_score']:.2f} at epoch {metrics['best_epoch']}"
    if "kept_epoch" in metrics:
        return f'kept the last epoch ({metrics["kept_epoch"]}, train.keep = "last"); {best}'
    return best
