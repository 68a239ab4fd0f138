"""The run folder: what one ``archspec train`` run leaves behind (docs/training.md).

By default it is beside the output model, named after it (``resnet50.keras`` and
``resnet50.run/``), so a run's record is where its model is; ``--run-dir`` puts it
elsewhere and ``--resume RUN`` continues one. Training again over a run folder replaces
it, unless it holds files archspec did not write. No TensorFlow here.

::

    spec.yaml       the resolved spec (archspec render) that made the model
    history.json    one row per epoch: loss, metrics, their val_ values, learning_rate,
    history.csv     seconds (the same rows as a table)
    curves.png      the learning curves
    summary.json    status, epochs, best epoch, test loss and metrics
    model.keras     the final model (also written to -o)
    best.keras      the best epoch's model, by the checkpoint's monitor
    last.keras      the latest state, optimizer included, that --resume continues
    checkpoints/    epoch-NNN.keras, with checkpoint.every_epoch
    tensorboard/    TensorBoard logs, with --tensorboard or training.tensorboard
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from archspec.diagnostics import UsageError
from archspec.files import write_text

SUFFIX = ".run"
NAMES = (
    "spec.yaml",
    "history.json",
    "history.csv",
    "curves.png",
    "summary.json",
    "model.keras",
    "best.keras",
    "last.keras",
    "checkpoints",
    "tensorboard",
)


def default_run_dir(output: str | Path) -> Path:
    """``models/resnet50.keras`` → ``models/resnet50.run``."""
    output = Path(output)
    return output.with_name(output.stem + SUFFIX)


@dataclass(frozen=True)
class RunFolder:
    """A training run's folder and the paths of what it holds (``run.history_json``...)."""

    path: Path

    def __getattr__(self, name: str) -> Path:
        # run.history_json, run.best, run.checkpoints...: the paths of NAMES
        for file in NAMES:
            if name in (file.replace(".", "_"), file.split(".")[0]):
                return self.path / file
        raise AttributeError(name)

    def start(self) -> None:
        """An empty run folder: made, or emptied of a previous run's files."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path}: cannot use as the run folder: it is a file")
        if path.is_dir():
            entries = sorted(p.name for p in path.iterdir())
            foreign = [e for e in entries if e not in NAMES and not e.startswith(".")]
            if foreign:
                raise UsageError(
                    f"{path}: the run folder holds files archspec train did not write "
                    f"({', '.join(foreign[:5])}); choose another --run-dir"
                )
            for entry in entries:
                target = path / entry
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{path}: cannot make the run folder: {exc.strerror}") from None

    def previous(self) -> tuple[list[dict], dict]:
        """The history rows and summary of the run in this folder, for ``--resume``."""
        for needed in (self.summary_json, self.history_json, self.last_keras, self.spec_yaml):
            if not needed.is_file():
                raise UsageError(
                    f"{self.path}: cannot resume: no {needed.name} (is it an archspec run folder?)"
                )
        try:
            rows = json.loads(self.history_json.read_text(encoding="utf-8"))
            summary = json.loads(self.summary_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{self.path}: cannot resume: {exc}") from None
        if not isinstance(rows, list) or not isinstance(summary, dict):
            raise UsageError(f"{self.path}: cannot resume: history.json or summary.json is damaged")
        return rows, summary

    def write_history(self, rows: list[dict]) -> None:
        """``history.json`` and ``history.csv``, rewritten whole after every epoch."""
        clean = [{k: _finite(v) for k, v in row.items()} for row in rows]
        write_text(self.history_json, json.dumps(clean, indent=1) + "\n")
        columns = list(dict.fromkeys(k for row in rows for k in row))
        table = io.StringIO()
        writer = csv.DictWriter(table, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.history_csv, table.getvalue())

    def write_summary(self, summary: dict) -> None:
        """Write ``summary.json`` (NaN and infinities as null)."""
        write_text(self.summary_json, json.dumps(_finite(summary), indent=1) + "\n")


def _finite(value):
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
