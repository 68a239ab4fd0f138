"""Regularization layers that only act when training: spatial dropout (one draw per
channel over 1, 2 or 3 spatial axes), gaussian noise and dropout, alpha dropout. They
keep their input's shape and have no weights."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import Field

from archspec.core.ops.args import Args, Seed
from archspec.core.ops.core import NoiseShape, noise_shape_fits
from archspec.core.ops.registry import register
from archspec.core.ops.rules import spatial

# Keras accepts a rate of 1, but then divides by zero when it trains.
Rate = Annotated[float, Field(ge=0, lt=1)]


@cache
def rate_args() -> type[Args]:
    """A dropout rate and seed (spatial and gaussian dropout)."""

    class RateArgs(Args):
        rate: Rate
        seed: Seed = None

    return RateArgs


@cache
def gaussian_noise_args() -> type[Args]:
    """GaussianNoise's arguments (Keras's range for stddev)."""

    class GaussianNoiseArgs(Args):
        stddev: Annotated[float, Field(ge=0, le=1)]
        seed: Seed = None

    return GaussianNoiseArgs


@cache
def alpha_dropout_args() -> type[Args]:
    """AlphaDropout's arguments."""

    class AlphaDropoutArgs(Args):
        rate: Rate
        noise_shape: NoiseShape = None
        seed: Seed = None

    return AlphaDropoutArgs


def _spatial_shape(rank: int, kind: str):
    """Spatial dropout over ``rank`` spatial axes: Keras fixes the input's rank."""

    def shape(args, shapes):
        return spatial(shapes[0], rank, kind)

    return shape


def _identity(args, shapes):
    return shapes[0]


def _alpha_shape(args, shapes):
    noise_shape_fits(args.noise_shape, shapes[0])
    return shapes[0]


for _rank in (1, 2, 3):
    register(
        kind=f"spatial_dropout{_rank}d",
        keras_class=f"SpatialDropout{_rank}D",
        args=rate_args,
        shape=_spatial_shape(_rank, f"spatial_dropout{_rank}d"),
        primary="rate",
        positional=("rate",),
        suffix="drop",
        category="other",
    )
register(
    kind="gaussian_noise",
    keras_class="GaussianNoise",
    args=gaussian_noise_args,
    shape=_identity,
    primary="stddev",
    positional=("stddev",),
    suffix="noise",
    category="other",
)
register(
    kind="gaussian_dropout",
    keras_class="GaussianDropout",
    args=rate_args,
    shape=_identity,
    primary="rate",
    positional=("rate",),
    suffix="drop",
    category="other",
)
register(
    kind="alpha_dropout",
    keras_class="AlphaDropout",
    args=alpha_dropout_args,
    shape=_alpha_shape,
    primary="rate",
    positional=("rate",),
    suffix="drop",
    category="other",
)
