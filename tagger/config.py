"""Training configuration: dataclasses, TOML files, `--set section.key=value` overrides."""

from __future__ import annotations

import dataclasses
import math
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tagger import choices, vector_sources
from tagger.errors import TaggerError

HEAD_NAME = r"[A-Za-z][A-Za-z0-9_]{0,31}"  # a key in JSON Lines output and in CoNLL-U MISC, a parameter name's part


class ConfigError(TaggerError):
    """A config that cannot be used; the message names the key or the file."""


@dataclass
class TrainingCorpus:
    """One training file of several (`[[data.train]]` tables): how to read it and what it annotates."""

    path: str
    format: str = ""  # "" : data.format
    token_column: int = 0  # 0: data.token_column
    label_column: str = ""  # "": data.label_column
    label_map: dict[str, str] = field(default_factory=dict)  # span type (or token label) -> the model's; "O" drops it
    unannotated: list[str] = field(default_factory=list)  # span types this corpus does not annotate
    # train: sentences drawn per epoch, relative to the corpus's size (2: each twice); dev: the file's share of
    # the dev mean that chooses the kept epoch (2: it counts as two files)
    weight: float = 1.0
    scheme: str = ""  # "io": tags without prefixes (PER), each read as I-PER; label_map may name the outside tag ("0" = "O")
    # the output layer this file trains (a model with several heads: parts of speech and entities over one
    # encoder); "": the first training file's
    head: str = ""


@dataclass
class DataConfig:
    # One file, or several: a list of paths or of [[data.train]] tables (TrainingCorpus)
    train: str | list = ""
    # One file, or several (paths or tables as for train): each is scored, and early stopping follows
    # the mean of their scores, weighted by each table's weight
    dev: str | list = ""
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
    # Words seen fewer times in the training data get no row of their own and are read as <unk>
    # (their characters still count): a smaller model when the training data is large
    min_word_count: int = 1
    crf: bool = True
    scheme: str = "iobes"  # the span scheme the model learns and predicts in; outputs keep the training file's own
    vectors: str = ""  # a named source (glove-6b-50d: the tagger[glove] extra) or a GloVe / word2vec text / fastText .vec file
    # "seen": the training words' vectors are trained, every other word's stays frozen (fast);
    # "all": every pretrained word is a trained row (each step updates the whole table)
    tune_vectors: str = "seen"
    freeze_vectors: bool = False  # the trained word rows stay as initialised (the pretrained vectors)
    # A character language model's directory (tagger pretrain): each word also reads its states, frozen.
    # Its sizes are filled in when training starts; the model directory keeps a copy of its weights.
    char_lm: str = ""
    char_lm_dim: int = 0
    char_lm_hidden: int = 0


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
    max_minutes: float = 0.0  # a time budget (wall clock, dev evaluation included); 0: train for `epochs`
    max_steps: int = 0  # train this many steps with the budget's schedule (to repeat a budgeted run's plan)
    lower_share: float = 0.0  # case augmentation: the share of training sentences lowercased in each epoch
    upper_share: float = 0.0  # and the share upper-cased (drawn anew each epoch)
    keep: str = "best"  # the model's weights: the best dev epoch's, or the last epoch's ("last")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out: str = "runs/model"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CHOICES = {
    ("model", "cell"): choices.CELLS,
    ("model", "char_encoder"): choices.CHAR_ENCODERS,
    ("model", "scheme"): choices.SCHEMES,
    ("model", "tune_vectors"): choices.TUNE_VECTORS,
    ("train", "optimizer"): choices.OPTIMIZERS,
    ("train", "keep"): choices.KEEP,
    ("train", "device"): choices.DEVICES,
    ("data", "format"): ("", *choices.FORMATS),
}


def _coerce(value: Any, expected: type, where: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is str and isinstance(value, int) and not isinstance(value, bool) and where.endswith("label_column"):
        return str(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {expected.__name__}, got {type(value).__name__} {value!r}")
    return value


# The allowed range of every numeric setting: (lowest, highest, whether the highest is excluded).
MAX_SEED = 2**63 - 1
# Sizes far beyond any tagger: a config asking for more is refused before training, as loading refuses a
# model directory that declares more (a damaged or hostile one).
MODEL_LIMITS = {"word_dim": 4096, "case_dim": 256, "char_dim": 1024, "char_hidden": 4096, "hidden": 8192, "layers": 16}
RANGES: dict[tuple[str, str], tuple[float, float, bool]] = {
    ("data", "token_column"): (-1000, 1000, False),
    ("model", "word_dim"): (1, MODEL_LIMITS["word_dim"], False),
    ("model", "case_dim"): (0, MODEL_LIMITS["case_dim"], False),
    ("model", "char_dim"): (1, MODEL_LIMITS["char_dim"], False),
    ("model", "char_hidden"): (1, MODEL_LIMITS["char_hidden"], False),
    ("model", "hidden"): (1, MODEL_LIMITS["hidden"], False),
    ("model", "layers"): (1, MODEL_LIMITS["layers"], False),
    ("model", "char_lm_dim"): (0, MODEL_LIMITS["char_hidden"], False),
    ("model", "char_lm_hidden"): (0, MODEL_LIMITS["char_hidden"], False),
    ("model", "dropout"): (0.0, 1.0, True),
    ("model", "word_dropout"): (0.0, 1.0, True),
    ("model", "singleton_dropout"): (0.0, 1.0, False),
    ("model", "min_word_count"): (1, math.inf, False),
    ("train", "epochs"): (1, math.inf, False),
    ("train", "batch_size"): (1, math.inf, False),
    ("train", "lr"): (1e-12, math.inf, True),
    ("train", "lr_decay"): (0.0, math.inf, True),
    ("train", "momentum"): (0.0, 1.0, True),
    ("train", "weight_decay"): (0.0, math.inf, True),
    ("train", "clip"): (0.0, math.inf, True),
    ("train", "patience"): (1, math.inf, False),
    ("train", "seed"): (0, MAX_SEED, False),
    ("train", "threads"): (0, 4096, False),
    ("train", "eval_batch_size"): (1, math.inf, False),
    ("train", "max_minutes"): (0.0, math.inf, True),
    ("train", "max_steps"): (0, math.inf, False),
    ("train", "lower_share"): (0.0, 1.0, False),
    ("train", "upper_share"): (0.0, 1.0, False),
}


class _Origin:
    """Names where a setting came from in messages: the config file, or the --set that changed it."""

    def __init__(self, source: str, overridden: set[str] = frozenset()) -> None:
        self.source, self.overridden = source, overridden

    def error(self, name: str, problem: str) -> ConfigError:
        where = f"--set {name}" if name in self.overridden else f"{self.source}: {name}"
        return ConfigError(f"{where}: {problem}")


def _section(cls: type, values: Any, section: str, origin: _Origin) -> Any:
    if not isinstance(values, dict):
        raise origin.error(section, "expected a table of settings")
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise origin.error(f"{section}.{key}", f"unknown key; known keys: {', '.join(known)}")
    types = {"int": int, "float": float, "str": str, "bool": bool}
    coerced = {}
    for key, value in values.items():
        if (section, key) in (("data", "train"), ("data", "dev")):
            coerced[key] = _corpus_files(value, f"data.{key}", origin)
            continue
        try:
            coerced[key] = _coerce(value, types[known[key].type], key)
        except ConfigError as error:
            raise origin.error(f"{section}.{key}", str(error).partition(": ")[2]) from None
    return cls(**coerced)


def _corpus_files(value: Any, name: str, origin: _Origin) -> str | list:
    """data.train or data.dev as given: a path, or a list of paths and tables, each checked (plain data for config.json)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        raise origin.error(name, f"expected a path or a list of paths and tables, got {value!r}")
    return [_corpus_entry(entry, f"{name}[{index}]", origin, name == "data.train") for index, entry in enumerate(value)]


def _corpus_entry(entry: Any, name: str, origin: _Origin, training: bool) -> dict:
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        raise origin.error(name, f"expected a path or a table with a path, got {entry!r}")
    known = {f.name for f in dataclasses.fields(TrainingCorpus)}
    for key in entry:
        if key not in known:
            raise origin.error(f"{name}.{key}", f"unknown key; known keys: {', '.join(sorted(known))}")
    checks = {
        "format": lambda v: v in ("", *choices.FORMATS),
        "token_column": lambda v: isinstance(v, int) and not isinstance(v, bool) and -1000 <= v <= 1000,
        "label_column": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
        "label_map": lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_label(t) for k, t in v.items()),
        "unannotated": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
        "weight": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < math.inf,
        "scheme": lambda v: v in ("", "io"),
        "head": lambda v: isinstance(v, str) and (v == "" or re.fullmatch(HEAD_NAME, v) is not None),
    }
    for key, check in checks.items():
        if key in entry and not check(entry[key]):
            raise origin.error(f"{name}.{key}", f"invalid value {entry[key]!r}")
    corpus = dict(entry)
    if "label_column" in corpus:
        corpus["label_column"] = str(corpus["label_column"])
    filled = dataclasses.asdict(TrainingCorpus(**corpus))
    # a dev entry keeps its weight only when given one: the config.json of an unweighted dev stays as it was
    return filled if training or filled["weight"] != 1.0 else {key: value for key, value in filled.items() if key != "weight"}


def _is_label(value: object) -> bool:
    """A label a file may be mapped to: text without white space (a TAB or a space would break column output)."""
    return isinstance(value, str) and bool(value) and not any(character.isspace() for character in value)


def training_corpora(data: DataConfig) -> list[TrainingCorpus]:
    """The training files with every setting filled in from [data] where the entry leaves it out.

    An entry without `head` trains the first file's head.
    """
    corpora = _filled_in(data.train, lambda corpus: data)
    for corpus in corpora:
        corpus.head = corpus.head or corpora[0].head
    return corpora


def dev_corpora(data: DataConfig, train: list[TrainingCorpus] | None = None) -> list[TrainingCorpus]:
    """The dev files (none, one or several); what an entry leaves out comes from the first training file of its
    head (`train`, as training_corpora gives them), or [data] without `train`.

    Dev is read as the training files of its head are, unless its entry says otherwise.
    """
    if not data.dev:
        return []
    if not train:
        return _filled_in(data.dev, lambda corpus: data)
    first_of_head = {}
    for corpus in reversed(train):
        first_of_head[corpus.head] = corpus
    corpora = _filled_in(data.dev, lambda corpus: first_of_head.get(corpus.head or train[0].head, train[0]))
    for corpus in corpora:
        corpus.head = corpus.head or train[0].head
    return corpora


def _filled_in(value: str | list, defaults_of: Callable[[TrainingCorpus], DataConfig | TrainingCorpus]) -> list[TrainingCorpus]:
    entries = [{"path": value}] if isinstance(value, str) else value
    corpora = []
    for entry in entries:
        corpus = TrainingCorpus(**entry)
        defaults = defaults_of(corpus)
        corpus.format = corpus.format or defaults.format
        corpus.token_column = corpus.token_column or defaults.token_column
        corpus.label_column = corpus.label_column or defaults.label_column
        corpora.append(corpus)
    return corpora


def from_dict(data: dict, source: str = "config", overridden: set[str] = frozenset()) -> Config:
    """A validated Config from nested dicts (as read from TOML or config.json); `overridden` names --set keys."""
    origin = _Origin(source, overridden)
    sections = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
    for key in data:
        if key not in (*sections, "out"):
            raise origin.error(key, "unknown key; expected [data], [model], [train] and out")
    if isinstance(data.get("data"), dict) and "label_maps" in data["data"]:
        data = {**data, "data": _with_named_maps(data["data"], origin)}
    parts = {name: _section(cls, data.get(name, {}), name, origin) for name, cls in sections.items()}
    if not isinstance(data.get("out", ""), str):
        raise origin.error("out", f"expected str, got {type(data['out']).__name__}")
    config = Config(**parts, out=data.get("out", "runs/model"))
    _validate(config, origin)
    return config


def _with_named_maps(data: dict, origin: _Origin) -> dict:
    """[data] with each entry's `label_map = "NAME"` replaced by the map of that name in `[data.label_maps]` (a
    map written once for the several files that share it); the names go, so config.json holds the maps."""
    data = dict(data)
    maps = data.pop("label_maps")
    if not isinstance(maps, dict) or not all(isinstance(value, dict) for value in maps.values()):
        raise origin.error("data.label_maps", "expected tables of label maps: [data.label_maps.NAME]")
    for key in ("train", "dev"):
        if not isinstance(data.get(key), list):
            continue
        entries = []
        for index, entry in enumerate(data[key]):
            named = entry.get("label_map") if isinstance(entry, dict) else None
            if isinstance(named, str):
                if named not in maps:
                    known = ", ".join(sorted(maps)) or "none"
                    raise origin.error(f"data.{key}[{index}].label_map", f"no map {named!r} in [data.label_maps] ({known})")
                entry = {**entry, "label_map": maps[named]}
            entries.append(entry)
        data[key] = entries
    return data


def _validate(config: Config, origin: _Origin) -> None:
    for (section, key), allowed in CHOICES.items():
        value = getattr(getattr(config, section), key)
        if value not in allowed:
            raise origin.error(f"{section}.{key}", f"{value!r} is not one of {', '.join(map(repr, allowed))}")
    for (section, key), (low, high, open_high) in RANGES.items():
        value = getattr(getattr(config, section), key)
        if not _in_range(value, low, high, open_high):
            bound = f"below {high}" if open_high else f"at most {high}"
            problem = f"{value!r} is out of range: must be a finite number, at least {low}" + (
                f" and {bound}" if high != math.inf else ""
            )
            raise origin.error(f"{section}.{key}", problem)
    if config.train.lower_share + config.train.upper_share > 1:
        raise origin.error("train.upper_share", "train.lower_share and train.upper_share add up to more than 1")
    if config.train.max_minutes > 0 and config.train.max_steps > 0:
        raise origin.error("train.max_steps", "give train.max_minutes or train.max_steps, not both")
    if config.data.token_column == 0:
        raise origin.error("data.token_column", "columns are counted from 1 (as `cut -f` counts); 0 is not a column")


def _in_range(value: float, low: float, high: float, open_high: bool) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return low <= value and (value < high if open_high else value <= high)


MAX_BASE_DEPTH = 8


def load(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read a TOML config (and the configs its `base` names), apply `section.key=value` overrides, validate.

    `base = "other.toml"` (relative to the file) starts from that config: this file's tables
    are merged into its tables key by key, and its other values replace the base's.
    Paths stay as written.
    """
    data = read_toml(Path(path))
    return from_dict(data, str(path), apply_overrides(data, overrides))


MAX_CONFIG_BYTES = 1 << 20  # as config.json in a model directory


def read_toml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The settings of a config file with its `base` chain merged in."""
    where = f"{chain[-1]}: base" if chain else str(path)
    text = _config_text(path, where)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    return _with_base(path, data, chain)


def _config_text(path: Path, where: str) -> str:
    """A config file's text: a regular file of at most MAX_CONFIG_BYTES (never a FIFO, a device or an endless
    stream, which would hang or fill memory), UTF-8."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"{where}: cannot read config {path}: not a regular file")
        with open(path, "rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
        raise ConfigError(f"{where}: cannot read config {path} ({error.__class__.__name__})") from None
    except (RuntimeError, OSError) as error:  # a symbolic-link loop, among others
        raise ConfigError(f"{where}: cannot read config {path} ({error.__class__.__name__}: {error})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: config {path} is larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: cannot read config {path} (UnicodeDecodeError)") from None


def _with_base(path: Path, data: dict, chain: tuple[Path, ...]) -> dict:
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base: expected the path of another config file")
    target = path.parent / base
    try:
        seen = target.resolve() in {p.resolve() for p in (*chain, path)}
    except (RuntimeError, OSError) as error:  # a symbolic-link loop
        raise ConfigError(f"{path}: base: cannot read config {target} ({error})") from None
    if seen or len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError(f"{path}: base: {base} leads back to a config already read (or more than {MAX_BASE_DEPTH} deep)")
    return _merged(read_toml(target, (*chain, path)), data)


def _merged(base: dict, own: dict) -> dict:
    merged = dict(base)
    for key, value in own.items():
        both_tables = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both_tables else value
    return merged


def apply_overrides(data: dict, overrides: list[str]) -> set[str]:
    """Set `section.key=value` pairs; values are read as TOML (numbers, booleans), else as text.

    Returns the names set (section.key), so that messages can blame --set rather than a file.
    """
    names = set()
    for item in overrides:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw
        except RecursionError:
            raise ConfigError(f"--set {name.strip()}: the value is nested too deeply") from None
        *sections, key = name.strip().split(".")
        target = data
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {item!r}: {section} is not a section")
        target[key] = value
        names.add(name.strip())
    return names


def check_files(config: Config) -> None:
    """Fail before training when a named input file does not exist."""
    if not config.data.train:
        raise ConfigError("data.train: no training file given (config [data] train, or --train)")
    train = [("data.train", corpus.path) for corpus in training_corpora(config.data)]
    dev = [("data.dev", corpus.path) for corpus in dev_corpora(config.data)]
    named = train + dev + [("data.test", config.data.test)]
    if vector_sources.is_named(config.model.vectors):
        vector_sources.check_source(config.model.vectors)
    else:
        named.append(("model.vectors", config.model.vectors))
    for name, path in named:
        if path and Path(path).is_dir():
            raise ConfigError(f"{name}: {path} is a directory, expected a file")
        if path and not Path(path).is_file():
            if name == "model.vectors" and "/" not in path and "." not in Path(path).suffix:
                sources = ", ".join(sorted(vector_sources.NAMED_SOURCES))
                raise ConfigError(f"model.vectors: {path} is neither a file nor a named source (named sources: {sources})")
            raise ConfigError(f"{name}: file not found: {path}")
