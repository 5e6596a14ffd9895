"""The charts of the HTML report, drawn with matplotlib as inline SVG (the optional `tagger[report]` extra).

Each function returns an `<svg>` element as text; text stays text (selectable, sharp
when printed). Figures are built with matplotlib's object API, never pyplot, so no
global state or display backend is involved.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from tagger.errors import TaggerError

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
WIDTH = 7.5  # inches: about 720 px, the report's column width


def require() -> None:
    """Fail now, not after a long prediction, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise TaggerError(
            "HTML reports draw their charts with matplotlib, which is not installed; "
            "install the extra: pip install 'tagger[report]'"
        ) from None


def _figure(height: float):
    require()
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rcParams["svg.fonttype"] = "none"
    rcParams["svg.hashsalt"] = "tagger"  # the same report twice gives the same file
    rcParams["font.size"] = 9
    rcParams["text.parse_math"] = False  # labels and model names are drawn as written, `$x$` included
    return Figure(figsize=(WIDTH, height), layout="constrained")


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def score_bars(per_label: dict[str, dict[str, float]], keys: Sequence[str] = ("precision", "recall", "f1")) -> str:
    """Horizontal grouped bars: one group per label, one bar per score (0-100)."""
    labels = list(per_label)
    figure = _figure(0.6 + 0.28 * len(labels) * len(keys) / 2)
    axes = figure.add_subplot()
    height = 0.8 / len(keys)
    for offset, key in enumerate(keys):
        positions = [i + (offset - (len(keys) - 1) / 2) * height for i in range(len(labels))]
        axes.barh(positions, [per_label[label][key] for label in labels], height, label=key, color=PALETTE[offset])
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("percent")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(keys), fontsize=8, frameon=False)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def stacked_bars(rows: dict[str, dict[str, int]], categories: Sequence[str]) -> str:
    """Horizontal stacked bars: one bar per row (span type), one segment per category (counts)."""
    labels = list(rows)
    figure = _figure(0.9 + 0.35 * len(labels))
    axes = figure.add_subplot()
    left = [0] * len(labels)
    for index, category in enumerate(categories):
        values = [rows[label].get(category, 0) for label in labels]
        axes.barh(labels, values, left=left, label=category.replace("_", " "), color=PALETTE[index % len(PALETTE)])
        left = [a + b for a, b in zip(left, values)]
    axes.invert_yaxis()
    axes.set_xlabel("spans")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(labels) < 4 else -0.12), ncols=len(categories), fontsize=8)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def heatmap(labels: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    """A confusion matrix with counts in the cells; the colour scale is set by the errors (off-diagonal
    cells), so that they show: the correct cells (O-O above all) would otherwise leave them all pale."""
    size = len(labels)
    figure = _figure(min(1.2 + 0.3 * size, 9.5))
    axes = figure.add_subplot()
    scale = max((counts[i][j] for i in range(size) for j in range(size) if i != j), default=1) or 1
    shown = [[min(counts[i][j], scale) for j in range(size)] for i in range(size)]
    axes.imshow(shown, cmap="Blues", vmin=0, vmax=scale, aspect="auto")
    axes.set_xticks(range(size), labels, rotation=90)
    axes.set_yticks(range(size), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    font = 8 if size <= 12 else 6
    for i in range(size):
        for j in range(size):
            if counts[i][j]:
                dark = shown[i][j] > 0.55 * scale
                axes.text(j, i, f"{counts[i][j]:,}", ha="center", va="center", fontsize=font, color="white" if dark else "black")
    return _svg(figure)


def learning_curves(epochs: Sequence[int], losses: Sequence[float], dev: Sequence[float | None], metric: str, best: int) -> str:
    """Training loss and dev score per epoch, side by side, the kept epoch marked."""
    figure = _figure(2.6)
    loss_axes, dev_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, losses, marker=".", color=PALETTE[0])
    loss_axes.set_title("training loss")
    scored = [(epoch, score) for epoch, score in zip(epochs, dev) if score is not None]
    if scored:
        dev_axes.plot(*zip(*scored), marker=".", color=PALETTE[2])
    dev_axes.set_title(f"dev {metric}" if scored else "no dev set")
    for axes in (loss_axes, dev_axes):
        axes.axvline(best, color=PALETTE[3], linestyle="--", linewidth=1, label=f"kept: epoch {best}")
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    dev_axes.legend(loc="lower right", fontsize=8)
    return _svg(figure)


def compared_bars(per_model: dict[str, dict[str, float]], label: str) -> str:
    """One group per label, one bar per model (a score 0-100); `per_model` maps model -> label -> score."""
    models = list(per_model)
    labels = sorted({name for scores in per_model.values() for name in scores})
    figure = _figure(0.8 + 0.22 * len(labels) * max(len(models), 2) / 2)
    axes = figure.add_subplot()
    height = 0.8 / len(models)
    for offset, model in enumerate(models):
        positions = [i + (offset - (len(models) - 1) / 2) * height for i in range(len(labels))]
        values = [per_model[model].get(name, 0.0) for name in labels]
        axes.barh(positions, values, height, label=model, color=PALETTE[offset % len(PALETTE)])
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel(label)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(len(models), 3), fontsize=8, frameon=False)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def reliability_diagram(bins_by_kind: dict[str, Sequence[dict]]) -> str:
    """Accuracy against mean confidence per confidence bin (one line per kind: spans, tokens), with the diagonal
    a calibrated model follows; each point's size shows how many predictions its bin holds."""
    figure = _figure(3.4)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color=PALETTE[7], linestyle="--", linewidth=1, label="calibrated")
    for index, (kind, bins) in enumerate(bins_by_kind.items()):
        filled = [item for item in bins if item["count"]]
        total = sum(item["count"] for item in filled) or 1
        xs, ys = [item["confidence"] for item in filled], [item["accuracy"] for item in filled]
        sizes = [12 + 400 * item["count"] / total for item in filled]
        axes.plot(xs, ys, color=PALETTE[index], linewidth=1)
        axes.scatter(xs, ys, s=sizes, color=PALETTE[index], alpha=0.7, label=kind)
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("mean confidence in the bin")
    axes.set_ylabel("share right")
    axes.set_aspect("equal")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    return _svg(figure)


def threshold_curve(rows: Sequence[dict]) -> str:
    """Precision, recall and F1 (percent) of the spans kept at each confidence threshold."""
    figure = _figure(2.8)
    axes = figure.add_subplot()
    thresholds = [row["threshold"] for row in rows]
    for index, key in enumerate(("precision", "recall", "f1")):
        axes.plot(thresholds, [row[key] for row in rows], marker=".", color=PALETTE[index], label=key)
    axes.set_xlabel("minimum span confidence (tagger tag --min-confidence)")
    axes.set_ylabel("percent")
    axes.set_xlim(0, 1)
    axes.legend(loc="lower left", fontsize=8)
    axes.grid(alpha=0.3)
    return _svg(figure)
