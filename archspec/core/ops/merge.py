"""Merges: element-wise add, subtract, multiply, average, maximum, minimum (inputs that
broadcast, as Keras's merge layers take them), concatenate (inputs that differ on one
axis only) and dot (the batched dot product of two inputs). No weights."""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated

from pydantic import BeforeValidator, Field

from archspec.core.ops.args import Args, NoArgs, axis_index
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, fmt


@cache
def concatenate_args() -> type[Args]:
    """Concatenate's argument."""

    class ConcatenateArgs(Args):
        axis: int = -1

    return ConcatenateArgs


@cache
def dot_args() -> type[Args]:
    """Dot's arguments: ``axes`` one axis for both inputs or a pair, one per input (Keras
    requires it; the batch is axis 0, as in Keras)."""
    axis = Annotated[int, Field(strict=True)]

    class DotArgs(Args):
        axes: Annotated[
            axis | tuple[axis, axis],
            BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v),
        ]
        normalize: bool = False

    return DotArgs


def _broadcast(a, b):
    """Keras's element-wise output shape of two shapes (batch excluded), aligned at their
    last axes; an unknown size on either side is unknown. None where they do not fit,
    with the Keras axis (of the longer shape) where they first conflict."""
    if len(a) < len(b):
        a, b = b, a
    out = list(a[: len(a) - len(b)])
    for offset, (i, j) in enumerate(zip(a[len(a) - len(b) :], b)):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1 or i == j:
            out.append(j if i == 1 else i)
        else:
            return None, (len(a) - len(b) + offset + 1, len(a), i, j)
    return tuple(out), None


def _elementwise_shape(args, shapes):
    out = shapes[0]
    for other in shapes[1:]:
        out, conflict = _broadcast(out, other)
        if conflict is not None:
            axis, rank, i, j = conflict
            where = "channels" if axis == rank else f"axis {axis}:"
            raise ShapeError(
                "inputs of different shapes: "
                + " and ".join(fmt(s) for s in shapes)
                + f" ({where} {i} vs {j})"
            )
    return out


def _two_inputs(kind: str, shapes) -> None:
    if len(shapes) != 2:
        raise ShapeError(f"{kind} takes exactly 2 inputs; received {len(shapes)}")


def _subtract_shape(args, shapes):
    _two_inputs("subtract", shapes)
    return _elementwise_shape(args, shapes)


def _concat_shape(args, shapes):
    listed = " and ".join(fmt(s) for s in shapes)
    rank = len(shapes[0])
    index = axis_index(args.axis, rank)
    if index is None or any(len(s) != rank for s in shapes):
        raise ShapeError(f"cannot concatenate {listed} on axis {args.axis}")

    def others(shape):
        return [d for i, d in enumerate(shape) if i != index]

    if any(others(s) != others(shapes[0]) for s in shapes[1:]):
        raise ShapeError(f"cannot concatenate {listed} on axis {args.axis}: the other axes differ")
    sizes = [s[index] for s in shapes]
    total = None if None in sizes else sum(sizes)
    return tuple(total if i == index else d for i, d in enumerate(shapes[0]))


def dot_axes(axes, shapes) -> tuple[int, int]:
    """Dot's axes as indices into each spec shape (batch excluded), as Keras reads them:
    one negative int counts from the end of each input modulo its rank, a negative one
    of a pair from the end; the batch axis cannot be summed over."""
    pair = (axes, axes) if isinstance(axes, int) else axes
    indices = []
    for axis, shape in zip(pair, shapes):
        rank = len(shape) + 1  # with the batch, as Keras counts
        if isinstance(axes, int) and axis < 0:
            axis %= rank
        elif -rank <= axis < 0:
            axis += rank
        if not 0 <= axis < rank:
            raise ShapeError(
                f"axes={axes!r} is out of range for an input of shape {fmt(shape)}",
                "incompatible-argument",
            )
        if axis == 0:
            raise ShapeError(
                f"axes={axes!r} names the batch axis, which dot cannot sum over",
                "incompatible-argument",
            )
        indices.append(axis - 1)
    return indices[0], indices[1]


def _dot_shape(args, shapes):
    _two_inputs("dot", shapes)
    a, b = shapes
    i, j = dot_axes(args.axes, shapes)
    if a[i] != b[j]:  # Keras refuses an unknown size against a known one too
        raise ShapeError(
            f"cannot take the dot product of {fmt(a)} and {fmt(b)} with axes={args.axes!r}: "
            f"sizes {a[i]} vs {b[j]}"
        )
    out = a[:i] + a[i + 1 :] + b[:j] + b[j + 1 :]
    return out or (1,)  # Keras keeps one axis besides the batch


def _dot_macs(attrs, in_shapes, out_shape) -> int:
    # Each output value sums the products along the contracted axis.
    i, _ = dot_axes(attrs["axes"], in_shapes)
    return math.prod(out_shape) * in_shapes[0][i]


def _elementwise(kind: str, keras_class: str, suffix: str, shape=_elementwise_shape) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=NoArgs,
        shape=shape,
        suffix=suffix,
        category="merge",
        merge=True,
    )


_elementwise("add", "Add", "add")
_elementwise("subtract", "Subtract", "sub", _subtract_shape)
_elementwise("multiply", "Multiply", "mul")
_elementwise("average", "Average", "avg")
_elementwise("maximum", "Maximum", "max")
_elementwise("minimum", "Minimum", "min")
register(
    kind="concatenate",
    keras_class="Concatenate",
    args=concatenate_args,
    shape=_concat_shape,
    primary="axis",
    suffix="concat",
    category="merge",
    merge=True,
)
register(
    kind="dot",
    keras_class="Dot",
    args=dot_args,
    shape=_dot_shape,
    macs=_dot_macs,
    primary="axes",
    suffix="dot",
    category="merge",
    merge=True,
)
