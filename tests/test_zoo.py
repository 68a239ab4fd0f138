"""The keras.applications zoo in the spec language: each spec in specs/keras/ must build
the model that keras.applications builds (weights=None), layer for layer: names,
classes, configurations, connections, parameter counts and outputs."""

from __future__ import annotations

import pytest

import archspec

# spec, keras.applications function, layers (with the input), total / trainable /
# non-trainable params, keras's model name, keras's default input shape; the figures are
# keras.applications' own (count_params, len(model.layers), model.name, model.input_shape)
ZOO = [
    ("resnet50", "ResNet50", 177, 25_636_712, 25_583_592, 53_120, "resnet50", (224, 224, 3)),
    ("resnet101", "ResNet101", 347, 44_707_176, 44_601_832, 105_344, "resnet101", (224, 224, 3)),
    ("resnet152", "ResNet152", 517, 60_419_944, 60_268_520, 151_424, "resnet152", (224, 224, 3)),
    ("resnet50v2", "ResNet50V2", 192, 25_613_800, 25_568_360, 45_440, "resnet50v2", (224, 224, 3)),
    ("vgg16", "VGG16", 23, 138_357_544, 138_357_544, 0, "vgg16", (224, 224, 3)),
    ("vgg19", "VGG19", 26, 143_667_240, 143_667_240, 0, "vgg19", (224, 224, 3)),
    (
        "mobilenetv2",
        "MobileNetV2",
        156,
        3_538_984,
        3_504_872,
        34_112,
        "mobilenetv2_1.00_224",
        (224, 224, 3),
    ),
    ("densenet121", "DenseNet121", 429, 8_062_504, 7_978_856, 83_648, "densenet121", (224, 224, 3)),
    (
        "resnet101v2",
        "ResNet101V2",
        379,
        44_675_560,
        44_577_896,
        97_664,
        "resnet101v2",
        (224, 224, 3),
    ),
    (
        "resnet152v2",
        "ResNet152V2",
        566,
        60_380_648,
        60_236_904,
        143_744,
        "resnet152v2",
        (224, 224, 3),
    ),
    (
        "densenet169",
        "DenseNet169",
        597,
        14_307_880,
        14_149_480,
        158_400,
        "densenet169",
        (224, 224, 3),
    ),
    (
        "densenet201",
        "DenseNet201",
        709,
        20_242_984,
        20_013_928,
        229_056,
        "densenet201",
        (224, 224, 3),
    ),
    (
        "mobilenet",
        "MobileNet",
        91,
        4_253_864,
        4_231_976,
        21_888,
        "mobilenet_1.00_224",
        (224, 224, 3),
    ),
    ("xception", "Xception", 134, 22_910_480, 22_855_952, 54_528, "xception", (299, 299, 3)),
]
IDS = [row[0] for row in ZOO]

# The layers after the last stage, by include_top / pooling (keras.applications' heads).
HEADS = {
    "resnet50": {
        "top": ["avg_pool", "predictions"],
        "avg": ["avg_pool"],
        "max": ["max_pool"],
        None: ["conv5_block3_out"],
    },
    "resnet50v2": {
        "top": ["post_bn", "post_relu", "avg_pool", "predictions"],
        "avg": ["post_bn", "post_relu", "avg_pool"],
        "max": ["post_bn", "post_relu", "max_pool"],
        None: ["post_bn", "post_relu"],
    },
    "vgg16": {
        "top": ["block5_pool", "flatten", "fc1", "fc2", "predictions"],
        "avg": ["block5_pool", "global_average_pooling2d"],
        "max": ["block5_pool", "global_max_pooling2d"],
        None: ["block5_pool"],
    },
    "mobilenetv2": {
        "top": ["out_relu", "global_average_pooling2d", "predictions"],
        "avg": ["out_relu", "global_average_pooling2d"],
        "max": ["out_relu", "global_max_pooling2d"],
        None: ["out_relu"],
    },
    "densenet121": {
        "top": ["bn", "relu", "avg_pool", "predictions"],
        "avg": ["bn", "relu", "avg_pool"],
        "max": ["bn", "relu", "max_pool"],
        None: ["bn", "relu"],
    },
    "mobilenet": {
        "top": ["global_average_pooling2d", "dropout", "conv_preds", "reshape_2", "predictions"],
        "avg": ["conv_pw_13_relu", "global_average_pooling2d"],
        "max": ["conv_pw_13_relu", "global_max_pooling2d"],
        None: ["conv_pw_13_bn", "conv_pw_13_relu"],
    },
    "xception": {
        "top": ["block14_sepconv2_bn", "block14_sepconv2_act", "avg_pool", "predictions"],
        "avg": ["block14_sepconv2_bn", "block14_sepconv2_act", "global_average_pooling2d"],
        "max": ["block14_sepconv2_bn", "block14_sepconv2_act", "global_max_pooling2d"],
        None: ["block14_sepconv2_bn", "block14_sepconv2_act"],
    },
}


def spec_path(name: str) -> str:
    return f"specs/keras/{name}.yaml"


# ---- static figures (no TensorFlow) -----------------------------------------------------


@pytest.mark.parametrize("row", ZOO, ids=IDS)
def test_static_totals_and_layers(row):
    name, _, layers, total, trainable, non_trainable, model_name, shape = row
    graph = archspec.lower(spec_path(name))
    assert len(graph.nodes) == layers
    assert (graph.total, graph.trainable, graph.non_trainable) == (total, trainable, non_trainable)
    assert graph.output_shape == (None, 1000)
    assert graph.node("input_layer").output_shape == (None, *shape)
    assert graph.model_name == model_name


@pytest.mark.parametrize("name", list(HEADS))
@pytest.mark.parametrize("head", ["top", "avg", "max", None])
def test_heads_follow_include_top_and_pooling(name, head):
    params = {} if head == "top" else {"include_top": False, "pooling": head}
    graph = archspec.lower(spec_path(name), **params)
    tail = HEADS[name][head]
    assert [n.name for n in graph.nodes[-len(tail) :]] == tail


def test_resnet_stacks_and_names():
    graph = archspec.lower(spec_path("resnet50"))
    assert [b.prefix for b in graph.blocks if b.stage == 4] == [
        f"conv4_block{i}" for i in range(1, 7)
    ]
    assert graph.node("conv2_block1_add").inputs == ("conv2_block1_0_bn", "conv2_block1_3_bn")
    assert graph.node("conv2_block2_add").inputs == ("conv2_block1_out", "conv2_block2_3_bn")
    assert graph.node("conv3_block1_1_conv").attrs["strides"] == (2, 2)
    assert graph.node("conv3_block1_2_conv").attrs["padding"] == "same"
    v2 = archspec.lower(spec_path("resnet50v2"))
    assert v2.node("conv2_block1_out").inputs == ("conv2_block1_0_conv", "conv2_block1_3_conv")
    assert v2.node("conv2_block3_out").inputs == ("max_pooling2d", "conv2_block3_3_conv")
    assert [n.name for n in v2.nodes if n.op == "max_pool"] == [  # keras's auto names
        "pool1_pool",
        "max_pooling2d",
        "max_pooling2d_1",
        "max_pooling2d_2",
    ]
    assert v2.node("conv4_block6_2_conv").attrs["strides"] == (2, 2)


def test_mobilenetv2_width_and_padding():
    graph = archspec.lower(spec_path("mobilenetv2"))
    assert graph.node("block_2_add").inputs == ("block_1_project_BN", "block_2_project_BN")
    assert "expanded_conv_expand" not in {n.name for n in graph.nodes}
    assert graph.node("block_1_pad").attrs["padding"] == ((0, 1), (0, 1))
    odd = archspec.lower(spec_path("mobilenetv2"), input_shape=[97, 97, 3], alpha=0.35)
    assert odd.model_name == "mobilenetv2_0.35_97"
    assert odd.node("block_1_pad").attrs["padding"] == ((1, 1), (1, 1))
    assert odd.node("expanded_conv_project").shape[-1] == 8  # make_divisible(int(16 * 0.35), 8)
    wide = archspec.lower(spec_path("mobilenetv2"), alpha=1.4)
    assert wide.node("Conv_1").shape[-1] == 1792  # widened only for alpha > 1


def test_mobilenet_input_follows_include_top():
    # keras's obtain_input_shape: 224 x 224 with the top, any size without it
    for name in ("mobilenet", "resnet152v2", "densenet201"):
        headless = archspec.lower(spec_path(name), include_top=False)
        assert headless.node("input_layer").output_shape == (None, None, None, 3)
    headless = archspec.lower(spec_path("mobilenet"), include_top=False)
    assert headless.model_name == "mobilenet_1.00_None"
    small = archspec.lower(spec_path("mobilenet"), input_shape=[128, 128, 3], alpha=0.25)
    assert small.model_name == "mobilenet_0.25_128"
    assert small.node("conv_pw_13").shape[-1] == 256  # int(1024 * 0.25), no rounding to 8
    assert small.node("conv_pad_2").attrs["padding"] == ((0, 1), (0, 1))


def test_xception_flows_and_keras_auto_names():
    graph = archspec.lower(spec_path("xception"))
    # keras leaves each shortcut and add unnamed; they carry its auto names, in model order
    assert graph.node("add").inputs == ("block2_pool", "batch_normalization")
    assert graph.node("add_3").inputs == ("block5_sepconv3_bn", "add_2")
    assert graph.node("add_11").inputs == ("block13_pool", "batch_normalization_3")
    assert graph.node("conv2d_3").inputs == ("add_10",)
    assert "block2_sepconv1_act" not in {n.name for n in graph.nodes}
    assert graph.node("block13_sepconv2").shape == (19, 19, 1024)
    headless = archspec.lower(spec_path("xception"), include_top=False)
    assert headless.node("input_layer").output_shape == (None, None, None, 3)


def test_extends_changes_only_the_depth():
    base, deep = archspec.load(spec_path("resnet50")), archspec.load(spec_path("resnet101"))
    assert deep.spec.layers == base.spec.layers
    assert deep.spec.defaults == base.spec.defaults and deep.spec.naming == base.spec.naming
    assert {k: v for k, v in deep.params.items() if base.params[k] != v} == {
        "depths": [3, 4, 23, 3]
    }
    assert (deep.spec.name, deep.spec.model_name) == ("ResNet101", "resnet101")
    # ResNet-50 given ResNet-101's depths is ResNet-101, node for node.
    same = archspec.lower(spec_path("resnet50"), depths=[3, 4, 23, 3])
    graph = archspec.lower(deep)
    assert _layers(same) == _layers(graph)


def _layers(graph):
    return [(n.name, n.op, n.attrs, n.inputs, n.shape) for n in graph.nodes]


def test_extends_cycle_is_a_spec_error(cli, write):
    a = write("extends: b.yaml\nname: A\n", "a.yaml")
    b = write("name: B\nextends: a.yaml\n", "b.yaml")
    result = cli("check", a)
    assert result.code == 1
    assert result.err.startswith(f"{b}:2:10: error: "), result.err
    assert "cycle" in result.err and "Traceback" not in result.err


def test_extends_missing_base_is_a_spec_error(cli, write):
    path = write("name: A\nextends: ./nope.yaml\n")
    result = cli("check", path)
    assert result.code == 1
    assert result.err.startswith(f"{path}:2:10: error: "), result.err
    assert "nope.yaml" in result.err


def test_a_users_block_library_by_relative_path(write):
    write(
        """
        defaults:
          batch_norm: {epsilon: 0.01}
        blocks:
          conv_bn:
            params: {filters: int}
            layers:
              - conv2d: {filters: "{{ filters }}", kernel_size: 3, padding: same, role: a}
              - batch_norm: {role: a}
        """,
        "lib/my_blocks.yaml",
    )
    path = write(
        """
        name: Tiny
        imports: [./lib/my_blocks.yaml, vgg]
        input: {shape: [32, 32, 3]}
        layers:
          - stage: {id: 1, filters: 8, blocks: [conv_bn x 2, vgg_pool]}
          - flatten
        """,
    )
    graph = archspec.lower(path)
    names = [n.name for n in graph.nodes]
    assert names == [
        "input_layer",
        "conv1_block1_a_conv",
        "conv1_block1_a_bn",
        "conv1_block2_a_conv",
        "conv1_block2_a_bn",
        "block1_pool",
        "flatten",
    ]
    assert graph.node("conv1_block2_a_bn").attrs["epsilon"] == 0.01
    assert graph.output_shape == (None, 16 * 16 * 8)


NAMING = [
    # preset, library, a stage's blocks, names it must give
    (
        "keras",
        "keras_resnet",
        "[block1: {filters: 4, conv_shortcut: true}]",
        ["conv2_block1_1_conv", "conv2_block1_add"],
    ),
    (
        "keras",
        "resnet",
        "[convolutional: {f: 3, filters: [4, 4, 16]}]",
        ["conv2_block1_2a_conv", "conv2_block1_add"],
    ),
    (
        "caffe",
        "resnet",
        "[convolutional: {f: 3, filters: [4, 4, 16]}]",
        ["res2a_branch2a", "res2a_add"],
    ),
]


@pytest.mark.parametrize("preset, library, blocks, expected", NAMING)
def test_naming_presets(preset, library, blocks, expected, write):
    path = write(
        f"""
        name: M
        imports: [{library}]
        naming: {preset}
        input: {{shape: [32, 32, 3]}}
        layers:
          - stage: {{id: 2, blocks: {blocks}}}
        """
    )
    assert set(expected) <= {n.name for n in archspec.lower(path).nodes}


def test_keras_preset_names_the_zoo():
    names = {n.name for n in archspec.lower(spec_path("resnet50")).nodes}
    assert {"conv2_block1_1_conv", "conv2_block1_0_bn", "conv5_block3_out"} <= names
    names = {n.name for n in archspec.lower("specs/resnet50.yaml").nodes}
    assert {"res2a_branch2a", "bn2a_branch1", "res5c_branch2c"} <= names


# ---- against keras.applications ----------------------------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize("row", ZOO, ids=IDS)
def test_equals_keras_applications(row):
    import keras
    from keras_compare import assert_same_model, assert_same_outputs

    name, function, layers, total, *_ = row
    keras.backend.clear_session()  # frees the last models; fresh auto-name counters
    graph = archspec.lower(spec_path(name))
    assert graph.total == total
    built = archspec.build(graph)
    reference = getattr(keras.applications, function)(weights=None)
    assert reference.count_params() == built.count_params() == total
    assert len(built.layers) == layers
    assert_same_model(built, reference, names="explicit")
    assert_same_outputs(built, reference, atol=1e-5, batch=1)


# Non-default params: the include_top=False heads, width multipliers, odd input sizes.
VARIANTS = [
    (
        "resnet152",
        "ResNet152",
        {"include_top": False, "pooling": "max"},
        (64, 64, 3),
        (224, 224, 3),
    ),
    (
        "resnet50v2",
        "ResNet50V2",
        {"include_top": False, "pooling": "avg"},
        (64, 64, 3),
        (224, 224, 3),
    ),
    ("vgg19", "VGG19", {"include_top": False, "pooling": "max"}, (64, 64, 3), (224, 224, 3)),
    (
        "densenet121",
        "DenseNet121",
        {"include_top": False, "pooling": "avg"},
        (64, 64, 3),
        (224, 224, 3),
    ),
    (
        "mobilenetv2",
        "MobileNetV2",
        {"include_top": False, "pooling": "max", "alpha": 0.35},
        (97, 97, 3),
    ),
    (
        "mobilenetv2",
        "MobileNetV2",
        {"classes": 10, "alpha": 1.4, "classifier_activation": "linear"},
        (96, 96, 3),
    ),
    ("resnet101v2", "ResNet101V2", {"include_top": False, "pooling": "max"}, (96, 96, 3)),
    ("densenet201", "DenseNet201", {"include_top": False, "pooling": "max"}, (64, 64, 3)),
    ("mobilenet", "MobileNet", {"include_top": False, "pooling": "avg"}, (128, 128, 3)),
    (
        "mobilenet",
        "MobileNet",
        {"include_top": False, "pooling": "max", "alpha": 0.5, "depth_multiplier": 2},
        (96, 96, 3),
    ),
    (
        "mobilenet",
        "MobileNet",
        {"alpha": 0.75, "classes": 10, "dropout": 0.2, "classifier_activation": "linear"},
        (128, 128, 3),
    ),
    ("xception", "Xception", {"include_top": False, "pooling": "avg"}, (128, 128, 3)),
    ("xception", "Xception", {"include_top": False, "pooling": "max"}, (71, 71, 3)),
]


@pytest.mark.keras
@pytest.mark.parametrize(
    "variant", VARIANTS, ids=[f"{v[0]}-{'-'.join(map(str, v[2].values()))}" for v in VARIANTS]
)
def test_variants_equal_keras_applications(variant):
    import keras
    from keras_compare import assert_same_model, assert_same_outputs

    name, function, params, shape = variant
    keras.backend.clear_session()
    built = archspec.build(spec_path(name), input_shape=list(shape), **params)
    reference = getattr(keras.applications, function)(weights=None, input_shape=shape, **params)
    assert_same_model(built, reference, names="explicit")
    assert_same_outputs(built, reference, atol=1e-5)
