"""Will a model fit? The parameter count of a config and the memory its training needs, before allocating.

Training holds each parameter four times in float32 (the weight, its gradient and Adam's
two moments), so a setting such as `model.hidden = 100000` is refused with one line
instead of failing deep inside torch's allocator.
"""

from __future__ import annotations

import resource
from pathlib import Path

from tagger.config import ModelConfig
from tagger.errors import TaggerError

COPIES_IN_TRAINING = 4  # weight, gradient, Adam's first and second moments
FLOAT_BYTES = 4
HEADROOM = 0.8  # of the available memory a model may take: batches and activations need the rest


def parameter_parts(model: ModelConfig, words: int, chars: int, labels: int) -> dict[str, int]:
    """Approximate parameter counts of the model's parts, keyed by the setting that sizes each most."""
    char_out = {"cnn": model.char_hidden, "lstm": 2 * model.char_hidden, "none": 0}[model.char_encoder]
    char_net = {
        "cnn": model.char_dim * model.char_hidden * 3,
        "lstm": 8 * model.char_hidden * (model.char_dim + model.char_hidden),
    }
    gates = 4 if model.cell == "lstm" else 3
    recurrent, width = 0, model.word_dim + model.case_dim + char_out
    for _ in range(model.layers):
        recurrent += 2 * gates * model.hidden * (width + model.hidden + 2)
        width = 2 * model.hidden
    from_words = 2 * gates * model.hidden * model.word_dim  # the first layer's input weights that read word vectors
    return {
        "model.word_dim": words * model.word_dim + from_words,
        "model.char_hidden": chars * model.char_dim + char_net.get(model.char_encoder, 0),
        "model.hidden": recurrent - from_words + 2 * model.hidden * labels + labels * labels,
    }


def available_bytes() -> int | None:
    """Memory this process can still take: MemAvailable, or less under an address-space limit (ulimit -v)."""
    fields = _proc_fields(Path("/proc/meminfo"))
    available = fields.get("MemAvailable")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _proc_fields(Path("/proc/self/status")).get("VmSize", 0)
        left = max(soft - used, 0)
        available = left if available is None else min(available, left)
    return available


def _proc_fields(path: Path) -> dict[str, int]:
    """`Name: N kB` lines of a /proc file, in bytes (empty where there is no /proc)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024
    return fields


def check_fits(model: ModelConfig, words: int, chars: int, labels: int) -> None:
    """Refuse a config whose training would not fit in the memory available, naming the setting to lower."""
    parts = parameter_parts(model, words, chars, labels)
    needed = sum(parts.values()) * COPIES_IN_TRAINING * FLOAT_BYTES
    available = available_bytes()
    if available is None or needed <= HEADROOM * available:
        return
    largest = max(parts, key=parts.get)
    raise TaggerError(
        f"the model would have about {sum(parts.values()):,} parameters, {needed / 2**30:,.1f} GiB to train "
        f"(weights, gradients, optimizer), and {available / 2**30:,.1f} GiB are available: lower {largest} "
        f"(now {getattr(model, largest.split('.')[1]):,})"
    )
