"""Real data to train on: scikit-learn's handwritten digits, in the seed's HDF5 layout.

``load_digits`` ships inside scikit-learn (1,797 images of 8×8 grey levels 0 to 16,
from the UCI optical digits set), so it needs no download. The images are scaled to
0–255, resized bilinearly (pixel centres aligned, as ``tf.image.resize`` does) to the
size a spec expects, optionally repeated to three channels, and split into train and
test with a seed, stratified by class. Imports neither TensorFlow nor, until it is
used, scikit-learn.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from archspec.diagnostics import UsageError

CLASSES = 10
_LEVELS = 16  # load_digits' grey levels run from 0 to 16
_NATIVE = 8


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of bilinear resampling along one axis: output pixel i
    samples the input at (i + 0.5) · n_in / n_out − 0.5, clamped to the edge pixels."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(src).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    weight = src - low
    matrix = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(matrix, (rows, low), 1 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix


def digits(size: int = 32, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All of scikit-learn's digits as (1797, size, size, channels) uint8 and their
    labels (1797,) int64."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UsageError(
            "archspec data digits needs scikit-learn: pip install 'archspec[data]'"
        ) from None
    loaded = load_digits()
    pixels = loaded.images * (255 / _LEVELS)
    resize = resize_matrix(_NATIVE, size)
    pixels = np.einsum("oi,nij,pj->nop", resize, pixels, resize)
    x = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)[..., None]
    return np.repeat(x, channels, axis=-1), loaded.target.astype(np.int64)


def write_digits(
    output: str | os.PathLike,
    *,
    size: int = 32,
    channels: int = 1,
    test: int = 360,
    seed: int = 0,
) -> tuple[Path, tuple[int, int]]:
    """Write the digits, split into ``test`` test images and the rest for training, to
    one HDF5 file with the seed's five datasets. The same arguments give the same file.
    Returns the path and the (train, test) counts."""
    from archspec.files import atomic_path, check_output

    if size < _NATIVE:
        raise UsageError(f"--size must be at least {_NATIVE}. Received: {size}")
    if channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3. Received: {channels}")
    target = check_output(output)  # before scikit-learn is imported
    if Path(target).is_dir():
        raise UsageError(f"{output}: is a directory; give a file name")
    x, y = digits(size, channels)
    if not CLASSES <= test <= len(y) - CLASSES:  # each split holds every class
        raise UsageError(
            f"--test must be between {CLASSES} and {len(y) - CLASSES}. Received: {test}"
        )
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test, random_state=seed, stratify=y
    )
    import h5py  # only the data commands need it; `archspec check` must stay light

    with atomic_path(target, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        for split, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
            f.create_dataset(f"{split}_set_x", data=xs, track_times=False)
            f.create_dataset(f"{split}_set_y", data=ys, track_times=False)
        f.create_dataset("list_classes", data=np.arange(CLASSES, dtype=np.int64), track_times=False)
    return Path(target), (len(y_train), len(y_test))
