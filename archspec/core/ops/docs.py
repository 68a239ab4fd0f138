"""One-line docs of the catalogue's Keras arguments, for editors (the JSON Schema's hovers).

Keras names an argument alike in every layer that takes it, so the docs are by argument
name; ``BY_KIND`` says it for the kinds where the same name means something else. Plain
text, one line each, in Keras's words where they are short enough; a test checks that
every argument of every built-in kind has one.
"""

from __future__ import annotations

ARGUMENTS: dict[str, str] = {
    "activation": "activation function applied to the output (none: linear)",
    "alpha": "scale of the negative part: alpha * (exp(x) - 1) for x < 0",
    "alpha_initializer": "initializer of the learned negative slopes",
    "antialias": "whether to use an antialiasing filter when downsampling",
    "attention_axes": "axes over which attention is applied (none: all but batch, heads, features)",
    "axes": "axis, or pair of axes, along which the dot product is taken",
    "axis": "axis (or axes) normalized over; the others are normalized independently",
    "beta_initializer": "initializer of the learned offset beta",
    "bias_axes": "output axes (letters of the equation) that get a bias; none: no bias",
    "bias_initializer": "initializer of the bias vector",
    "center": "whether to learn an offset beta added to the normalized tensor",
    "crop_to_aspect_ratio": "whether to crop to the target aspect ratio before resizing",
    "cropping": "how many entries to cut off each end of each spatial axis",
    "depth_multiplier": "output channels per input channel of the depthwise step",
    "depthwise_initializer": "initializer of the depthwise kernel",
    "dilation_rate": "spacing between kernel elements (atrous convolution)",
    "dims": "permutation of the axes, 1-based, without the batch axis",
    "dropout": "fraction of the inputs (or attention scores) dropped in training",
    "embeddings_initializer": "initializer of the embedding matrix",
    "epsilon": "small number added to the variance to avoid dividing by zero",
    "equation": "einsum equation of the inputs and the kernel, such as ab,bc->ac",
    "fill_mode": "how points outside the input are filled when padding to the aspect ratio",
    "fill_value": "value used for the padding when fill_mode is constant",
    "filters": "number of output channels (filters in the convolution)",
    "gamma_initializer": "initializer of the learned scale gamma",
    "go_backwards": "whether to process the sequence backwards",
    "groups": "number of groups the input channels are split into, each convolved apart",
    "height": "height of the output, in pixels",
    "input_dim": "size of the vocabulary: the largest integer index + 1",
    "interpolation": "interpolation method: nearest, bilinear, bicubic...",
    "invert": "whether to undo the normalization (x * sqrt(variance) + mean)",
    "keepdims": "whether to keep the pooled spatial axes, with size 1",
    "kernel_initializer": "initializer of the kernel weights",
    "kernel_size": "size of the convolution window: an integer or one per spatial axis",
    "key_dim": "size of each attention head for query and key",
    "layer": "the recurrent layer to run both ways, such as {lstm: {units: 64}}",
    "mask_zero": "whether the index 0 is padding, to be masked",
    "max_value": "largest output value (none: unbounded)",
    "mean": "mean to subtract, per feature (none: adapted from data)",
    "merge_mode": "how the forward and backward outputs combine: sum, mul, concat, ave",
    "momentum": "momentum of the moving mean and variance",
    "moving_mean_initializer": "initializer of the moving mean",
    "moving_variance_initializer": "initializer of the moving variance",
    "n": "how many times the input vector is repeated",
    "negative_slope": "slope for inputs below the threshold",
    "noise_shape": "shape of the binary dropout mask (1 where the mask is shared)",
    "normalize": "whether to L2-normalize the inputs first (cosine similarity)",
    "num_heads": "number of attention heads",
    "offset": "value added after scaling",
    "output_dim": "size of each embedding vector",
    "output_padding": "extra size added to one side of each output axis (none: inferred)",
    "output_shape": "shape of the output without the batch axis (none: the query's)",
    "pad_to_aspect_ratio": "whether to pad to the target aspect ratio before resizing",
    "padding": "valid (no padding) or same (output size = input size / strides)",
    "pointwise_initializer": "initializer of the 1x1 pointwise kernel",
    "pool_size": "size of the pooling window: an integer or one per spatial axis",
    "rate": "fraction of the inputs dropped in training, between 0 and 1",
    "recurrent_activation": "activation of the recurrent step's gates",
    "recurrent_dropout": "fraction of the recurrent state dropped in training",
    "recurrent_initializer": "initializer of the recurrent kernel",
    "reset_after": "whether the reset gate applies after the matrix product (cuDNN's GRU)",
    "return_sequences": "whether to return the whole output sequence, or only the last step",
    "return_state": "whether to return the last state besides the output",
    "scale": "whether to learn a scale gamma the normalized tensor is multiplied by",
    "seed": "seed of the random generator (none: a random one)",
    "shared_axes": "axes along which the learned slopes are shared",
    "size": "upsampling factor: an integer or one per spatial axis",
    "stddev": "standard deviation of the added noise",
    "strides": "step of the window: an integer or one per spatial axis",
    "target_shape": "output shape without the batch axis; -1 infers one size",
    "threshold": "inputs below it are set to negative_slope * (x - threshold)",
    "unit_forget_bias": "whether to add 1 to the forget gate's bias at initialization",
    "units": "dimensionality of the output space",
    "unroll": "whether to unroll the recurrence (faster for short sequences, more memory)",
    "use_bias": "whether the layer adds a bias vector",
    "value_dim": "size of each attention head for value (none: key_dim)",
    "variance": "variance to divide by, per feature (none: adapted from data)",
    "width": "width of the output, in pixels",
    "x2": "the constant on the operator's right",
}

# (kind, argument) → doc, where an argument's name means something else for that kind.
BY_KIND: dict[tuple[str, str], str] = {
    ("activation", "activation"): "the activation function: relu, sigmoid, softmax...",
    ("concatenate", "axis"): "axis along which the inputs are joined",
    ("softmax", "axis"): "axis (or axes) the softmax normalizes over",
    ("group_normalization", "groups"): "number of groups the channels are normalized in",
    ("rescaling", "scale"): "factor the input is multiplied by (1/255 maps pixels to 0-1)",
    ("max_pool", "strides"): "step of the window (none: pool_size)",
    ("avg_pool", "strides"): "step of the window (none: pool_size)",
    ("max_pooling1d", "strides"): "step of the window (none: pool_size)",
    ("max_pooling3d", "strides"): "step of the window (none: pool_size)",
    ("average_pooling1d", "strides"): "step of the window (none: pool_size)",
    ("average_pooling3d", "strides"): "step of the window (none: pool_size)",
    ("zero_padding", "padding"): "zeros added to each end of each spatial axis",
    ("zero_padding1d", "padding"): "zeros added to each end of the axis",
    ("zero_padding3d", "padding"): "zeros added to each end of each spatial axis",
    ("einsum_dense", "output_shape"): "shape of the output without the batch axis",
    ("multi_head_attention", "output_shape"): "size of the output's last axis (none: the query's)",
    ("center_crop", "height"): "height of the cropped output, in pixels",
    ("center_crop", "width"): "width of the cropped output, in pixels",
}


def argument_doc(kind: str, name: str) -> str | None:
    """The one-line doc of a kind's argument, or None if the catalogue has none."""
    return BY_KIND.get((kind, name), ARGUMENTS.get(name))


def kind_line(op, name: str, code=str) -> str:
    """What kind ``name`` (``op``'s name or an alias) makes, in one line: its Keras class
    or operation, the kind an alias stands for, what a bare value sets. ``code`` marks
    names up (Markdown backticks in a hover; plain in the JSON Schema)."""
    if op.operation is not None:
        what = f"{code(f'x {op.operation.operator} {op.operation.operand}')}, Keras's {code(op.keras_class)}"
    elif op.module is not None:
        what = f"{code(op.module + '.' + op.keras_class.rpartition(':')[2])} (a plugin's layer)"
    else:
        what = code(f"keras.layers.{op.keras_class}")
    if name != op.kind:
        what += f", as {code(op.kind)}"
    return what + (f"; a value alone sets {code(op.primary)}" if op.primary else "")
