"""archspec train's record of a run: the run folder, validation data, the spec's
callbacks and schedules, interrupts and --resume (docs/training.md)."""

from __future__ import annotations

import csv
import importlib.util
import inspect
import json
import signal
import struct
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from conftest import ROOT

import archspec
from archspec.frontend.training import CALLBACK_MODELS, CALLBACKS, SCHEDULE_MODELS, SCHEDULES

# 8×8×1 images, one conv and a softmax: a few milliseconds a step.
TINY = """\
name: Tiny
params: {classes: 3}
input: {shape: [8, 8, 1]}
layers:
  - conv2d: {filters: 4, kernel_size: 3, padding: same, activation: relu}
  - flatten
  - dense: {units: "{{ classes }}", activation: softmax}
training:
  optimizer: {adam: {learning_rate: 0.01}}
  metrics: [accuracy]
  batch_size: 16
  epochs: 5
  seed: 0
  validation_split: 0.25
"""
TRAIN, TEST = 64, 16


def _images(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Brightness tells the class: learnable in a few epochs."""
    y = rng.integers(0, 3, n)
    x = (rng.integers(0, 60, (n, 8, 8, 1)) + y[:, None, None, None] * 90).astype(np.uint8)
    return x, y


def _data(path, val: int = 0, **drop) -> str:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", TRAIN), ("test", TEST), ("val", val)):
        if n:
            arrays[f"{split}_set_x"], arrays[f"{split}_set_y"] = _images(n, rng)
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            if name not in drop:
                f[name] = value
    return str(path)


@pytest.fixture
def data(tmp_path):
    return _data(tmp_path / "tiny.h5")


# ---- the spec keys, checked before TensorFlow ---------------------------------------------------


SPEC_ERRORS = [
    ("validation_split: 1.5", "14:21", ["training.validation_split", "less than 1"]),
    (
        "early_stopping: {patience: -1}",
        "15:30",
        ["training.early_stopping.patience", "greater than or equal to 0"],
    ),
    ("early_stopping: {patince: 2}", "15:20", ["unknown key 'patince'", "'patience'"]),
    (
        "checkpoint: {monitor: val_acuracy}",
        "9:3",
        ["checkpoint.monitor: 'val_acuracy' is not one of", "did you mean 'val_accuracy'"],
    ),
    (
        "learning_rate_schedule: {cosine_decay: {alpha: 0.1}}",
        "15:42",
        ["learning_rate_schedule.cosine_decay.decay_steps", "missing"],
    ),
    (
        "learning_rate_schedule: {cosin_decay: {decay_steps: 10}}",
        "15:28",
        ["unknown key 'cosin_decay'", "did you mean 'cosine_decay'"],
    ),
    (
        "learning_rate_schedule: {piecewise_constant_decay: {boundaries: [5], values: [0.1]}}",
        "15:80",
        ["piecewise_constant_decay.values", "at least 2"],
    ),
    (
        "learning_rate_schedule: {exponential_decay: {decay_steps: 9, decay_rate: 0.5}}\n"
        "  reduce_lr_on_plateau: {}",
        "9:3",
        ["reduce_lr_on_plateau cannot change a learning_rate_schedule"],
    ),
    (
        "learning_rate_schedule: {exponential_decay: {initial_learning_rate: 0.1, "
        "decay_steps: 9, decay_rate: 0.5}}",
        "9:3",
        ["optimizer 'adam' has a learning_rate", "give it in one place"],
    ),
]


@pytest.mark.parametrize("case", SPEC_ERRORS, ids=[c[0].split(":")[0] for c in SPEC_ERRORS])
def test_training_keys_are_checked_at_their_position(case, cli, write):
    added, position, fragments = case
    path = write(TINY + "  " + added + "\n")
    if added.startswith("validation_split"):  # replaces the one there, on line 14
        path = write(TINY.replace("validation_split: 0.25", added))
    result = cli("check", path)
    assert result.code == 1, result.out
    assert result.err.startswith(f"{path}:{position}: error: "), result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)


def test_validation_data_is_checked_before_training(cli, write, tmp_path):
    """A validation set in the file and validation_split, a half validation set, a
    val_ monitor without validation data: errors, exit 1, before any training."""
    both = _data(tmp_path / "both.h5", val=8)
    half = _data(tmp_path / "half.h5", val=8, val_set_y=True)
    out = ["-o", str(tmp_path / "m.keras")]
    result = cli("train", write(TINY), "--data", both, *out)
    assert (
        result.code == 1
        and "14:21: error: training.validation_split: the data has a validation set" in result.err
    )
    result = cli("train", write(TINY.replace("  validation_split: 0.25\n", "")), "--data", half)
    assert result.code == 1 and "'val_set_x' has no 'val_set_y'" in result.err, result.err
    spec = write(TINY.replace("validation_split: 0.25", "early_stopping: {monitor: val_loss}"))
    result = cli("train", spec, "--data", _data(tmp_path / "plain.h5"), *out)
    assert (
        result.code == 1
        and "14:29: error: training.early_stopping.monitor: early_stopping monitors 'val_loss'"
        in result.err
    )
    for r in (result,):
        assert "Epoch" not in r.out
    assert not (tmp_path / "m.run").exists()


def test_a_validation_set_in_the_file_is_read_and_checked(tmp_path):
    from archspec.train import datasets

    data = datasets.load([_data(tmp_path / "v.h5", val=8)])
    assert (len(data.train), len(data.val), len(data.test)) == (TRAIN, 8, TEST)
    with h5py.File(tmp_path / "v.h5", "a") as f:
        del f["val_set_x"]
        f["val_set_x"] = np.zeros((8, 4, 4, 1), np.uint8)
    with pytest.raises(datasets.DataError, match="'val_set_x' holds images of shape"):
        datasets.load([tmp_path / "v.h5"])


def test_tensorboard_without_its_package_is_a_clear_error(cli, write, data, monkeypatch, tmp_path):
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else found(name, *a),
    )
    result = cli(
        "train", write(TINY), "--data", data, "--tensorboard", "-o", str(tmp_path / "m.keras")
    )
    assert result.code == 2 and "need the tensorboard package" in result.err, result.err
    assert result.out == ""


@pytest.mark.keras
@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="no tensorboard")
def test_tensorboard_logs_hold_the_runs_history(cli, write, data, tmp_path):
    """TensorBoard's own reader finds each epoch's loss and validation loss, as the run's
    history has them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = cli(
        "train", write(TINY), "--data", data, "--epochs", "2", "--tensorboard",
        "-o", str(tmp_path / "m.keras"),
    )  # fmt: skip
    assert result.code == 0, result.err
    run = tmp_path / "m.run"
    history = json.loads((run / "history.json").read_text())
    for split, key in (("train", "loss"), ("validation", "val_loss")):
        events = EventAccumulator(str(run / "tensorboard" / split), {"tensors": 0}).Reload()
        logged = [
            (e.step, float(np.frombuffer(e.tensor_proto.tensor_content, np.float32)[0])
             if e.tensor_proto.tensor_content else e.tensor_proto.float_val[0])
            for e in events.Tensors("epoch_loss")
        ]  # fmt: skip
        expected = [(i, row[key]) for i, row in enumerate(history)]
        assert [s for s, _ in logged] == [s for s, _ in expected]
        assert np.allclose([v for _, v in logged], [v for _, v in expected], rtol=1e-5)


def test_progress_bar_on_a_terminal_one_line_per_epoch_elsewhere(tmp_path):
    from archspec.train.fit import progress

    class Terminal:
        def isatty(self):
            return True

    assert progress(None, Terminal()) == (1, False)  # Keras's bar
    with open(tmp_path / "log", "w") as file:
        assert progress(None, file) == (0, True)  # archspec's lines
    assert progress(2, Terminal()) == (2, False)  # asked for


# ---- TensorFlow ----------------------------------------------------------------------------------


@pytest.mark.keras
def test_callback_and_schedule_arguments_are_keras_own():
    """Every field is an argument of the Keras class, with Keras's default (but the
    monitor, whose default follows the data, and the schedules' optional start)."""
    import keras

    classes = [(keras.callbacks, CALLBACKS, CALLBACK_MODELS)]
    classes.append((keras.optimizers.schedules, SCHEDULES, SCHEDULE_MODELS))
    for module, names, models in classes:
        for key, class_name in names.items():
            params = inspect.signature(getattr(module, class_name)).parameters
            for field, info in models[key].model_fields.items():
                assert field in params, (class_name, field)
                if field not in ("monitor", "initial_learning_rate") and not info.is_required():
                    assert info.default == params[field].default, (class_name, field)
            required = [p for p, v in params.items() if v.default is inspect.Parameter.empty]
            for name in required:
                if name not in ("kwargs", "initial_learning_rate"):
                    assert models[key].model_fields[name].is_required(), (class_name, name)


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _arrays(path, split, n=None):
    with h5py.File(path) as f:
        x, y = f[f"{split}_set_x"][()], f[f"{split}_set_y"][()]
    return x.astype("float32") / 255, np.eye(3)[y]


@pytest.mark.keras
def test_the_run_folder_records_what_keras_did(write, data, tmp_path, cli):
    import keras

    from archspec.train.fit import train

    extra = (
        "  early_stopping: {patience: 2, min_delta: 10}\n"
        "  reduce_lr_on_plateau: {patience: 1, min_delta: 10, factor: 0.5}\n"
        "  checkpoint: {every_epoch: true}\n"
    )
    spec = write(TINY + extra)
    lines: list[str] = []
    result = train(archspec.load(spec), [data], output=str(tmp_path / "t.keras"), out=lines.append)
    run = tmp_path / "t.run"
    assert result.run == run
    rows = json.loads((run / "history.json").read_text())
    # Keras's rule: no epoch improves by min_delta=10 on the first, so patience 2 stops
    # training after epoch 3; the rate halves after epochs 2 and 3 (patience 1)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert [r["learning_rate"] for r in rows] == pytest.approx([0.01, 0.01, 0.005])
    # the rows are what fit's History returned
    history = result.model.history.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [r[key] for r in rows] == pytest.approx(history[key], rel=1e-6), key
    with open(run / "history.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [float(r["val_loss"]) for r in table] == pytest.approx([r["val_loss"] for r in rows])
    # one plain line per epoch off a terminal
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(" - ")[0] for line in epoch_lines] == ["Epoch 1/5", "Epoch 2/5", "Epoch 3/5"]
    assert not any(c in "".join(lines) for c in "\x1b\r\x08")
    # the validation set is the last quarter of the train images, as Keras splits them
    x, y = _arrays(data, "train")
    val = (x[48:], y[48:])
    last = keras.models.load_model(run / "last.keras")
    assert last.evaluate(*val, verbose=0)[0] == pytest.approx(rows[-1]["val_loss"], rel=1e-4)
    best = min(rows, key=lambda r: r["val_loss"])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"]["epoch"] == best["epoch"]
    assert summary["status"] == "stopped early" and summary["epochs_completed"] == 3
    kept = keras.models.load_model(run / "best.keras")
    assert kept.evaluate(*val, verbose=0)[0] == pytest.approx(best["val_loss"], rel=1e-4)
    final = keras.models.load_model(tmp_path / "t.keras")
    loss = final.evaluate(*_arrays(data, "test"), verbose=0)[0]
    assert summary["test"]["loss"] == pytest.approx(loss, rel=1e-4)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        f"epoch-00{i}.keras" for i in (1, 2, 3)
    ]
    assert _png_size(run / "curves.png") == (900, 360)  # two panels: loss, accuracy
    assert (run / "spec.yaml").read_text() == cli("render", spec).out


SIGNALLED = """
import sys
from archspec.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.keras
def test_a_signal_stops_saves_and_resume_continues(write, data, tmp_path, cli):
    """SIGINT and SIGTERM mid-fit (two processes at once): exit 130 and 143, a checkpoint
    with the optimizer state, the history so far; --resume continues the epoch count."""
    import keras

    spec = write(TINY.replace("epochs: 5", "epochs: 300"))
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        name = sig.name
        log = open(tmp_path / f"{name}.out", "w")  # a file: the process never blocks on it
        args = [sys.executable, "-c", SIGNALLED, "train", spec, "--data", data]
        args += ["-o", str(tmp_path / f"{name}.keras")]
        procs[sig] = subprocess.Popen(args, stdout=log, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for sig, proc in procs.items():
        deadline = time.monotonic() + 240
        out = tmp_path / f"{sig.name}.out"
        while "Epoch 2/300" not in out.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "no second epoch"
            time.sleep(0.2)
        proc.send_signal(sig)
    for sig, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        run = tmp_path / f"{sig.name}.run"
        assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], err[-2000:]
        assert f"saved the checkpoint {run}/last.keras" in err, err[-2000:]
        summary = json.loads((run / "summary.json").read_text())
        rows = json.loads((run / "history.json").read_text())
        assert summary["status"] == "interrupted" and summary["interrupted"]["signal"] == sig.name
        assert len(rows) == summary["epochs_completed"] >= 2
        assert summary["interrupted"]["epoch"] == len(rows) + 1
        assert (run / "curves.png").is_file()
        if sig == signal.SIGINT:
            done, batches = len(rows), summary["interrupted"]["batches"]
    # 48 train images in batches of 16: 3 steps an epoch; the checkpoint's optimizer has
    # taken every step so far
    run = tmp_path / "SIGINT.run"
    iterations = int(keras.models.load_model(run / "last.keras").optimizer.iterations)
    assert iterations == 3 * done + batches
    model = tmp_path / "SIGINT.keras"
    args = ["--data", data, "-o", str(model), "--resume", str(run)]
    result = cli("train", spec, *args, "--epochs", str(done + 1))
    assert result.code == 0, result.err
    assert f"Epoch {done + 1}/{done + 1}" in result.out
    rows = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in rows] == list(range(1, done + 2))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["resumed_at_epoch"] == done + 1
    assert int(keras.models.load_model(model).optimizer.iterations) == iterations + 3
    again = cli("train", spec, *args, "--epochs", str(done + 1))
    assert again.code == 2 and f"has trained {done + 1} of {done + 1} epoch(s)" in again.err
