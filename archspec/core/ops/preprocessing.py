"""Image preprocessing layers a model may start with: rescaling (``x * scale + offset``,
each a number or an array that broadcasts over the input), resizing and center_crop (to a
fixed height and width, channels kept). No weights, no multiply-accumulates counted."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import model_validator

from archspec.core.ops.args import Args, NumberArray, PositiveInt, array_shape
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, fmt, spatial

# Keras's resize interpolations (keras.ops.image.resize).
Interpolation = Literal["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"]


@cache
def rescaling_args() -> type[Args]:
    """Rescaling's arguments, with Keras's default offset."""

    class RescalingArgs(Args):
        scale: NumberArray
        offset: NumberArray = 0.0

    return RescalingArgs


@cache
def resizing_args() -> type[Args]:
    """Resizing's arguments, with Keras's defaults (channels last)."""

    class ResizingArgs(Args):
        height: PositiveInt
        width: PositiveInt
        interpolation: Interpolation = "bilinear"
        crop_to_aspect_ratio: bool = False
        pad_to_aspect_ratio: bool = False
        fill_mode: Literal["constant"] = "constant"  # the only one Keras's resize has
        fill_value: float = 0.0
        antialias: bool = False

        @model_validator(mode="after")
        def _crop_or_pad(self):
            if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
                raise ValueError(
                    "only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be true"
                )
            return self

    return ResizingArgs


@cache
def center_crop_args() -> type[Args]:
    """CenterCrop's arguments (channels last)."""

    class CenterCropArgs(Args):
        height: PositiveInt
        width: PositiveInt

    return CenterCropArgs


def _rescaling_shape(args, shapes):
    full = (None, *shapes[0])
    for key in ("scale", "offset"):
        array = array_shape(getattr(args, key))
        # Broadcast from the right; an array that would grow the output is refused.
        fits = len(array) <= len(full) and all(
            a == 1 or s is None or a == s for a, s in zip(reversed(array), reversed(full))
        )
        if not fits:
            raise ShapeError(
                f"{key} of shape {array} does not broadcast over an input of shape "
                f"{fmt(shapes[0])}",
                "incompatible-argument",
            )
    return shapes[0]


def _image_shape(kind: str):
    """To ``height × width``, channels kept: Keras takes a batch of images."""

    def shape(args, shapes):
        channels = spatial(shapes[0], 2, kind)[-1]
        return (args.height, args.width, channels)

    return shape


register(
    kind="rescaling",
    keras_class="Rescaling",
    args=rescaling_args,
    shape=_rescaling_shape,
    primary="scale",
    positional=("scale",),
    suffix="rescaling",
    category="other",
)
register(
    kind="resizing",
    keras_class="Resizing",
    args=resizing_args,
    shape=_image_shape("resizing"),
    positional=("height", "width"),
    suffix="resizing",
    category="reshape",
)
register(
    kind="center_crop",
    keras_class="CenterCrop",
    args=center_crop_args,
    shape=_image_shape("center_crop"),
    positional=("height", "width"),
    suffix="crop",
    category="reshape",
)
