"""The reports of `evaluate` and `score` for people: a text report per file, one summary table for several."""

from __future__ import annotations

from collections.abc import Sequence


def format_report(report: dict) -> str:
    """A human-readable report: overall figures, a per-label table, frequent confusions."""
    lines = []
    if "label_column" in report:
        token = f"  token column {report['token_column']}" if report.get("format") == "conll" else ""
        lines.append(f"file {report.get('file', '-')}  label column {report['label_column']}{token}")
    lines.append(f"sentences {report['sentences']:,}  tokens {report['tokens']:,}  accuracy {report['accuracy']:.2f}")
    if "f1" in report:
        lines.append(
            f"spans ({report['mode']}): precision {report['precision']:.2f}  recall {report['recall']:.2f}  F1 {report['f1']:.2f}"
        )
    if "tokens_per_s" in report:
        lines.append(f"prediction speed {report['tokens_per_s']:,.0f} tokens/s (after a warm-up; loading excluded)")
    if "unknown_tokens" in report:
        lines.append(f"tokens unknown to the model {report['unknown_tokens']:.1%}")
    lines.append("")
    lines.append(f"{'label':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    rows = list(report["per_label"].items()) + [(f"{name} avg", row) for name, row in report.get("averages", {}).items()]
    for label, row in rows:
        lines.append(f"{label:<14}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{row['support']:>10,}")
    if report["confusions"]:
        lines.append("")
        lines.append("most frequent errors (gold -> predicted):")
        lines.extend(f"  {c['gold']} -> {c['predicted']}: {c['count']:,}" for c in report["confusions"])
    return "\n".join(lines)


def summary_table(reports: Sequence[dict], markdown: bool = False) -> str:
    """One row per evaluated file: sentences, tokens, accuracy, span P/R/F1 and the F1 of each span type."""
    types = sorted({kind for r in reports for kind in r.get("per_type", {})})
    header = ["file", "sentences", "tokens", "accuracy", "precision", "recall", "f1", *(f"f1 {kind}" for kind in types)]
    rows = [
        [
            r.get("file", "-"),
            f"{r['sentences']:,}",
            f"{r['tokens']:,}",
            f"{r['accuracy']:.2f}",
            *(f"{r[key]:.2f}" if key in r else "-" for key in ("precision", "recall", "f1")),
            *(f"{r['per_type'][kind]['f1']:.2f}" if kind in r.get("per_type", {}) else "-" for kind in types),
        ]
        for r in reports
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(item)) for item in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(item).ljust(width) for item, width in zip(row, widths)) for row in [header, *rows])
