"""What shape and weight rules are written with: the error they raise, the weight record,
and the checks several families share (a spatial input, a window that must fit).

Shapes exclude the batch axis; ``None`` is an unknown size and propagates.
"""

from __future__ import annotations

import math
from typing import NamedTuple

Shape = tuple  # output shape without the batch axis


class ShapeError(Exception):
    """A layer cannot take its input; the caller adds the position.

    ``code`` says which kind of problem it is, for diagnostics: ``shape-mismatch`` (inputs
    that do not go together), ``window-too-large`` (a kernel or pool that does not fit),
    ``unknown-size`` (a size the layer needs is None), ``invalid-argument`` (a combination
    Keras refuses).
    """

    def __init__(self, message: str, code: str = "shape-mismatch"):
        super().__init__(message)
        self.code = code


class Weight(NamedTuple):
    """One variable Keras creates for a layer."""

    name: str  # Keras's variable name (``kernel``, ``moving_mean``)
    shape: tuple
    trainable: bool = True


def fmt(shape: Shape) -> str:
    """A shape as Keras prints it, batch axis included: ``(None, 8, 8, 3)``."""
    return "(None, " + ", ".join(str(s) for s in shape) + ")"


def known(size, what: str = "channels"):
    """Weights need the size they are made for: refuse an unknown (None) one, as Keras does."""
    if size is None:
        raise ShapeError(
            f"its input's {what} must be known (the input shape has None there)", "unknown-size"
        )
    return size


def spatial(shape: Shape, rank: int, op: str) -> Shape:
    """An input of ``rank`` spatial axes and channels last, or a ShapeError."""
    if len(shape) != rank + 1:
        axes = {1: "(steps, channels)", 2: "(height, width, channels)"}.get(
            rank, "(" + ", ".join(f"d{i}" for i in range(1, rank + 1)) + ", channels)"
        )
        raise ShapeError(f"{op} expects an input of shape {axes}; received {fmt(shape)}")
    return shape


def _window(size, kernel, stride, dilation, padding, op):
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    span = dilation * (kernel - 1) + 1
    out = (size - span) // stride + 1
    if out < 1:
        raise ShapeError(
            f"{op} with a window of {span} (kernel {kernel}, dilation {dilation}) does not fit "
            f"an input of size {size}: the output would be {out}",
            "window-too-large",
        )
    return out


def windowed(shape: Shape, rank: int, op: str, window, strides, padding, dilation, channels):
    """The output of a sliding window over ``rank`` spatial axes (convolutions and pooling
    share it, as Keras's ``compute_conv_output_shape`` does), with ``channels`` out."""
    sizes = spatial(shape, rank, op)[:rank]
    dilation = dilation or (1,) * rank
    return (
        *(
            _window(size, k, s, d, padding, op)
            for size, k, s, d in zip(sizes, window, strides, dilation, strict=True)
        ),
        channels,
    )


def size_of(weights) -> tuple[int, int]:
    """(trainable, non-trainable) parameter counts of a layer's weights."""
    counts = [0, 0]
    for w in weights:
        counts[0 if w.trainable else 1] += math.prod(w.shape)
    return counts[0], counts[1]
