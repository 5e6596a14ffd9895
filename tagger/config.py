"""Training configuration: dataclasses, TOML files, `--set section.key=value` overrides."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tagger.errors import TaggerError


class ConfigError(TaggerError):
    """A config that cannot be used; the message names the key or the file."""


@dataclass
class DataConfig:
    train: str = ""
    dev: str = ""
    test: str = ""
    format: str = ""  # "" detects the format from the content
    label_column: str = ""  # "" is the format's default: the last column, or upos
    token_column: int = 1


@dataclass
class ModelConfig:
    cell: str = "lstm"  # "lstm" or "gru"
    word_dim: int = 100
    lowercase: bool = True
    case_dim: int = 8
    char_encoder: str = "cnn"  # "cnn", "lstm" or "none"
    char_dim: int = 30
    char_hidden: int = 50
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.5
    word_dropout: float = 0.05
    singleton_dropout: float = 0.0  # chance that a word seen once in training is read as <unk> while training
    crf: bool = True
    scheme: str = "iobes"  # internal scheme for span labels; outputs keep the corpus's own
    vectors: str = ""  # GloVe / word2vec text / fastText .vec file
    freeze_vectors: bool = False


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 0.001
    lr_decay: float = 0.0  # learning rate at epoch e: lr / (1 + lr_decay * e)
    momentum: float = 0.9
    weight_decay: float = 0.0
    clip: float = 5.0
    patience: int = 5
    seed: int = 1
    device: str = "auto"  # "cpu", "cuda" or "auto"
    threads: int = 0  # 0 keeps torch's default
    eval_batch_size: int = 256


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out: str = "runs/model"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CHOICES = {
    ("model", "cell"): ("lstm", "gru"),
    ("model", "char_encoder"): ("cnn", "lstm", "none"),
    ("model", "scheme"): ("iob1", "iob2", "iobes"),
    ("train", "optimizer"): ("adam", "sgd"),
    ("train", "device"): ("cpu", "cuda", "auto"),
    ("data", "format"): ("", "conll", "conllu"),
}


def _coerce(value: Any, expected: type, where: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is str and isinstance(value, int) and not isinstance(value, bool) and where.endswith("label_column"):
        return str(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {expected.__name__}, got {type(value).__name__} {value!r}")
    return value


def _section(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key; known keys: {', '.join(known)}")
    types = {"int": int, "float": float, "str": str, "bool": bool}
    coerced = {key: _coerce(value, types[known[key].type], f"{where}.{key}") for key, value in values.items()}
    return cls(**coerced)


def from_dict(data: dict, source: str = "config") -> Config:
    """A validated Config from nested dicts (as read from TOML or config.json)."""
    sections = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
    for key in data:
        if key not in (*sections, "out"):
            raise ConfigError(f"{source}: unknown key {key!r}; expected [data], [model], [train] and out")
    parts = {name: _section(cls, data.get(name, {}), f"{source}: {name}") for name, cls in sections.items()}
    config = Config(**parts, out=_coerce(data.get("out", "runs/model"), str, f"{source}: out"))
    validate(config, source)
    return config


def validate(config: Config, source: str = "config") -> None:
    """Reject values outside their allowed choices or ranges, naming the key."""
    for (section, key), allowed in CHOICES.items():
        value = getattr(getattr(config, section), key)
        if value not in allowed:
            raise ConfigError(f"{source}: {section}.{key} = {value!r}; expected one of {', '.join(map(repr, allowed))}")
    positive = [("model", "word_dim"), ("model", "hidden"), ("model", "layers"), ("train", "batch_size"), ("train", "epochs")]
    for section, key in positive:
        if getattr(getattr(config, section), key) < 1:
            raise ConfigError(f"{source}: {section}.{key} must be at least 1")
    for key in ("dropout", "word_dropout"):
        if not 0.0 <= getattr(config.model, key) < 1.0:
            raise ConfigError(f"{source}: model.{key} must be in [0, 1)")
    if not 0.0 <= config.model.singleton_dropout <= 1.0:
        raise ConfigError(f"{source}: model.singleton_dropout must be in [0, 1]")


def load(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read a TOML config, apply `section.key=value` overrides, validate; paths stay as written."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config ({error.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    apply_overrides(data, overrides)
    return from_dict(data, str(path))


def apply_overrides(data: dict, overrides: list[str]) -> None:
    """Set `section.key=value` pairs; values are read as TOML (numbers, booleans), else as text."""
    for item in overrides:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw
        *sections, key = name.strip().split(".")
        target = data
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {item!r}: {section} is not a section")
        target[key] = value


def check_files(config: Config) -> None:
    """Fail before training when a named input file does not exist."""
    for key in ("train", "dev", "test"):
        path = getattr(config.data, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"data.{key}: file not found: {path}")
    if not config.data.train:
        raise ConfigError("data.train: no training file given (config [data] train, or --train)")
    if config.model.vectors and not Path(config.model.vectors).is_file():
        raise ConfigError(f"model.vectors: file not found: {config.model.vectors}")
