"""Pooling: windows (max and average, like a convolution's window, keeping the channels)
and global pooling (one value per channel), over 1, 2 or 3 spatial axes. No weights, and
no multiply-accumulates counted (a pool compares or adds, it does not multiply).

The 2D kinds keep their short names (max_pool, avg_pool, global_avg_pool,
global_max_pool); the 1D and 3D ones are named as Keras's classes in snake_case.
"""

from __future__ import annotations

from functools import cache, partial

from pydantic import Field, field_validator

from archspec.core.ops.args import Args, Padding, int_tuple
from archspec.core.ops.registry import register
from archspec.core.ops.rules import spatial, windowed


@cache
def window_args(rank: int, required: bool = False) -> type[Args]:
    """A pooling window's arguments over ``rank`` axes: strides default to the pool size,
    as in Keras. ``required``: Keras's AveragePooling1D/3D take no default pool size."""
    size = int_tuple(rank)

    class PoolArgs(Args):
        pool_size: size = Field() if required else (2,) * rank
        strides: size | None = None
        padding: Padding = "valid"

        @field_validator("strides", mode="after")
        @classmethod
        def _strides_default_to_pool_size(cls, value, info):
            return value if value is not None else info.data.get("pool_size")

    return PoolArgs


def pool_args() -> type[Args]:
    """MaxPooling2D's and AveragePooling2D's arguments (the short kinds default
    pool_size to (2, 2) for both, and generated code always writes it)."""
    return window_args(2)


@cache
def global_pool_args() -> type[Args]:
    """Global pooling's argument."""

    class GlobalPoolArgs(Args):
        keepdims: bool = False

    return GlobalPoolArgs


def pool_shape(rank: int, kind: str):
    """The shape rule of a pooling window over ``rank`` spatial axes."""

    def shape(args, shapes):
        return windowed(
            shapes[0], rank, kind, args.pool_size, args.strides, args.padding, None,
            shapes[0][-1],
        )  # fmt: skip

    return shape


def global_pool_shape(rank: int):
    """The shape rule of a global pooling over ``rank`` spatial axes."""

    def shape(args, shapes):
        channels = spatial(shapes[0], rank, "global pooling")[-1]
        return (*(1,) * rank, channels) if args.keepdims else (channels,)

    return shape


# A 2D pool's pool_size is always written: Keras's AveragePooling2D requires it.
_WINDOW = dict(
    args=pool_args,
    primary="pool_size",
    positional=("pool_size",),
    implied=("pool_size",),
    suffix="pool",
    category="pool",
)
register(
    kind="max_pool",
    aliases=("max_pooling2d",),
    keras_class="MaxPooling2D",
    shape=pool_shape(2, "max_pool"),
    **_WINDOW,
)
register(
    kind="avg_pool",
    aliases=("average_pooling2d",),
    keras_class="AveragePooling2D",
    shape=pool_shape(2, "avg_pool"),
    **_WINDOW,
)
register(
    kind="global_avg_pool",
    aliases=("global_average_pooling2d",),
    keras_class="GlobalAveragePooling2D",
    args=global_pool_args,
    shape=global_pool_shape(2),
    suffix="gap",
    category="pool",
)
register(
    kind="global_max_pool",
    aliases=("global_max_pooling2d",),
    keras_class="GlobalMaxPooling2D",
    args=global_pool_args,
    shape=global_pool_shape(2),
    suffix="gmp",
    category="pool",
)


def _window(kind: str, keras_class: str, rank: int, required: bool) -> None:
    # A pool_size Keras requires is always written; a defaulted one only where it differs.
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(window_args, rank, required),
        shape=pool_shape(rank, kind),
        primary="pool_size",
        positional=("pool_size",),
        implied=("pool_size",) if required else (),
        suffix="pool",
        category="pool",
    )


def _global(kind: str, keras_class: str, rank: int, suffix: str) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=global_pool_args,
        shape=global_pool_shape(rank),
        suffix=suffix,
        category="pool",
    )


_window("max_pooling1d", "MaxPooling1D", 1, required=False)
_window("max_pooling3d", "MaxPooling3D", 3, required=False)
_window("average_pooling1d", "AveragePooling1D", 1, required=True)
_window("average_pooling3d", "AveragePooling3D", 3, required=True)
_global("global_average_pooling1d", "GlobalAveragePooling1D", 1, "gap")
_global("global_average_pooling3d", "GlobalAveragePooling3D", 3, "gap")
_global("global_max_pooling1d", "GlobalMaxPooling1D", 1, "gmp")
_global("global_max_pooling3d", "GlobalMaxPooling3D", 3, "gmp")
