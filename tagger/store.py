"""The model directory: JSON and safetensors only, written atomically, loaded without running code.

config.json       the training config and the task (label column, format, schemes)
vocab.json        words, characters, labels
model.safetensors the weights
metrics.json      best dev score, epoch, training time, versions
vectors.safetensors  the frozen pretrained table (float16) and its words, for a model trained with
                  model.vectors (tune_vectors "seen"); a bundled model may name a shared table
                  in vectors.json instead
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from tagger import config as config_module
from tagger.bundled import OWN_TABLE, table_file
from tagger.config import Config, ConfigError
from tagger.files import atomic_output
from tagger.model import TaggerModel
from tagger.model_files import CONFIG, METRICS, VOCAB, WEIGHTS, ModelDirError, read_json_object
from tagger.task import Task
from tagger.vectors import VectorTable
from tagger.vocab import Vocab

FORMAT_VERSION = 1
VECTORS = OWN_TABLE
MAX_TABLE_ROWS = 5_000_000
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
# Sizes far beyond any tagger; a larger declared size is a damaged or hostile directory.
LIMITS = {"word_dim": 4096, "case_dim": 256, "char_dim": 1024, "char_hidden": 4096, "hidden": 8192, "layers": 16}
MAX_VOCAB = 5_000_000


def write_json(path: Path, data: dict) -> None:
    with atomic_output(path) as stream:
        json.dump(data, stream, indent=2, ensure_ascii=False, allow_nan=False)
        stream.write("\n")


def write_weights(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """A safetensors file, written atomically like every other output."""
    data = save({name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()})
    with atomic_output(path, "wb") as stream:
        stream.write(data)


def save_definition(directory: Path, config: Config, vocab: Vocab, task: Task) -> None:
    """config.json and vocab.json: what is needed to rebuild the network."""
    directory.mkdir(parents=True, exist_ok=True)
    save_config(directory, config, task)
    write_json(directory / VOCAB, vocab.to_json())


def save_config(directory: Path, config: Config, task: Task) -> None:
    write_json(directory / CONFIG, {"format_version": FORMAT_VERSION, "config": config.to_dict(), "task": asdict(task)})


def save_weights(directory: Path, model: TaggerModel) -> None:
    write_weights(directory / WEIGHTS, model.state_dict())


def build_model(config: Config, vocab: Vocab, task: Task) -> TaggerModel:
    return TaggerModel(config.model, len(vocab.words), len(vocab.chars), vocab.labels.symbols, task.internal_scheme)


def read_json(path: Path) -> dict:
    """A JSON object from a model or run directory, read with its size and depth limits; damage is one line."""
    return read_json_object(path)


def load_definition(directory: Path) -> tuple[Config, Vocab, Task]:
    """Config, vocabulary and task of a model directory, validated before anything is built."""
    if not directory.is_dir():
        raise ModelDirError(f"{directory}: no such model directory")
    data = read_json(directory / CONFIG)
    if set(data) != {"format_version", "config", "task"} or data.get("format_version") != FORMAT_VERSION:
        raise ModelDirError(f"{directory / CONFIG}: expected keys format_version={FORMAT_VERSION}, config and task")
    try:
        config = config_module.from_dict(_with_old_defaults(data["config"]), str(directory / CONFIG))
    except ConfigError as error:  # its message names the file already
        raise ModelDirError(str(error)) from None
    try:
        task = Task.from_json(data["task"])
    except (ValueError, TypeError) as error:
        raise ModelDirError(f"{directory / CONFIG}: {error}") from None
    try:
        vocab = Vocab.from_json(read_json(directory / VOCAB))
    except (ValueError, TypeError) as error:
        raise ModelDirError(f"{directory / VOCAB}: {error}") from None
    for key, limit in LIMITS.items():
        if getattr(config.model, key) > limit:
            raise ModelDirError(f"{directory / CONFIG}: model.{key} = {getattr(config.model, key)} exceeds {limit}")
    if max(len(vocab.words), len(vocab.chars), len(vocab.labels)) > MAX_VOCAB or not vocab.labels.symbols:
        raise ModelDirError(f"{directory / VOCAB}: vocabulary sizes out of range")
    return config, vocab, task


def _with_old_defaults(saved: object) -> object:
    """A saved config written before model.tune_vectors existed trained every pretrained word ("all")."""
    model = saved.get("model") if isinstance(saved, dict) else None
    if isinstance(model, dict) and model.get("vectors") and "tune_vectors" not in model:
        return {**saved, "model": {**model, "tune_vectors": "all"}}
    return saved


def uses_table(config: Config) -> bool:
    """Whether a model of this config reads a frozen pretrained table beside its weights."""
    return bool(config.model.vectors) and config.model.tune_vectors == "seen"


def save_table(path: Path, table: VectorTable) -> None:
    """A model's vectors.safetensors (or a shared table): the table in float16, its words and source in the metadata."""
    metadata = {"source": table.source, "lowercase": json.dumps(table.lowercase), "words": json.dumps(table.words)}
    data = save({"vectors": table.matrix.to(torch.float16).contiguous()}, metadata)
    with atomic_output(path, "wb") as stream:
        stream.write(data)


def read_table(path: Path, dim: int) -> VectorTable:
    """The frozen table of a model directory, checked: one float tensor (rows, dim), as many distinct words, finite."""
    if not path.is_file():
        raise ModelDirError(f"{path.parent}: the model was trained with pretrained vectors, but {path.name} is missing")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata, names = handle.metadata() or {}, set(handle.keys())
            shape = list(handle.get_slice("vectors").get_shape()) if names == {"vectors"} else None
            if shape is None or len(shape) != 2 or shape[1] != dim or not 0 < shape[0] <= MAX_TABLE_ROWS:
                raise ModelDirError(f"{path}: expected one tensor 'vectors' of (rows, {dim}), found {sorted(names)} {shape}")
            matrix = handle.get_tensor("vectors")
        words = json.loads(metadata.get("words", "null"))
        lowercase = json.loads(metadata.get("lowercase", "null"))
    except SafetensorError as error:
        raise ModelDirError(f"{path}: not a safetensors file ({error})") from None
    except (ValueError, RecursionError) as error:
        raise ModelDirError(f"{path}: the metadata's words or lowercase are not valid JSON ({error})") from None
    if not isinstance(words, list) or len(words) != shape[0] or not all(isinstance(word, str) for word in words):
        raise ModelDirError(f"{path}: the metadata must list one word (a string) per row")
    if len(set(words)) != len(words) or not isinstance(lowercase, bool):
        raise ModelDirError(f"{path}: the metadata's words must be distinct and lowercase true or false")
    if not matrix.is_floating_point() or not bool(torch.isfinite(matrix).all()):
        raise ModelDirError(f"{path}: the vectors must be finite floating-point numbers")
    return VectorTable(words, matrix.to(torch.float32), metadata.get("source", path.name), lowercase)


def _check_weights_file(directory: Path) -> Path:
    path = directory / WEIGHTS
    if not path.is_file():
        pickles = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise ModelDirError(f"{directory}: weights are in {', '.join(pickles)} (pickle); tagger only loads {WEIGHTS}")
        raise ModelDirError(f"{directory}: not a complete model directory (no {WEIGHTS})")
    return path


def read_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file after checking names, shapes and dtypes against `expected`."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            names = set(handle.keys())
            if names != set(expected):
                missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
                raise ModelDirError(f"{path}: tensors do not match the model (missing {missing[:3]}, unexpected {extra[:3]})")
            for name in names:
                shape = list(handle.get_slice(name).get_shape())
                if shape != list(expected[name].shape):
                    raise ModelDirError(f"{path}: tensor {name} has shape {shape}, the config needs {list(expected[name].shape)}")
        tensors = load_file(str(path))
    except SafetensorError as error:
        raise ModelDirError(f"{path}: not a safetensors file ({error}); tagger never loads pickled weights") from None
    for name, tensor in list(tensors.items()):
        if _is_compact_float(tensor, expected[name]):
            tensors[name] = tensor.to(expected[name].dtype)
        elif tensor.dtype != expected[name].dtype:
            raise ModelDirError(f"{path}: tensor {name} is {tensor.dtype}, expected {expected[name].dtype}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelDirError(f"{path}: tensor {name} holds NaN or infinite values; the model is unusable")
    return tensors


def _is_compact_float(stored: torch.Tensor, expected: torch.Tensor) -> bool:
    """Weights stored in 16 bits for a smaller file (as bundled models are) and computed in the model's precision."""
    return stored.dtype in (torch.float16, torch.bfloat16) and expected.dtype == torch.float32


class LoadedModel(NamedTuple):
    """A model directory, rebuilt."""

    config: Config
    vocab: Vocab
    task: Task
    model: TaggerModel


def load_model(directory: str | Path, device: torch.device | None = None) -> LoadedModel:
    """Rebuild a trained model from its directory (no pickle, no imports named by the files)."""
    directory = Path(directory)
    config, vocab, task = load_definition(directory)
    weights = _check_weights_file(directory)
    model = build_model(config, vocab, task)
    model.load_state_dict(read_weights(weights, model.state_dict()))
    if uses_table(config):
        attach_table(model, vocab, read_table(table_file(directory), config.model.word_dim))
    model.eval()
    if device is not None:
        model.to(device)
    return LoadedModel(config, vocab, task, model)


def attach_table(model: TaggerModel, vocab: Vocab, table: VectorTable, table_rows: torch.Tensor | None = None) -> None:
    """Words outside the trained ones get their pretrained vectors (`table_rows`: for training, see WordEmbedding)."""
    vocab.attach_table(table.words, table.lowercase)
    model.words.attach_table(table.matrix, table_rows)


def save_metrics(directory: Path, metrics: dict) -> None:
    write_json(directory / METRICS, metrics)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files and directories left behind by a run that was killed while writing."""
    for path in directory.glob(".*.tmp"):
        path.unlink(missing_ok=True)
    for path in directory.glob(".checkpoint.*"):
        shutil.rmtree(path, ignore_errors=True)


def replace_directory(temporary: Path, target: Path) -> None:
    """Move a fully written directory into place; the previous one is removed only afterwards."""
    previous = target.with_name(target.name + ".old")
    if previous.exists():
        shutil.rmtree(previous)
    if target.exists():
        os.replace(target, previous)
    os.replace(temporary, target)
    if previous.exists():
        shutil.rmtree(previous)
