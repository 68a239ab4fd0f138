"""Merges: element-wise add, subtract, multiply, average, maximum, minimum (inputs of one
shape) and concatenate (inputs that differ on one axis only). No weights."""

from __future__ import annotations

from functools import cache

from archspec.core.ops.args import Args, NoArgs, axis_index
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, fmt


@cache
def concatenate_args() -> type[Args]:
    """Concatenate's argument."""

    class ConcatenateArgs(Args):
        axis: int = -1

    return ConcatenateArgs


def _same_shapes(args, shapes):
    first = shapes[0]
    for other in shapes[1:]:
        if other != first:
            raise ShapeError(
                "inputs of different shapes: "
                + " and ".join(fmt(s) for s in shapes)
                + (f" (channels {first[-1]} vs {other[-1]})" if first[:-1] == other[:-1] else "")
            )
    return first


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


def _elementwise(kind: str, keras_class: str, suffix: str) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=NoArgs,
        shape=_same_shapes,
        suffix=suffix,
        category="merge",
        merge=True,
    )


_elementwise("add", "Add", "add")
_elementwise("subtract", "Subtract", "sub")
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
