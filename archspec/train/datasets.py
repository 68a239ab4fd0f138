"""Image classification data in the seed's HDF5 layout, and a synthetic SIGNS set.

The seed tutorial trains on SIGNS: ``train_signs.h5`` holds ``train_set_x`` (m, 64, 64, 3)
uint8 pixels, ``train_set_y`` (m,) class indices and ``list_classes``; ``test_signs.h5``
holds ``test_set_x``, ``test_set_y`` and ``list_classes``. archspec reads one file with
all five datasets, that pair, or a folder holding it, and checks every dataset against
the model before TensorFlow is imported: a bad file is a ``FILE.h5: error: ...`` (exit
1), an unreadable one a usage error (exit 2).

The original SIGNS files cannot be downloaded here, so :func:`synth_signs` draws a
stand-in in the same layout: a hand raising 0 to 5 fingers, as in SIGNS, with random
pose, size, skin tone, background and noise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archspec.diagnostics import Problem, SpecError, UsageError, Where

SPLITS = ("train", "test")


class DataError(SpecError):
    """A data file that does not fit the model: ``FILE.h5: error: MESSAGE`` (exit 1)."""

    @classmethod
    def at_file(cls, file: str | os.PathLike, message: str) -> DataError:
        return cls(Problem.of("invalid-data", Where(str(file)), detail=message))


@dataclass(frozen=True)
class Split:
    """One split: images (m, height, width, channels) uint8, labels (m,) int64."""

    x: np.ndarray
    y: np.ndarray
    file: str  # where ``x`` came from, for messages

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Dataset:
    train: Split | None
    test: Split
    classes: np.ndarray | None  # list_classes, if a file has it
    files: tuple[str, ...]


def _h5py():
    import h5py  # only the data commands need it; `archspec check` must stay light

    return h5py


# ---- which files ------------------------------------------------------------------------------


def data_files(paths: list[str | os.PathLike]) -> list[str]:
    """The HDF5 files to read: each path given, a folder's ``train_*.h5`` and ``test_*.h5``,
    and the ``test_X.h5`` beside a lone ``train_X.h5`` (the seed's pair)."""
    files: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for s in SPLITS for p in path.glob(f"{s}_*.h5"))
            if not found:
                raise UsageError(f"{path}: no train_*.h5 or test_*.h5 files in this folder")
            files += [str(p) for p in found]
        else:
            files.append(str(path))
    if len(files) == 1 and Path(files[0]).name.startswith("train_"):
        sibling = Path(files[0]).with_name("test_" + Path(files[0]).name[len("train_") :])
        if sibling.is_file():
            files.append(str(sibling))
    return list(dict.fromkeys(files))


def _open(h5py, file: str):
    if not Path(file).exists():
        raise UsageError(f"{file}: cannot read: no such file")
    if Path(file).is_dir():
        raise UsageError(f"{file}: is a directory, expected an HDF5 file")
    if not h5py.is_hdf5(file):
        raise UsageError(f"{file}: cannot read: not an HDF5 file")
    try:
        return h5py.File(file, "r")
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc}") from None


# ---- reading and checking ---------------------------------------------------------------------


def _shape(array) -> str:
    return f"shape={tuple(array.shape)}, dtype={array.dtype}"


def load(paths: list[str | os.PathLike], *, train: bool = True) -> Dataset:
    """Read the seed's datasets from ``paths`` (files or folders) and check their layout:
    images are uint8 (m, height, width, channels), labels integers (m,), and the test
    images have the train images' size. ``train=False`` needs only the test split."""
    h5py = _h5py()
    files = data_files(paths)
    found: dict[str, tuple[str, np.ndarray]] = {}
    for file in files:
        with _open(h5py, file) as f:
            for name in ("train_set_x", "train_set_y", "test_set_x", "test_set_y", "list_classes"):
                if name not in f:
                    continue
                node = f[name]
                if not isinstance(node, h5py.Dataset):
                    raise DataError.at_file(file, f"'{name}' must be a dataset. Received: a group")
                if name in found and name != "list_classes":
                    raise DataError.at_file(file, f"dataset '{name}' is also in {found[name][0]}")
                try:
                    value = node[()]
                except (OSError, TypeError, ValueError) as exc:
                    raise UsageError(f"{file}: cannot read dataset '{name}': {exc}") from None
                if name == "list_classes" and name in found:
                    if not np.array_equal(found[name][1], value):
                        raise DataError.at_file(
                            file, f"dataset 'list_classes' differs from the one in {found[name][0]}"
                        )
                    continue
                found[name] = (file, value)
    needed = [s for s in SPLITS if train or s == "test"]
    where = " or ".join(files)
    for split in needed:
        for part in ("x", "y"):
            if f"{split}_set_{part}" not in found:
                present = ", ".join(sorted(found)) or "none of the seed's datasets"
                raise DataError.at_file(
                    where,
                    f"dataset '{split}_set_{part}' is missing; the seed's layout has train_set_x, "
                    f"train_set_y, test_set_x, test_set_y and list_classes. Received: {present}",
                )
    splits = {split: _split(found, split) for split in needed}
    if train:
        a, b = splits["train"], splits["test"]
        if a.x.shape[1:] != b.x.shape[1:]:
            raise DataError.at_file(
                b.file,
                f"dataset 'test_set_x' holds images of shape {b.x.shape[1:]}, 'train_set_x' "
                f"of shape {a.x.shape[1:]}. Received: {_shape(b.x)}",
            )
    classes = None
    if "list_classes" in found:
        file, classes = found["list_classes"]
        if classes.ndim != 1 or len(classes) == 0:
            raise DataError.at_file(
                file,
                f"dataset 'list_classes' must be a non-empty list. Received: {_shape(classes)}",
            )
    return Dataset(splits.get("train"), splits["test"], classes, tuple(files))


def _split(found: dict, split: str) -> Split:
    xfile, x = found[f"{split}_set_x"]
    yfile, y = found[f"{split}_set_y"]
    xname, yname = f"{split}_set_x", f"{split}_set_y"
    if x.ndim != 4 or x.dtype != np.uint8 or len(x) == 0:
        raise DataError.at_file(
            xfile,
            f"dataset '{xname}' must hold uint8 images of shape (m, height, width, channels), "
            f"m >= 1. Received: {_shape(x)}",
        )
    if y.ndim == 2 and 1 in y.shape:  # (1, m) as the seed's load_dataset reshapes it, or (m, 1)
        y = y.reshape(-1)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError.at_file(
            yfile,
            f"dataset '{yname}' must hold integer class labels of shape (m,). Received: {_shape(y)}",
        )
    if len(y) != len(x):
        raise DataError.at_file(
            yfile,
            f"dataset '{yname}' has {len(y)} labels for the {len(x)} images of '{xname}'. "
            f"Received: {_shape(y)}",
        )
    return Split(x, y.astype(np.int64), xfile)


def check_fits(data: Dataset, input_shape: tuple, classes: int, *, hint: str = "") -> None:
    """Check that the images fit the model's input (``None`` fits any size) and that every
    label indexes one of its ``classes`` outputs. ``hint`` follows a shape mismatch."""
    want = tuple(input_shape)
    for split in (data.train, data.test):
        if split is None:
            continue
        name = "train_set" if split is data.train else "test_set"
        got = split.x.shape[1:]
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            shown = tuple("None" if w is None else w for w in want)
            raise DataError.at_file(
                split.file,
                f"dataset '{name}_x' holds images of shape {got}; the model's input is "
                f"({', '.join(map(str, shown))}){hint}. Received: {_shape(split.x)}",
            )
        bad = np.flatnonzero((split.y < 0) | (split.y >= classes))
        if len(bad):
            i = int(bad[0])
            raise DataError.at_file(
                split.file,
                f"dataset '{name}_y': label {split.y[i]} at index {i} is out of range for the "
                f"model's {classes} classes (0 to {classes - 1}). Received: "
                f"min={split.y.min()}, max={split.y.max()}, {len(bad)} label(s) out of range",
            )
    if data.classes is not None and len(data.classes) != classes:
        raise DataError.at_file(
            data.test.file if len(data.files) == 1 else " or ".join(data.files),
            f"dataset 'list_classes' names {len(data.classes)} classes; the model's output has "
            f"{classes}. Received: list_classes={data.classes.tolist()}",
        )


# ---- the synthetic SIGNS set ------------------------------------------------------------------

CLASSES = 6
# Fingers in hand units, thumb to little finger: base (x, y) on the palm (y grows down),
# angle from the hand's axis (degrees), length, radius. Class k raises k fingers as SIGNS
# does: 1 the index, 2 index and middle, 3 and 4 add ring and little, 5 adds the thumb.
_FINGERS = np.array(
    [
        (-0.17, 0.02, -58.0, 0.26, 0.052),
        (-0.11, -0.16, -12.0, 0.31, 0.044),
        (-0.035, -0.19, -3.0, 0.34, 0.045),
        (0.04, -0.18, 6.0, 0.31, 0.043),
        (0.11, -0.14, 17.0, 0.24, 0.038),
    ]
)
_RAISED = np.array(
    [
        [0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
    ]
)
_KNUCKLE = 0.07  # a folded finger still shows as a short bump above the palm
_SKIN = (np.array([255.0, 224.0, 189.0]), np.array([120.0, 72.0, 40.0]))


def synth_signs(
    n: int, *, size: int = 64, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, size, size, 3) uint8 of hands raising 0 to 5 fingers, balanced
    over the six classes, and their labels (n,) int64."""
    y = rng.permutation(np.arange(n) % CLASSES).astype(np.int64)
    pose = {
        "h": size * rng.uniform(0.9, 1.0, n),  # hand size in pixels
        "cx": size * rng.uniform(0.46, 0.54, n),
        "cy": size * rng.uniform(0.58, 0.64, n),
        "theta": np.radians(rng.uniform(-8, 8, n)),
    }
    skin = _SKIN[0] + rng.uniform(0, 1, size=(n, 1)) * (_SKIN[1] - _SKIN[0])

    def backgrounds(k):  # muted colours: a grey level and a tint
        return rng.uniform(20, 235, size=(k, 1)) + rng.uniform(-30, 30, size=(k, 3))

    background = backgrounds(n)
    for _ in range(16):  # keep the hand visible: redraw backgrounds too close to the skin
        close = np.linalg.norm(background - skin, axis=-1) < 90
        if not close.any():
            break
        background[close] = backgrounds(int(close.sum()))
    noise = rng.standard_normal((n, size, size, 3), dtype=np.float32) * 8
    cover = np.concatenate(
        [
            _hands(y[i : i + 256], {k: v[i : i + 256] for k, v in pose.items()}, size)
            for i in range(0, n, 256)  # in chunks, to stay in cache
        ]
    )
    light = 1 + 0.15 * (0.5 - (np.arange(size, dtype=np.float32) + 0.5) / size)  # lit from above
    skin, background = (a.astype(np.float32)[:, None, None, :] for a in (skin, background))
    pixels = (background + cover[..., None] * (skin - background)) * light[
        None, :, None, None
    ] + noise
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8), y


def _hands(y: np.ndarray, pose: dict, size: int) -> np.ndarray:
    """How much of each pixel the hand covers, (n, size, size) in [0, 1], antialiased."""

    def col(v):
        return v.astype(np.float32)[:, None, None]

    h, cx, cy, theta = (col(pose[k]) for k in ("h", "cx", "cy", "theta"))
    grid = np.arange(size, dtype=np.float32) + 0.5
    dx, dy = grid[None, None, :] - cx, grid[None, :, None] - cy
    # pixels in hand coordinates: unrotated about the centre, scaled
    hx = (dx * np.cos(theta) + dy * np.sin(theta)) / h
    hy = (-dx * np.sin(theta) + dy * np.cos(theta)) / h
    pixel = 1.0 / h  # one pixel in hand units: the width of the antialiased edge

    def capsule(x0, y0, x1, y1, r):
        vx, vy = x1 - x0, y1 - y0
        t = np.clip(((hx - x0) * vx + (hy - y0) * vy) / (vx * vx + vy * vy), 0, 1)
        d = np.hypot(hx - x0 - t * vx, hy - y0 - t * vy)
        return np.clip((r - d) / pixel + 0.5, 0, 1)

    palm = (np.hypot(hx / 0.19, hy / 0.21) - 1) * 0.19  # about the distance to the palm's edge
    cover = np.maximum(
        np.clip(-palm / pixel + 0.5, 0, 1), capsule(0, 0.1, 0, 0.8, 0.14)
    )  # + forearm
    raised = _RAISED[y]
    for i, (bx, by, angle, length, radius) in enumerate(_FINGERS):
        a = math.radians(angle)
        reach = col(np.where(raised[:, i], length, _KNUCKLE))
        cover = np.maximum(
            cover, capsule(bx, by, bx + reach * math.sin(a), by - reach * math.cos(a), radius)
        )
    return cover


def write_synth_signs(
    output: str | os.PathLike,
    *,
    train: int = 1080,
    test: int = 120,
    size: int = 64,
    seed: int = 0,
    pair: bool = False,
) -> list[Path]:
    """Write a synthetic SIGNS set: one file with all five datasets, or (``pair``) the
    seed's ``train_signs.h5`` and ``test_signs.h5`` in the folder ``output``. The same
    arguments give the same arrays."""
    from archspec.files import atomic_path

    for label, value, low in (("--train", train, 1), ("--test", test, 1), ("--size", size, 16)):
        if value < low:
            raise UsageError(f"{label} must be at least {low}. Received: {value}")
    h5py = _h5py()
    rng = np.random.default_rng(seed)
    sets = {
        "train": synth_signs(train, size=size, rng=rng),
        "test": synth_signs(test, size=size, rng=rng),
    }
    classes = np.arange(CLASSES, dtype=np.int64)
    if pair:
        targets = {Path(output) / f"{s}_signs.h5": [s] for s in SPLITS}
    else:
        if Path(output).is_dir():
            raise UsageError(
                f"{output}: is a directory; give a file name, or --pair to write into it"
            )
        targets = {Path(output): list(SPLITS)}
    for target, splits in targets.items():
        with atomic_path(target, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
            for split in splits:
                x, y = sets[split]
                f.create_dataset(f"{split}_set_x", data=x, track_times=False)
                f.create_dataset(f"{split}_set_y", data=y, track_times=False)
            f.create_dataset("list_classes", data=classes, track_times=False)
    return list(targets)
