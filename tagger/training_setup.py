"""Putting together the config of a training run from a file, `--set` overrides and flags."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from tagger import config as config_module
from tagger.config import Config, ConfigError
from tagger.store import CONFIG, read_json


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
