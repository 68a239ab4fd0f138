"""Image classification data in the seed's HDF5 layout: finding, reading and checking it.

The seed tutorial trains on SIGNS: ``train_signs.h5`` holds ``train_set_x`` (m, 64, 64, 3)
uint8 pixels, ``train_set_y`` (m,) class indices and ``list_classes``; ``test_signs.h5``
holds ``test_set_x``, ``test_set_y`` and ``list_classes``. archspec reads one file with
all five datasets, that pair, or a folder holding it, and checks every dataset against
the model before TensorFlow is imported: a bad file is a ``FILE.h5: error: ...`` (exit
1), an unreadable one a usage error (exit 2). ``synthetic`` draws a stand-in set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from archspec.diagnostics import Problem, SpecError, UsageError, Where
from archspec.files import note_input, regular_file
from archspec.limits import LIMITS

SPLITS = ("train", "test")
# An optional validation split, ``val_set_x`` and ``val_set_y``, in any of the files (or
# a ``val_*.h5`` beside them in a folder), checked as the others are.
VALIDATION = "val"


class DataError(SpecError):
    """A data file that does not fit the model: ``FILE.h5: error: MESSAGE`` (exit 1)."""

    @classmethod
    def at_file(cls, file: str | os.PathLike, message: str) -> DataError:
        """The error of a data file without a line: ``FILE: error: MESSAGE``."""
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
    """A data set: its splits (the train split may be absent), class names and files read."""

    train: Split | None
    test: Split
    classes: np.ndarray | None  # list_classes, if a file has it
    files: tuple[str, ...]
    val: Split | None = None  # val_set_x and val_set_y, if the files have them


_NAMES = (
    "train_set_x",
    "train_set_y",
    "test_set_x",
    "test_set_y",
    "val_set_x",
    "val_set_y",
    "list_classes",
)


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
            found = sorted(p for s in (*SPLITS, VALIDATION) for p in path.glob(f"{s}_*.h5"))
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
    regular_file(file, "an HDF5 file")
    note_input(file)
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
    budget = LIMITS.max_data_bytes  # what the datasets read so far leave of the limit
    for file in files:
        with _open(h5py, file) as f:
            for name in _NAMES:
                link = f.get(name, getlink=True)  # the link itself: never opens another file
                if link is None:
                    continue
                if not isinstance(link, h5py.HardLink):
                    target = getattr(link, "filename", None) or link.path
                    raise DataError.at_file(
                        file,
                        f"'{name}' is a link to {target!r}; archspec reads only datasets "
                        "stored in the file itself",
                    )
                node = f[name]
                if not isinstance(node, h5py.Dataset):
                    raise DataError.at_file(file, f"'{name}' must be a dataset. Received: a group")
                if name in found and name != "list_classes":
                    raise DataError.at_file(file, f"dataset '{name}' is also in {found[name][0]}")
                budget -= _check_stored(file, name, node, budget)
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
    val = [f"val_set_{p}" for p in ("x", "y") if f"val_set_{p}" in found]
    if train and len(val) == 1:
        other = "val_set_y" if val[0] == "val_set_x" else "val_set_x"
        raise DataError.at_file(
            found[val[0]][0], f"dataset '{val[0]}' has no '{other}'; a validation set needs both"
        )
    if train and val:
        needed.append(VALIDATION)
    splits = {split: _split(found, split) for split in needed}
    if train:
        a = splits["train"]
        for other in [s for s in ("test", VALIDATION) if s in splits]:
            b = splits[other]
            if a.x.shape[1:] != b.x.shape[1:]:
                raise DataError.at_file(
                    b.file,
                    f"dataset '{other}_set_x' holds images of shape {b.x.shape[1:]}, "
                    f"'train_set_x' of shape {a.x.shape[1:]}. Received: {_shape(b.x)}",
                )
    classes = None
    if "list_classes" in found:
        file, classes = found["list_classes"]
        if classes.ndim != 1 or len(classes) == 0:
            raise DataError.at_file(
                file,
                f"dataset 'list_classes' must be a non-empty list. Received: {_shape(classes)}",
            )
    return Dataset(
        splits.get("train"), splits["test"], classes, tuple(files), splits.get(VALIDATION)
    )


def split_validation(data: Dataset, fraction: float) -> Dataset:
    """Keras's ``validation_split``: the last ``fraction`` of the train images (before
    any shuffling) become the validation set."""
    n = len(data.train)
    at = int(np.floor(n * (1.0 - fraction)))  # as Keras rounds it (train_validation_split)
    if at <= 0 or at >= n:
        raise DataError.at_file(
            data.train.file,
            f"validation_split {fraction} of the {n} images of 'train_set_x' leaves "
            f"{'no train' if at <= 0 else 'no validation'} image",
        )
    t = data.train
    return replace(
        data,
        train=Split(t.x[:at], t.y[:at], t.file),
        val=Split(t.x[at:], t.y[at:], t.file),
    )


def _check_stored(file: str, name: str, node, budget: int) -> int:
    """The bytes dataset ``name`` will take in memory, checked before it is read against
    what is left of ``max_data_bytes`` (a few KB of HDF5 can declare terabytes); a
    dataset that stores nothing, or stores it outside the file, is refused."""
    if node.shape is None:
        raise DataError.at_file(file, f"dataset '{name}' is empty (it has a null dataspace)")
    if node.is_virtual or node.external:
        raise DataError.at_file(
            file,
            f"dataset '{name}' keeps its data in other files (an HDF5 "
            f"{'virtual' if node.is_virtual else 'external'} dataset); archspec reads only "
            "data stored in the file itself",
        )
    count = int(np.prod(node.shape, dtype=object))
    size = count * node.dtype.itemsize
    if size > budget:
        so_far = LIMITS.max_data_bytes - budget
        also = f" ({so_far:,} already read)" if so_far else ""
        raise DataError(
            Problem.of(
                "limit-exceeded",
                Where(file),
                detail=f"dataset '{name}' declares shape {tuple(node.shape)} of {node.dtype}: "
                f"{size:,} bytes; the data may take at most {LIMITS.max_data_bytes:,}{also}",
                limit="max_data_bytes",
            )
        )
    if count and node.id.get_storage_size() == 0:
        units = {"x": "images", "y": "labels"}.get(name[-1], "classes")
        first = node.shape[0] if node.ndim else count
        raise DataError.at_file(
            file,
            f"dataset '{name}' declares {first:,} {units} but stores none (its data was "
            f"never written). Received: {_shape(node)}",
        )
    return size


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
    for name, split in (("train_set", data.train), ("test_set", data.test), ("val_set", data.val)):
        if split is None:
            continue
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
