"""archspec train / evaluate / data: the spec's training section, HDF5 data in the seed's
layout, the synthetic SIGNS set, and training under tf.distribute."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from conftest import ROOT

import archspec
from archspec.frontend.schema import LOSSES, METRICS, OPTIMIZERS
from archspec.train import datasets as datamod
from archspec.train import synthetic

# A small CNN for the synthetic signs: three conv/batch-norm/pool stages and a softmax.
# Batch norm with momentum 0.9: 34 steps an epoch are too few for Keras's 0.99 to settle.
SMALL = """\
name: SmallNet
params: {input_shape: [64, 64, 3], classes: 6}
input: {shape: "{{ input_shape }}"}
defaults:
  conv2d: {kernel_size: 3, padding: same, use_bias: false}
  batch_norm: {momentum: 0.9}
layers:
  - conv2d: {filters: 16}
  - batch_norm
  - relu
  - max_pool
  - conv2d: {filters: 32}
  - batch_norm
  - relu
  - max_pool
  - conv2d: {filters: 64}
  - batch_norm
  - relu
  - max_pool
  - flatten
  - dense: {units: "{{ classes }}", activation: softmax}
training:
  optimizer: {adam: {learning_rate: 0.001}}
  loss: categorical_crossentropy
  metrics: [accuracy]
  batch_size: 32
  epochs: 4
  seed: 0
"""


@pytest.fixture(scope="module")
def signs(tmp_path_factory):
    """The synthetic SIGNS set at the seed's size: 1080 train, 120 test images."""
    path = tmp_path_factory.mktemp("data") / "signs.h5"
    synthetic.write_synth_signs(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    synthetic.write_synth_signs(path, train=96, test=24, seed=1)
    return str(path)


def results(out: str) -> tuple[float, float]:
    loss = float(re.search(r"^Loss = (\S+)$", out, re.MULTILINE)[1])
    accuracy = float(re.search(r"^Test Accuracy = (\S+)$", out, re.MULTILINE)[1])
    return loss, accuracy


# ---- the training section ------------------------------------------------------------------


def test_the_seed_spec_carries_the_seed_training():
    training = archspec.load(ROOT / "specs" / "resnet50.yaml").spec.training
    assert training.optimizer == "adam"
    assert training.loss == "categorical_crossentropy"
    assert training.metrics == ["accuracy"]
    assert (training.batch_size, training.epochs, training.mixed_precision) == (32, 2, False)


TRAINING_ERRORS = [
    (
        "optimizer: {adam: {learning_rate: 0.001}}",
        "optimizer: adma",
        "23:14",
        ["unknown optimizer 'adma'", "did you mean 'adam'"],
    ),
    (
        "optimizer: {adam: {learning_rate: 0.001}}",
        "optimizer: {adam: 0.1}",
        "23:14",
        ["a mapping as the arguments of the optimizer 'adam'"],
    ),
    (
        "optimizer: {adam: {learning_rate: 0.001}}",
        "optimizer: {adam: {}, sgd: {}}",
        "23:14",
        ["one-key mapping", "Received: {'adam': {}, 'sgd': {}}"],
    ),
    (
        "loss: categorical_crossentropy",
        "loss: categorical_crossentropie",
        "24:9",
        ["unknown loss", "did you mean 'categorical_crossentropy'"],
    ),
    (
        "metrics: [accuracy]",
        "metrics: [accuracy, acuracy]",
        "25:23",
        ["training.metrics[1]", "unknown metric 'acuracy'", "did you mean 'accuracy'"],
    ),
    ("metrics: [accuracy]", "metrics: accuracy", "25:12", ["training.metrics", "expected a list"]),
    (
        "batch_size: 32",
        "batch_size: 0",
        "26:15",
        ["training.batch_size", "greater than 0", "Received: 0"],
    ),
    (
        "epochs: 4",
        'epochs: "2"',
        "27:11",
        ["training.epochs", "expected an integer", "Received: '2'"],
    ),
    ("epochs: 4", "epoch: 4", "27:3", ["unknown key 'epoch'", "did you mean 'epochs'"]),
    (
        "seed: 0",
        "mixed_precision: maybe",
        "28:20",
        ["training.mixed_precision", "expected a boolean"],
    ),
    (
        "loss: categorical_crossentropy\n  metrics: [accuracy]",
        "loss: sparse_categorical_crossentropy\n  metrics: [top_k_categorical_accuracy]",
        "23:3",
        ["'top_k_categorical_accuracy' takes one-hot labels", "sparse_top_k_categorical_accuracy"],
    ),
]


@pytest.mark.parametrize("case", TRAINING_ERRORS, ids=[c[1] for c in TRAINING_ERRORS])
def test_training_errors_name_line_and_column(case, cli, write):
    old, new, position, fragments = case
    assert old in SMALL
    path = write(SMALL.replace(old, new, 1))
    result = cli("check", path)
    assert result.code == 1, result.out
    first = result.err.splitlines()[0]
    assert first.startswith(f"{path}:{position}: error: "), result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
    assert "Traceback" not in result.err


def test_a_spec_without_training_takes_keras_defaults(write):
    path = write(SMALL.split("training:")[0])
    assert archspec.load(path).spec.training is None
    from archspec.frontend.schema import Training

    defaults = Training()
    assert (defaults.optimizer, defaults.loss, defaults.batch_size, defaults.epochs) == (
        "rmsprop",  # Keras's compile() default
        "categorical_crossentropy",
        32,
        1,
    )


# ---- the synthetic set ----------------------------------------------------------------------


def test_synth_signs_layout_and_determinism(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.h5", "b.h5", "c.h5"))
    synthetic.write_synth_signs(a, train=60, test=12)
    synthetic.write_synth_signs(b, train=60, test=12)
    synthetic.write_synth_signs(c, train=60, test=12, seed=1)
    assert a.read_bytes() == b.read_bytes()
    with h5py.File(a) as f, h5py.File(c) as g:
        assert set(f) == {"train_set_x", "train_set_y", "test_set_x", "test_set_y", "list_classes"}
        assert f["train_set_x"].shape == (60, 64, 64, 3) and f["train_set_x"].dtype == np.uint8
        assert f["test_set_x"].shape == (12, 64, 64, 3)
        assert f["train_set_y"].shape == (60,) and f["train_set_y"].dtype.kind == "i"
        assert np.bincount(f["train_set_y"][()]).tolist() == [10] * 6  # balanced
        assert f["list_classes"][()].tolist() == [0, 1, 2, 3, 4, 5]
        assert not np.array_equal(f["train_set_x"][()], g["train_set_x"][()])


def test_synth_signs_classes_are_visually_distinct():
    # Even the nearest mean silhouette (pixels far from the corner colour) tells the six
    # classes apart far above chance (1/6), without any learning.
    x, y = synthetic.synth_signs(720, rng=np.random.default_rng(0))
    corner = x[:, :4, :4].reshape(len(x), -1, 3).mean(axis=1)[:, None, None, :]
    hand = (np.abs(x.astype(float) - corner).sum(-1) > 60).reshape(len(x), -1).astype(float)
    train, test = slice(0, 600), slice(600, None)
    means = np.stack([hand[train][y[train] == k].mean(axis=0) for k in range(6)])
    nearest = ((hand[test][:, None, :] - means[None]) ** 2).sum(-1).argmin(axis=1)
    assert (nearest == y[test]).mean() > 0.6


def test_data_synth_signs_command(cli, tmp_path):
    result = cli(
        "data", "synth-signs", "-o", str(tmp_path / "s.h5"), "--train", "12", "--test", "6"
    )
    assert result.code == 0, result.err
    assert "12 train and 6 test images of 64x64x3, 6 classes" in result.out
    pair = cli(
        "data", "synth-signs", "--pair", "-o", str(tmp_path / "d"), "--train", "12", "--test", "6"
    )
    assert pair.code == 0, pair.err
    assert {p.name for p in (tmp_path / "d").iterdir()} == {"train_signs.h5", "test_signs.h5"}
    bad = cli("data", "synth-signs", "-o", str(tmp_path / "x.h5"), "--train", "0")
    assert bad.code == 2 and "positive integer" in bad.err


def test_the_seed_pair_of_files(tmp_path):
    synthetic.write_synth_signs(tmp_path, train=12, test=6, pair=True)
    train, test = tmp_path / "train_signs.h5", tmp_path / "test_signs.h5"
    with h5py.File(train) as f:
        assert set(f) == {"train_set_x", "train_set_y", "list_classes"}
    for paths in ([tmp_path], [train], [train, test]):
        data = datamod.load(paths)
        assert (len(data.train), len(data.test)) == (12, 6)
        assert data.classes.tolist() == list(range(6))
    assert len(datamod.load([test], train=False).test) == 6


# ---- bad data: clear errors before any training ------------------------------------------------------


def _bad_file(path, **changes):
    """A small file in the seed's layout, with datasets replaced (None: removed)."""
    rng = np.random.default_rng(0)
    x, y = synthetic.synth_signs(12, rng=rng)
    arrays = {
        "train_set_x": x,
        "train_set_y": y,
        "test_set_x": x[:6],
        "test_set_y": y[:6],
        "list_classes": np.arange(6),
    }
    arrays.update(changes)
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            if value is not None:
                f.create_dataset(name, data=value)
    return str(path)


DATA_ERRORS = [
    (
        "missing",
        {"train_set_y": None},
        (),
        ["dataset 'train_set_y' is missing", "Received: list_classes, test_set_x"],
    ),
    (
        "not images",
        {"train_set_x": np.zeros((12, 64, 64), np.uint8)},
        (),
        ["'train_set_x' must hold uint8 images", "Received: shape=(12, 64, 64), dtype=uint8"],
    ),
    (
        "float pixels",
        {"test_set_x": np.zeros((6, 64, 64, 3), np.float32)},
        (),
        ["'test_set_x' must hold uint8", "dtype=float32"],
    ),
    (
        "label count",
        {"train_set_y": np.zeros(11, np.int64)},
        (),
        ["'train_set_y' has 11 labels for the 12 images", "Received: shape=(11,)"],
    ),
    (
        "label type",
        {"train_set_y": np.zeros(12, np.float32)},
        (),
        ["'train_set_y' must hold integer class labels", "dtype=float32"],
    ),
    (
        "label range",
        {"test_set_y": np.array([0, 1, 2, 3, 4, 6])},
        (),
        ["'test_set_y': label 6 at index 5 is out of range", "6 classes (0 to 5)", "max=6"],
    ),
    (
        "negative label",
        {"train_set_y": np.full(12, -1)},
        (),
        ["label -1 at index 0 is out of range"],
    ),
    (
        "size",
        {
            "train_set_x": np.zeros((12, 32, 32, 3), np.uint8),
            "test_set_x": np.zeros((6, 32, 32, 3), np.uint8),
        },
        (),
        [
            "'train_set_x' holds images of shape (32, 32, 3); the model's input is (64, 64, 3)",
            "--set input_shape=[32,32,3]",
        ],
    ),
    (
        "test size",
        {"test_set_x": np.zeros((6, 32, 32, 3), np.uint8)},
        (),
        ["'test_set_x' holds images of shape (32, 32, 3), 'train_set_x' of shape (64, 64, 3)"],
    ),
    ("classes", {}, ("--set", "classes=4"), ["out of range for the model's 4 classes"]),
    (
        "list_classes",
        {"list_classes": np.arange(5)},
        (),
        ["'list_classes' names 5 classes; the model's output has 6"],
    ),
]


@pytest.mark.parametrize("case", DATA_ERRORS, ids=[c[0] for c in DATA_ERRORS])
def test_bad_data_is_a_clear_error(case, cli, write, tmp_path):
    _, changes, extra, fragments = case
    spec = write(SMALL)
    data = _bad_file(tmp_path / "bad.h5", **changes)
    result = cli("train", spec, "--data", data, "-o", str(tmp_path / "m.keras"), *extra)
    assert result.code == 1, result.out + result.err
    assert result.err.startswith(f"{data}: error: dataset "), result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
    assert "Traceback" not in result.err and result.out == ""
    assert not (tmp_path / "m.keras").exists()


def test_unreadable_data_and_bad_options_exit_2(cli, write, tmp_path):
    spec = write(SMALL)
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    cases = [
        (("--data", str(text)), "not an HDF5 file"),
        (("--data", str(tmp_path / "missing.h5")), "No such file"),
        (("--data", str(tmp_path)), "no train_*.h5 or test_*.h5"),
        (("--data", str(text), "--epochs", "0"), "positive integer"),
        (("--data", str(text), "--strategy", "ring"), "invalid choice"),
    ]
    for args, fragment in cases:
        result = cli("train", spec, *args)
        assert result.code == 2, (args, result.err)
        assert fragment in result.err, (args, result.err)
    good = _bad_file(tmp_path / "good.h5")
    assert "must be a .keras file" in cli("train", spec, "--data", good, "-o", "m.h5").err
    missing = cli("evaluate", str(tmp_path / "none.keras"), "--data", good)
    assert missing.code == 2 and "No such file" in missing.err


def test_checks_come_before_tensorflow(write, tmp_path):
    """Bad data and a missing TF_CONFIG fail without importing TensorFlow, and `check`
    imports neither TensorFlow nor h5py."""
    spec = write(SMALL)
    bad = _bad_file(tmp_path / "bad.h5", train_set_y=None)
    good = _bad_file(tmp_path / "good.h5")
    code = textwrap.dedent(
        f"""
        import os, sys
        from archspec.cli.main import main
        os.environ.pop("TF_CONFIG", None)
        rc = main(["check", {spec!r}])
        assert rc == 0 and "h5py" not in sys.modules, rc
        codes = [main(["train", {spec!r}, "--data", {bad!r}]),
                 main(["train", {spec!r}, "--data", {good!r}, "--strategy", "multi-worker"])]
        assert codes == [1, 2], codes
        assert not [m for m in ("tensorflow", "keras") if m in sys.modules]
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "dataset 'train_set_y' is missing" in proc.stderr
    assert "TF_CONFIG, which is not set" in proc.stderr


# ---- training (TensorFlow) ---------------------------------------------------------------------


@pytest.mark.keras
def test_keras_knows_every_training_name():
    import keras

    for table, module in (
        (OPTIMIZERS, keras.optimizers),
        (LOSSES, keras.losses),
        (METRICS, keras.metrics),
    ):
        for name, class_name in table.items():
            if class_name is None:
                assert module.get(name) is not None, name
            else:
                assert getattr(module, class_name)() is not None, name  # the defaults construct


@pytest.mark.keras
def test_a_small_spec_learns_the_synthetic_signs(cli, write, signs, tmp_path):
    spec, model = write(SMALL), str(tmp_path / "small.keras")
    result = cli("train", spec, "--data", signs, "-o", model)
    assert result.code == 0, result.err
    assert "1080 train and 120 test images of 64×64×3, 6 classes" in result.out
    assert "Epoch 4/4" in result.out
    loss, accuracy = results(result.out)
    assert accuracy >= 0.9, result.out[-2000:]
    assert f"Saved {model}" in result.out
    # the saved model evaluates to the same figures, through plain keras loading
    again = cli("evaluate", model, "--data", signs)
    assert again.code == 0, again.err
    assert results(again.out) == pytest.approx((loss, accuracy), rel=1e-4)


@pytest.mark.keras
def test_training_arguments_are_checked_at_their_position(cli, write, tiny, tmp_path):
    cases = [
        (
            "{adam: {learning_rate: 0.001}}",
            "{adam: {learning_rat: 0.01}}",
            "23:22",
            ["unknown argument 'learning_rat' of optimizer 'adam'", "did you mean 'learning_rate'"],
        ),
        (
            "{adam: {learning_rate: 0.001}}",
            "{sgd: {momentum: 2}}",
            "23:20",
            ["optimizer 'sgd'", "momentum", "Received: {'momentum': 2}"],
        ),
        (
            "[accuracy]",
            "[{top_k_categorical_accuracy: {kk: 3}}]",
            "25:43",
            ["unknown argument 'kk' of metric", "did you mean 'k'"],
        ),
    ]
    for old, new, position, fragments in cases:
        path = write(SMALL.replace(old, new, 1))
        result = cli("train", path, "--data", tiny, "-o", str(tmp_path / "m.keras"))
        assert result.code == 1, result.out
        assert result.err.startswith(f"{path}:{position}: error: "), result.err
        for fragment in fragments:
            assert fragment in result.err, (fragment, result.err)
        assert "Epoch" not in result.out


@pytest.mark.keras
def test_mixed_precision_keeps_the_output_float32(cli, write, tiny, tmp_path):
    import keras

    spec = write(SMALL.replace("seed: 0", "seed: 0\n  mixed_precision: true"))
    model = str(tmp_path / "mixed.keras")
    result = cli("train", spec, "--data", tiny, "--epochs", "1", "-o", model)
    assert result.code == 0, result.err
    assert "precision mixed_bfloat16" in result.out
    loaded = keras.models.load_model(model)
    assert loaded.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert loaded.layers[-1].dtype_policy.name == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


@pytest.mark.keras
def test_evaluate_a_spec_and_an_uncompiled_model(cli, write, tiny, tmp_path):
    spec = write(SMALL)
    fresh = cli("evaluate", spec, "--data", tiny)
    assert fresh.code == 0, fresh.err
    assert 0 <= results(fresh.out)[1] <= 1
    built = str(tmp_path / "built.keras")
    assert cli("build", spec, "-o", built).code == 0
    result = cli("evaluate", built, "--data", tiny)
    assert result.code == 0, result.err
    assert "saved without a loss" in result.err
    assert "Test Accuracy = " in result.out


def _run(args, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


# Two logical CPU devices must be configured before TensorFlow initializes its devices,
# so this runs in a fresh process.
MIRRORED = """
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from archspec.cli.main import main

sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.keras
def test_mirrored_strategy_over_two_cpu_devices(write, tiny, tmp_path):
    spec, model = write(SMALL), tmp_path / "m.keras"
    proc = _run(
        [
            "-c",
            MIRRORED,
            "train",
            spec,
            "--data",
            tiny,
            "--strategy",
            "mirrored",
            "--epochs",
            "2",
            "-o",
            str(model),
        ]
    )
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    assert "strategy MirroredStrategy, 2 replica(s) (CPU:0, CPU:1)" in out
    assert "Epoch 2/2" in out
    results(out)
    assert model.is_file()


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.keras
def test_multi_worker_strategy_with_two_workers(write, tiny, tmp_path):
    spec = write(SMALL)
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        args = ["-m", "archspec", "train", spec, "--data", tiny, "--strategy", "multi-worker"]
        args += ["--epochs", "1", "-o", str(tmp_path / f"w{index}.keras")]
        procs.append(_run(args, env={"TF_CONFIG": json.dumps(config)}))
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        assert "strategy MultiWorkerMirroredStrategy, 2 replica(s)" in out
        outs.append(out)
    assert results(outs[0]) == results(outs[1])  # one model, trained together
    assert (tmp_path / "w0.keras").is_file()  # the chief saves
    assert not (tmp_path / "w1.keras").exists()
