"""Resumable training state in safe formats: weights, optimizer and RNG in safetensors, the rest in JSON.

A checkpoint is a directory written beside its final place and renamed into place, so a
run killed at any moment leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from tagger.files import WriteError, atomic_output, publish_mode
from tagger.store import ModelDirError, read_json, read_weights, replace_directory, write_weights

DIRECTORY = "checkpoint"
STATE = "state.json"
_BUDGET_KEYS = {"step", "planned_steps", "elapsed", "decay_from", "decay_lr"}  # absent from checkpoints before time budgets


@dataclass
class TrainingProgress:
    """Where a run stands after its last finished epoch: what its checkpoint keeps besides tensors."""

    epoch: int = 0
    best_score: float = -math.inf  # the kept epoch's main dev score (minus its training loss without dev data)
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs since the best one, for early stopping
    seconds: float = 0.0  # training seconds, dev evaluations left out
    step: int = 0  # optimizer steps taken
    planned_steps: int | None = None  # a budgeted run's plan (None: no plan)
    elapsed: float = 0.0  # wall-clock seconds of the run, earlier processes of a resumed run included
    decay_from: int | None = None  # the step of the last re-plan during the decay, and the rate there
    decay_lr: float | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, where: Path) -> TrainingProgress:
        """The saved progress; a checkpoint from before time budgets lacks their keys, any other difference is damage."""
        names = {field.name for field in fields(cls)}
        keys = set(data) | _BUDGET_KEYS if isinstance(data, dict) else set()
        if keys != names:
            raise ModelDirError(f"{where}: the checkpoint's progress is damaged (keys {sorted(keys)}); train again with --out")
        for name, value in data.items():
            if not _is_progress_value(name, value):
                raise ModelDirError(f"{where}: the checkpoint's progress is damaged ({name} = {value!r}); train again with --out")
        return cls(**data)


_WHOLE = {"epoch", "best_epoch", "bad_epochs", "step", "planned_steps", "decay_from"}


def _is_progress_value(name: str, value: object) -> bool:
    """A saved progress value of the right kind: counts are non-negative integers, times finite numbers (the best
    score may be -inf before any epoch); the plan's keys may be null."""
    if value is None:
        return name in {"planned_steps", "decay_from", "decay_lr"}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if name in _WHOLE:
        return isinstance(value, int) and value >= 0
    return math.isfinite(value) or (name == "best_score" and value == -math.inf)


def _split_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for parameter, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{parameter}.{key}"] = value
            else:
                scalars[f"{parameter}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in [*tensors.items(), *meta["scalars"].items()]:
        parameter, _, key = name.partition(".")
        state.setdefault(int(parameter), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save(
    run_directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    progress: TrainingProgress,
    rng_states: list[dict[str, torch.Tensor]],
) -> None:
    """Write the checkpoint of a finished epoch.

    `rng_states` holds each rank's generator states (one entry without torchrun).
    """
    try:
        temporary = Path(tempfile.mkdtemp(prefix=".checkpoint.", dir=run_directory))
    except OSError as error:
        raise WriteError(f"{run_directory}: cannot write the checkpoint ({error.strerror})", error.errno) from None
    try:
        optimizer_tensors, optimizer_meta = _split_optimizer(optimizer)
        write_weights(temporary / "model.safetensors", model.state_dict())
        write_weights(temporary / "optimizer.safetensors", optimizer_tensors)
        rng = {f"{name}.rank{rank}": state for rank, states in enumerate(rng_states) for name, state in states.items()}
        write_weights(temporary / "rng.safetensors", rng)
        with atomic_output(temporary / STATE) as stream:
            json.dump({"progress": progress.to_json(), "optimizer": optimizer_meta}, stream, indent=1, allow_nan=False)
        publish_mode(temporary, directory=True)
        replace_directory(temporary, run_directory / DIRECTORY)
    except OSError as error:
        raise WriteError(f"{run_directory / DIRECTORY}: write failed ({error.strerror})", error.errno) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def find(run_directory: Path) -> Path | None:
    """The checkpoint directory, or the previous one if a swap was interrupted."""
    for name in (DIRECTORY, DIRECTORY + ".old"):
        candidate = run_directory / name
        if (candidate / STATE).is_file():
            return candidate
    return None


def restore(run_directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rank: int = 0) -> TrainingProgress:
    """Load weights, optimizer and this rank's RNG states; returns the saved progress."""
    directory = find(run_directory)
    if directory is None:
        raise ModelDirError(f"{run_directory}: no checkpoint to resume from")
    data = read_json(directory / STATE)
    try:
        model.load_state_dict(read_weights(directory / "model.safetensors", model.state_dict()))
        optimizer.load_state_dict(_join_optimizer(_tensors(directory / "optimizer.safetensors"), data["optimizer"]))
        rng = _tensors(directory / "rng.safetensors")
        own = rank if f"torch.rank{rank}" in rng else 0  # a run resumed with more processes than it had
        torch.set_rng_state(rng[f"torch.rank{own}"])
        if f"cuda.rank{own}" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng[f"cuda.rank{own}"])
        progress = data["progress"]
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ModelDirError(
            f"{directory}: the checkpoint is damaged ({error.__class__.__name__}: {error}); train again with --out"
        ) from None
    return TrainingProgress.from_json(progress, run_directory / DIRECTORY)


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ModelDirError(f"{path}: not a readable safetensors file ({error})") from None
