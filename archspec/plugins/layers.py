"""archspec's own Keras layers. Only a model build (or a read-back) imports this module,
through a registration's class path: it is the one place of archspec.plugins that
imports Keras."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="archspec")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding, one vector per position, to a sequence of shape
    (batch, sequence_length, features)."""

    def __init__(self, embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        """Make the embeddings, one per position and feature."""
        if len(input_shape) != 3:
            raise ValueError(
                "PositionEmbedding expects an input of shape (batch, sequence_length, "
                f"features). Received: input_shape={input_shape}"
            )
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=tuple(input_shape[1:]),
            initializer=self.embeddings_initializer,
        )

    def call(self, inputs):
        """The inputs plus the embeddings."""
        return inputs + keras.ops.cast(self.embeddings, inputs.dtype)

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape

    def get_config(self):
        """The layer's config, with its initializer serialized."""
        config = super().get_config()
        config["embeddings_initializer"] = keras.initializers.serialize(self.embeddings_initializer)
        return config
