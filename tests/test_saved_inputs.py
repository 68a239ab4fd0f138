"""Hostile saved models and HDF5 data: refused with one line, fast, before Keras starts.

The files come from ``hostile_files`` (the corpus builds the same ones). Each case runs
``archspec`` in-process and checks the exit code, the message, that it is one line, the
CPU time and the Python memory it took, and that TensorFlow was not imported for it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tracemalloc
import zipfile

import hostile_files as hostile
import pytest

from archspec.backends.keras.read import check_saved, short_message
from archspec.diagnostics import UsageError
from archspec.limits import LIMITS

SPEC = "specs/resnet50.yaml"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def refused(cli, *args: str):
    """Run ``archspec ARGS``; return the result, its CPU seconds and peak traced bytes,
    having checked that TensorFlow was not imported by it."""
    before = "tensorflow" in sys.modules
    tracemalloc.start()
    start = _cpu()
    try:
        result = cli(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cpu = _cpu() - start
    assert before or "tensorflow" not in sys.modules
    return result, cpu, peak


KERAS_CASES = [
    (
        hostile.make_keras_zip_bomb,
        "member config.json inflates to 1,073,741,824 bytes; the limit is 16,000,000 "
        "(limit max_model_config_bytes)",
    ),
    (hostile.make_keras_lying_size, "cannot read member config.json: BadZipFile: Bad CRC-32"),
    (
        hostile.make_truncated_keras,
        "not a .keras model: a truncated or damaged zip archive (no zip directory at its end)",
    ),
    (hostile.make_not_a_zip_keras, "not a .keras model: not a zip archive"),
    (
        hostile.make_keras_without_config,
        "not a .keras model: the zip archive has no config.json. Received: metadata.json, "
        "model.weights.h5",
    ),
    (
        hostile.make_keras_config_not_json,
        "member config.json is not JSON: JSONDecodeError: Expecting property name",
    ),
]


@pytest.mark.parametrize("make, message", KERAS_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_hostile_keras_file_is_refused_in_one_line(cli, tmp_path, make, message):
    path = tmp_path / "model.keras"
    make(path)
    assert path.stat().st_size < 2_000_000
    result, cpu, peak = refused(cli, "diff", str(path), SPEC)
    assert result.code == 2, result.err
    assert result.err.startswith(f"archspec: error: {path}: ")
    assert message in result.err
    assert result.err.count("\n") == 1
    assert cpu < 5 and peak < 50_000_000, (cpu, peak)


def test_evaluate_refuses_the_bomb_before_reading_data(cli, tmp_path):
    bomb = tmp_path / "bomb.keras"
    hostile.make_keras_zip_bomb(bomb)
    result, cpu, peak = refused(cli, "evaluate", str(bomb), "--data", str(tmp_path / "none.h5"))
    assert result.code == 2
    assert "(limit max_model_config_bytes)" in result.err
    assert cpu < 5 and peak < 50_000_000, (cpu, peak)


def test_a_large_member_that_inflates_a_hundredfold_is_a_bomb(cli, tmp_path):
    bomb = tmp_path / "bomb.keras"
    hostile.make_keras_zip_bomb(bomb)
    result, _, _ = refused(
        cli, "diff", str(bomb), SPEC, "--limit", "max_model_config_bytes=2_000_000_000"
    )
    assert result.code == 2
    assert "member config.json inflates to 1,073,741,824 bytes from 1,062,914" in result.err
    assert "a decompression bomb" in result.err


@pytest.mark.parametrize(
    "limit, message",
    [
        ("max_model_bytes=1000", "the file is 1,063,199 bytes; the limit is 1,000"),
        ("max_zip_directory_bytes=50", "list of members is 116 bytes; the limit is 50"),
    ],
)
def test_archive_limits(cli, tmp_path, limit, message):
    bomb = tmp_path / "bomb.keras"
    hostile.make_keras_zip_bomb(bomb)
    result, _, _ = refused(cli, "diff", str(bomb), SPEC, "--limit", limit)
    assert result.code == 2
    assert f"{message} (limit {limit.split('=')[0]})" in result.err


def test_a_sound_archive_passes_and_its_config_is_bounded(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    config = {"class_name": "Functional", "config": {"layers": [{"name": "x" * 1000}] * 1000}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", "{}")
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", b"\0" * 1000)
    check_saved(path)  # 1 MB of config: NASNetLarge's size
    monkeypatch.setattr(LIMITS, "max_model_config_bytes", 1000)
    with pytest.raises(
        UsageError, match=r"config.json inflates to 1,0\d\d,\d\d\d bytes; the limit is 1,000"
    ):
        check_saved(path)


def test_h5_model_config_is_bounded(cli, tmp_path):
    path = tmp_path / "model.h5"
    hostile.make_h5_model_huge_config(path)
    result, _, _ = refused(cli, "diff", str(path), SPEC, "--limit", "max_model_config_bytes=1000")
    assert result.code == 2
    assert (
        f"{path}: attribute model_config is 1,000,000 bytes; the limit is 1,000 "
        "(limit max_model_config_bytes)" in result.err
    )
    result, _, _ = refused(cli, "diff", str(path), SPEC)
    assert result.code == 2
    assert "attribute model_config is not JSON" in result.err


def test_h5_without_model_config_and_a_zip_named_h5(cli, tmp_path):
    weights = tmp_path / "weights.h5"
    hostile.make_h5_never_written(weights)
    result, _, _ = refused(cli, "diff", str(weights), SPEC)
    assert result.code == 2
    assert "the HDF5 file has no model_config attribute" in result.err
    zipped = tmp_path / "model.h5"
    hostile.make_keras_without_config(zipped)
    result, _, _ = refused(cli, "diff", str(zipped), SPEC)
    assert "not an HDF5 file; it is a zip archive (a Keras 3 model is named .keras)" in result.err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_a_fifo_or_a_directory_is_refused_without_blocking(cli, tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    result, _, _ = refused(cli, "diff", str(fifo), SPEC)
    assert result.code == 2
    assert f"{fifo}: is a named pipe, expected a saved model file" in result.err
    folder = tmp_path / "folder" / name
    folder.mkdir(parents=True)
    result, _, _ = refused(cli, "diff", str(folder), SPEC)
    assert f"{folder}: is a directory, expected a saved model file" in result.err
    link = tmp_path / f"link{folder.suffix}"
    link.symlink_to(fifo)
    result, _, _ = refused(cli, "diff", str(link), SPEC)
    assert f"{link}: is a named pipe" in result.err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_data_that_is_a_fifo_is_refused(cli, tmp_path):
    fifo = tmp_path / "train_signs.h5"
    os.mkfifo(fifo)
    result, _, _ = refused(cli, "train", SPEC, "--data", str(fifo))
    assert result.code == 2
    assert f"{fifo}: is a named pipe, expected an HDF5 file" in result.err


def test_data_declaring_terabytes_is_refused_before_it_is_read(cli, tmp_path):
    data = tmp_path / "signs.h5"
    hostile.make_h5_huge_declared(data)
    assert data.stat().st_size < 100_000
    for command in (["train", SPEC], ["evaluate", SPEC]):
        result, cpu, peak = refused(cli, *command, "--data", str(data))
        assert result.code == 1, result.err
        assert result.err == (
            f"{data}: error: dataset 'train_set_x' declares shape (100000000, 64, 64, 3) of "
            "uint8: 1,228,800,000,000 bytes; the data may take at most 4,000,000,000 "
            "(limit max_data_bytes)\n"
        )
        assert cpu < 5 and peak < 50_000_000, (cpu, peak)


def test_the_data_limit_counts_every_dataset_read(cli, tmp_path):
    import h5py
    import numpy as np

    data = tmp_path / "signs.h5"
    with h5py.File(data, "w") as f:
        f["train_set_x"] = np.ones((4, 64, 64, 3), dtype="uint8")  # 49,152 bytes
        f["train_set_y"] = np.zeros(4, dtype="int64")  # 32 bytes
        f["test_set_x"] = np.ones((2, 64, 64, 3), dtype="uint8")  # 24,576 bytes
        f["test_set_y"] = np.zeros(2, dtype="int64")
    args = ["train", SPEC, "--data", str(data), "--limit"]
    result, _, _ = refused(cli, *args, "max_data_bytes=60000")
    assert result.code == 1
    assert result.err == (
        f"{data}: error: dataset 'test_set_x' declares shape (2, 64, 64, 3) of uint8: 24,576 "
        "bytes; the data may take at most 60,000 (49,184 already read) (limit max_data_bytes)\n"
    )
    result, _, _ = refused(cli, *args, "max_data_bytes=49183")
    assert "dataset 'train_set_x' declares shape (4, 64, 64, 3) of uint8: 49,152" not in result.err
    assert "dataset 'train_set_y' declares shape (4,) of int64: 32 bytes" in result.err


def test_data_never_written_is_refused(cli, tmp_path):
    data = tmp_path / "signs.h5"
    hostile.make_h5_never_written(data)
    result, _, _ = refused(cli, "train", SPEC, "--data", str(data))
    assert result.code == 1
    assert (
        "dataset 'train_set_x' declares 1,000 images but stores none (its data was never "
        "written). Received: shape=(1000, 64, 64, 3), dtype=uint8" in result.err
    )


def test_short_message_keeps_one_line_without_the_config_dump():
    config = {"module": "keras.layers", "class_name": "Nope", "config": {"x": list(range(500))}}
    exc = TypeError(
        "Could not locate class 'Nope'. Make sure custom classes are decorated with "
        f"`@keras.saving.register_keras_serializable()`. Full object config: {config}"
    )
    assert short_message(exc) == (
        "TypeError: Could not locate class 'Nope'. Make sure custom classes are decorated "
        "with `@keras.saving.register_keras_serializable()`. …"
    )
    exc = ValueError(
        f"<class 'Dense'> could not be deserialized properly.\n\nconfig={config}.\n\n"
        "Exception encountered: Unrecognized keyword arguments: ['bogus']"
    )
    assert short_message(exc) == (
        "ValueError: <class 'Dense'> could not be deserialized properly. Exception "
        "encountered: Unrecognized keyword arguments: ['bogus']"
    )
    long = short_message(ValueError("x" * 1000))
    assert len(long) == 300 and long.endswith("…")
    assert short_message(KeyError()) == "KeyError"


@pytest.mark.parametrize(
    "make, message",
    [
        (hostile.make_h5_external_link, "'train_set_x' is a link to '{target}'"),
        (hostile.make_h5_external_storage, "(an HDF5 external dataset)"),
    ],
)
def test_data_kept_in_another_file_is_refused_without_opening_it(cli, tmp_path, make, message):
    target = tmp_path / "elsewhere"
    if hasattr(os, "mkfifo"):
        os.mkfifo(target)  # opened, it would block
    data = tmp_path / "signs.h5"
    make(data, str(target))
    result, _, _ = refused(cli, "train", SPEC, "--data", str(data))
    assert result.code == 1
    assert message.format(target=target) in result.err
