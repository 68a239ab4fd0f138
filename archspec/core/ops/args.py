"""Argument types shared by the ops' pydantic models, with Keras's spellings and checks.

Pairs and paddings accept the short forms Keras accepts (``3`` for ``(3, 3)``); an
initializer is written ``glorot_uniform`` or ``{glorot_uniform: {seed: 0}}`` and becomes
the one value the IR and every backend use, ``{class_name, config}`` (``is_initializer``
tells it apart). A wrapper's layer is written ``{lstm: {units: 64}}`` and becomes
``{kind, args}`` (``nested_layer``, ``is_nested_layer``). ``axis_index`` is the one place
a Keras axis is normalised.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


class Args(BaseModel):
    """Base of every op's arguments: unknown keys are errors, defaults are normalized too."""

    # Built on first use: a spec touches a few of the ops, and check must start fast.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)


class NoArgs(Args):
    """The arguments of a layer that takes none but its name."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(value):
    if _is_int(value):
        return (value, value)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


Pair = Annotated[
    tuple[PositiveInt, PositiveInt],
    BeforeValidator(_pair, json_schema_input_type=PositiveInt | tuple[PositiveInt, PositiveInt]),
]


Padding = Annotated[
    Literal["valid", "same"], BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)
]

ACTIVATIONS = (
    "linear relu relu6 leaky_relu elu selu gelu silu swish mish sigmoid hard_sigmoid "
    "hard_silu hard_swish tanh softmax log_softmax softplus softsign exponential"
).split()
ActivationName = Literal[tuple(ACTIVATIONS)]


def axis_index(axis: int, rank: int) -> int | None:
    """A Keras axis (the batch is axis 0; negative counts from the end) as an index into a
    shape of ``rank`` axes without the batch, or None where it is out of range."""
    full = axis if axis >= 0 else rank + 1 + axis
    return full - 1 if 1 <= full <= rank else None


def is_seed(value) -> bool:
    """Whether ``value`` is a seed Keras accepts: None or a 64-bit integer."""
    return value is None or (_is_int(value) and -(2**63) <= value < 2**63)


# ---- initializers ---------------------------------------------------------------------

INITIALIZERS = {
    "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform",
    "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal",
    "random_uniform": "RandomUniform",
    "random_normal": "RandomNormal",
    "truncated_normal": "TruncatedNormal",
    "variance_scaling": "VarianceScaling",
    "orthogonal": "Orthogonal",
    "zeros": "Zeros",
    "ones": "Ones",
    "constant": "Constant",
}

# Each initializer's arguments, and what each must be, so that a spec that checks also
# builds (Keras raises at build time on an unknown argument or a bad value).
_SEED = {"seed": "seed"}
INITIALIZER_ARGS = {
    **dict.fromkeys(
        ["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"],
        _SEED,
    ),
    "RandomUniform": {"minval": "number", "maxval": "number", **_SEED},
    "RandomNormal": {"mean": "number", "stddev": "number", **_SEED},
    "TruncatedNormal": {"mean": "number", "stddev": "number", **_SEED},
    "VarianceScaling": {
        "scale": "positive",
        "mode": "mode",
        "distribution": "distribution",
        **_SEED,
    },
    "Orthogonal": {"gain": "number", **_SEED},
    "Zeros": {},
    "Ones": {},
    "Constant": {"value": "number"},
}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_INITIALIZER_VALUE = {
    "seed": lambda v: None if is_seed(v) else "expected an integer seed (64-bit) or null",
    "number": lambda v: None if _is_number(v) else "expected a finite number",
    "positive": lambda v: None if _is_number(v) and v > 0 else "expected a positive number",
    "mode": lambda v: (
        None if v in ("fan_in", "fan_out", "fan_avg") else "expected fan_in, fan_out or fan_avg"
    ),
    "distribution": lambda v: (
        None
        if v in ("truncated_normal", "untruncated_normal", "uniform", "normal")
        else "expected truncated_normal, untruncated_normal, uniform or normal"
    ),
}

_KERAS_FORM = {"class_name", "config"}


def is_initializer(value, *, serialized: bool = False) -> bool:
    """Whether ``value`` is an initializer in the IR's form ``{class_name, config}``; with
    ``serialized``, in the form a saved Keras model writes (which adds ``module`` and
    ``registered_name``)."""
    if not isinstance(value, dict):
        return False
    if serialized:
        return _KERAS_FORM <= value.keys() and "module" in value
    return value.keys() == _KERAS_FORM


def parse_initializer(value) -> dict:
    """``glorot_uniform`` or ``{glorot_uniform: {seed: 0}}`` → ``{class_name, config}``."""
    if isinstance(value, str):
        value = {value: {}}
    if is_initializer(value):
        return value
    if not (isinstance(value, dict) and len(value) == 1):
        raise ValueError(
            "expected an initializer name or a one-key mapping like "
            f"{{glorot_uniform: {{seed: 0}}}}; received {value!r}"
        )
    ((name, config),) = value.items()
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown initializer '{name}'; expected one of: {', '.join(INITIALIZERS)}"
        )
    config = config or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"initializer arguments must be a mapping; received {config!r}")
    allowed = INITIALIZER_ARGS[INITIALIZERS[name]]
    for key, value in config.items():
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise ValueError(
                f"unknown argument '{key}' for initializer '{name}'; it takes: {known}"
            )
        problem = _INITIALIZER_VALUE[allowed[key]](value)
        if problem:
            raise ValueError(f"initializer '{name}' argument '{key}': {problem}")
    return {"class_name": INITIALIZERS[name], "config": dict(config)}


Initializer = Annotated[
    dict, BeforeValidator(parse_initializer, json_schema_input_type=str | dict[str, dict | None])
]


def _number(value):
    if not _is_number(value):
        raise ValueError(f"expected a finite number; received {value!r}")
    return value


# A number as written: an int stays an int, as Python arithmetic on a tensor records it.
Number = Annotated[int | float, BeforeValidator(_number)]


# ---- seeds, axis lists and number arrays ---------------------------------------------


def _seed(value):
    if not is_seed(value):
        raise ValueError("expected an integer seed (64-bit) or null")
    return value


Seed = Annotated[int | None, BeforeValidator(_seed)]


def _axis_list(value):
    """An axis stays an int; several become a tuple, in the order written."""
    return tuple(value) if isinstance(value, list) else value


AxisList = Annotated[
    int | tuple[int, ...], BeforeValidator(_axis_list, json_schema_input_type=int | list[int])
]


class _KeepsLists:
    """Marks an argument Keras must be given as a list: it serializes a tuple as a
    ``__tuple__`` object, which a saved config (and a stock layer given a list) lacks."""


KEEPS_LISTS = _KeepsLists()


def keeps_lists(field) -> bool:
    """Whether generated code writes this argument's lists as lists (``keeps_lists``)."""
    return any(m is KEEPS_LISTS for m in field.metadata)


def array_shape(value) -> tuple[int, ...]:
    """The shape of a number (``()``) or of a rectangular nested list of numbers."""
    if isinstance(value, list | tuple):
        inner = array_shape(value[0]) if value else ()
        return (len(value), *inner)
    return ()


def _number_array(value):
    """A finite number, or a rectangular nested list of them, as floats in lists."""
    if _is_number(value):
        return float(value)
    if isinstance(value, list | tuple) and value:
        items = [_number_array(v) for v in value]
        if len({array_shape(v) for v in items}) > 1:
            raise ValueError(f"expected a rectangular array of numbers; received {value!r}")
        return items
    raise ValueError(
        f"expected a number or a non-empty (nested) list of numbers; received {value!r}"
    )


NumberArray = Annotated[
    float | list,
    BeforeValidator(_number_array, json_schema_input_type=float | list),
    KEEPS_LISTS,
]


# ---- sizes of any spatial rank (1-D, 2-D and 3-D convolutions) --------------------------


def _wrong_length(value, expected: str):
    """A list of the wrong length: pydantic would report its missing positions as the
    argument missing ("conv2d needs argument 'kernel_size'" for ``kernel_size: []``)."""
    what = "an empty list" if not value else f"a list of {len(value)}"
    return ValueError(f"expected {expected}, not {what}")


def _repeat_int(rank: int):
    def coerce(value):
        if _is_int(value):
            return (value,) * rank
        if isinstance(value, list | tuple):
            if len(value) != rank:
                plural = "int" if rank == 1 else "ints"
                raise _wrong_length(value, f"an int or a list of {rank} {plural}")
            return tuple(value)
        return value

    return coerce


def int_tuple(rank: int, *, zero: bool = False):
    """A tuple of ``rank`` ints, positive (or, with ``zero``, non-negative); one int stands
    for all of them, as Keras's ``standardize_tuple`` takes it. ``int_tuple(2)`` reads
    like ``Pair``. Made when an argument model is, so it costs nothing at start-up."""
    item = NonNegativeInt if zero else PositiveInt
    tuple_type = tuple[(item,) * rank]
    return Annotated[
        tuple_type, BeforeValidator(_repeat_int(rank), json_schema_input_type=item | tuple_type)
    ]


# Conv1D's paddings: "causal" pads the start of the sequence only (its output length is
# that of "same").
CausalPadding = Annotated[
    Literal["valid", "same", "causal"],
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
]


# ---- (before, after) pairs per spatial axis, for padding and cropping -----------------


def _pairs_per_axis(rank: int):
    def expand(value):
        if _is_int(value):
            return ((value, value),) * rank
        if isinstance(value, list | tuple) and len(value) == rank:
            return tuple(
                (v, v) if _is_int(v) else tuple(v) if isinstance(v, list | tuple) else v
                for v in value
            )
        if isinstance(value, list | tuple):
            raise _wrong_length(
                value, f"an int, or a list of {rank} (an int or a [before, after] pair each)"
            )
        return value

    return expand


def pairs(rank: int):
    """A (before, after) pair of non-negative ints per spatial axis: one int for all, one
    int per axis, or the pairs; as Keras's ZeroPadding2D/3D and Cropping2D/3D take them
    (each entry may be an int or a pair)."""
    pair = tuple[NonNegativeInt, NonNegativeInt]
    form = tuple[(pair,) * rank]
    return Annotated[
        form,
        BeforeValidator(
            _pairs_per_axis(rank),
            json_schema_input_type=NonNegativeInt | tuple[(NonNegativeInt | pair,) * rank],
        ),
    ]


# ---- a layer inside a layer (Bidirectional's ``layer``) --------------------------------

_NESTED_FORM = {"kind", "args"}


class _NestedLayer:
    """Marks an argument whose value is a layer, in the IR's form ``{kind, args}``."""


NESTED_LAYER = _NestedLayer()


def is_nested_layer(value) -> bool:
    """Whether ``value`` is a layer in the IR's form ``{kind, args}``: the op's kind and
    its arguments, validated, with those at their defaults left out."""
    return isinstance(value, dict) and value.keys() == _NESTED_FORM


def nests_layer(field) -> bool:
    """Whether an argument's value is a nested layer (``nested_layer``)."""
    return any(m is NESTED_LAYER for m in field.metadata)


def _problems(exc: ValidationError) -> str:
    """A nested layer's argument errors in one line: unknown arguments first."""
    out = []
    for error in sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden"):
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            out.append(f"unknown argument '{where}'")
        else:
            message = error["msg"].removeprefix("Value error, ")
            out.append(f"{where}: {message}" if where else message)
    return "; ".join(out)


def _parse_nested(kinds: tuple[str, ...]):
    def parse(value):
        from archspec.core.ops.registry import lookup  # the registry imports this module

        if is_nested_layer(value):
            value = {value["kind"]: value["args"]}
        elif isinstance(value, str):
            value = {value: {}}
        if not (isinstance(value, dict) and len(value) == 1):
            raise ValueError(
                f"expected a one-key mapping like {{{kinds[0]}: {{units: 64}}}}; received {value!r}"
            )
        ((name, args),) = value.items()
        op = lookup(name) if isinstance(name, str) else None
        if op is None or op.kind not in kinds:
            raise ValueError(f"unknown layer '{name}'; expected one of: {', '.join(kinds)}")
        args = {} if args is None else args
        if not isinstance(args, dict) and op.primary:
            args = {op.primary: args}  # as an item's scalar sets it: {lstm: 64}
        if not isinstance(args, dict):
            raise ValueError(f"{op.kind}'s arguments must be a mapping; received {args!r}")
        try:
            dumped = op.args.model_validate(args).model_dump()
        except ValidationError as exc:
            raise ValueError(f"{op.kind}: {_problems(exc)}") from None
        fields = op.args.model_fields
        kept = {k for k, f in fields.items() if f.is_required()} | set(op.implied)
        defaults = op.args.model_validate({k: dumped[k] for k in kept}).model_dump()
        return {
            "kind": op.kind,
            "args": {k: v for k, v in dumped.items() if k in kept or v != defaults[k]},
        }

    return parse


def nested_layer(kinds: tuple[str, ...]):
    """A layer given to a wrapper, written ``{lstm: {units: 64}}``, ``{lstm: 64}`` (its
    main argument) or the kind alone when it needs no arguments, one of ``kinds``; it becomes ``{kind, args}``, its arguments
    checked by that kind's model. Made when an argument model is."""
    schema = {
        "type": "object",
        "description": f"a layer: a one-key mapping like {{{kinds[0]}: {{units: 64}}}}",
        "minProperties": 1,
        "maxProperties": 1,
        "propertyNames": {"enum": list(kinds)},
        "additionalProperties": {"type": ["object", "null"]},
    }
    return Annotated[
        dict, BeforeValidator(_parse_nested(kinds)), WithJsonSchema(schema), NESTED_LAYER
    ]
