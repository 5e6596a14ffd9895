"""One self-contained HTML page for an evaluation or a comparison: tables, inline SVG charts, examples.

The page is rendered from the same JSON as `--json` (`evaluate` reports, `tagger info`
of the model, its metrics.jsonl). Every figure in a table cell carries `data-key`, the
JSON path of the value it shows (`["reports", 0, "f1"]`), so a test can check each one.
No scripts, no external files: it opens offline and prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from tagger import charts
from tagger.files import atomic_output
from tagger.info import model_info
from tagger.metrics import is_span_report
from tagger.model_files import METRICS_LOG, epoch_records
from tagger.schemes import extract_spans
from tagger.span_errors import GOLD_SIDE

SPAN_COLOURS = ("#cfe2ff", "#ffe5b4", "#d1f0d6", "#f8d0d0", "#e4d8f5", "#f0e0cc", "#fbd9ee", "#e2e2e2")

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin-top: 22px; }
table { border-collapse: collapse; margin: 8px 0 14px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f5f5f5; }
td.better { color: #1a7f37; } td.worse { color: #c62828; }
.chart svg { width: 100%; height: auto; }
.note { color: #666; font-size: 12px; }
.example { margin: 6px 0 10px; padding: 6px 10px; border-left: 3px solid #ddd; }
.example .line { margin: 2px 0; word-wrap: break-word; }
.side { display: inline-block; width: 72px; color: #666; font-size: 12px; }
mark { padding: 1px 2px; border-radius: 3px; }
mark sub, .error sub { font-size: 10px; color: #555; }
.error { background: #f8d0d0; padding: 1px 2px; border-radius: 3px; }
.card td:first-child { color: #666; white-space: nowrap; }
@media print { body { max-width: none; } h2 { page-break-before: auto; } .example { page-break-inside: avoid; } }
"""


def _key(path: Sequence) -> str:
    return escape(json.dumps(list(path)), quote=True)


def _number(value: float | int | None, path: Sequence, digits: int = 2) -> str:
    if value is None:
        return '<td class="num">-</td>'
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
    return f'<td class="num" data-key="{_key(path)}">{text}</td>'


def _inline(value: int, path: Sequence) -> str:
    return f'<span data-key="{_key(path)}">{value:,}</span>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th{' class=num' if i >= numeric_from else ''}>{escape(h)}</th>" for i, h in enumerate(header))
    return f"<table><tr>{head}</tr>" + "".join(f"<tr>{''.join(row)}</tr>" for row in rows) + "</table>"


def _text(value: object) -> str:
    return f"<td>{escape(str(value))}</td>"


def _chart(svg: str) -> str:
    return f'<div class="chart">{svg}</div>'


def _summary(report: dict, at: list, scheme: str | None) -> str:
    spans = is_span_report(report)
    header = ["sentences", "tokens", "accuracy", *(["precision", "recall", "F1"] if spans else []), "tokens/s", "scorer"]
    cells = [_number(report["sentences"], at + ["sentences"]), _number(report["tokens"], at + ["tokens"])]
    cells.append(_number(report["accuracy"], at + ["accuracy"]))
    if spans:
        cells += [_number(report[key], at + [key]) for key in ("precision", "recall", "f1")]
    speed = report.get("tokens_per_s")
    cells.append(_number(round(speed), at + ["tokens_per_s"]) if speed is not None else _text("-"))
    scorer = report.get("mode", "token accuracy") + (f", scheme {scheme}" if spans and scheme else "")
    cells.append(_text(scorer))
    return _table(header, [cells], numeric_from=0)


def _per_label(report: dict, at: list) -> str:
    spans = is_span_report(report)
    rows = [
        [_text(label), *(_number(row[key], at + ["per_label", label, key]) for key in ("precision", "recall", "f1", "support"))]
        for label, row in report["per_label"].items()
    ]
    rows += [
        [
            _text(f"{name} average"),
            *(_number(row[key], at + ["averages", name, key]) for key in ("precision", "recall", "f1", "support")),
        ]
        for name, row in report.get("averages", {}).items()
    ]
    title = "Per type (spans)" if spans else "Per label (tokens)"
    chart = _chart(charts.score_bars(report["per_label"])) if report["per_label"] else ""
    return f"<h3>{title}</h3>" + _table(["label", "precision", "recall", "F1", "support"], rows) + chart


def _span_errors(report: dict, at: list) -> str:
    errors, where = report["span_errors"], at + ["span_errors"]
    spans = report.get("spans", {})
    rows = []
    for side in ("gold", "predicted"):
        for label, sides in [("all types", errors), *errors["per_type"].items()]:
            path = where + ([side] if label == "all types" else ["per_type", label, side])
            rows.append([_text(side), _text(label), *_category_cells(sides[side], path)])
    categories = ("correct", "wrong type", "wrong boundaries", "wrong both", "missed / spurious")
    header = ["side", "type", *categories]
    reconcile = ""
    if spans:
        counts = {key: _inline(spans[key], at + ["spans", key]) for key in ("correct", "predicted", "gold")}
        reconcile = (
            f'<p class="note">conlleval counts for this file: {counts["correct"]} correct, {counts["predicted"]} '
            f'predicted ("found"), {counts["gold"]} gold. The gold rows sum to the gold spans, the predicted rows to '
            "the predicted ones. A span not matched exactly is classified by the spans of the other side it "
            "overlaps: same boundaries (wrong type), else same type (wrong boundaries), else wrong both; no "
            "overlap: missed or spurious.</p>"
        )
    by_type = {
        label: {**sides["gold"], "spurious": sides["predicted"]["spurious"]} for label, sides in errors["per_type"].items()
    }
    chart = _chart(charts.stacked_bars(by_type, [c for c in GOLD_SIDE if c != "correct"] + ["spurious"])) if by_type else ""
    return "<h3>Span errors</h3>" + _table(header, rows, numeric_from=2) + reconcile + chart


def _category_cells(counts: dict[str, int], path: list) -> list[str]:
    last = "missed" if "missed" in counts else "spurious"
    return [_number(counts[name], path + [name]) for name in ("correct", "wrong_type", "wrong_boundaries", "wrong_both", last)]


def _confusions(report: dict, at: list) -> str:
    matrix = report.get("confusion_matrix")
    rows = [
        [_text(c["gold"]), _text(c["predicted"]), _number(c["count"], at + ["confusions", i, "count"])]
        for i, c in enumerate(report["confusions"])
    ]
    parts = ["<h3>Most frequent token errors</h3>", _table(["gold", "predicted", "tokens"], rows, numeric_from=2)]
    if matrix and matrix["labels"]:
        parts.append(
            '<p class="note">Token confusion matrix (rows gold, columns predicted); the colours are '
            "scaled to the errors, so the correct cells on the diagonal (O-O above all) show at full strength.</p>"
        )
        parts.append(_chart(charts.heatmap(matrix["labels"], matrix["counts"])))
    return "".join(parts)


def _known_words(report: dict, at: list) -> str:
    known = report.get("known_words")
    if not known:
        return ""
    rows = [
        [
            _text(f"{group} words"),
            _number(known[group]["tokens"], at + ["known_words", group, "tokens"]),
            _number(known[group]["accuracy"], at + ["known_words", group, "accuracy"]),
        ]
        for group in ("known", "unknown")
    ]
    note = '<p class="note">Known: the word is in the model\'s vocabulary (seen in training, or in its pretrained vectors).</p>'
    return "<h3>Known and unknown words</h3>" + _table(["tokens", "count", "accuracy"], rows) + note


def _marked(tokens: Sequence[str], tags: Sequence[str], colours: dict[str, str]) -> str:
    starts = {span.start: span for span in extract_spans(tags)}
    out, index = [], 0
    while index < len(tokens):
        span = starts.get(index)
        if span is None:
            out.append(escape(tokens[index]))
            index += 1
            continue
        colour = colours.setdefault(span.label, SPAN_COLOURS[len(colours) % len(SPAN_COLOURS)])
        words = " ".join(escape(token) for token in tokens[span.start : span.end])
        out.append(f'<mark style="background:{colour}">{words}<sub>{escape(span.label)}</sub></mark>')
        index = span.end
    return " ".join(out)


def _token_errors(tokens: Sequence[str], gold: Sequence[str], predicted: Sequence[str]) -> str:
    return " ".join(
        escape(token) if g == p else f'<span class="error">{escape(token)}<sub>{escape(g)} &rarr; {escape(p)}</sub></span>'
        for token, g, p in zip(tokens, gold, predicted)
    )


def _examples(report: dict, spans: bool) -> str:
    examples = report.get("examples") or []
    if not examples:
        return ""
    colours: dict[str, str] = {}
    parts, category = ["<h3>Examples</h3>"], None
    for example in examples:
        if example["category"] != category:
            category = example["category"]
            parts.append(f"<h4>{escape(category.replace('_', ' '))}</h4>")
        if spans:
            gold = _marked(example["tokens"], example["gold"], colours)
            predicted = _marked(example["tokens"], example["predicted"], colours)
            lines = (
                f'<div class="line"><span class="side">gold</span>{gold}</div>'
                f'<div class="line"><span class="side">predicted</span>{predicted}</div>'
            )
        else:
            lines = f'<div class="line">{_token_errors(example["tokens"], example["gold"], example["predicted"])}</div>'
        parts.append(f'<div class="example"><div class="note">sentence {example["sentence"]:,}</div>{lines}</div>')
    return "".join(parts)


def _file_section(report: dict, index: int, scheme: str | None) -> str:
    at: list = ["reports", index]
    spans = is_span_report(report)
    parts = [f"<h2>{escape(str(report.get('file', '-')))}</h2>", _summary(report, at, scheme)]
    parts += [f'<p class="note">warning: {escape(w)}</p>' for w in report.get("warnings", ())]
    parts.append(_per_label(report, at))
    if spans and "span_errors" in report:
        parts.append(_span_errors(report, at))
    parts += [_confusions(report, at), _known_words(report, at), _calibration(report, at), _examples(report, spans)]
    return "".join(parts)


def _calibration(report: dict, at: list) -> str:
    """Calibration errors, the reliability diagram, and what each confidence threshold keeps."""
    calibration = report.get("calibration")
    if not calibration:
        return ""
    kinds = [kind for kind in ("spans", "tokens") if kind in calibration]
    rows = [
        [
            _text(kind),
            _number(calibration[kind]["count"], at + ["calibration", kind, "count"]),
            _number(calibration[kind]["ece"], at + ["calibration", kind, "ece"], 4),
            _number(calibration[kind]["mean_confidence"], at + ["calibration", kind, "mean_confidence"], 4),
            _number(calibration[kind]["accuracy"], at + ["calibration", kind, "accuracy"], 4),
        ]
        for kind in kinds
    ]
    temperature = calibration["temperature"]
    note = (
        f"Temperature {temperature:.3f}, fitted on dev data (at the end of training, or by tagger calibrate)."
        if temperature != 1.0
        else "No temperature fitted."
    )
    parts = [
        "<h3>Confidence</h3>",
        _table(["confidence of", "count", "calibration error (10 bins)", "mean confidence", "share right"], rows),
        f'<p class="note">{note} A calibrated model\'s points lie on the diagonal: of the predictions given a '
        "confidence of about 0.8, about 80 % are right.</p>",
        _chart(charts.reliability_diagram({kind: calibration[kind]["bins"] for kind in kinds})),
    ]
    if "thresholds" in calibration.get("spans", {}):
        path = at + ["calibration", "spans", "thresholds"]
        threshold_rows = [
            [
                _text(f">= {row['threshold']}"),
                _number(row["kept"], path + [index, "kept"]),
                *(_number(row[key], path + [index, key]) for key in ("precision", "recall", "f1")),
            ]
            for index, row in enumerate(calibration["spans"]["thresholds"])
        ]
        parts += [
            "<h4>Spans kept at a minimum confidence</h4>",
            _table(["span confidence", "spans kept", "precision", "recall", "F1"], threshold_rows),
            _chart(charts.threshold_curve(calibration["spans"]["curve"])),
        ]
    return "".join(parts)


def _model_card(model: dict) -> str:
    task, sizes = model["task"], model["sizes"]
    rows = [
        ["model", escape(model["model"])],
        ["task", escape(f"label column {task.get('label_column')} of {task.get('format')} files")],
        ["span scheme", escape(str(task.get("corpus_scheme") or "none (token labels)"))],
        ["network", escape(json.dumps(model["model_settings"]))],
        ["parameters", _inline(sizes["parameters"], ["model", "sizes", "parameters"])],
        [
            "vocabulary",
            ", ".join(f"{_inline(sizes[key], ['model', 'sizes', key])} {key}" for key in ("words", "characters", "labels")),
        ],
        ["training data", escape(", ".join(f"{k} {v}" for k, v in model["training_data"].items() if v))],
        ["labels", escape(", ".join(model["labels"]))],
    ]
    if model.get("versions"):
        rows.append(["versions", escape(", ".join(f"{k} {v}" for k, v in model["versions"].items() if v))])
    body = "".join(f"<tr><td>{name}</td><td>{value}</td></tr>" for name, value in rows)
    return f'<h2>Model</h2><table class="card">{body}</table>'


def _curves(records: Sequence[dict], skipped: int = 0) -> str:
    note = f"<p>{skipped:,} damaged line(s) of metrics.jsonl skipped.</p>" if skipped else ""
    if not records:
        return f"<h3>Training</h3>{note}" if note else ""
    metric = "f1" if any(is_span_report(r.get("dev", {})) for r in records) else "accuracy"
    dev = [r.get("dev", {}).get(metric) for r in records]
    best = records[-1].get("best_epoch", records[-1]["epoch"])
    svg = charts.learning_curves([r["epoch"] for r in records], [r["train_loss"] for r in records], dev, metric, best)
    return f"<h3>Training</h3>{note}{_chart(svg)}"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def evaluation_page(reports: Sequence[dict], model: dict | None = None, records: Sequence[dict] = (), skipped: int = 0) -> str:
    """The report of `tagger evaluate --html`: one section per file, then the model and its training."""
    scheme = (model or {}).get("task", {}).get("corpus_scheme")
    title = f"tagger evaluation: {model['model']}" if model else "tagger evaluation"
    body = "".join(_file_section(report, index, report.get("scheme") or scheme) for index, report in enumerate(reports))
    if model:
        body += _model_card(model) + _curves(records, skipped)
    return _page(title, body)


def _difference(value: float | None, first: float | None) -> str:
    """A cell with `value - first`, green when higher, red when lower ("-" when either is missing)."""
    if value is None or first is None:
        return '<td class="num">-</td>'
    difference = value - first
    css = "better" if difference > 0 else "worse" if difference < 0 else ""
    return f'<td class="num {css}">{difference:+.2f}</td>'


def _per_label_comparison(results: list, models: list[str], f: int) -> list[list[str]]:
    """Rows of label, each model's F1 on file `f`, and each later model's difference to the first."""
    labels = sorted({label for m in range(len(models)) for label in results[m][f]["per_label"]})
    rows = []
    for label in labels:
        scores = [results[m][f]["per_label"].get(label, {}).get("f1") for m in range(len(models))]
        cells = [_text(label)]
        cells += [_number(score, ["results", m, f, "per_label", label, "f1"]) for m, score in enumerate(scores)]
        cells += [_difference(score, scores[0]) for score in scores[1:]]
        rows.append(cells)
    return rows


def comparison_page(comparison: dict) -> str:
    """The report of `tagger compare --html`: models x files, per-type scores side by side, differences to the first model."""
    models, files, results = comparison["models"], comparison["files"], comparison["results"]
    metric = comparison["metric"]
    rows = []
    for m, model in enumerate(models):
        cells = [_text(model)]
        for f in range(len(files)):
            cells.append(_number(results[m][f][metric], ["results", m, f, metric]))
            cells.append(_difference(results[m][f][metric], results[0][f][metric]) if m else '<td class="num">-</td>')
        rows.append(cells)
    header = ["model", *(name for file in files for name in (f"{metric} {file}", "vs first"))]
    parts = [f"<h2>{escape(metric)} per model and file</h2>", _table(header, rows)]
    for f, file in enumerate(files):
        per_model = {
            model: {label: row["f1"] for label, row in results[m][f]["per_label"].items()} for m, model in enumerate(models)
        }
        parts += [
            f"<h3>F1 per label: {escape(file)}</h3>",
            _table(["label", *models, *(f"{model} vs first" for model in models[1:])], _per_label_comparison(results, models, f)),
            _chart(charts.compared_bars(per_model, "F1")),
        ]
    return _page("tagger comparison", "".join(parts))


def write_evaluation_report(path: str, reports: Sequence[dict], model_dir: str | Path | None = None) -> None:
    """`evaluation_page` of `reports` (and of the model in `model_dir`), written atomically to `path`."""
    model = model_info(model_dir) if model_dir is not None else None
    records, skipped = epoch_records(Path(model_dir) / METRICS_LOG) if model_dir is not None else ([], 0)
    page = evaluation_page(reports, model, records, skipped)
    with atomic_output(path) as stream:
        stream.write(page)


def write_comparison_report(path: str, comparison: dict) -> None:
    """`comparison_page` of `comparison`, written atomically to `path`."""
    page = comparison_page(comparison)
    with atomic_output(path) as stream:
        stream.write(page)
