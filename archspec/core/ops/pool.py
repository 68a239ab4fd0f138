"""Pooling: max_pool and avg_pool (a window, like a convolution's, that keeps the
channels), global_avg_pool and global_max_pool (one value per channel). No weights."""

from __future__ import annotations

from functools import cache

from pydantic import field_validator

from archspec.core.ops.args import Args, Padding, Pair
from archspec.core.ops.registry import register
from archspec.core.ops.rules import spatial, windowed


@cache
def pool_args() -> type[Args]:
    """A pooling window's arguments: strides default to the pool size, as in Keras."""

    class PoolArgs(Args):
        pool_size: Pair = (2, 2)
        strides: Pair | None = None
        padding: Padding = "valid"

        @field_validator("strides", mode="after")
        @classmethod
        def _strides_default_to_pool_size(cls, value, info):
            return value if value is not None else info.data.get("pool_size")

    return PoolArgs


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


# A pool's pool_size is always written: Keras's AveragePooling2D requires it.
_WINDOW = dict(
    args=pool_args,
    primary="pool_size",
    positional=("pool_size",),
    implied=("pool_size",),
    suffix="pool",
    category="pool",
)
register(kind="max_pool", keras_class="MaxPooling2D", shape=pool_shape(2, "max_pool"), **_WINDOW)
register(
    kind="avg_pool", keras_class="AveragePooling2D", shape=pool_shape(2, "avg_pool"), **_WINDOW
)
register(
    kind="global_avg_pool",
    keras_class="GlobalAveragePooling2D",
    args=global_pool_args,
    shape=global_pool_shape(2),
    suffix="gap",
    category="pool",
)
register(
    kind="global_max_pool",
    keras_class="GlobalMaxPooling2D",
    args=global_pool_args,
    shape=global_pool_shape(2),
    suffix="gmp",
    category="pool",
)
