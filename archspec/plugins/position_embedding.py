"""``position_embedding``: a learned embedding of a sequence's shape, added to it (the
position embedding of a vision transformer). The class is archspec's own, in ``layers``,
which only a model build imports."""

from __future__ import annotations

from functools import cache

from archspec.core.ops.custom import (
    Args,
    Initializer,
    ShapeError,
    Weight,
    fmt,
    known,
    register_layer,
)


@cache
def position_embedding_args() -> type[Args]:
    """PositionEmbedding's argument."""

    class PositionEmbeddingArgs(Args):
        embeddings_initializer: Initializer = "glorot_uniform"

    return PositionEmbeddingArgs


def _shape(args, shapes):
    shape = shapes[0]
    if len(shape) != 2:
        raise ShapeError(
            "position_embedding expects an input of shape (sequence_length, features); "
            f"received {fmt(shape)}"
        )
    known(shape[0], "sequence length")
    known(shape[1], "features")
    return shape


def _weights(attrs, shapes):
    return (Weight("embeddings", tuple(shapes[0])),)


register_layer(
    "position_embedding",
    keras_class="archspec.plugins.layers:PositionEmbedding",
    args=position_embedding_args,
    shape=_shape,
    weights=_weights,
    suffix="pos_embed",
)
