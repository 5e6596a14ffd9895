"""`tagger info`: what a model directory holds, read from its JSON files and the weights' header (no torch)."""

from __future__ import annotations

import json
import struct
from math import prod
from pathlib import Path

from tagger.bundled import resolve_model, table_file
from tagger.errors import TaggerError
from tagger.model_files import (
    CONFIG,
    METRICS,
    VOCAB,
    WEIGHTS,
    ModelDirError,
    checked_header,
    checked_metrics,
    describe_network,
    read_calibration,
    read_json_object,
)
from tagger.vocab import describe_scripts, word_scripts

MAX_HEADER_BYTES = 100 * 2**20  # a safetensors header far beyond any tagger's is damage, not a model


def _json(path: Path, required: bool = True) -> dict:
    if not required and not path.exists():
        return {}
    return read_json_object(path)


def _header(path: Path) -> dict:
    """A safetensors file's JSON header (tensor entries and `__metadata__`), without reading the tensors."""
    try:
        with open(path, "rb") as stream:
            (size,) = struct.unpack("<Q", stream.read(8))
            if size > MAX_HEADER_BYTES:
                raise TaggerError(f"{path}: not a safetensors file (header of {size:,} bytes)")
            return json.loads(stream.read(size))
    except RecursionError:
        raise TaggerError(f"{path}: the safetensors header is nested too deeply") from None
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as error:
        raise TaggerError(f"{path}: not a readable safetensors file ({error})") from None


def weight_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor names and shapes from a safetensors file's header, without reading the tensors."""
    return checked_header(_header(path), path)


def vectors_info(directory: Path, settings: dict) -> dict | None:
    """The pretrained vectors a model was trained with: source, which rows were trained, the frozen table it reads."""
    if not settings.get("vectors"):
        return None
    tuned = settings.get("tune_vectors", "all")
    entry = {"source": settings["vectors"], "tune_vectors": tuned, "frozen": settings.get("freeze_vectors", False)}
    if tuned != "seen":
        return entry
    path = table_file(directory)
    if not path.is_file():
        return {**entry, "table": str(path), "table_words": None, "table_bytes": None}
    shape = checked_header(_header(path), path).get("vectors", [None])
    return {**entry, "table": str(path), "table_words": shape[0] if shape else None, "table_bytes": path.stat().st_size}


def model_info(directory: str | Path) -> dict:
    """The task, labels (with training counts when recorded), sizes, data, scores and versions of a model."""
    directory = resolve_model(directory)
    saved = _checked_config(directory / CONFIG)
    vocab = _json(directory / VOCAB)
    metrics = checked_metrics(_json(directory / METRICS, required=False), directory / METRICS)
    config, task = saved["config"], saved["task"]
    weights = directory / WEIGHTS
    shapes = weight_shapes(weights) if weights.is_file() else {}
    counts = metrics.get("label_counts", {})
    return {
        "model": str(directory),
        "task": {**task, "token_column": config.get("data", {}).get("token_column", 1)},
        "labels": counts or {label: None for label in _corpus_labels(vocab.get("labels", []), task)},
        "head_labels": {name: len(labels) for name, labels in (vocab.get("heads") or {}).items()},
        "model_settings": config.get("model", {}),
        "sizes": {
            "words": len(vocab.get("words", [])),
            "characters": len(vocab.get("chars", [])),
            "labels": len(vocab.get("labels", [])),
            "parameters": sum(prod(shape) for shape in shapes.values()),
            "weights_bytes": weights.stat().st_size if weights.is_file() else None,
        },
        "scripts": word_scripts(symbol for symbol in vocab.get("words", []) if isinstance(symbol, str)),
        "vectors": vectors_info(directory, config.get("model", {})),
        "training_data": {key: _paths(config.get("data", {}).get(key)) for key in ("train", "dev", "test")},
        "best_dev": {
            key: metrics.get(key) for key in ("best_dev_metric", "best_dev_score", "best_epoch", "epochs_run", "kept_epoch")
        },
        "test": metrics.get("test"),
        "calibration": read_calibration(directory),
        "versions": metrics.get("versions"),
    }


def _checked_config(path: Path) -> dict:
    """config.json, its config and task checked as loading a model checks them (without building one)."""
    from tagger import config as config_module
    from tagger.task import Task

    saved = _json(path)
    if not isinstance(saved.get("config"), dict) or not isinstance(saved.get("task"), dict):
        raise ModelDirError(f"{path}: expected the objects config and task")
    try:
        config_module.from_dict(saved["config"], str(path))
        Task.from_json(saved["task"])
    except config_module.ConfigError as error:  # its message names the file already
        raise ModelDirError(str(error)) from None
    except (ValueError, TypeError) as error:
        raise ModelDirError(f"{path}: task: {error}") from None
    return saved


def _paths(value: object) -> str | None:
    """A data setting as text: one path, or several training files (paths or tables) joined by ' + '."""
    if isinstance(value, list):
        return " + ".join(str(entry.get("path") if isinstance(entry, dict) else entry) for entry in value) or None
    return str(value) if value else None


def _corpus_labels(internal: list[str], task: dict) -> list[str]:
    """The labels as the training file writes them (span types in its scheme), else the model's own."""
    if not task.get("corpus_scheme"):
        return internal
    from tagger import schemes

    return schemes.span_labels(internal, task["corpus_scheme"])


def _heads_lines(task: dict, label_counts: dict[str, int]) -> list[str]:
    """A model with several heads: each head's label column, scheme and label count (the task line is the first's)."""
    if not task.get("heads"):
        return []
    heads = []
    for head in task["heads"]:
        own = head["task"]
        kind = f"span scheme {own['corpus_scheme']}" if own.get("corpus_scheme") else "token labels"
        where = f"column {own['label_column']} of {own['format']} files"
        heads.append(f"{head['name']} ({where}, {kind}, {label_counts.get(head['name'])} labels)")
    return ["heads        " + "; ".join(heads)]


def format_info(info: dict) -> str:
    """`tagger info` for people."""
    task, sizes, best = info["task"], info["sizes"], info["best_dev"]
    scheme = f"{task.get('corpus_scheme')} (learnt as {task.get('internal_scheme')})" if task.get("corpus_scheme") else "none"
    lines = [
        f"model        {info['model']}",
        f"task         label column {task.get('label_column')} of {task.get('format')} files, token column "
        f"{task.get('token_column')}; span scheme {scheme}",
        f"network      {describe_network(info['model_settings'])}",
        f"sizes        {sizes['parameters']:,} parameters ({(sizes['weights_bytes'] or 0) / 2**20:.1f} MiB); "
        f"{sizes['words']:,} words, {sizes['characters']:,} characters, {sizes['labels']} labels",
        f"scripts      {describe_scripts(info['scripts'])}",
        *_vectors_lines(info["vectors"]),
        *_heads_lines(info["task"], info.get("head_labels", {})),
        "trained on   " + ", ".join(f"{key} {path}" for key, path in info["training_data"].items() if path),
    ]
    if best.get("best_epoch") is not None:
        lines.append(
            f"best dev     {best['best_dev_metric']} {best['best_dev_score']:.2f} at epoch {best['best_epoch']} "
            f"of {best['epochs_run']}"
            + (f'; the weights are epoch {best["kept_epoch"]}\'s (train.keep = "last")' if best.get("kept_epoch") else "")
        )
    if info["test"]:
        scores = "  ".join(f"{key} {value:.2f}" for key, value in info["test"].items() if key != "file")
        lines.append(f"test         {info['test']['file']}: {scores}")
    lines.append(_calibration_line(info.get("calibration")))
    if info["versions"]:
        lines.append("versions     " + ", ".join(f"{key} {value}" for key, value in info["versions"].items() if value))
    lines.append("labels       " + ", ".join(f"{label} {count:,}" if count else label for label, count in info["labels"].items()))
    return "\n".join(lines)


def _calibration_line(calibration: dict | None) -> str:
    if not calibration:
        return "confidence   untempered (no calibration.json: fit one with tagger calibrate)"
    fitted = ""
    numbers = [calibration.get(key) for key in ("ece_before", "ece_after")]
    if isinstance(calibration.get("count"), int) and all(isinstance(value, int | float) for value in numbers):
        fitted = (
            f", fitted on {calibration['count']:,} dev {calibration.get('measure', '')}: calibration error "
            f"{numbers[0]:.4f} -> {numbers[1]:.4f}"
        )
    return f"confidence   temperature {calibration['temperature']:.3f}{fitted}"


def _vectors_lines(vectors: dict | None) -> list[str]:
    if not vectors:
        return []
    if vectors["tune_vectors"] != "seen":
        trained = "kept as initialised" if vectors["frozen"] else "all fine-tuned"
        return [f"vectors      {vectors['source']}: every pretrained word in the model's rows, {trained}"]
    if vectors["table_words"] is None:
        return [f"vectors      {vectors['source']}: the training words trained; frozen table {vectors['table']} MISSING"]
    rows = "kept as initialised" if vectors["frozen"] else "trained"
    return [
        f"vectors      {vectors['source']}: the training words' rows {rows}; other words from a frozen table of "
        f"{vectors['table_words']:,} words, {Path(vectors['table']).name} ({vectors['table_bytes'] / 2**20:.1f} MiB)"
    ]
