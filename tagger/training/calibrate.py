"""One temperature fitted on dev data so that confidences match how often the model is right.

The chain's scores are divided by a temperature T before confidences are computed (T > 1
makes them less sure, T < 1 more); the labels predicted are the same for every T. T is
chosen to minimise the log loss of the dev set's span confidences (token confidences for
token labels) and stored in the model directory's calibration.json.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tagger.batching import Encoded, bucketed_array_batches
from tagger.calibration import expected_calibration_error, judged_spans, judged_tokens, log_loss
from tagger.files import atomic_output
from tagger.model_files import CALIBRATION, HIGHEST_TEMPERATURE, LOWEST_TEMPERATURE, read_calibration
from tagger.posterior import Chain, batch_confidences

if TYPE_CHECKING:
    from tagger.predict import Predictor
    from tagger.training.data import DevData


SEARCH_STEPS = 16  # golden-section steps: the bracket shrinks to 0.05 % of its width


class LabelledItems(Protocol):
    """Encoded sentences with their gold labels (training's DevData)."""

    items: list[Encoded]
    gold: list[list[str]]
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class TemperatureFit:
    """The temperature chosen, what it was fitted on, and its effect on the dev data."""

    temperature: float
    measure: str  # "spans" or "tokens": whose confidences were fitted
    count: int  # how many of them
    files: list[str]
    log_loss_before: float
    log_loss_after: float
    ece_before: float
    ece_after: float

    def describe(self) -> str:
        return (
            f"confidence temperature {self.temperature:.3f}, fitted on {self.count:,} dev {self.measure}: "
            f"calibration error {self.ece_before:.4f} -> {self.ece_after:.4f}"
        )


def fit_temperature(predictor: Predictor, dev_sets: Sequence[LabelledItems], batch_size: int = 256) -> TemperatureFit | None:
    """The temperature that minimises the log loss of the dev confidences; None without dev predictions to judge."""
    decoded = _decode_all(predictor, dev_sets, batch_size)
    spans = predictor.task.spans

    head, symbols, scheme = predictor.engine.chain_scores(), predictor.vocab.labels.symbols, predictor.task.internal_scheme

    def judged(temperature: float) -> tuple[list[float], list[bool]]:
        confidences, correct = [], []
        for dev, batches in zip(dev_sets, decoded):
            found = [None] * len(dev.items)
            for positions, emissions, mask, labels in batches:
                chain = Chain.of(head, emissions, mask)
                for position, item in zip(positions, batch_confidences(chain, symbols, labels, scheme, 0, temperature)):
                    found[position] = item
            if spans:
                scores, right, _ = judged_spans([item.spans for item in found], dev.gold, dev.ignored)
            else:
                scores, right = judged_tokens([item.tokens for item in found], dev.gold, _labels(predictor, batches, len(found)))
            confidences += scores
            correct += right
        return confidences, correct

    before = judged(1.0)
    if not before[0]:
        return None
    best = _golden_section(
        lambda log_t: log_loss(*judged(math.exp(log_t))), math.log(LOWEST_TEMPERATURE), math.log(HIGHEST_TEMPERATURE)
    )
    temperature = math.exp(best)
    after = judged(temperature)
    return TemperatureFit(
        round(temperature, 4),
        "spans" if spans else "tokens",
        len(before[0]),
        [str(getattr(dev, "name", "")) for dev in dev_sets],
        round(log_loss(*before), 5),
        round(log_loss(*after), 5),
        round(expected_calibration_error(*before), 5),
        round(expected_calibration_error(*after), 5),
    )


def _labels(predictor: Predictor, batches: list[tuple], size: int) -> list[list[str]]:
    """The predicted token labels of one dev set, in input order."""
    symbols, labels = predictor.vocab.labels.symbols, [[] for _ in range(size)]
    for positions, _, mask, decoded in batches:
        for position, row, length in zip(positions, decoded.tolist(), mask.sum(1).tolist()):
            labels[position] = [symbols[i] for i in row[:length]]
    return labels


def _decode_all(predictor: Predictor, dev_sets: Sequence[LabelledItems], batch_size: int) -> list[list[tuple]]:
    """Per dev set, per batch: (positions, emissions, mask, decoded ids), computed once for every temperature."""
    decoded = []
    for dev in dev_sets:
        batches = []
        for batch in bucketed_array_batches(dev.items, batch_size):
            labels, emissions = predictor.engine.decode(batch, with_emissions=True)
            batches.append((batch.positions, emissions, batch.mask, labels))
        decoded.append(batches)
    return decoded


def _golden_section(objective, low: float, high: float, steps: int = SEARCH_STEPS) -> float:
    """The minimum of a unimodal function on [low, high]."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    value_a, value_b = objective(a), objective(b)
    for _ in range(steps):
        if value_a <= value_b:
            high, b, value_b = b, a, value_a
            a = high - ratio * (high - low)
            value_a = objective(a)
        else:
            low, a, value_a = a, b, value_b
            b = low + ratio * (high - low)
            value_b = objective(b)
    return (low + high) / 2


def save_calibration(directory: Path, fit: TemperatureFit, heads: dict[str, float] | None = None) -> None:
    """calibration.json: the fit of the first head; with `heads`, the temperatures of the heads after it."""
    write_calibration(directory, {**asdict(fit), **({"heads": heads} if heads else {})})


def write_calibration(directory: Path, calibration: dict) -> None:
    """calibration.json written whole or not at all."""
    import json

    with atomic_output(directory / CALIBRATION) as stream:
        json.dump(calibration, stream, indent=2)


def calibrate(
    model_dir: str | Path,
    paths: Sequence[str] = (),
    label_column: str | None = None,
    ignore_types: Sequence[str] = (),
    device: str = "auto",
    out: str | Path | None = None,
) -> TemperatureFit:
    """What `tagger calibrate` does: fit the temperature on labelled dev files and store it in the model directory,
    or in a copy of it at `out` (which a bundled model, part of the installed package, needs).

    `MODEL:HEAD` fits one head of a model with several (the other heads keep theirs). Without `paths`, the dev
    files of the model's own config (of that head), read as its training read them.
    """
    from tagger.bundled import split_head
    from tagger.errors import TaggerError
    from tagger.predict import Predictor

    directory, head = split_head(model_dir)
    whole = Predictor.load(directory, device)
    predictor = _chosen_head(whole, str(model_dir), head)
    _check_target(whole.source, out)
    dev_files = _given_files(predictor, paths, label_column, ignore_types) if paths else _config_dev_files(whole, head)
    if not dev_files:
        raise TaggerError(f"{model_dir}: its config names no dev files; give labelled FILES to calibrate on")
    fit = fit_temperature(predictor, dev_files)
    names = ", ".join(file.name for file in dev_files)
    if fit is None:
        raise TaggerError(f"{names}: the model predicts nothing there to fit a temperature on")
    _check_fit(fit, names)
    calibration = with_fit(read_calibration(whole.source) or {}, fit, head, whole.task.head_names)
    if out is None:
        write_calibration(whole.source, calibration)
    else:
        _write_copy(whole.source, Path(out), calibration)
    return fit


def _chosen_head(whole: Predictor, name: str, head: str | None) -> Predictor:
    """The predictor to fit: the model itself, or the head `MODEL:HEAD` names (which a model with several needs)."""
    from tagger.errors import TaggerError

    if head is not None:
        return whole.head(head)
    if whole.task.heads:
        heads = whole.task.head_names
        raise TaggerError(
            f"{name}: a model with several heads ({', '.join(heads)}); calibrate one at a time, as {name}:{heads[0]}"
        )
    return whole


def with_fit(calibration: dict, fit: TemperatureFit, head: str | None, head_names: Sequence[str]) -> dict:
    """calibration.json's contents with `fit` for `head`: the first head's fit is the file's own, a later head's
    temperature goes under "heads"; the other heads' temperatures are kept."""
    heads = dict(calibration.get("heads", {}))
    if head is None or head == head_names[0]:
        return {**asdict(fit), **({"heads": heads} if heads else {})}
    heads[head] = fit.temperature
    return {**(calibration or {"temperature": 1.0}), "heads": heads}


MIN_JUDGED = 50  # spans (or tokens) a temperature is fitted on, at least


def _check_fit(fit: TemperatureFit, names: str) -> None:
    """A fit on too little, or one that ran into the upper search bound, is not written (the files may be read wrongly)."""
    from tagger.errors import TaggerError

    if fit.count < MIN_JUDGED:
        raise TaggerError(f"{names}: only {fit.count} {fit.measure} to judge; a temperature needs at least {MIN_JUDGED}")
    # Spans judged all wrong flatten the confidences as far as the search goes: the mark of gold labels read from
    # another column or of a file the model cannot tag, not of a model that is merely overconfident.
    if abs(math.log(fit.temperature / HIGHEST_TEMPERATURE)) < 0.01:
        raise TaggerError(
            f"{names}: the fit ran into the search bound (temperature {fit.temperature}); the gold labels may be "
            "in another column (--label-column); nothing was written"
        )


def _check_target(source: Path, out: str | Path | None) -> None:
    """Before any work: a bundled model is never rewritten in place, and a copy never replaces anything."""
    from tagger.errors import TaggerError
    from tagger.files import inside_package

    if out is None and inside_package(source):
        raise TaggerError(f"{source.name}: a bundled model, part of the installed package; write a refitted copy with --out DIR")
    if out is not None and Path(out).exists():
        raise TaggerError(f"{out}: already exists; --out names a new directory for the refitted copy")


def _write_copy(source: Path, out: Path, calibration: dict) -> None:
    """The model directory copied to `out` with the new calibration.json, moved into place only when complete."""
    import shutil

    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, ignore=shutil.ignore_patterns("checkpoint", ".*"))
    write_calibration(partial, calibration)
    os.replace(partial, out)


def _given_files(
    predictor: Predictor, paths: Sequence[str], label_column: str | None, ignore_types: Sequence[str]
) -> list[DevData]:
    from tagger.errors import TaggerError
    from tagger.evaluate import UNKNOWN_LABEL_WARNING, foreign_label_share
    from tagger.formats import read_layout
    from tagger.training.data import DevData

    dev_files = []
    for path in paths:
        _, column, sentences = read_layout(path, predictor.layout(label_column=label_column))
        sentences = list(sentences)
        gold = [list(sentence.labels[column]) for sentence in sentences]
        foreign = foreign_label_share(predictor, gold)
        if foreign > UNKNOWN_LABEL_WARNING:
            raise TaggerError(
                f"{path}: {foreign:.0%} of the gold labels in column {column} are labels the model never predicts; "
                "name the label column with --label-column"
            )
        dev_files.append(DevData(path, predictor.encode([s.tokens for s in sentences]), gold, tuple(ignore_types)))
    return dev_files


def _config_dev_files(whole: Predictor, head: str | None) -> list[DevData]:
    """The dev files of the model's config (those of `head`, for one head of a model with several), encoded."""
    from tagger.training.data import encoded_dev, read_model_dev_sets

    dev_sets = read_model_dev_sets(whole.config, whole.task, lambda message: None, head)
    return [encoded_dev(dev, whole.vocab, whole.task) for dev in dev_sets]
