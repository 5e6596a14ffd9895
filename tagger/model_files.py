"""The files of a model directory, read with limits, and the checks on what `info` shows (torch-free).

A model directory may come from a stranger: each JSON file is read up to a size limit
(an endless stream such as a link to /dev/zero stops there), parsed with its nesting
depth bounded, and its fields are checked for type before anything uses them. Every
problem is one `ModelDirError` naming the file and the field.
"""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path
from typing import Any

from tagger.errors import TaggerError

CONFIG, VOCAB, WEIGHTS, METRICS, METRICS_LOG = "config.json", "vocab.json", "model.safetensors", "metrics.json", "metrics.jsonl"
CALIBRATION = "calibration.json"  # the confidence temperature fitted on dev
MAX_JSON_BYTES = {CONFIG: 1 << 20, VOCAB: 128 << 20, METRICS: 16 << 20}  # vocab: 5 million words
MAX_DEPTH = 16  # tagger writes at most 5 levels


class ModelDirError(TaggerError):
    """A model directory that is missing, incomplete, damaged or unsafe."""


def read_json_object(path: Path, max_bytes: int | None = None) -> dict:
    """A JSON object from a model or run directory, at most `max_bytes` long and MAX_DEPTH deep."""
    limit = max_bytes if max_bytes is not None else MAX_JSON_BYTES.get(path.name, 1 << 20)
    try:
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the reader forever
            raise ModelDirError(f"{path}: not a regular file")
        with open(path, "rb") as stream:
            raw = stream.read(limit + 1)
    except FileNotFoundError:
        raise ModelDirError(f"{path.parent}: not a complete model directory (no {path.name})") from None
    except OSError as error:
        raise ModelDirError(f"{path}: cannot read ({error.strerror or error})") from None
    if len(raw) > limit:
        raise ModelDirError(f"{path}: larger than {limit:,} bytes, the most a model directory's {path.name} may be")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ModelDirError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from None
    except RecursionError:
        raise ModelDirError(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as error:  # not JSON, or an integer of more digits than Python converts
        raise ModelDirError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ModelDirError(f"{path}: expected a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise ModelDirError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    return data


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion limit)."""
    if not isinstance(value, dict | list):
        return 0
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        # only the containers are queued: a vocabulary's 100,000 strings are looked at once, not queued
        pending.extend([(child, level + 1) for child in children if isinstance(child, dict | list)])
    return deepest


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# metrics.json: each field `info` and the HTML report read, with what it must be
_METRICS_FIELDS = {
    "best_dev_metric": (lambda value: isinstance(value, str), "a string"),
    "best_dev_score": (lambda value: value is None or _is_number(value), "a finite number or null"),
    "best_epoch": (lambda value: value is None or _is_count(value), "a whole number or null"),
    "epochs_run": (_is_count, "a whole number"),
    "label_counts": (
        lambda value: isinstance(value, dict) and all(_is_count(count) for count in value.values()),
        "an object of label counts",
    ),
    "test": (
        lambda value: (
            value is None or (isinstance(value, dict) and all(_is_number(item) for key, item in value.items() if key != "file"))
        ),
        "null or an object of scores",
    ),
    "versions": (
        lambda value: isinstance(value, dict) and all(item is None or isinstance(item, str) for item in value.values()),
        "an object of version strings",
    ),
}


def checked_metrics(data: dict, path: Path) -> dict:
    """metrics.json after checking the type of each field it shows; a wrong one names the field."""
    for key, (is_valid, expected) in _METRICS_FIELDS.items():
        if key in data and not is_valid(data[key]):
            raise ModelDirError(f"{path}: {key} must be {expected}, found {json.dumps(data[key])[:60]}")
    return data


def checked_header(header: Any, path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header, after checking its entries and metadata."""
    if not isinstance(header, dict):
        raise ModelDirError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(value, str) for value in metadata.values()):
        raise ModelDirError(f"{path}: the safetensors metadata must map names to strings")
    shapes = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(_is_count(size) for size in shape):
            raise ModelDirError(f"{path}: tensor {name!r} has no valid shape (a list of whole numbers)")
        shapes[name] = shape
    return shapes


MAX_LOG_BYTES = 64 << 20  # metrics.jsonl: one short line per epoch


def _is_epoch_record(record: Any) -> bool:
    if not isinstance(record, dict) or not (_is_count(record.get("epoch")) and _is_number(record.get("train_loss"))):
        return False
    dev = record.get("dev", {})
    best = record.get("best_epoch", record["epoch"])
    return isinstance(dev, dict) and all(_is_number(value) for value in dev.values()) and _is_count(best)


def describe_network(settings: dict) -> str:
    """The one summary in words of a model's network, from config.json's model settings (info, bundle cards)."""
    head = "CRF" if settings.get("crf", True) else "softmax"
    chars = settings.get("char_encoder", "cnn")
    characters = f"characters {chars} {settings.get('char_hidden')}" if chars != "none" else "no characters"
    if settings.get("char_lm_hidden"):
        characters += f", character LM {settings.get('char_lm_hidden')} x 2 (frozen)"
    return (
        f"{settings.get('layers', 1)} x Bi{str(settings.get('cell', 'lstm')).upper()} {settings.get('hidden')}, {head}; "
        f"words {settings.get('word_dim')}d, case {settings.get('case_dim')}d, {characters}"
    )


def is_model_directory(directory: Path) -> bool:
    """Whether `directory` holds a model's definition (config.json and vocab.json), trained or still training."""
    return (directory / CONFIG).is_file() and (directory / VOCAB).is_file()


def append_epoch_record(path: Path, record: dict) -> None:
    """One epoch's record at the end of a metrics.jsonl."""
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def truncate_epoch_records(path: Path, last_epoch: int) -> None:
    """Drop records of epochs after `last_epoch` (and a line cut short by a crash): a resumed run redoes them."""
    if not path.exists():
        return
    records, _ = epoch_records(path)
    path.write_text("".join(json.dumps(record) + "\n" for record in records if record["epoch"] <= last_epoch), encoding="utf-8")


def epoch_records(path: Path) -> tuple[list[dict], int]:
    """The valid per-epoch records of a metrics.jsonl, by epoch, and how many lines were skipped as damaged.

    A line that is not JSON, not an object, or whose epoch, loss, dev scores or best epoch
    have the wrong type is skipped (and counted), as is a repeated epoch; a file beyond
    MAX_LOG_BYTES is read up to there.
    """
    if not path.is_file():
        return [], 0
    with open(path, "rb") as stream:
        raw = stream.read(MAX_LOG_BYTES)
    records: dict[int, dict] = {}
    skipped = 0
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if _is_epoch_record(record) and record["epoch"] not in records:
            records[record["epoch"]] = record
        elif line.strip():
            skipped += 1
    return [records[epoch] for epoch in sorted(records)], skipped


LOWEST_TEMPERATURE, HIGHEST_TEMPERATURE = 0.25, 8.0  # the temperatures calibration searches and loading accepts


def read_calibration(directory: Path) -> dict | None:
    """calibration.json's contents, checked, or None where the model has none (confidences untempered)."""
    path = Path(directory) / CALIBRATION
    if not path.exists():
        return None
    data = read_json_object(path)
    temperature = data.get("temperature")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ModelDirError(f"{path}: temperature must be a number")
    if not LOWEST_TEMPERATURE <= temperature <= HIGHEST_TEMPERATURE:
        raise ModelDirError(f"{path}: temperature {temperature} is outside {LOWEST_TEMPERATURE} to {HIGHEST_TEMPERATURE}")
    heads = data.get("heads", {})
    if not isinstance(heads, dict) or not all(
        isinstance(value, int | float) and not isinstance(value, bool) and LOWEST_TEMPERATURE <= value <= HIGHEST_TEMPERATURE
        for value in heads.values()
    ):
        raise ModelDirError(
            f"{path}: heads must map head names to temperatures from {LOWEST_TEMPERATURE} to {HIGHEST_TEMPERATURE}"
        )
    return data
