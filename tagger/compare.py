"""`tagger compare`: several models evaluated on the same files, side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tagger.errors import TaggerError
from tagger.metrics import is_span_report
from tagger.reports import text_table

if TYPE_CHECKING:
    from tagger.evaluate import EvaluateOptions

SUMMARY_KEYS = ("sentences", "tokens", "accuracy", "precision", "recall", "f1", "mode", "scheme", "per_label")


def compare_models(models: Sequence[str], files: Sequence[str], evaluate: Callable[[str, str], dict]) -> dict:
    """Each model's scores on each file: `results[m][f]` holds the summary of `evaluate(models[m], files[f])`.

    `metric` is the main score of the comparison: span F1 when every report has one, else token accuracy.
    """
    if len(models) < 2:
        raise TaggerError("compare needs at least two models (for one, use tagger evaluate)")
    results = [[_summary(evaluate(model, path)) for path in files] for model in models]
    metric = "f1" if all(is_span_report(report) for row in results for report in row) else "accuracy"
    return {"models": list(models), "files": list(files), "metric": metric, "results": results}


def compare_model_files(models: Sequence[str], files: Sequence[str], options: EvaluateOptions, device: str = "auto") -> dict:
    """`tagger compare` from Python: each model (a directory or a bundled name) loaded once and evaluated on
    every file, read the way that model was trained; the result of `compare_models`."""
    from tagger.evaluate import evaluate_file
    from tagger.predict import Predictor

    loaded: dict = {}

    def evaluate(model: str, path: str) -> dict:
        if model not in loaded:
            loaded[model] = Predictor.load(model, device)
        return evaluate_file(loaded[model], path, None, options)

    return compare_models(models, files, evaluate)


def _summary(report: dict) -> dict:
    return {key: report[key] for key in SUMMARY_KEYS if key in report}


def comparison_table(comparison: dict, markdown: bool = False) -> str:
    """Models x files: the main score, and each model's difference to the first."""
    metric, results = comparison["metric"], comparison["results"]
    header = ["model", *(f"{metric} {path}" for path in comparison["files"])]
    rows = []
    for m, model in enumerate(comparison["models"]):
        cells = []
        for f in range(len(comparison["files"])):
            value = results[m][f][metric]
            cells.append(f"{value:.2f}" + (f" ({value - results[0][f][metric]:+.2f})" if m else ""))
        rows.append([model, *cells])
    return text_table(header, rows, markdown)
