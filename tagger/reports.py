"""The reports of `evaluate` and `score` for people: a text report per file, one summary table for several."""

from __future__ import annotations

from collections.abc import Sequence

from tagger.metrics import is_span_report

# Columns of the summary table for span labels: gold-side counts, and spurious predictions.
ERROR_COLUMNS = ("wrong_type", "wrong_boundaries", "wrong_both", "missed", "spurious")


def _error_count(report: dict, category: str) -> str:
    if "span_errors" not in report:
        return "-"
    side = "predicted" if category == "spurious" else "gold"
    return f"{report['span_errors'][side][category]:,}"


def format_report(report: dict) -> str:
    """A human-readable report: overall figures, a per-label table, frequent confusions."""
    lines = []
    if "label_column" in report:
        token = f"  token column {report['token_column']}" if report.get("format") == "conll" else ""
        lines.append(f"file {report.get('file', '-')}  label column {report['label_column']}{token}")
    lines.append(f"sentences {report['sentences']:,}  tokens {report['tokens']:,}  accuracy {report['accuracy']:.2f}")
    if is_span_report(report):
        lines.append(
            f"spans ({report['mode']}): precision {report['precision']:.2f}  recall {report['recall']:.2f}  F1 {report['f1']:.2f}"
        )
    if "tokens_per_s" in report:
        lines.append(f"prediction speed {report['tokens_per_s']:,.0f} tokens/s (after a warm-up; loading excluded)")
    if "unknown_tokens" in report:
        unknown = f"tokens unknown to the model {report['unknown_tokens']:.1%}"
        if "pretrained_only_tokens" in report:
            unknown += f"; outside its training words but in its pretrained vectors {report['pretrained_only_tokens']:.1%}"
        lines.append(unknown)
    lines.append("")
    lines.append(f"{'label':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    rows = list(report["per_label"].items()) + [(f"{name} avg", row) for name, row in report.get("averages", {}).items()]
    for label, row in rows:
        lines.append(f"{label:<14}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{row['support']:>10,}")
    if "span_errors" in report:
        lines.append("")
        lines.append(_span_error_line(report["span_errors"]))
    if "known_words" in report:
        known = report["known_words"]
        lines.append(
            f"accuracy on words the model knows {known['known']['accuracy']:.2f} ({known['known']['tokens']:,} tokens), "
            f"unknown {known['unknown']['accuracy']:.2f} ({known['unknown']['tokens']:,} tokens)"
        )
    if report["confusions"]:
        lines.append("")
        lines.append("most frequent errors (gold -> predicted):")
        lines.extend(f"  {c['gold']} -> {c['predicted']}: {c['count']:,}" for c in report["confusions"])
    if "calibration" in report:
        lines.append("")
        lines.extend(_calibration_lines(report["calibration"]))
    return "\n".join(lines)


def _calibration_lines(calibration: dict) -> list[str]:
    """Calibration error of span and token confidences, and what each threshold keeps."""
    temperature = calibration["temperature"]
    tempered = f", temperature {temperature:.3f}" if temperature != 1.0 else ", no temperature fitted"
    lines = []
    for kind in ("spans", "tokens"):
        if kind in calibration:
            item = calibration[kind]
            lines.append(
                f"confidence of {kind}: expected calibration error {item['ece']:.4f} (10 bins{tempered}); "
                f"mean confidence {item['mean_confidence']:.4f}, share right {item['accuracy']:.4f} ({item['count']:,} {kind})"
            )
    if "spans" in calibration:
        lines.append(f"  {'confidence >=':<15}{'spans kept':>11}{'precision':>11}{'recall':>9}{'f1':>8}")
        for row in calibration["spans"]["thresholds"]:
            lines.append(
                f"  {row['threshold']:<15}{row['kept']:>11,}{row['precision']:>11.2f}{row['recall']:>9.2f}{row['f1']:>8.2f}"
            )
    return lines


def _span_error_line(errors: dict) -> str:
    gold, predicted = errors["gold"], errors["predicted"]
    return (
        f"span errors (gold spans / predicted spans): wrong type {gold['wrong_type']:,} / {predicted['wrong_type']:,}, "
        f"wrong boundaries {gold['wrong_boundaries']:,} / {predicted['wrong_boundaries']:,}, "
        f"wrong both {gold['wrong_both']:,} / {predicted['wrong_both']:,}, missed {gold['missed']:,}, "
        f"spurious {predicted['spurious']:,}"
    )


def summary_table(reports: Sequence[dict], markdown: bool = False) -> str:
    """One row per evaluated file: sentences, tokens, accuracy, span P/R/F1 and the F1 of each span type."""
    types = sorted({kind for r in reports for kind in r.get("per_type", {})})
    errors = [category for category in ERROR_COLUMNS if any("span_errors" in r for r in reports)]
    header = ["file", "sentences", "tokens", "accuracy", "precision", "recall", "f1", *(f"f1 {kind}" for kind in types)]
    header += [name.replace("_", " ") for name in errors]
    rows = [
        [
            r.get("file", "-"),
            f"{r['sentences']:,}",
            f"{r['tokens']:,}",
            f"{r['accuracy']:.2f}",
            *(f"{r[key]:.2f}" if key in r else "-" for key in ("precision", "recall", "f1")),
            *(f"{r['per_type'][kind]['f1']:.2f}" if kind in r.get("per_type", {}) else "-" for kind in types),
            *(_error_count(r, category) for category in errors),
        ]
        for r in reports
    ]
    return text_table(header, rows, markdown)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """The one table renderer: columns aligned with two spaces between them, or a Markdown table."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(item)) for item in column) for column in zip(header, *rows)]
    lines = ("  ".join(str(item).ljust(width) for item, width in zip(row, widths)) for row in [header, *rows])
    return "\n".join(line.rstrip() for line in lines)
