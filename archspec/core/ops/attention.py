"""Projections and attention: einsum_dense (a dense layer written as an einsum equation),
embedding (a lookup table of integer ids) and multi_head_attention.

EinsumDense's weights follow from its equation as Keras reads it: the input's axes
named left of the comma (the batch first), the kernel's after it, the output's after
the arrow; ``...`` stands for the axes the equation leaves out, at the start (the batch
among them) or at the end. MultiHeadAttention projects its query, key and value with
EinsumDense layers (``query``, ``key``, ``value``, then ``attention_output``, the order
of its weights), and is called with its tensors positionally: ``layer(query, value)``,
or ``layer(query, value, key)``; one tensor alone is self-attention.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator

from archspec.core.ops.args import (
    ActivationName,
    Args,
    AxisList,
    Initializer,
    PositiveInt,
    Seed,
    axis_index,
)
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, Weight, fmt, known

# An output shape: one size, or one per axis (None: the size the input gives).
OutputShape = tuple[PositiveInt | None, ...]


def _sizes(value):
    """An int stands for a tuple of one, as Keras takes it; a list becomes a tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


# The three forms Keras reads (``...`` written as "0"): no ellipsis, one at the start of
# the input and the output, one at their ends.
_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


def parse_equation(equation: str):
    """(input axes, kernel axes, output axes, where the ellipsis is: None, "left" or
    "right"), or None if Keras cannot read it."""
    text = equation.replace("...", "0")
    for pattern, side in _FORMS:
        found = pattern.fullmatch(text)
        if found:
            return (*found.groups(), side)
    return None


@cache
def einsum_dense_args() -> type[Args]:
    """EinsumDense's arguments, with Keras's defaults."""

    class EinsumDenseArgs(Args):
        equation: str
        output_shape: Annotated[OutputShape, Field(min_length=1)]
        activation: ActivationName | None = None
        bias_axes: Annotated[str, Field(min_length=1, pattern="^[a-zA-Z]+$")] | None = None
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

        @field_validator("equation")
        @classmethod
        def _readable(cls, value):
            if parse_equation(value) is None:
                raise ValueError(
                    f"cannot read the equation '{value}': expected the form ab,bc->ac, "
                    "...b,bc->...c or abc...,cd->abd... (input, kernel -> output)"
                )
            return value

        @field_validator("output_shape", mode="before")
        @classmethod
        def _tuple(cls, value):
            return _sizes(value)

    return EinsumDenseArgs


def einsum_shapes(attrs, shape):
    """(output shape, kernel shape, bias shape or None, the kernel axes that are summed
    over), batch excluded from the output, as Keras's EinsumDense derives them."""
    equation = attrs["equation"]
    inputs, kernel, outputs, side = parse_equation(equation)
    full = (None, *shape)  # Keras's shapes count the batch
    elided = len(full) - len(inputs)
    if (side is None and elided != 0) or elided < 0:
        expected = f"{len(inputs)}" if side is None else f"at least {len(inputs)}"
        raise ShapeError(
            f"the equation '{equation}' names {len(inputs)} input axes (the batch first); "
            f"expected an input of {expected} axes with the batch, received {fmt(shape)}"
        )
    if side != "left" and outputs[0] != inputs[0]:
        raise ShapeError(
            f"the equation '{equation}' must keep the batch axis '{inputs[0]}' first in its output",
            "incompatible-argument",
        )
    if side == "left":
        middle = full[1:elided]
        if middle != middle[::-1]:
            # Keras lists these axes in reverse order in the shape it reports.
            raise ShapeError(
                f"the ellipsis of '{equation}' spans axes of sizes {middle}: Keras reports "
                "them in reverse order, and archspec refuses a shape it would get wrong",
                "incompatible-argument",
            )
    out = [full[0], *(full[1:elided] if side == "left" else ()), *attrs["output_shape"]]
    if side == "right":
        out += full[len(full) - elided :]
    offset = elided if side == "left" else 0
    if len(out) != len(outputs) + (elided if side else 0):
        raise ShapeError(
            f"output_shape {tuple(attrs['output_shape'])} does not fit the equation "
            f"'{equation}': its output '{outputs}' has {len(outputs) - (side != 'left')} axes "
            "besides the batch (and those of the ellipsis)",
            "incompatible-argument",
        )
    in_index = {a: (i + elided - len(full) if side == "left" else i) for i, a in enumerate(inputs)}
    out_index = {a: i + offset for i, a in enumerate(outputs)}
    for axis in inputs:
        if axis in out_index:
            size, wanted = full[in_index[axis]], out[out_index[axis]]
            if wanted is not None and size is not None and wanted != size:
                raise ShapeError(
                    f"axis '{axis}' of '{equation}' is {size} in the input but {wanted} in "
                    f"output_shape",
                    "incompatible-argument",
                )
    for axis in outputs:
        if axis not in inputs and axis not in kernel:
            raise ShapeError(
                f"output axis '{axis}' of '{equation}' is in neither the input nor the kernel",
                "incompatible-argument",
            )
    kernel_shape, summed = [], []
    for axis in kernel:
        if axis in out_index:
            size = out[out_index[axis]]
        elif axis in in_index:
            size = full[in_index[axis]]
            summed.append(size)
        else:
            raise ShapeError(
                f"kernel axis '{axis}' of '{equation}' is in neither the input nor the output",
                "incompatible-argument",
            )
        kernel_shape.append(known(size, f"size on the kernel's axis '{axis}'"))
    bias = None
    if attrs["bias_axes"] is not None:
        for axis in attrs["bias_axes"]:
            if axis not in outputs:
                raise ShapeError(
                    f"bias axis '{axis}' is not an output axis of '{equation}'",
                    "incompatible-argument",
                )
        first = min(outputs.index(a) for a in attrs["bias_axes"])
        bias = [
            known(out[i + offset], f"size on the bias's axis '{a}'")
            if a in attrs["bias_axes"]
            else 1
            for i, a in enumerate(outputs)
            if i >= first
        ]
        if side != "left":
            bias += [1] * elided  # broadcast over the ellipsis at the end
    return tuple(out[1:]), tuple(kernel_shape), bias and tuple(bias), summed


def _einsum_dense_shape(args, shapes):
    return einsum_shapes(args.model_dump(), shapes[0])[0]


def _einsum_dense_weights(attrs, shapes) -> tuple[Weight, ...]:
    _, kernel, bias, _ = einsum_shapes(attrs, shapes[0])
    return (Weight("kernel", kernel),) + ((Weight("bias", bias),) if bias else ())


def _einsum_dense_macs(attrs, shapes, out) -> int:
    # Each output value sums the products over the kernel's axes the output lacks.
    return math.prod(out) * math.prod(einsum_shapes(attrs, shapes[0])[3])


# ---- embedding ----------------------------------------------------------------------------


@cache
def embedding_args() -> type[Args]:
    """Embedding's arguments, with Keras's defaults ("uniform" is RandomUniform)."""

    class EmbeddingArgs(Args):
        input_dim: PositiveInt
        output_dim: PositiveInt
        embeddings_initializer: Initializer = "random_uniform"
        mask_zero: bool = False

    return EmbeddingArgs


def _embedding_shape(args, shapes):
    # Integer ids of any shape; each becomes a vector on a new last axis.
    return (*shapes[0], args.output_dim)


def _embedding_weights(attrs, shapes) -> tuple[Weight, ...]:
    return (Weight("embeddings", (attrs["input_dim"], attrs["output_dim"])),)


# ---- multi-head attention ---------------------------------------------------------------


@cache
def multi_head_attention_args() -> type[Args]:
    """MultiHeadAttention's arguments, with Keras's defaults."""

    class MultiHeadAttentionArgs(Args):
        num_heads: PositiveInt
        key_dim: PositiveInt
        value_dim: PositiveInt | None = None
        dropout: Annotated[float, Field(ge=0, le=1)] = 0.0
        use_bias: bool = True
        output_shape: Annotated[tuple[PositiveInt, ...], Field(min_length=1)] | None = None
        attention_axes: AxisList | None = None
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"
        seed: Seed = None

        @field_validator("value_dim", mode="after")
        @classmethod
        def _key_dim_by_default(cls, value, info):
            # Keras keeps key_dim as the value_dim it was not given: so does the IR.
            return info.data.get("key_dim") if value is None else value

        @field_validator("output_shape", mode="before")
        @classmethod
        def _tuple(cls, value):
            return _sizes(value)

        @field_validator("attention_axes", mode="after")
        @classmethod
        def _as_tuple(cls, value):
            return (value,) if isinstance(value, int) else value

    return MultiHeadAttentionArgs


def _query_value_key(shapes):
    """The query, value and key shapes of the inputs: a missing key is the value, and a
    query alone is also the value (self-attention)."""
    if not 1 <= len(shapes) <= 3:
        raise ShapeError(
            "multi_head_attention reads a query, a value and optionally a key: 1 to 3 "
            f"tensors; received {len(shapes)}"
        )
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    return query, value, shapes[2] if len(shapes) > 2 else value


def _attention_axes(attrs, rank: int) -> tuple[int, ...]:
    """The attention axes as indices into a shape of ``rank`` axes without the batch:
    every axis but the last by default."""
    axes = attrs["attention_axes"]
    if axes is None:
        return tuple(range(rank - 1))
    indices = []
    for axis in axes:
        index = axis_index(axis, rank)
        if index is None or index == rank - 1:
            raise ShapeError(
                f"attention_axes {axis} is out of range for inputs of {rank} axes (batch "
                f"excluded): expected an axis from 1 to {rank - 1}, not the last",
                "incompatible-argument",
            )
        if index in indices:
            raise ShapeError(f"attention_axes names axis {axis} twice", "incompatible-argument")
        indices.append(index)
    return tuple(indices)


def _mha_shape(args, shapes):
    attrs = args.model_dump()
    query, value, key = _query_value_key(shapes)
    named = {"query": query, "value": value, "key": key}
    if value[:-1] != key[:-1]:
        raise ShapeError(
            f"the value {fmt(value)} and the key {fmt(key)} must have the same shape but for "
            "their last axis"
        )
    if len(query) < 2 or len(value) != len(query):
        raise ShapeError(
            "multi_head_attention expects a query and a value of one rank, at least "
            f"(sequence, features); received {fmt(query)} and {fmt(value)}"
        )
    for name, shape in named.items():
        known(shape[-1], f"{name}'s last axis")
    _attention_axes(attrs, len(query))
    return query[:-1] + (args.output_shape or (query[-1],))


def _mha_weights(attrs, shapes) -> tuple[Weight, ...]:
    query, value, key = _query_value_key(shapes)
    heads, key_dim, value_dim = attrs["num_heads"], attrs["key_dim"], attrs["value_dim"]
    out = attrs["output_shape"] or (query[-1],)
    projections = [
        ((query[-1], heads, key_dim), (heads, key_dim)),  # query
        ((key[-1], heads, key_dim), (heads, key_dim)),  # key
        ((value[-1], heads, value_dim), (heads, value_dim)),  # value
        ((heads, value_dim, *out), tuple(out)),  # attention_output
    ]
    weights = []
    for kernel, bias in projections:
        weights.append(Weight("kernel", kernel))
        if attrs["use_bias"]:
            weights.append(Weight("bias", bias))
    return tuple(weights)


def _mha_macs(attrs, shapes, out) -> int:
    query, value, key = _query_value_key(shapes)
    heads, key_dim, value_dim = attrs["num_heads"], attrs["key_dim"], attrs["value_dim"]
    axes = _attention_axes(attrs, len(query))
    others = math.prod(query[i] for i in range(len(query) - 1) if i not in axes)
    pairs = others * math.prod(query[i] for i in axes) * math.prod(key[i] for i in axes)
    positions = math.prod(query[:-1])
    return (
        positions * query[-1] * heads * key_dim  # query projection
        + math.prod(key[:-1]) * key[-1] * heads * key_dim
        + math.prod(value[:-1]) * value[-1] * heads * value_dim
        + pairs * heads * (key_dim + value_dim)  # scores, and their weighted sum of values
        + positions * heads * value_dim * math.prod(out[len(query) - 1 :])  # output
    )


def _mha_read_attrs(attrs, shapes) -> dict:
    # A built layer keeps its attention axes explicit: the default ones read as null.
    rank = len(shapes[0])
    if attrs["attention_axes"] == tuple(range(1, rank)):
        attrs = {**attrs, "attention_axes": None}
    return attrs


register(
    kind="einsum_dense",
    keras_class="EinsumDense",
    args=einsum_dense_args,
    shape=_einsum_dense_shape,
    weights=_einsum_dense_weights,
    macs=_einsum_dense_macs,
    positional=("equation", "output_shape"),
    suffix="einsum",
    category="dense",
)
register(
    kind="embedding",
    keras_class="Embedding",
    args=embedding_args,
    shape=_embedding_shape,
    weights=_embedding_weights,
    positional=("input_dim", "output_dim"),
    suffix="embed",
    category="dense",
)
register(
    kind="multi_head_attention",
    keras_class="MultiHeadAttention",
    args=multi_head_attention_args,
    shape=_mha_shape,
    weights=_mha_weights,
    macs=_mha_macs,
    positional=("num_heads", "key_dim"),
    suffix="mha",
    category="attention",
    call="args",
    arity=(2, 3),
    read_attrs=_mha_read_attrs,
)
