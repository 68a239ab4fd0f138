"""Arithmetic with a constant: ``x + 3.0``, ``x - c``, ``x * c``, ``x / c`` on a tensor.

These are not Keras layers: in a functional model Keras records Python arithmetic on a
tensor as an operation node of ``keras.src.ops.numpy`` (``Add``, ``Subtract``,
``Multiply``, ``TrueDivide``), named by the same counter as layers (``add``, then an
``Add`` layer is ``add_1``), called with the tensor and the constant. Keras's own
hard_sigmoid is ``ReLU(6.0)(x + 3.0) * (1.0 / 6.0)``. The output has the input's shape;
no weights, and no multiply-accumulates (as for Rescaling: none multiplies a weight).
"""

from __future__ import annotations

from functools import cache

from archspec.core.ops.args import Args, Number
from archspec.core.ops.registry import Operation, register

MODULE = "keras.src.ops.numpy"  # where Keras's saved configs place these operations


@cache
def scalar_args() -> type[Args]:
    """The constant, under the name Keras's ``keras.ops.add(x1, x2)`` gives it."""

    class ScalarArgs(Args):
        x2: Number

    return ScalarArgs


def _same_shape(args, shapes):
    return shapes[0]


def _arithmetic(kind: str, keras_class: str, operator: str, suffix: str) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=scalar_args,
        shape=_same_shape,
        primary="x2",
        suffix=suffix,
        category="other",
        operation=Operation(MODULE, operator, "x2"),
    )


_arithmetic("scalar_add", "Add", "+", "plus")
_arithmetic("scalar_subtract", "Subtract", "-", "minus")
_arithmetic("scalar_multiply", "Multiply", "*", "times")
_arithmetic("scalar_divide", "TrueDivide", "/", "over")
