"""The primitive layers: their arguments, static shape rules and parameter counts.

Each op maps a spec kind (``conv2d``) to a stock Keras class (``Conv2D``). Its pydantic
model validates and normalizes the Keras arguments (defaults as Keras has them), and
its pure-Python rules give the output shape and the parameter counts that Keras would
compute, without importing it. Shapes exclude the batch axis; ``None`` is an unknown
size and propagates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

Shape = tuple  # output shape without the batch axis


class ShapeError(Exception):
    """A layer cannot take its input; the caller adds the position."""


# ---- argument types -------------------------------------------------------------------

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


def _pair(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


Pair = Annotated[
    tuple[PositiveInt, PositiveInt],
    BeforeValidator(_pair, json_schema_input_type=PositiveInt | tuple[PositiveInt, PositiveInt]),
]


def _padding_pairs(value):
    """ZeroPadding2D's padding: n, (rows, cols) or ((top, bottom), (left, right))."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ((value, value), (value, value))
    if isinstance(value, list | tuple) and len(value) == 2:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return ((value[0], value[0]), (value[1], value[1]))
        return tuple(tuple(v) if isinstance(v, list | tuple) else v for v in value)
    return value


_PadPair = tuple[NonNegativeInt, NonNegativeInt]
PaddingPairs = Annotated[
    tuple[_PadPair, _PadPair],
    BeforeValidator(
        _padding_pairs, json_schema_input_type=NonNegativeInt | _PadPair | tuple[_PadPair, _PadPair]
    ),
]
Padding = Annotated[
    Literal["valid", "same"], BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)
]

ACTIVATIONS = (
    "linear relu relu6 leaky_relu elu selu gelu silu swish mish sigmoid hard_sigmoid "
    "hard_silu hard_swish tanh softmax log_softmax softplus softsign exponential"
).split()
ActivationName = Literal[tuple(ACTIVATIONS)]

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


def _is_seed(value) -> bool:
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    )


_INITIALIZER_VALUE = {
    "seed": lambda v: None if _is_seed(v) else "expected an integer seed (64-bit) or null",
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


def _initializer(value):
    """``glorot_uniform`` or ``{glorot_uniform: {seed: 0}}`` → {class_name, config}."""
    if isinstance(value, str):
        value = {value: {}}
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
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
    dict, BeforeValidator(_initializer, json_schema_input_type=str | dict[str, dict | None])
]


class Args(BaseModel):
    """Base of every op's arguments: unknown keys are errors, defaults are normalized too."""

    # Built on first use: a spec touches a few of the ops, and check must start fast.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)


# ---- argument models, with Keras's defaults -------------------------------------------


class Conv2DArgs(Args):
    filters: PositiveInt
    kernel_size: Pair
    strides: Pair = (1, 1)
    padding: Padding = "valid"
    dilation_rate: Pair = (1, 1)
    groups: PositiveInt = 1
    activation: ActivationName | None = None
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class DepthwiseConv2DArgs(Args):
    kernel_size: Pair
    strides: Pair = (1, 1)
    padding: Padding = "valid"
    depth_multiplier: PositiveInt = 1
    dilation_rate: Pair = (1, 1)
    activation: ActivationName | None = None
    use_bias: bool = True
    depthwise_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class BatchNormArgs(Args):
    axis: int = -1
    momentum: float = 0.99
    epsilon: Annotated[float, Field(gt=0)] = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: Initializer = "zeros"
    gamma_initializer: Initializer = "ones"
    moving_mean_initializer: Initializer = "zeros"
    moving_variance_initializer: Initializer = "ones"


class ActivationArgs(Args):
    activation: ActivationName


class ReLUArgs(Args):
    max_value: Annotated[float, Field(ge=0)] | None = None
    negative_slope: Annotated[float, Field(ge=0)] = 0.0
    threshold: float = 0.0


class ReLU6Args(ReLUArgs):
    max_value: Annotated[float, Field(ge=0)] | None = 6.0


class NoArgs(Args):
    pass


class ConcatenateArgs(Args):
    axis: int = -1


class ZeroPaddingArgs(Args):
    padding: PaddingPairs = ((1, 1), (1, 1))


class PoolArgs(Args):
    pool_size: Pair = (2, 2)
    strides: Pair | None = None
    padding: Padding = "valid"

    @field_validator("strides", mode="after")
    @classmethod
    def _strides_default_to_pool_size(cls, value, info):
        return value if value is not None else info.data.get("pool_size")


class GlobalPoolArgs(Args):
    keepdims: bool = False


class DenseArgs(Args):
    units: PositiveInt
    activation: ActivationName | None = None
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class DropoutArgs(Args):
    rate: Annotated[float, Field(ge=0, lt=1)]
    seed: int | None = None

    @field_validator("seed")
    @classmethod
    def _seed_fits(cls, value):
        if not _is_seed(value):
            raise ValueError("expected an integer seed (64-bit) or null")
        return value


class ReshapeArgs(Args):
    target_shape: tuple[Annotated[int, Field(ge=-1, strict=True)], ...]


# ---- shape rules ----------------------------------------------------------------------


def _spatial(in_shape: Shape, op: str) -> Shape:
    if len(in_shape) != 3:
        raise ShapeError(
            f"{op} expects an input of shape (height, width, channels); received {_fmt(in_shape)}"
        )
    return in_shape


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
            f"an input of size {size}: the output would be {out}"
        )
    return out


def _windowed(args, shape: Shape, op: str, channels) -> Shape:
    h, w, _ = _spatial(shape, op)
    kernel = getattr(args, "kernel_size", None) or args.pool_size
    dilation = getattr(args, "dilation_rate", (1, 1))
    return (
        _window(h, kernel[0], args.strides[0], dilation[0], args.padding, op),
        _window(w, kernel[1], args.strides[1], dilation[1], args.padding, op),
        channels,
    )


def _fmt(shape: Shape) -> str:
    return "(None, " + ", ".join(str(s) for s in shape) + ")"


def _known(size, what: str = "channels"):
    """Weights need the size they are made for: refuse an unknown (None) one, as Keras does."""
    if size is None:
        raise ShapeError(f"its input's {what} must be known (the input shape has None there)")
    return size


def _conv_shape(args: Conv2DArgs, shapes):
    channels = _known(_spatial(shapes[0], "conv2d")[2])
    if channels % args.groups:
        raise ShapeError(f"input channels {channels} are not divisible by groups={args.groups}")
    if args.filters % args.groups:
        raise ShapeError(f"filters={args.filters} are not divisible by groups={args.groups}")
    if max(args.strides) > 1 and max(args.dilation_rate) > 1:
        raise ShapeError(
            f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it). "
            f"Received: strides={args.strides}, dilation_rate={args.dilation_rate}"
        )
    return _windowed(args, shapes[0], "conv2d", args.filters)


def _conv_params(args: Conv2DArgs, shapes, out):
    cin = shapes[0][2]
    kernel = args.kernel_size[0] * args.kernel_size[1] * (cin // args.groups) * args.filters
    return kernel + (args.filters if args.use_bias else 0), 0


def _depthwise_shape(args: DepthwiseConv2DArgs, shapes):
    cin = _known(_spatial(shapes[0], "depthwise_conv2d")[2])
    return _windowed(args, shapes[0], "depthwise_conv2d", cin * args.depth_multiplier)


def _depthwise_params(args: DepthwiseConv2DArgs, shapes, out):
    k = args.kernel_size[0] * args.kernel_size[1] * out[-1]
    return k + (out[-1] if args.use_bias else 0), 0


def _bn_params(args: BatchNormArgs, shapes, out):
    axis = args.axis if args.axis >= 0 else len(shapes[0]) + 1 + args.axis
    if not 1 <= axis <= len(shapes[0]):
        raise ShapeError(
            f"axis {args.axis} is out of range for an input of shape {_fmt(shapes[0])}"
        )
    c = _known(shapes[0][axis - 1], f"size on axis {args.axis}")
    return c * (int(args.center) + int(args.scale)), 2 * c


def _same_shapes(args, shapes):
    first = shapes[0]
    for other in shapes[1:]:
        if other != first:
            raise ShapeError(
                "inputs of different shapes: "
                + " and ".join(_fmt(s) for s in shapes)
                + (f" (channels {first[-1]} vs {other[-1]})" if first[:-1] == other[:-1] else "")
            )
    return first


def _concat_shape(args: ConcatenateArgs, shapes):
    rank = len(shapes[0])
    axis = args.axis if args.axis >= 0 else rank + 1 + args.axis
    if not 1 <= axis <= rank or any(len(s) != rank for s in shapes):
        raise ShapeError(
            f"cannot concatenate {' and '.join(_fmt(s) for s in shapes)} on axis {args.axis}"
        )
    for s in shapes[1:]:
        if [d for i, d in enumerate(s) if i != axis - 1] != [
            d for i, d in enumerate(shapes[0]) if i != axis - 1
        ]:
            raise ShapeError(
                f"cannot concatenate {' and '.join(_fmt(s) for s in shapes)} on axis {args.axis}: "
                "the other axes differ"
            )
    sizes = [s[axis - 1] for s in shapes]
    total = None if None in sizes else sum(sizes)
    return tuple(total if i == axis - 1 else d for i, d in enumerate(shapes[0]))


def _pad_shape(args: ZeroPaddingArgs, shapes):
    h, w, c = _spatial(shapes[0], "zero_padding")
    (t, b), (left, r) = args.padding
    return (None if h is None else h + t + b, None if w is None else w + left + r, c)


def _global_pool_shape(args: GlobalPoolArgs, shapes):
    _, _, c = _spatial(shapes[0], "global pooling")
    return (1, 1, c) if args.keepdims else (c,)


def _flatten_shape(args, shapes):
    dims = shapes[0]
    return (None if None in dims else math.prod(dims),)


def _dense_params(args: DenseArgs, shapes, out):
    return _known(shapes[0][-1], "last axis") * args.units + (args.units if args.use_bias else 0), 0


def _reshape_shape(args: ReshapeArgs, shapes):
    size = math.prod(shapes[0]) if None not in shapes[0] else None
    target = list(args.target_shape)
    if target.count(-1) > 1:
        raise ShapeError("target_shape may contain -1 at most once")
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if size is not None:
            if known == 0 or size % known:
                raise ShapeError(f"cannot reshape {_fmt(shapes[0])} to {tuple(target)}")
            target[target.index(-1)] = size // known
        else:
            target[target.index(-1)] = None
    elif size is not None and known != size:
        raise ShapeError(f"cannot reshape {_fmt(shapes[0])} ({size} values) to {tuple(target)}")
    return tuple(target)


def _no_params(args, shapes, out):
    return 0, 0


def _identity_shape(args, shapes):
    return shapes[0]


# ---- weight rules ---------------------------------------------------------------------
# The variables Keras creates for a layer, in its order, from the IR's attributes (a
# node's ``attrs``) and input shapes: what loading weights by layer name must match.
# They agree with the parameter counts above (a test checks every layer of every spec).


class Weight(NamedTuple):
    name: str  # Keras's variable name (``kernel``, ``moving_mean``)
    shape: tuple
    trainable: bool = True


def _conv_weights(attrs: dict, shapes) -> tuple[Weight, ...]:
    kh, kw = attrs["kernel_size"]
    filters = attrs["filters"]
    kernel = Weight("kernel", (kh, kw, shapes[0][-1] // attrs["groups"], filters))
    return (kernel, Weight("bias", (filters,))) if attrs["use_bias"] else (kernel,)


def _depthwise_weights(attrs: dict, shapes) -> tuple[Weight, ...]:
    kh, kw = attrs["kernel_size"]
    cin, multiplier = shapes[0][-1], attrs["depth_multiplier"]
    kernel = Weight("kernel", (kh, kw, cin, multiplier))
    return (kernel, Weight("bias", (cin * multiplier,))) if attrs["use_bias"] else (kernel,)


def _bn_weights(attrs: dict, shapes) -> tuple[Weight, ...]:
    axis = attrs["axis"] if attrs["axis"] >= 0 else len(shapes[0]) + 1 + attrs["axis"]
    c = (shapes[0][axis - 1],)
    return (
        *([Weight("gamma", c)] if attrs["scale"] else []),
        *([Weight("beta", c)] if attrs["center"] else []),
        Weight("moving_mean", c, False),
        Weight("moving_variance", c, False),
    )


def _dense_weights(attrs: dict, shapes) -> tuple[Weight, ...]:
    units = attrs["units"]
    kernel = Weight("kernel", (shapes[0][-1], units))
    return (kernel, Weight("bias", (units,))) if attrs["use_bias"] else (kernel,)


def _no_weights(attrs: dict, shapes) -> tuple[Weight, ...]:
    return ()


# ---- the registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """A primitive layer kind."""

    kind: str  # the spec's name for it
    keras_class: str  # the stock Keras layer it builds
    args: type[Args]
    shape: Callable[[Any, list[Shape]], Shape]
    params: Callable[[Any, list[Shape], Shape], tuple[int, int]] = _no_params
    primary: str | None = None  # the argument a scalar value sets: ``activation: relu``
    suffix: str = ""  # short name used by naming schemes (``conv``, ``bn``)
    merge: bool = False  # takes several inputs
    weights: Callable[[dict, list[Shape]], tuple[Weight, ...]] = _no_weights

    @property
    def positional(self) -> tuple:
        """Arguments generated code writes positionally, in Keras's constructor order."""
        return _POSITIONAL.get(self.kind, ())

    @property
    def implied(self) -> tuple:
        """Arguments generated code always writes: archspec's op differs there from the
        Keras class (relu6), or Keras requires them (AveragePooling2D's pool_size)."""
        return _IMPLIED.get(self.kind, ())

    def short(self, attrs: dict) -> str:
        """The naming suffix; an activation is named after its function (``relu``)."""
        if self.kind == "activation":
            return attrs["activation"]
        return self.suffix


_POSITIONAL = {
    "conv2d": ("filters", "kernel_size"),
    "depthwise_conv2d": ("kernel_size",),
    "dense": ("units",),
    "activation": ("activation",),
    "relu": ("max_value",),
    "relu6": ("max_value",),
    "dropout": ("rate",),
    "zero_padding": ("padding",),
    "max_pool": ("pool_size",),
    "avg_pool": ("pool_size",),
    "reshape": ("target_shape",),
}
_IMPLIED = {"relu6": ("max_value",), "avg_pool": ("pool_size",), "max_pool": ("pool_size",)}


def initializer_config(value) -> dict:
    """An initializer as a spec writes it → Keras's ``{class_name, config}``."""
    return _initializer(value)


def _op(*args, **kwargs) -> Op:
    return Op(*args, **kwargs)


OPS: dict[str, Op] = {
    op.kind: op
    for op in [
        _op(
            "conv2d",
            "Conv2D",
            Conv2DArgs,
            _conv_shape,
            _conv_params,
            "filters",
            "conv",
            weights=_conv_weights,
        ),
        _op(
            "depthwise_conv2d",
            "DepthwiseConv2D",
            DepthwiseConv2DArgs,
            _depthwise_shape,
            _depthwise_params,
            "kernel_size",
            "dwconv",
            weights=_depthwise_weights,
        ),
        _op(
            "batch_norm",
            "BatchNormalization",
            BatchNormArgs,
            _identity_shape,
            _bn_params,
            suffix="bn",
            weights=_bn_weights,
        ),
        _op(
            "activation",
            "Activation",
            ActivationArgs,
            _identity_shape,
            primary="activation",
            suffix="act",
        ),
        _op("relu", "ReLU", ReLUArgs, _identity_shape, primary="max_value", suffix="relu"),
        _op("relu6", "ReLU", ReLU6Args, _identity_shape, suffix="relu"),
        _op("add", "Add", NoArgs, _same_shapes, suffix="add", merge=True),
        _op("subtract", "Subtract", NoArgs, _same_shapes, suffix="sub", merge=True),
        _op("multiply", "Multiply", NoArgs, _same_shapes, suffix="mul", merge=True),
        _op("average", "Average", NoArgs, _same_shapes, suffix="avg", merge=True),
        _op("maximum", "Maximum", NoArgs, _same_shapes, suffix="max", merge=True),
        _op("minimum", "Minimum", NoArgs, _same_shapes, suffix="min", merge=True),
        _op(
            "concatenate",
            "Concatenate",
            ConcatenateArgs,
            _concat_shape,
            primary="axis",
            suffix="concat",
            merge=True,
        ),
        _op(
            "zero_padding",
            "ZeroPadding2D",
            ZeroPaddingArgs,
            _pad_shape,
            primary="padding",
            suffix="pad",
        ),
        _op(
            "max_pool",
            "MaxPooling2D",
            PoolArgs,
            lambda a, s: _windowed(a, s[0], "max_pool", s[0][-1]),
            primary="pool_size",
            suffix="pool",
        ),
        _op(
            "avg_pool",
            "AveragePooling2D",
            PoolArgs,
            lambda a, s: _windowed(a, s[0], "avg_pool", s[0][-1]),
            primary="pool_size",
            suffix="pool",
        ),
        _op(
            "global_avg_pool",
            "GlobalAveragePooling2D",
            GlobalPoolArgs,
            _global_pool_shape,
            suffix="gap",
        ),
        _op(
            "global_max_pool",
            "GlobalMaxPooling2D",
            GlobalPoolArgs,
            _global_pool_shape,
            suffix="gmp",
        ),
        _op("flatten", "Flatten", NoArgs, _flatten_shape, suffix="flatten"),
        _op(
            "dense",
            "Dense",
            DenseArgs,
            lambda a, s: s[0][:-1] + (a.units,),
            _dense_params,
            "units",
            "dense",
            weights=_dense_weights,
        ),
        _op("dropout", "Dropout", DropoutArgs, _identity_shape, primary="rate", suffix="drop"),
        _op(
            "reshape",
            "Reshape",
            ReshapeArgs,
            _reshape_shape,
            primary="target_shape",
            suffix="reshape",
        ),
    ]
}

MERGES = tuple(k for k, op in OPS.items() if op.merge)


def layer_weights(kind: str, attrs: dict, in_shapes: list[Shape]) -> tuple[Weight, ...]:
    """The weights Keras gives a layer of this kind (an IR node's ``op`` and ``attrs``)."""
    return OPS[kind].weights(attrs, in_shapes)


def keras_auto_name(keras_class: str) -> str:
    """The name Keras gives an unnamed layer of this class (``MaxPooling2D`` →
    ``max_pooling2d``), before its per-session counter."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", keras_class)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
