"""The op catalogue, one table per family, against figures worked out by hand from Keras's
formulas (no TensorFlow): output shapes, parameter counts and multiply-accumulates, the
errors a layer raises at check time, and what every registration must say."""

from __future__ import annotations

import math
import re

import pydantic
import pytest

from archspec.core.ops import (
    OPS,
    ShapeError,
    keras_auto_name,
    layer_weights,
    read_back,
    read_operation,
    refine,
    register,
)
from archspec.core.ops.args import (
    NoArgs,
    axis_index,
    is_initializer,
    is_nested_layer,
    parse_initializer,
)
from archspec.core.ops.registry import CATEGORIES, Operation
from archspec.core.ops.rules import size_of, windowed

# (kind, args, input shapes, output shape, (trainable, non-trainable), MACs)
# A valid window gives floor((size - span) / stride) + 1 with span = dilation·(k-1) + 1;
# "same" gives ceil(size / stride).
CONV = [
    # (70-7)//2+1 = 32; kernel 7·7·3·64 = 9408, bias 64; MACs 32·32·64 · 7·7·3 = 9,633,792
    ("conv2d", {"filters": 64, "kernel_size": 7, "strides": 2}, [(70, 70, 3)],
     (32, 32, 64), (9472, 0), 9_633_792),
    # ceil(9/2) = 5; groups 2: kernel 3·3·(8/2)·4 = 144, no bias; MACs 5·5·4 · 3·3·4 = 3600
    ("conv2d", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                "groups": 2, "use_bias": False}, [(9, 9, 8)],
     (5, 5, 4), (144, 0), 3600),
    # dilation 2: span 2·(3-1)+1 = 5, (10-5)//1+1 = 6; 3·3·1·1 + 1 = 10; MACs 6·6·1 · 9 = 324
    ("conv2d", {"filters": 1, "kernel_size": 3, "dilation_rate": 2}, [(10, 10, 1)],
     (6, 6, 1), (10, 0), 324),
    # unknown spatial sizes propagate; 1·1·3·8 + 8 = 32
    ("conv2d", {"filters": 8, "kernel_size": 1}, [(None, None, 3)], (None, None, 8), (32, 0), None),
    # same: 8×8; channels 16·2 = 32; kernel 3·3·16·2 = 288, bias 32; MACs 8·8·32 · 9 = 18,432
    ("depthwise_conv2d", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
     [(8, 8, 16)], (8, 8, 32), (320, 0), 18_432),
    # (7-3)//2+1 = 3; 3·3·4·1 = 36, no bias; MACs 3·3·4 · 9 = 324
    ("depthwise_conv2d", {"kernel_size": 3, "strides": 2, "use_bias": False}, [(7, 7, 4)],
     (3, 3, 4), (36, 0), 324),
    # (10-3)//1+1 = 8; kernel 3·4·8 = 96, bias 8; MACs 8·8 · 3·4 = 768
    ("conv1d", {"filters": 8, "kernel_size": 3}, [(10, 4)], (8, 8), (104, 0), 768),
    # causal gives the length of same, ceil(10/1) = 10 (dilation 2 needs stride 1); kernel
    # 3·4·2 = 24, no bias; MACs 10·2 · 3·4 = 240
    ("conv1d", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
                "use_bias": False}, [(10, 4)], (10, 2), (24, 0), 240),
    # (8-3)//2+1 = 3 on each axis; kernel 3·3·3·2·4 = 216, bias 4; MACs 3·3·3·4 · 27·2 = 5832
    ("conv3d", {"filters": 4, "kernel_size": 3, "strides": 2}, [(8, 8, 8, 2)],
     (3, 3, 3, 4), (220, 0), 5832),
    # same: ceil(9/2) = 5; depthwise 3·4·2 = 24, pointwise 1·8·6 = 48, bias 6;
    # MACs 5 · 8 · (3 + 6) = 360
    ("separable_conv1d", {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same",
                          "depth_multiplier": 2}, [(9, 4)], (5, 6), (78, 0), 360),
    # (8-3)//1+1 = 6; depthwise 3·3·3·1 = 27, pointwise 1·1·3·16 = 48, bias 16;
    # MACs 6·6 · 3 · (9 + 16) = 2700
    ("separable_conv2d", {"filters": 16, "kernel_size": 3}, [(8, 8, 3)], (6, 6, 16),
     (91, 0), 2700),
    # (10-5)//1+1 = 6 (span 2·(3-1)+1 = 5); kernel 3·4·3 = 36, bias 12; MACs 6·12 · 3 = 216
    ("depthwise_conv1d", {"kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 3},
     [(10, 4)], (6, 12), (48, 0), 216),
    # valid, no output_padding: (5-1)·2 + max(3, 2) = 11; kernel 3·8·4 = 96, bias 8;
    # MACs 5·4 (each input value) · 3·8 = 480
    ("conv1d_transpose", {"filters": 8, "kernel_size": 3, "strides": 2}, [(5, 4)], (11, 8),
     (104, 0), 480),
    # same, no output_padding: 4·2 = 8; kernel 3·3·6·3 = 162, bias 6; MACs 4·4·3 · 9·6 = 2592
    ("conv2d_transpose", {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same"},
     [(4, 4, 3)], (8, 8, 6), (168, 0), 2592),
    # same, output_padding 1: (4-1)·2 + 3%2 + 1 = 8; rows of None stay None; kernel 3·3·2·3 =
    # 54, no bias
    ("conv2d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                          "output_padding": 1, "use_bias": False}, [(None, 4, 3)],
     (None, 8, 2), (54, 0), None),
    # valid, output_padding (0, 1, 0): (3-1)·2 + 2 + p = 6, 7, 6; kernel 2·2·2·4·1 = 32,
    # bias 4; MACs 3·3·3·1 · 8·4 = 864
    ("conv3d_transpose", {"filters": 4, "kernel_size": 2, "strides": 2,
                          "output_padding": [0, 1, 0]}, [(3, 3, 3, 1)], (6, 7, 6, 4),
     (36, 0), 864),
]  # fmt: skip

POOL = [
    # (32-3)//2+1 = 15
    ("max_pool", {"pool_size": 3, "strides": 2}, [(32, 32, 64)], (15, 15, 64), (0, 0), 0),
    # strides default to pool_size: (7-2)//2+1 = 3
    ("avg_pool", {}, [(7, 7, 3)], (3, 3, 3), (0, 0), 0),
    # same: ceil(7/2) = 4
    ("avg_pool", {"pool_size": 2, "padding": "same"}, [(7, 7, 3)], (4, 4, 3), (0, 0), 0),
    ("global_avg_pool", {}, [(7, 7, 3)], (3,), (0, 0), 0),
    ("global_avg_pool", {"keepdims": True}, [(7, 7, 3)], (1, 1, 3), (0, 0), 0),
    ("global_max_pool", {}, [(5, 4, 9)], (9,), (0, 0), 0),
    # pool_size defaults to 2 and strides to it: (9-2)//2+1 = 4
    ("max_pooling1d", {}, [(9, 5)], (4, 5), (0, 0), 0),
    # same: ceil(9/2) = 5; unknown steps stay unknown
    ("max_pooling1d", {"pool_size": 3, "strides": 2, "padding": "same"}, [(9, 5)],
     (5, 5), (0, 0), 0),
    ("max_pooling1d", {"pool_size": 3}, [(None, 5)], (None, 5), (0, 0), 0),
    # (2,2,2) by default: (8-2)//2+1 = 4, (5-2)//2+1 = 2, (3-2)//2+1 = 1
    ("max_pooling3d", {}, [(8, 5, 3, 2)], (4, 2, 1, 2), (0, 0), 0),
    # (10-3)//1+1 = 8
    ("average_pooling1d", {"pool_size": 3, "strides": 1}, [(10, 4)], (8, 4), (0, 0), 0),
    # per axis: (6-3)//3+1 = 2, (6-2)//2+1 = 3, (6-1)//1+1 = 6
    ("average_pooling3d", {"pool_size": [3, 2, 1]}, [(6, 6, 6, 1)], (2, 3, 6, 1), (0, 0), 0),
    # same: ceil(5/2) = 3 on each axis
    ("average_pooling3d", {"pool_size": 2, "padding": "same"}, [(5, 5, 5, 3)],
     (3, 3, 3, 3), (0, 0), 0),
    ("global_average_pooling1d", {}, [(10, 4)], (4,), (0, 0), 0),
    ("global_average_pooling1d", {"keepdims": True}, [(None, 4)], (1, 4), (0, 0), 0),
    ("global_average_pooling3d", {"keepdims": True}, [(4, 4, 4, 2)], (1, 1, 1, 2), (0, 0), 0),
    ("global_max_pooling1d", {}, [(7, 3)], (3,), (0, 0), 0),
    ("global_max_pooling3d", {}, [(4, 4, 4, 6)], (6,), (0, 0), 0),
]  # fmt: skip

NORM = [
    # gamma + beta = 2·3 trainable; moving mean + variance = 2·3 not
    ("batch_norm", {}, [(8, 8, 3)], (8, 8, 3), (6, 6), 0),
    # axis 1 is the first axis after the batch, of size 5: 2·5 and 2·5
    ("batch_norm", {"axis": 1}, [(5, 8, 3)], (5, 8, 3), (10, 10), 0),
    # no beta: gamma 3 trainable; moving statistics 2·3
    ("batch_norm", {"axis": 3, "center": False}, [(4, 4, 3)], (4, 4, 3), (3, 6), 0),
    # no gamma and no beta: only the moving statistics, 2·64
    ("batch_norm", {"scale": False, "center": False}, [(64,)], (64,), (0, 128), 0),
    # gamma + beta over the last axis: 2·8
    ("layer_normalization", {}, [(4, 4, 8)], (4, 4, 8), (16, 0), 0),
    # axes [3, 2] are sorted to (2, 3): gamma and beta of shape (4, 8), 2·32
    ("layer_normalization", {"axis": [3, 2]}, [(5, 4, 8)], (5, 4, 8), (64, 0), 0),
    # neither gamma nor beta: an unknown size does not matter
    ("layer_normalization", {"center": False, "scale": False}, [(None, 3)], (None, 3), (0, 0), 0),
    # gamma and beta per channel, whatever the groups: 2·32
    ("group_normalization", {"groups": 4}, [(6, 6, 32)], (6, 6, 32), (64, 0), 0),
    # groups -1: one per channel; no beta: gamma 6
    ("group_normalization", {"groups": -1, "center": False}, [(10, 6)], (10, 6), (6, 0), 0),
    ("unit_normalization", {}, [(4, 4, 8)], (4, 4, 8), (0, 0), 0),
    ("unit_normalization", {"axis": [1, 2]}, [(4, 4, 8)], (4, 4, 8), (0, 0), 0),
    # given statistics are constants: no weights
    ("normalization", {"mean": [0.485, 0.456, 0.406], "variance": [0.052, 0.05, 0.051]},
     [(8, 8, 3)], (8, 8, 3), (0, 0), 0),
    # no statistics: mean and variance of the kept axis, 2·3, and the count, 1
    ("normalization", {}, [(8, 8, 3)], (8, 8, 3), (0, 7), 0),
    # kept axes 1 and 3: statistics of shape (4, 3), 2·12 + 1
    ("normalization", {"axis": [1, 3]}, [(4, 5, 3)], (4, 5, 3), (0, 25), 0),
    # axis None keeps nothing: scalar statistics, 1 + 1 + 1
    ("normalization", {"axis": None}, [(4, 5, 3)], (4, 5, 3), (0, 3), 0),
]  # fmt: skip

MERGE = [
    *(
        (kind, {}, [(4, 4, 2), (4, 4, 2)], (4, 4, 2), (0, 0), 0)
        for kind in ("add", "subtract", "multiply", "average", "maximum", "minimum")
    ),
    ("add", {}, [(3,), (3,), (3,)], (3,), (0, 0), 0),
    # 2 + 3 channels
    ("concatenate", {}, [(4, 4, 2), (4, 4, 3)], (4, 4, 5), (0, 0), 0),
    # axis 1 (the first after the batch): 2 + 5
    ("concatenate", {"axis": 1}, [(2, 3), (5, 3)], (7, 3), (0, 0), 0),
    # axis -2 of a rank-3 shape is its second axis: 4 + 1
    ("concatenate", {"axis": -2}, [(2, 4, 3), (2, 1, 3)], (2, 5, 3), (0, 0), 0),
    ("concatenate", {}, [(4, None), (4, 3)], (4, None), (0, 0), 0),
    # Element-wise merges broadcast, aligned at the last axis: a size of 1 takes the other
    # (squeeze-and-excitation's (1, 1, C) scale), an unknown size on either side is unknown
    ("multiply", {}, [(4, 4, 8), (1, 1, 8)], (4, 4, 8), (0, 0), 0),
    ("add", {}, [(4, 1, 8), (1, 5, 1)], (4, 5, 8), (0, 0), 0),
    ("maximum", {}, [(4, 4, 8), (1, 8), (8,)], (4, 4, 8), (0, 0), 0),
    # a lower rank lines up with the last axes: (3,) against (2, 3)
    ("subtract", {}, [(3,), (2, 3)], (2, 3), (0, 0), 0),
    ("average", {}, [(4, None, 2), (4, 1, 2)], (4, None, 2), (0, 0), 0),
    ("minimum", {}, [(None, 3), (1, 3)], (None, 3), (0, 0), 0),
    # dot: the summed axis leaves each input; Keras's axes count the batch (axis 1 is a
    # spec shape's first). (3, 4)·(4, 5) on axes (2, 1): 3·5 outputs of 4 products each
    ("dot", {"axes": [2, 1]}, [(3, 4), (4, 5)], (3, 5), (0, 0), 60),
    # one negative axis for both: their last; 3·5 outputs of 4 products
    ("dot", {"axes": -1}, [(3, 4), (5, 4)], (3, 5), (0, 0), 60),
    # two vectors: one value (Keras keeps an axis besides the batch), 6 products
    ("dot", {"axes": 1, "normalize": True}, [(6,), (6,)], (1,), (0, 0), 6),
    # rank 3 by rank 2 on axes (1, 2): (2, 7) and (3,) remain, 2·7·3 outputs of 5 products
    ("dot", {"axes": [1, 2]}, [(5, 2, 7), (3, 5)], (2, 7, 3), (0, 0), 210),
]

# Arithmetic with a constant (Keras operations, not layers): the input's shape, nothing
# to learn, and no multiply-accumulates (as Rescaling, which scales and shifts too)
ARITHMETIC = [
    ("scalar_add", {"x2": 3.0}, [(4, 4, 3)], (4, 4, 3), (0, 0), 0),
    ("scalar_subtract", {"x2": 1}, [(5,)], (5,), (0, 0), 0),
    ("scalar_multiply", {"x2": 1 / 6}, [(None, 3)], (None, 3), (0, 0), 0),
    ("scalar_divide", {"x2": 2.0}, [(2, 2)], (2, 2), (0, 0), 0),
]

RESHAPE = [
    # 64 + 3 + 3 = 70
    ("zero_padding", {"padding": 3}, [(64, 64, 3)], (70, 70, 3), (0, 0), 0),
    # rows 5 + 1 + 2 = 8, columns 5 + 3 + 4 = 12
    ("zero_padding", {"padding": [[1, 2], [3, 4]]}, [(5, 5, 1)], (8, 12, 1), (0, 0), 0),
    # (rows, cols): 6 + 2·1, 6 + 2·2
    ("zero_padding", {"padding": [1, 2]}, [(6, 6, 1)], (8, 10, 1), (0, 0), 0),
    # 2·2·2048 = 8192
    ("flatten", {}, [(2, 2, 2048)], (8192,), (0, 0), 0),
    ("flatten", {}, [(None, 2)], (None,), (0, 0), 0),
    # 4·4·2 = 32 values, 32 / 4 = 8
    ("reshape", {"target_shape": [-1, 4]}, [(4, 4, 2)], (8, 4), (0, 0), 0),
    ("reshape", {"target_shape": [2, 16]}, [(4, 4, 2)], (2, 16), (0, 0), 0),
    # (1, 1) by default: 5 + 1 + 1 = 7
    ("zero_padding1d", {}, [(5, 3)], (7, 3), (0, 0), 0),
    # (before, after): 5 + 2 + 3 = 10; unknown steps stay unknown
    ("zero_padding1d", {"padding": [2, 3]}, [(5, 3)], (10, 3), (0, 0), 0),
    ("zero_padding1d", {"padding": 4}, [(None, 3)], (None, 3), (0, 0), 0),
    # 1 on each side by default: 4 + 2 on each axis
    ("zero_padding3d", {}, [(4, 4, 4, 2)], (6, 6, 6, 2), (0, 0), 0),
    # per axis, an int or a pair: 5 + 2·1, 5 + 2 + 3, 5 + 2·0
    ("zero_padding3d", {"padding": [1, [2, 3], 0]}, [(5, 5, 5, 1)], (7, 10, 5, 1), (0, 0), 0),
    # (1, 1) by default: 5 - 1 - 1 = 3
    ("cropping1d", {}, [(5, 3)], (3, 3), (0, 0), 0),
    # 10 - 2 - 7 = 1, the least Keras accepts
    ("cropping1d", {"cropping": [2, 7]}, [(10, 3)], (1, 3), (0, 0), 0),
    # nothing cropped by default
    ("cropping2d", {}, [(5, 6, 3)], (5, 6, 3), (0, 0), 0),
    # rows 8 - 1 - 2 = 5, columns 8 - 3 - 0 = 5
    ("cropping2d", {"cropping": [[1, 2], [3, 0]]}, [(8, 8, 2)], (5, 5, 2), (0, 0), 0),
    # 2 from each side: 6 - 4 = 2; unknown stays unknown
    ("cropping2d", {"cropping": 2}, [(6, None, 2)], (2, None, 2), (0, 0), 0),
    # 1 from each side by default: 4 - 2 = 2 on each axis
    ("cropping3d", {}, [(4, 4, 4, 2)], (2, 2, 2, 2), (0, 0), 0),
    # 6 - 0 - 0, 6 - 2 - 2, 6 - 1 - 4
    ("cropping3d", {"cropping": [0, 2, [1, 4]]}, [(6, 6, 6, 1)], (6, 2, 1, 1), (0, 0), 0),
    # 2 by default: 5·2 = 10
    ("up_sampling1d", {}, [(5, 3)], (10, 3), (0, 0), 0),
    ("up_sampling1d", {"size": 3}, [(None, 3)], (None, 3), (0, 0), 0),
    # (2, 2) by default: 4·2, 5·2
    ("up_sampling2d", {}, [(4, 5, 3)], (8, 10, 3), (0, 0), 0),
    # 4·2, 5·3 whatever the interpolation
    ("up_sampling2d", {"size": [2, 3], "interpolation": "bilinear"}, [(4, 5, 3)],
     (8, 15, 3), (0, 0), 0),
    # (2, 2, 2) by default: 3·2, 4·2, 5·2
    ("up_sampling3d", {}, [(3, 4, 5, 1)], (6, 8, 10, 1), (0, 0), 0),
    # 2·1, 2·2, 2·3
    ("up_sampling3d", {"size": [1, 2, 3]}, [(2, 2, 2, 4)], (2, 4, 6, 4), (0, 0), 0),
    # axis 1 (size 5) and axis 2 (size 3) swap
    ("permute", {"dims": [2, 1]}, [(5, 3)], (3, 5), (0, 0), 0),
    # new order 3, 1, 2: sizes 4, 2, None
    ("permute", {"dims": [3, 1, 2]}, [(2, None, 4)], (4, 2, None), (0, 0), 0),
    # n copies of the vector of 5
    ("repeat_vector", {"n": 4}, [(5,)], (4, 5), (0, 0), 0),
    ("identity", {}, [(7, 7, 3)], (7, 7, 3), (0, 0), 0),
]  # fmt: skip

CORE = [
    # kernel 5·10 + bias 10 = 60; MACs 5·10 = 50
    ("dense", {"units": 10}, [(5,)], (10,), (60, 0), 50),
    # applied on the last axis: kernel 4·2 = 8, no bias; MACs 3·4·2 = 24
    ("dense", {"units": 2, "use_bias": False}, [(3, 4)], (3, 2), (8, 0), 24),
    # the seed's fc6: 2048·6 + 6 = 12,294
    ("dense", {"units": 6, "activation": "softmax"}, [(2048,)], (6,), (12_294, 0), 12_288),
    ("dropout", {"rate": 0.5}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
    ("activation", {"activation": "relu"}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
    ("relu", {}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
    ("relu", {"max_value": 6}, [(None, 2)], (None, 2), (0, 0), 0),
    ("relu6", {}, [(3,)], (3,), (0, 0), 0),
    # a mask shared over the spatial axes
    ("dropout", {"rate": 0.2, "noise_shape": [None, 1, 1, 2]}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
    ("leaky_relu", {}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
    # alpha per value: 4·4·2 = 32
    ("prelu", {}, [(4, 4, 2)], (4, 4, 2), (32, 0), 0),
    # shared over the spatial axes 1 and 2: alpha (1, 1, 2)
    ("prelu", {"shared_axes": [1, 2]}, [(4, 4, 2)], (4, 4, 2), (2, 0), 0),
    # a shared axis may be of unknown size: alpha (1, 3)
    ("prelu", {"shared_axes": 1}, [(None, 3)], (None, 3), (3, 0), 0),
    ("elu", {"alpha": 0.5}, [(3,)], (3,), (0, 0), 0),
    ("softmax", {}, [(10,)], (10,), (0, 0), 0),
    ("softmax", {"axis": [1, 2]}, [(4, 4, 2)], (4, 4, 2), (0, 0), 0),
]  # fmt: skip

NOISE = [
    ("spatial_dropout1d", {"rate": 0.1}, [(10, 4)], (10, 4), (0, 0), 0),
    ("spatial_dropout2d", {"rate": 0.1, "seed": 3}, [(8, 8, 4)], (8, 8, 4), (0, 0), 0),
    ("spatial_dropout3d", {"rate": 0.5}, [(2, 8, 8, 4)], (2, 8, 8, 4), (0, 0), 0),
    ("gaussian_noise", {"stddev": 0.1}, [(8, 8, 4)], (8, 8, 4), (0, 0), 0),
    ("gaussian_dropout", {"rate": 0.3}, [(5,)], (5,), (0, 0), 0),
    ("alpha_dropout", {"rate": 0.3, "noise_shape": [None, 5]}, [(5,)], (5,), (0, 0), 0),
]

PREPROCESSING = [
    ("rescaling", {"scale": 1 / 255}, [(8, 8, 3)], (8, 8, 3), (0, 0), 0),
    # per-channel scale and offset broadcast over the last axis
    ("rescaling", {"scale": [2.0, 3.0, 4.0], "offset": [-1, 0, 1]}, [(8, 8, 3)], (8, 8, 3),
     (0, 0), 0),
    # height and width replaced, channels kept
    ("resizing", {"height": 4, "width": 6}, [(8, 8, 3)], (4, 6, 3), (0, 0), 0),
    ("resizing", {"height": 4, "width": 4, "interpolation": "nearest"}, [(None, None, 3)],
     (4, 4, 3), (0, 0), 0),
    ("center_crop", {"height": 5, "width": 3}, [(8, 8, 3)], (5, 3, 3), (0, 0), 0),
]  # fmt: skip

ARITHMETIC_KINDS = [case[0] for case in ARITHMETIC]

ATTENTION = [
    # kernel 3·4 + bias 4 = 16; MACs 4 outputs · 3 = 12
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, [(3,)],
     (4,), (16, 0), 12),
    # kernel (4, 2, 3) = 24, bias over d and e (2, 3) = 6; MACs 5·2·3 · 4 = 120
    ("einsum_dense", {"equation": "abc,cde->abde", "output_shape": [5, 2, 3],
                      "bias_axes": "de"}, [(5, 4)], (5, 2, 3), (30, 0), 120),
    # the ellipsis at the start is the batch and the 7 steps; kernel 3·6 = 18;
    # MACs 7·6 · 3 = 126
    ("einsum_dense", {"equation": "...b,bc->...c", "output_shape": 6}, [(7, 3)], (7, 6),
     (18, 0), 126),
    # the ellipsis at the end keeps the last axis (5): output (6, 5); kernel 4·6 = 24, bias
    # (6, 1) broadcast over it = 6; MACs 6·5 · 4 = 120
    ("einsum_dense", {"equation": "ab...,bc->ac...", "output_shape": 6, "bias_axes": "c"},
     [(4, 5)], (6, 5), (30, 0), 120),
    # an output size left None stays None (Keras does not take it from the input)
    ("einsum_dense", {"equation": "abc,cd->abd", "output_shape": [None, 2]}, [(5, 4)],
     (None, 2), (8, 0), None),
    # a table of 1000 vectors of 64: 64,000; a lookup multiplies nothing
    ("embedding", {"input_dim": 1000, "output_dim": 64}, [(10,)], (10, 64), (64_000, 0), 0),
    # ids of any shape: each gets a last axis of 8; 5·8 = 40
    ("embedding", {"input_dim": 5, "output_dim": 8, "mask_zero": True}, [(None, 3)],
     (None, 3, 8), (40, 0), 0),
    # self-attention on (6, 8): query, key and value kernels (8, 2, 4) = 64 each with biases
    # (2, 4) = 8, output kernel (2, 4, 8) = 64 with bias 8: 4·72 = 288. MACs: projections
    # 3 · 6·8·8 = 1152, scores and weighted values 6·6 · 2·(4+4) = 576, output 6·2·4·8 = 384
    ("multi_head_attention", {"num_heads": 2, "key_dim": 4}, [(6, 8)], (6, 8), (288, 0),
     2112),
    # query (4, 6), value (9, 10): kernels (6,3,2) = 36, key (10,3,2) = 60, value (10,3,5) =
    # 150, output (3,5,7) = 105, no biases: 351. MACs 4·6·6 + 9·10·6 + 9·10·15 + 4·9·3·(2+5)
    # + 4·3·5·7 = 144 + 540 + 1350 + 756 + 420
    ("multi_head_attention", {"num_heads": 3, "key_dim": 2, "value_dim": 5, "use_bias": False,
                              "output_shape": 7}, [(4, 6), (9, 10)], (4, 7), (351, 0), 3210),
    # a key of its own (9, 3): its kernel (3, 3, 2) = 18 for 60: 309
    ("multi_head_attention", {"num_heads": 3, "key_dim": 2, "value_dim": 5, "use_bias": False,
                              "output_shape": 7}, [(4, 6), (9, 10), (9, 3)], (4, 7),
     (309, 0), 144 + 9 * 3 * 6 + 1350 + 756 + 420),
]  # fmt: skip

RECURRENT = [
    # 4 gates: kernel 4·32, recurrent kernel 8·32, bias 32: 416; MACs 10 steps · (4+8)·32
    ("lstm", {"units": 8}, [(10, 4)], (8,), (416, 0), 3840),
    # every step's output; no bias: 128 + 256; unknown steps
    ("lstm", {"units": 8, "return_sequences": True, "use_bias": False}, [(None, 4)],
     (None, 8), (384, 0), None),
    # 3 gates: kernel 3·15 = 45, recurrent 5·15 = 75, bias (2, 15) = 30 (reset_after);
    # MACs 7 · (3+5) · 15 = 840
    ("gru", {"units": 5}, [(7, 3)], (5,), (150, 0), 840),
    # one bias row without reset_after: 15
    ("gru", {"units": 5, "reset_after": False}, [(7, 3)], (5,), (135, 0), 840),
    # kernel 2·6, recurrent 6·6, bias 6: 54; MACs 5 · (2+6) · 6 = 240
    ("simple_rnn", {"units": 6, "return_sequences": True}, [(5, 2)], (5, 6), (54, 0), 240),
    # the LSTM above twice, the outputs concatenated: 2·416 = 832; MACs 2·3840
    ("bidirectional", {"layer": {"lstm": {"units": 8, "return_sequences": True}}}, [(10, 4)],
     (10, 16), (832, 0), 7680),
    # summed: the GRU's size; 2·150 and 2·840
    ("bidirectional", {"layer": {"gru": {"units": 5}}, "merge_mode": "sum"}, [(7, 3)], (5,),
     (300, 0), 1680),
]  # fmt: skip

CASES = (
    CONV
    + POOL
    + NORM
    + MERGE
    + ARITHMETIC
    + RESHAPE
    + CORE
    + NOISE
    + PREPROCESSING
    + ATTENTION
    + RECURRENT
)


def _ids(cases) -> list[str]:
    return [f"{kind}-{args}-{shapes}" for kind, args, shapes, *_ in cases]


@pytest.mark.parametrize(
    ("kind", "args", "shapes", "shape", "params", "macs"), CASES, ids=_ids(CASES)
)
def test_shape_params_macs(kind, args, shapes, shape, params, macs):
    op = OPS[kind]
    validated = op.args.model_validate(args)
    out = op.shape(validated, shapes)
    assert out == shape
    assert op.params(validated, shapes, out) == params
    attrs = validated.model_dump()
    # The counts are the sizes of the weights the diff and weight loading use.
    weights = layer_weights(kind, attrs, shapes)
    assert size_of(weights) == params
    assert sum(math.prod(w.shape) for w in weights) == sum(params)
    if macs is not None:
        assert op.macs(attrs, shapes, out) == macs


def test_every_kind_has_a_case():
    # The built-in catalogue; the kinds of archspec's own plugins, loaded through entry
    # points when a spec names one, have theirs in tests/test_custom_layers.py.
    assert {case[0] for case in CASES} == {kind for kind, op in OPS.items() if op.module is None}


# (kind, args, input shapes, part of the message, code)
ERRORS = [
    # span 7 on a size of 3: (3-7)//1+1 = -3
    ("conv2d", {"filters": 1, "kernel_size": 7}, [(3, 3, 1)], "does not fit an input of size 3",
     "window-too-large"),
    ("conv2d", {"filters": 1, "kernel_size": 1}, [(8, 8, None)], "channels must be known",
     "unknown-size"),
    ("conv2d", {"filters": 6, "kernel_size": 1, "groups": 4}, [(8, 8, 4)],
     "filters=6 are not divisible by groups=4", "incompatible-argument"),
    ("conv2d", {"filters": 4, "kernel_size": 1, "groups": 4}, [(8, 8, 6)],
     "input channels 6 are not divisible by groups=4", "incompatible-argument"),
    ("conv2d", {"filters": 1, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [(9, 9, 1)],
     "strides > 1 cannot be combined with dilation_rate > 1", "incompatible-argument"),
    ("conv2d", {"filters": 1, "kernel_size": 3}, [(9, 1)],
     "conv2d expects an input of shape (height, width, channels); received (None, 9, 1)",
     "shape-mismatch"),
    ("depthwise_conv2d", {"kernel_size": 3}, [(8, 8, None)], "channels must be known",
     "unknown-size"),
    ("max_pool", {"pool_size": 3}, [(2, 2, 1)], "does not fit an input of size 2",
     "window-too-large"),
    ("batch_norm", {"axis": 4}, [(8, 8, 3)],
     "axis 4 is out of range for an input of shape (None, 8, 8, 3)", "incompatible-argument"),
    ("batch_norm", {"axis": 0}, [(8, 8, 3)], "axis 0 is out of range", "incompatible-argument"),
    ("batch_norm", {}, [(8, 8, None)], "size on axis -1 must be known", "unknown-size"),
    ("dense", {"units": 2}, [(None,)], "its input's last axis must be known", "unknown-size"),
    ("add", {}, [(4, 4, 2), (4, 4, 3)],
     "inputs of different shapes: (None, 4, 4, 2) and (None, 4, 4, 3) (channels 2 vs 3)",
     "shape-mismatch"),
    # the channels hint also where ranks differ, and the Keras axis elsewhere
    ("multiply", {}, [(4, 4, 8), (1, 1, 4)],
     "inputs of different shapes: (None, 4, 4, 8) and (None, 1, 1, 4) (channels 8 vs 4)",
     "shape-mismatch"),
    ("add", {}, [(4, 4, 8), (5, 8)], "(None, 4, 4, 8) and (None, 5, 8) (axis 2: 4 vs 5)",
     "shape-mismatch"),
    # the broadcast of the first two against the third: (4, 3) vs (2, 3)
    ("average", {}, [(4, 1), (3,), (2, 3)], "(axis 1: 4 vs 2)", "shape-mismatch"),
    ("subtract", {}, [(3,), (3,), (3,)], "subtract takes exactly 2 inputs; received 3",
     "shape-mismatch"),
    ("dot", {"axes": 1}, [(3,), (3,), (3,)], "dot takes exactly 2 inputs", "shape-mismatch"),
    ("dot", {"axes": [1, 1]}, [(3, 4), (5, 4)],
     "cannot take the dot product of (None, 3, 4) and (None, 5, 4) with axes=(1, 1): "
     "sizes 3 vs 5", "shape-mismatch"),
    # Keras refuses an unknown size against a known one
    ("dot", {"axes": 1}, [(None,), (3,)], "sizes None vs 3", "shape-mismatch"),
    ("dot", {"axes": 0}, [(3,), (3,)], "axes=0 names the batch axis", "incompatible-argument"),
    # a pair's negative axis counts from the end once: -3 of (None, 4) is out of range
    ("dot", {"axes": [1, -3]}, [(4,), (4,)], "axes=(1, -3) is out of range for an input of "
     "shape (None, 4)", "incompatible-argument"),
    ("dot", {"axes": 3}, [(4, 4), (4,)], "out of range", "incompatible-argument"),
    ("concatenate", {}, [(192,), (8, 8, 3)], "cannot concatenate (None, 192) and (None, 8, 8, 3)",
     "shape-mismatch"),
    ("concatenate", {}, [(4, 4, 2), (5, 4, 2)], "the other axes differ", "shape-mismatch"),
    ("reshape", {"target_shape": [5, -1]}, [(8, 8, 3)], "cannot reshape (None, 8, 8, 3) to (5, -1)",
     "shape-mismatch"),
    ("reshape", {"target_shape": [-1, -1]}, [(4,)], "-1 at most once", "incompatible-argument"),
    ("layer_normalization", {"axis": 0}, [(8, 3)], "axis 0 is out of range",
     "incompatible-argument"),
    ("layer_normalization", {"axis": [1, -2]}, [(8, 3)], "names an axis twice",
     "incompatible-argument"),
    ("layer_normalization", {}, [(8, None)], "size on axis 2 must be known", "unknown-size"),
    ("group_normalization", {"groups": 4}, [(8, 6)], "6 channels cannot be split into groups=4",
     "incompatible-argument"),
    ("group_normalization", {"groups": 32}, [(8, 16)], "cannot be split into groups=32",
     "incompatible-argument"),
    ("normalization", {"mean": [1, 2], "variance": [1, 1]}, [(8, 3)],
     "mean and variance of shape (2,) do not fit the kept axes of sizes (3,)",
     "incompatible-argument"),
    ("normalization", {}, [(8, None)], "size on axis 2 must be known", "unknown-size"),
    ("unit_normalization", {"axis": 3}, [(8, 3)], "axis 3 is out of range",
     "incompatible-argument"),
    ("softmax", {"axis": 2}, [(8,)], "axis 2 is out of range", "incompatible-argument"),
    ("prelu", {"shared_axes": [0]}, [(8, 3)], "shared_axes 0 is out of range",
     "incompatible-argument"),
    ("prelu", {}, [(None, 3)], "size on axis 1 (not shared) must be known", "unknown-size"),
    ("dropout", {"rate": 0.5, "noise_shape": [None, 1]}, [(4, 4)], "noise_shape (None, 1) does not fit",
     "incompatible-argument"),
    ("alpha_dropout", {"rate": 0.5, "noise_shape": [None, 3]}, [(4,)], "does not fit",
     "incompatible-argument"),
    ("spatial_dropout2d", {"rate": 0.5}, [(4, 4)], "spatial_dropout2d expects an input of shape",
     "shape-mismatch"),
    ("rescaling", {"scale": [1, 2]}, [(4, 3)], "scale of shape (2,) does not broadcast",
     "incompatible-argument"),
    ("resizing", {"height": 2, "width": 2}, [(4, 3)], "resizing expects an input of shape",
     "shape-mismatch"),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4}, [(3, 2)],
     "names 2 input axes (the batch first)", "shape-mismatch"),
    ("einsum_dense", {"equation": "abc,cd->abd", "output_shape": [5, 4]}, [(6, 3)],
     "axis 'b' of 'abc,cd->abd' is 6 in the input but 5 in output_shape",
     "incompatible-argument"),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": [4, 2]}, [(3,)],
     "does not fit the equation", "incompatible-argument"),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "x"}, [(3,)],
     "bias axis 'x' is not an output axis", "incompatible-argument"),
    ("einsum_dense", {"equation": "ab,bc->ad", "output_shape": 4}, [(3,)],
     "output axis 'd' of 'ab,bc->ad' is in neither", "incompatible-argument"),
    ("einsum_dense", {"equation": "ab,bc->ba", "output_shape": 4}, [(3,)],
     "must keep the batch axis 'a' first", "incompatible-argument"),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4}, [(None,)],
     "size on the kernel's axis 'b' must be known", "unknown-size"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(4, 6), (9, 10), (8, 3)],
     "must have the same shape but for their last axis", "shape-mismatch"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(4, 6), (2, 9, 10)],
     "a query and a value of one rank", "shape-mismatch"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2, "attention_axes": 2}, [(4, 6)],
     "attention_axes 2 is out of range", "incompatible-argument"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(4, 6)] * 4, "1 to 3 tensors",
     "shape-mismatch"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(4, None)],
     "query's last axis must be known", "unknown-size"),
    ("lstm", {"units": 4}, [(10,)], "lstm expects an input of shape (timesteps, features)",
     "shape-mismatch"),
    ("gru", {"units": 4, "unroll": True}, [(None, 3)], "needs its input's timesteps known",
     "unknown-size"),
    ("simple_rnn", {"units": 4}, [(5, None)], "features (last axis) must be known",
     "unknown-size"),
    ("bidirectional", {"layer": {"lstm": {"units": 4}}}, [(5, 3, 2)],
     "lstm expects an input of shape (timesteps, features)", "shape-mismatch"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "shapes", "message", "code"), ERRORS, ids=_ids(ERRORS))
def test_check_time_errors(kind, args, shapes, message, code):
    op = OPS[kind]
    with pytest.raises(ShapeError) as info:
        op.shape(op.args.model_validate(args), shapes)
    assert message in str(info.value)
    assert info.value.code == code


def test_shape_error_code_defaults_to_mismatch():
    assert ShapeError("x").code == "shape-mismatch"


def test_windowed_rule_takes_the_rank():
    # One rule for 1, 2 and 3 spatial axes, as conv1d/2d/3d would use it.
    assert windowed((10, 4), 1, "op", (3,), (1,), "valid", None, 8) == (8, 8)  # 10-3+1
    assert windowed((8, 8, 8, 2), 3, "op", (2,) * 3, (2,) * 3, "valid", None, 2) == (4, 4, 4, 2)
    assert windowed((5, 9, 1), 2, "op", (3, 3), (2, 2), "same", None, 1) == (3, 5, 1)  # ceil
    with pytest.raises(ShapeError, match=r"expects an input of shape \(steps, channels\)"):
        windowed((10, 10, 4), 1, "op", (3,), (1,), "valid", None, 8)


@pytest.mark.parametrize("kind", sorted(OPS))
def test_registration_is_complete(kind):
    op = OPS[kind]
    assert op.kind == kind
    assert op.keras_class and op.keras_class[0].isupper()
    assert op.suffix
    assert op.category in CATEGORIES
    fields = tuple(op.args.model_fields)
    assert op.positional == fields[: len(op.positional)]
    assert set(op.implied) <= set(fields)
    assert op.primary is None or op.primary in fields


def test_registering_a_kind_twice_is_an_error():
    before = dict(OPS)
    with pytest.raises(ValueError, match="'relu' is already registered"):
        register(
            kind="relu",
            keras_class="ReLU",
            args=NoArgs,
            shape=lambda a, s: s[0],
            suffix="relu",
            category="activation",
        )
    assert dict(OPS) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"category": "colourful"}, "unknown category 'colourful'"),
        ({"positional": ("max_value",)}, "no argument max_value"),
    ],
)
def test_registration_is_checked(fields, message):
    with pytest.raises(ValueError, match=message):
        register(
            kind="not_an_op",
            keras_class="NotAnOp",
            args=NoArgs,
            shape=lambda a, s: s[0],
            suffix="x",
            **{"category": "other", **fields},
        )
    assert "not_an_op" not in OPS


def test_positional_arguments_lead():
    with pytest.raises(ValueError, match="positional arguments must come first"):
        register(
            kind="not_an_op",
            keras_class="NotAnOp",
            args=OPS["conv2d"].args,
            shape=lambda a, s: s[0],
            positional=("kernel_size",),
            suffix="x",
            category="conv",
        )
    assert "not_an_op" not in OPS


def test_read_back_of_a_shared_keras_class():
    relu = read_back("ReLU")
    assert relu.kind == "relu"
    six = OPS["relu"].args.model_validate({"max_value": 6}).model_dump()
    assert refine(relu, six).kind == "relu6"
    other = OPS["relu"].args.model_validate({"max_value": 6, "negative_slope": 0.1}).model_dump()
    assert refine(relu, other).kind == "relu"
    assert read_back("Conv2D").kind == "conv2d"
    # An Add operation node (x + 3.0) is arithmetic; an Add layer is the merge.
    assert read_back("Add").kind == "add"
    assert read_operation("keras.src.ops.numpy", "Add").kind == "scalar_add"
    assert read_operation("keras.src.ops.numpy", "TrueDivide").kind == "scalar_divide"
    assert read_operation("keras.src.ops.numpy", "Reshape") is None
    assert refine(read_back("Add"), {}).kind == "add"


def test_arithmetic_is_named_as_keras_names_its_operations():
    # x + 3.0 is an Add named add, x / c a TrueDivide named true_divide: the counter of
    # the Add layer's names too.
    assert [keras_auto_name(OPS[k].keras_class) for k in ARITHMETIC_KINDS] == [
        "add", "subtract", "multiply", "true_divide"
    ]  # fmt: skip
    assert all(OPS[k].operation.module == "keras.src.ops.numpy" for k in ARITHMETIC_KINDS)
    assert [OPS[k].operation.operator for k in ARITHMETIC_KINDS] == ["+", "-", "*", "/"]
    assert OPS["add"].operation is None


def test_an_operation_names_its_operand():
    with pytest.raises(ValueError, match="no argument x3"):
        register(
            kind="not_an_op",
            keras_class="Add",
            args=OPS["scalar_add"].args,
            shape=lambda a, s: s[0],
            suffix="x",
            category="other",
            operation=Operation("keras.src.ops.numpy", "+", "x3"),
        )
    assert "not_an_op" not in OPS
    assert read_back("LSTM").kind == "lstm"
    assert read_back("ConvLSTM2D") is None


def test_short_names():
    assert OPS["activation"].short({"activation": "swish"}) == "swish"
    assert OPS["conv2d"].short({}) == "conv"


@pytest.mark.parametrize(
    ("axis", "rank", "index"),
    [(-1, 3, 2), (3, 3, 2), (1, 3, 0), (-3, 3, 0), (0, 3, None), (4, 3, None), (-4, 3, None)],
)
def test_axis_index(axis, rank, index):
    # The batch is axis 0 (and -rank-1); the shape's axes are 1..rank.
    assert axis_index(axis, rank) == index


def test_initializers():
    value = parse_initializer({"glorot_uniform": {"seed": 0}})
    assert value == {"class_name": "GlorotUniform", "config": {"seed": 0}}
    assert is_initializer(value)
    assert not is_initializer({"glorot_uniform": {}})
    assert not is_initializer({**value, "module": "keras.initializers"})
    assert is_initializer({**value, "module": "keras.initializers"}, serialized=True)
    assert not is_initializer("zeros")


# (kind, args, part of the message): arguments refused before any input is seen
BAD_ARGS = [
    ("group_normalization", {"groups": 0}, "or -1 for instance normalization"),
    ("normalization", {"mean": [1.0]}, "mean and variance must be given together"),
    ("normalization", {"mean": [1.0, 2.0], "variance": [1.0]}, "must have the same shape"),
    ("normalization", {"mean": [[1.0]], "variance": [[1.0]]}, "the rank of mean must be"),
    ("normalization", {"mean": [[1.0], [1.0, 2.0]], "variance": 1}, "rectangular"),
    ("rescaling", {"scale": []}, "non-empty"),
    ("rescaling", {"scale": "x"}, "expected a number"),
    ("resizing", {"height": 2, "width": 2, "crop_to_aspect_ratio": True,
                  "pad_to_aspect_ratio": True}, "only one of"),
    ("resizing", {"height": 2, "width": 2, "fill_mode": "reflect"}, "constant"),
    ("leaky_relu", {"negative_slope": -0.1}, "greater than or equal to 0"),
    ("gaussian_noise", {"stddev": 1.5}, "less than or equal to 1"),
    ("spatial_dropout2d", {"rate": 1.0}, "less than 1"),
    ("gaussian_dropout", {"rate": 0.1, "seed": 2**64}, "64-bit"),
    ("dropout", {"rate": 0.1, "noise_shape": [None, 0]}, "greater than 0"),
    ("dot", {}, "Field required"),
    ("dot", {"axes": [1, 2, 3]}, "Tuple should have at most 2 items"),
    ("dot", {"axes": True}, "valid integer"),
    ("scalar_add", {}, "Field required"),
    ("scalar_multiply", {"x2": True}, "expected a finite number"),
    ("scalar_divide", {"x2": float("inf")}, "expected a finite number"),
    ("scalar_subtract", {"x2": [1.0, 2.0]}, "expected a finite number"),
    ("lstm", {"units": 4, "return_state": True}, "several outputs of a layer are not supported"),
    ("bidirectional", {"layer": {"lstm": {"units": 4}}, "merge_mode": None},
     "several outputs of a layer are not supported"),
    ("bidirectional", {"layer": {"lstm": {"units": 4}}, "backward_layer": {"lstm": {"units": 4}}},
     "backward_layer is not supported yet"),
    ("bidirectional", {"layer": {"dense": {"units": 4}}},
     "unknown layer 'dense'; expected one of: lstm, gru, simple_rnn"),
    ("bidirectional", {"layer": {"lstm": {"units": 4, "go_backwards": True}}},
     "the layer must go forwards"),
    ("bidirectional", {"layer": {"lstm": {"unitz": 4}}},
     "lstm: unknown argument 'unitz'; units: Field required"),
    ("bidirectional", {"layer": {"lstm": {"units": 4, "return_state": True}}},
     "lstm: return_state: return_state gives the states as more outputs"),
    ("bidirectional", {"layer": [1]}, "expected a one-key mapping like {lstm: {units: 64}}"),
    ("einsum_dense", {"equation": "ab->b", "output_shape": 2}, "cannot read the equation"),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": []}, "at least 1"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2, "dropout": 1.5},
     "less than or equal to 1"),
    ("multi_head_attention", {"num_heads": 0, "key_dim": 2}, "greater than 0"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "message"), BAD_ARGS, ids=_ids(BAD_ARGS))
def test_refused_arguments(kind, args, message):
    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        OPS[kind].args.model_validate(args)


def test_axes_as_keras_keeps_them():
    # One axis in a list reads back as the int a spec writes; several are sorted where
    # Keras sorts them (LayerNormalization), kept as written elsewhere.
    ln = OPS["layer_normalization"].args
    assert ln.model_validate({"axis": [-1]}).axis == -1
    assert ln.model_validate({"axis": [3, 1]}).axis == (1, 3)
    assert OPS["unit_normalization"].args.model_validate({"axis": [3, 1]}).axis == (3, 1)
    norm = OPS["normalization"].args
    assert norm.model_validate({"axis": [-1]}).axis == -1
    assert norm.model_validate({"axis": []}).axis is None
    assert OPS["prelu"].args.model_validate({"shared_axes": 2}).shared_axes == (2,)
    # Rescaling's arrays stay lists (Keras serializes a tuple differently).
    assert OPS["rescaling"].args.model_validate({"scale": (1, 2)}).scale == [1.0, 2.0]


def test_how_layers_are_called_with_their_inputs():
    # One tensor, a merge's list, or positional tensors where a missing one repeats the
    # one before it (MHA's key is its value; one tensor alone is self-attention).
    assert OPS["dense"].call_arguments(["x"]) == ["x"]
    assert OPS["add"].call_arguments(["a", "b"]) == [["a", "b"]]
    mha = OPS["multi_head_attention"]
    assert (mha.call, mha.arity) == ("args", (2, 3))
    assert mha.call_arguments(["x"]) == ["x", "x"]
    assert mha.call_arguments(["q", "v"]) == ["q", "v"]
    assert mha.call_arguments(["q", "v", "k"]) == ["q", "v", "k"]
    # Read back, the repeats go: called (x, x) it is self-attention on x.
    assert mha.fewest_inputs(("x", "x")) == ("x",)
    assert mha.fewest_inputs(("q", "v", "v")) == ("q", "v")
    assert mha.fewest_inputs(("q", "v", "q")) == ("q", "v", "q")
    assert OPS["add"].fewest_inputs(("a", "a")) == ("a", "a")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"call": "many"}, "unknown call 'many'"),
        ({"merge": True, "call": "one"}, "a merge is called with a list"),
        ({"call": "args", "arity": (3, 2)}, "1 <= fewest <= most"),
    ],
)
def test_call_registration_is_checked(fields, message):
    with pytest.raises(ValueError, match=message):
        register(
            kind="not_an_op",
            keras_class="NotAnOp",
            args=NoArgs,
            shape=lambda a, s: s[0],
            suffix="x",
            category="other",
            **fields,
        )
    assert "not_an_op" not in OPS


def test_nested_layer_form():
    # {kind: arguments} becomes {kind, args}: aliases resolved, arguments normalized,
    # those at their defaults left out; the IR's form reads as itself.
    bi = OPS["bidirectional"].args
    layer = bi.model_validate(
        {"layer": {"gru": {"units": 4, "use_bias": True, "kernel_initializer": "he_normal"}}}
    ).layer
    assert layer == {
        "kind": "gru",
        "args": {"units": 4, "kernel_initializer": {"class_name": "HeNormal", "config": {}}},
    }
    assert is_nested_layer(layer) and not is_initializer(layer)
    assert bi.model_validate({"layer": layer}).layer == layer
    assert OPS["bidirectional"].args.model_fields["layer"].is_required()


def test_value_dim_is_key_dim_unless_given():
    mha = OPS["multi_head_attention"].args
    assert mha.model_validate({"num_heads": 2, "key_dim": 3}).value_dim == 3
    assert mha.model_validate({"num_heads": 2, "key_dim": 3, "value_dim": 5}).value_dim == 5
    assert mha.model_validate(
        {"num_heads": 2, "key_dim": 3, "attention_axes": 1}
    ).attention_axes == (1,)
