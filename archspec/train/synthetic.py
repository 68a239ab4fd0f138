"""A synthetic stand-in for SIGNS, in the seed's HDF5 layout.

The original SIGNS files cannot be downloaded here, so :func:`synth_signs` draws hands
raising 0 to 5 fingers, as in SIGNS, with random pose, size, skin tone, background and
noise; :func:`write_synth_signs` writes them as ``datasets`` reads them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from archspec.diagnostics import UsageError
from archspec.train.datasets import SPLITS

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
    import h5py  # only the data commands need it; `archspec check` must stay light

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
        with (
            atomic_path(target, suffix=".h5", make_folders=pair) as tmp,
            h5py.File(tmp, "w") as f,
        ):
            for split in splits:
                x, y = sets[split]
                f.create_dataset(f"{split}_set_x", data=x, track_times=False)
                f.create_dataset(f"{split}_set_y", data=y, track_times=False)
            f.create_dataset("list_classes", data=classes, track_times=False)
    return list(targets)
