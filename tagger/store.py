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
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from safetensors.torch import save

from tagger.bundled import OWN_TABLE, table_file
from tagger.config import Config
from tagger.files import atomic_output
from tagger.model import TaggerModel
from tagger.model_definition import (  # noqa: F401  (read_json, load_definition, uses_table: store's own API too)
    FORMAT_VERSION,
    load_definition,
    read_arrays,
    read_json,
    read_table_arrays,
    uses_table,
    weights_file,
)
from tagger.model_files import CONFIG, METRICS, VOCAB, WEIGHTS, ModelDirError  # noqa: F401
from tagger.task import Task
from tagger.vectors import VectorTable
from tagger.vocab import Vocab

VECTORS = OWN_TABLE


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
    write_json(directory / CONFIG, {"format_version": FORMAT_VERSION, "config": config.to_dict(), "task": task.to_json()})


def save_weights(directory: Path, model: TaggerModel) -> None:
    write_weights(directory / WEIGHTS, model.state_dict())


def build_model(config: Config, vocab: Vocab, task: Task) -> TaggerModel:
    """The network of a definition, untrained; each head after the first with its own labels and scheme."""
    more_heads = {name: (vocab.heads[name].symbols, task.head(name).internal_scheme) for name in task.head_names[1:]}
    return TaggerModel(config.model, len(vocab.words), len(vocab.chars), vocab.labels.symbols, task.internal_scheme, more_heads)


def save_table(path: Path, table: VectorTable) -> None:
    """A model's vectors.safetensors (or a shared table): the table in float16, its words and source in the metadata."""
    metadata = {"source": table.source, "lowercase": json.dumps(table.lowercase), "words": json.dumps(table.words)}
    data = save({"vectors": table.matrix.to(torch.float16).contiguous()}, metadata)
    with atomic_output(path, "wb") as stream:
        stream.write(data)


def read_table(path: Path, dim: int) -> VectorTable:
    """The frozen table of a model directory, checked (tagger.model_definition.read_table_arrays)."""
    table = read_table_arrays(path, dim)
    return VectorTable(table.words, torch.from_numpy(table.matrix.astype(np.float32)), table.source, table.lowercase)


def read_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file after checking names, shapes and dtypes against `expected`."""
    wanted = {name: (tuple(tensor.shape), _numpy_dtype(tensor.dtype)) for name, tensor in expected.items()}
    return {name: torch.from_numpy(array) for name, array in read_arrays(path, wanted).items()}


def _numpy_dtype(dtype: torch.dtype) -> str:
    return str(torch.empty(0, dtype=dtype).numpy().dtype)


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
    weights = weights_file(directory)
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
