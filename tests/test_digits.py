"""archspec data digits: scikit-learn's own digits, resized, split and written in the
seed's HDF5 layout; and a small spec trained on them through `archspec train`."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest
from conftest import ROOT

from archspec.cli.main import main
from archspec.train.digits import digits, write_digits

sklearn_datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def reference():
    """sklearn's digits as 0–255 levels (its 0–16 scaled), and their labels."""
    loaded = sklearn_datasets.load_digits()
    return loaded.images * 255 / 16, loaded.target


def _read(path) -> dict:
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in f}


def _rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Images and labels as rows sorted the same whatever the order: one row per image."""
    rows = np.concatenate([x.reshape(len(x), -1).astype(np.float64), y[:, None]], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_the_file_holds_sklearns_digits_and_labels(tmp_path, reference):
    """At 8×8 (no resizing) the two splits together are sklearn's images, each with its
    own label, once; the test split is stratified; the layout is the seed's."""
    images, labels = reference
    path = tmp_path / "digits.h5"
    assert write_digits(path, size=8, test=360, seed=0) == (path, (1437, 360))
    data = _read(path)
    assert sorted(data) == [
        "list_classes",
        "test_set_x",
        "test_set_y",
        "train_set_x",
        "train_set_y",
    ]
    assert data["train_set_x"].dtype == np.uint8 and data["train_set_y"].dtype == np.int64
    assert data["train_set_x"].shape == (1437, 8, 8, 1) and data["test_set_x"].shape == (
        360,
        8,
        8,
        1,
    )
    assert data["list_classes"].tolist() == list(range(10))
    x = np.concatenate([data["train_set_x"], data["test_set_x"]])[..., 0]
    y = np.concatenate([data["train_set_y"], data["test_set_y"]])
    np.testing.assert_array_equal(_rows(x, y), _rows(np.rint(images), labels))
    # stratified: each class holds its share of the 360 (about 36), to one image
    share = np.bincount(labels) * 360 / len(labels)
    assert np.all(np.abs(np.bincount(data["test_set_y"], minlength=10) - share) <= 1)


def test_the_split_follows_the_seed(tmp_path):
    first, again, other = (tmp_path / f"{n}.h5" for n in ("a", "b", "c"))
    write_digits(first, size=8, seed=5)
    write_digits(again, size=8, seed=5)
    write_digits(other, size=8, seed=6)
    a, b, c = _read(first), _read(again), _read(other)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test_set_y"], c["test_set_y"])


def test_bilinear_resizing_by_hand(reference):
    """16×16: pixel i samples the source at (i + 0.5) / 2 - 0.5, so the corners are the
    source's corners and pixel (1, 2) is a quarter of the way from row 0 to row 1 and
    three quarters from column 0 to column 1."""
    images, _ = reference
    x, y = digits(size=16, channels=3)
    assert x.shape == (1797, 16, 16, 3) and y.tolist() == reference[1].tolist()
    assert (x[..., 0] == x[..., 1]).all() and (x[..., 0] == x[..., 2]).all()
    src = images[7]
    assert x[7, 0, 0, 0] == np.rint(src[0, 0]) and x[7, 15, 15, 0] == np.rint(src[7, 7])
    row = 0.75 * src[0] + 0.25 * src[1]
    assert x[7, 1, 2, 0] == np.rint(0.25 * row[0] + 0.75 * row[1])


def test_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "digits", "--size", "12", "--channels", "3", "-o", "d.h5"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "wrote d.h5\n1437 train and 360 test images of 12x12x3, 10 classes (handwritten digits 0 to 9)\n"
    )
    assert _read("d.h5")["test_set_x"].shape == (360, 12, 12, 3)
    for args, fragment in (
        (["--size", "4"], "--size must be at least 8. Received: 4"),
        (["--test", "5"], "--test must be between 10 and 1787. Received: 5"),
        (["--channels", "2"], "invalid choice: 2"),
    ):
        assert main(["data", "digits", *args, "-o", "x.h5"]) == 2
        assert fragment in capsys.readouterr().err
    assert main(["data", "digits", "-o", "no/x.h5"]) == 2
    assert "there is no folder no" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


def test_a_missing_scikit_learn_names_the_extra(tmp_path, monkeypatch, capsys):
    for name in ("sklearn", "sklearn.datasets"):  # import machinery: "not installed"
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["data", "digits", "-o", str(tmp_path / "d.h5")]) == 2
    assert capsys.readouterr().err == (
        "archspec: error: archspec data digits needs scikit-learn: pip install 'archspec[data]'\n"
    )


def test_the_data_command_imports_no_tensorflow(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        from archspec.cli.main import main
        assert main(["data", "digits", "--size", "8", "-o", {str(tmp_path / "d.h5")!r}]) == 0
        assert not [m for m in ("tensorflow", "keras") if m in sys.modules]
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, capture_output=True)


# Two conv/pool stages at 16×16×1: the digits are easy, a few epochs suffice.


@pytest.mark.keras
@pytest.mark.slow
def test_a_small_spec_learns_the_digits(tmp_path, monkeypatch, capsys):
    """Through the same HDF5 path as SIGNS: `archspec data digits`, then `archspec train`."""
    monkeypatch.chdir(tmp_path)
    assert main(["data", "digits", "--size", "16", "-o", "digits.h5"]) == 0
    start = time.perf_counter()
    spec = str(ROOT / "specs/examples/digits.yaml")
    code = main(["train", spec, "--data", "digits.h5", "-o", "digits.keras"])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    assert "1437 train and 360 test images of 16×16×1, 10 classes" in out
    accuracy = float(re.search(r"^Test Accuracy = (\S+)$", out, re.MULTILINE)[1])
    print(f"digits: test accuracy {accuracy:.4f} in {time.perf_counter() - start:.1f} s")
    assert accuracy >= 0.9, out[-2000:]
