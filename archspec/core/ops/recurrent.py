"""Recurrent layers: simple_rnn, lstm and gru over a (timesteps, features) input, and
bidirectional, which runs one of them forwards and a copy backwards and merges the two.

A cell has one kernel for its input and one for its state, each with a block of
``units`` columns per gate (1 for SimpleRNN, 4 for LSTM, 3 for GRU). A layer with
``return_state`` has several outputs, which archspec does not support yet; neither does
Bidirectional with ``merge_mode: null`` (its two outputs) or a ``backward_layer`` of its
own. Bidirectional's ``layer`` is a nested layer (``args.nested_layer``).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from archspec.core.ops.args import (
    ActivationName,
    Args,
    Initializer,
    PositiveInt,
    Seed,
    nested_layer,
)
from archspec.core.ops.registry import OPS, register
from archspec.core.ops.rules import ShapeError, Weight, fmt, known

Rate = Annotated[float, Field(ge=0, le=1)]

SEVERAL_OUTPUTS = "several outputs of a layer are not supported yet"

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


@cache
def _recurrent_args() -> type[Args]:
    """The base of the recurrent layers' arguments: return_state is refused."""

    class RecurrentArgs(Args):
        @field_validator("return_state", check_fields=False)
        @classmethod
        def _one_output(cls, value):
            if value:
                raise ValueError(
                    f"return_state gives the states as more outputs: {SEVERAL_OUTPUTS}"
                )
            return value

    return RecurrentArgs


@cache
def simple_rnn_args() -> type[Args]:
    """SimpleRNN's arguments, with Keras's defaults."""

    class SimpleRNNArgs(_recurrent_args()):
        units: PositiveInt
        activation: ActivationName = "tanh"
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        recurrent_initializer: Initializer = "orthogonal"
        bias_initializer: Initializer = "zeros"
        dropout: Rate = 0.0
        recurrent_dropout: Rate = 0.0
        return_sequences: bool = False
        return_state: bool = False
        go_backwards: bool = False
        unroll: bool = False
        seed: Seed = None

    return SimpleRNNArgs


@cache
def lstm_args() -> type[Args]:
    """LSTM's arguments, with Keras's defaults."""

    class LSTMArgs(_recurrent_args()):
        units: PositiveInt
        activation: ActivationName = "tanh"
        recurrent_activation: ActivationName = "sigmoid"
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        recurrent_initializer: Initializer = "orthogonal"
        bias_initializer: Initializer = "zeros"
        unit_forget_bias: bool = True
        dropout: Rate = 0.0
        recurrent_dropout: Rate = 0.0
        seed: Seed = None
        return_sequences: bool = False
        return_state: bool = False
        go_backwards: bool = False
        unroll: bool = False

    return LSTMArgs


@cache
def gru_args() -> type[Args]:
    """GRU's arguments, with Keras's defaults (reset_after: a second bias row, for the
    recurrent kernel)."""

    class GRUArgs(_recurrent_args()):
        units: PositiveInt
        activation: ActivationName = "tanh"
        recurrent_activation: ActivationName = "sigmoid"
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        recurrent_initializer: Initializer = "orthogonal"
        bias_initializer: Initializer = "zeros"
        dropout: Rate = 0.0
        recurrent_dropout: Rate = 0.0
        seed: Seed = None
        return_sequences: bool = False
        return_state: bool = False
        go_backwards: bool = False
        unroll: bool = False
        reset_after: bool = True

    return GRUArgs


RECURRENT = ("lstm", "gru", "simple_rnn")


@cache
def bidirectional_args() -> type[Args]:
    """Bidirectional's arguments, with Keras's defaults."""

    class BidirectionalArgs(Args):
        layer: nested_layer(RECURRENT)
        merge_mode: Literal["concat", "sum", "mul", "ave"] | None = "concat"

        @model_validator(mode="before")
        @classmethod
        def _no_backward_layer(cls, data):
            if isinstance(data, dict) and "backward_layer" in data:
                raise ValueError(
                    "backward_layer is not supported yet: the backward layer is a copy of "
                    "`layer` that goes backwards"
                )
            return data

        @field_validator("layer", mode="after")
        @classmethod
        def _forwards(cls, value):
            if value["args"].get("go_backwards"):
                # Keras's backward copy goes backwards too: it refuses the pair.
                raise ValueError(
                    "the layer must go forwards (go_backwards false): its backward copy "
                    "is the one that goes backwards"
                )
            return value

        @field_validator("merge_mode", mode="after")
        @classmethod
        def _merged(cls, value):
            if value is None:
                raise ValueError(
                    "merge_mode null gives the forward and backward outputs apart: "
                    f"{SEVERAL_OUTPUTS}; use concat, sum, mul or ave"
                )
            return value

    return BidirectionalArgs


def _sequence(shapes, kind: str):
    shape = shapes[0]
    if len(shape) != 2:
        raise ShapeError(
            f"{kind} expects an input of shape (timesteps, features); received {fmt(shape)}"
        )
    known(shape[1], "features (last axis)")
    return shape


def _rnn_shape(kind: str):
    def shape_rule(args, shapes):
        steps, _ = _sequence(shapes, kind)
        if args.unroll and steps is None:
            raise ShapeError(
                f"{kind} with unroll needs its input's timesteps known (the input shape has "
                "None there)",
                "unknown-size",
            )
        return (steps, args.units) if args.return_sequences else (args.units,)

    return shape_rule


def _rnn_weights(kind: str):
    gates = GATES[kind]

    def weights(attrs, shapes) -> tuple[Weight, ...]:
        units, features = attrs["units"], shapes[0][-1]
        out = [
            Weight("kernel", (features, gates * units)),
            Weight("recurrent_kernel", (units, gates * units)),
        ]
        if attrs["use_bias"]:
            two_rows = kind == "gru" and attrs["reset_after"]
            out.append(Weight("bias", (2, gates * units) if two_rows else (gates * units,)))
        return tuple(out)

    return weights


def _rnn_macs(kind: str):
    gates = GATES[kind]

    def macs(attrs, shapes, out) -> int:
        # At every step, the input and the previous state through their kernels.
        steps, features = shapes[0]
        units = attrs["units"]
        return steps * (features + units) * gates * units

    return macs


def _inner(attrs):
    """The nested layer's op and validated arguments."""
    op = OPS[attrs["layer"]["kind"]]
    return op, op.args.model_validate(attrs["layer"]["args"])


def _bidirectional_shape(args, shapes):
    op, inner = _inner(args.model_dump())
    shape = op.shape(inner, shapes)
    if args.merge_mode == "concat":
        shape = (*shape[:-1], shape[-1] * 2)
    return shape


def _bidirectional_weights(attrs, shapes) -> tuple[Weight, ...]:
    op, inner = _inner(attrs)
    once = op.weights(inner.model_dump(), shapes)
    return once + once  # the forward layer's, then the backward copy's


def _bidirectional_macs(attrs, shapes, out) -> int:
    op, inner = _inner(attrs)
    inner_attrs = inner.model_dump()
    return 2 * op.macs(inner_attrs, shapes, op.shape(inner, shapes))


for _kind, _class, _args, _suffix in (
    ("simple_rnn", "SimpleRNN", simple_rnn_args, "rnn"),
    ("lstm", "LSTM", lstm_args, "lstm"),
    ("gru", "GRU", gru_args, "gru"),
):
    register(
        kind=_kind,
        keras_class=_class,
        args=_args,
        shape=_rnn_shape(_kind),
        weights=_rnn_weights(_kind),
        macs=_rnn_macs(_kind),
        primary="units",
        positional=("units",),
        suffix=_suffix,
        category="recurrent",
    )
register(
    kind="bidirectional",
    keras_class="Bidirectional",
    args=bidirectional_args,
    shape=_bidirectional_shape,
    weights=_bidirectional_weights,
    macs=_bidirectional_macs,
    positional=("layer",),
    suffix="bi",
    category="recurrent",
)
