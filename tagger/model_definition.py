"""Reading a model directory without torch: its definition, its weights and its frozen table as NumPy arrays.

Every check on what a directory holds lives here, so both engines accept and refuse the
same directories: config.json, vocab.json and their limits; weights whose names, shapes
and dtypes match the network's description (tagger.network), finite, in safetensors
only; a vector table of one finite float tensor with one distinct word per row. The
torch loader (tagger.store) reads through these functions and wraps the arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from safetensors import SafetensorError, safe_open

from tagger import config as config_module
from tagger.config import Config, ConfigError
from tagger.model_files import CONFIG, VOCAB, WEIGHTS, ModelDirError, read_json_object
from tagger.task import Task
from tagger.vocab import Index, Vocab

FORMAT_VERSION = 1
MAX_TABLE_ROWS = 5_000_000
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
MAX_VOCAB = 5_000_000
COMPACT_FLOATS = ("F16", "BF16")  # stored in 16 bits for a smaller file, computed in float32
_NUMPY_DTYPES = ("F64", "F32", "F16", "I64", "I32", "U8", "BOOL")  # what safetensors reads into NumPy


class TableArrays(NamedTuple):
    """A frozen vector table: its words (one per row), the vectors (rows, dim) as stored (float16 or float32), the
    source, and whether words are looked up lowercased."""

    words: list[str]
    matrix: np.ndarray
    source: str
    lowercase: bool
    index: Index  # the words' rows, built once (with the check that they are distinct)


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
    if max(len(vocab.words), len(vocab.chars), len(vocab.labels)) > MAX_VOCAB or not vocab.labels.symbols:
        raise ModelDirError(f"{directory / VOCAB}: vocabulary sizes out of range")
    _check_heads(directory, vocab, task)
    return config, vocab, task


def _check_heads(directory: Path, vocab: Vocab, task: Task) -> None:
    """A model with several heads names the same heads in config.json and vocab.json, the first with vocab's labels."""
    if list(vocab.heads) != task.head_names:
        raise ModelDirError(f"{directory}: config.json names the heads {task.head_names}, vocab.json {list(vocab.heads)}")
    if task.heads and vocab.heads[task.head_names[0]].symbols != vocab.labels.symbols:
        raise ModelDirError(f"{directory / VOCAB}: the first head's labels are not the model's labels")
    if task.heads and task.head(task.head_names[0]) != dataclasses.replace(task, heads=()):
        raise ModelDirError(f"{directory / CONFIG}: the first head's task is not the model's task")
    if any(not labels.symbols or len(labels) > MAX_VOCAB for labels in vocab.heads.values()):
        raise ModelDirError(f"{directory / VOCAB}: a head's labels are empty or too many")


def _with_old_defaults(saved: object) -> object:
    """A saved config written before model.tune_vectors existed trained every pretrained word ("all")."""
    model = saved.get("model") if isinstance(saved, dict) else None
    if isinstance(model, dict) and model.get("vectors") and "tune_vectors" not in model:
        return {**saved, "model": {**model, "tune_vectors": "all"}}
    return saved


def uses_table(config: Config) -> bool:
    """Whether a model of this config reads a frozen pretrained table beside its weights."""
    return bool(config.model.vectors) and config.model.tune_vectors == "seen"


def weights_file(directory: Path) -> Path:
    """The directory's model.safetensors; a directory holding pickled weights instead is refused by name."""
    path = directory / WEIGHTS
    if not path.is_file():
        pickles = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise ModelDirError(f"{directory}: weights are in {', '.join(pickles)} (pickle); tagger only loads {WEIGHTS}")
        raise ModelDirError(f"{directory}: not a complete model directory (no {WEIGHTS})")
    return path


def read_arrays(path: Path, expected: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as arrays, after checking them against `expected`.

    `expected`: each name's shape and NumPy dtype name; 16-bit floats where float32 is
    expected are widened. Names, shapes, dtypes and finiteness are checked.
    """
    try:
        with safe_open(str(path), framework="np") as handle:
            names = set(handle.keys())
            if names != set(expected):
                missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
                raise ModelDirError(f"{path}: tensors do not match the model (missing {missing[:3]}, unexpected {extra[:3]})")
            stored = {}
            for name in sorted(names):
                piece = handle.get_slice(name)
                shape, dtype = list(piece.get_shape()), piece.get_dtype()
                if shape != list(expected[name][0]):
                    raise ModelDirError(f"{path}: tensor {name} has shape {shape}, the config needs {list(expected[name][0])}")
                stored[name] = dtype
            arrays = {name: _read_array(handle, path, name, stored[name]) for name in sorted(names)}
    except SafetensorError as error:
        raise ModelDirError(f"{path}: not a safetensors file ({error}); tagger never loads pickled weights") from None
    for name, array in arrays.items():
        wanted = expected[name][1]
        if stored[name] in COMPACT_FLOATS and wanted == "float32":
            arrays[name] = array.astype(np.float32)
        elif array.dtype != np.dtype(wanted):
            raise ModelDirError(f"{path}: tensor {name} is {array.dtype.name}, expected {wanted}")
        if array.dtype.kind == "f" and not np.isfinite(arrays[name]).all():
            raise ModelDirError(f"{path}: tensor {name} holds NaN or infinite values; the model is unusable")
    return arrays


def _read_array(handle, path: Path, name: str, dtype: str) -> np.ndarray:
    """One tensor; bfloat16, which NumPy lacks, is read as its raw 16 bits and widened to float32."""
    if dtype == "BF16":
        return _bfloat16_array(path, name)
    if dtype not in _NUMPY_DTYPES:
        raise ModelDirError(f"{path}: tensor {name} has dtype {dtype}, which tagger does not read")
    return handle.get_tensor(name)


def _bfloat16_array(path: Path, name: str) -> np.ndarray:
    """A bfloat16 tensor as float32: its bits are the upper half of a float32's."""
    with open(path, "rb") as stream:
        header_size = int.from_bytes(stream.read(8), "little")
        entry = json.loads(stream.read(header_size))[name]
        begin, end = entry["data_offsets"]
        stream.seek(8 + header_size + begin)
        raw = np.frombuffer(stream.read(end - begin), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def read_table_arrays(path: Path, dim: int) -> TableArrays:
    """The frozen table of a model directory, checked: one float tensor (rows, dim), as many distinct words, finite.

    A table read before in this process and unchanged since (the shared table that `en-upos,en-ner`
    both read) is not read again.
    """
    if path.exists() and not path.is_file():
        raise ModelDirError(f"{path}: not a regular file (the model's frozen vector table)")
    if not path.is_file():
        raise ModelDirError(f"{path.parent}: the model was trained with pretrained vectors, but {path.name} is missing")
    status = path.stat()
    return _read_table(path.resolve(), dim, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=4)
def _read_table(path: Path, dim: int, modified: int, size: int) -> TableArrays:
    """read_table_arrays's reading, cached by the file's path, modification time and size."""
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata, names = handle.metadata() or {}, set(handle.keys())
            shape = list(handle.get_slice("vectors").get_shape()) if names == {"vectors"} else None
            if shape is None or len(shape) != 2 or shape[1] != dim or not 0 < shape[0] <= MAX_TABLE_ROWS:
                raise ModelDirError(f"{path}: expected one tensor 'vectors' of (rows, {dim}), found {sorted(names)} {shape}")
            matrix = _read_array(handle, path, "vectors", handle.get_slice("vectors").get_dtype())
        words = json.loads(metadata.get("words", "null"))
        lowercase = json.loads(metadata.get("lowercase", "null"))
    except SafetensorError as error:
        raise ModelDirError(f"{path}: not a safetensors file ({error})") from None
    except (ValueError, RecursionError) as error:
        raise ModelDirError(f"{path}: the metadata's words or lowercase are not valid JSON ({error})") from None
    if not isinstance(words, list) or len(words) != shape[0] or not set(map(type, words)) <= {str}:
        raise ModelDirError(f"{path}: the metadata must list one word (a string) per row")
    try:
        index = Index(words)
    except ValueError:
        index = None
    if index is None or not isinstance(lowercase, bool):
        raise ModelDirError(f"{path}: the metadata's words must be distinct and lowercase true or false")
    if matrix.dtype.kind != "f" or not _all_finite(matrix):
        raise ModelDirError(f"{path}: the vectors must be finite floating-point numbers")
    return TableArrays(words, matrix, metadata.get("source", path.name), lowercase, index)


def _all_finite(matrix: np.ndarray) -> bool:
    """No NaN or infinity, checked a block of rows at a time (a whole-table temporary would raise the peak memory)."""
    block = 1 << 14
    return all(bool(np.isfinite(matrix[start : start + block]).all()) for start in range(0, len(matrix), block))
