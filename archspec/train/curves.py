"""``curves.png``: the learning curves of a run, drawn with matplotlib (Agg, no display).

One panel for the loss and one for each metric, training and validation values by
epoch, as ``history.json`` holds them. matplotlib is imported only here, when drawing.
"""

from __future__ import annotations

import math
from pathlib import Path

from archspec.files import atomic_path

# Keys of a history row that are not curves of a metric
NOT_CURVES = ("epoch", "learning_rate", "seconds")


def panels(rows: list[dict]) -> list[str]:
    """The quantities drawn, one panel each: ``loss`` first, then each metric."""
    names = [k for k in rows[0] if k not in NOT_CURVES and not k.startswith("val_")]
    return sorted(names, key=lambda k: k != "loss")


def draw(rows: list[dict], target: str | Path, title: str = "") -> Path:
    """Write the curves of ``rows`` (history rows) to the PNG ``target``."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window: works without a display
    from matplotlib.figure import Figure

    names = panels(rows)
    figure = Figure(figsize=(4.5 * len(names), 3.6), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    epochs = [row["epoch"] for row in rows]
    for ax, name in zip(axes, names):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            values = [_value(row.get(key)) for row in rows]
            if any(not math.isnan(v) for v in values):
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title)
    with atomic_path(target, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return Path(target)


def _value(value) -> float:
    return float("nan") if value is None else float(value)
