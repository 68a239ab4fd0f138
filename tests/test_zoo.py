"""The keras.applications zoo in the spec language: each spec in specs/keras/ must build
the model that keras.applications builds (weights=None), layer for layer: names,
classes, configurations, connections, parameter counts and outputs."""

from __future__ import annotations

import pytest
from conftest import ROOT
from test_codegen import import_module

import archspec
from archspec.backends.python.emit import module_path
from archspec.core.ops import OPS
from archspec.frontend.resolve import shipped_specs

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
        "mobilenetv3small",
        "MobileNetV3Small",
        164,
        2_554_968,
        2_542_856,
        12_112,
        "MobileNetV3Small",
        (None, None, 3),
    ),
    (
        "mobilenetv3large",
        "MobileNetV3Large",
        194,
        5_507_432,
        5_483_032,
        24_400,
        "MobileNetV3Large",
        (None, None, 3),
    ),
    (
        "efficientnetv2b0",
        "EfficientNetV2B0",
        273,
        7_200_312,
        7_139_704,
        60_608,
        "efficientnetv2-b0",
        (224, 224, 3),
    ),
    (
        "efficientnetv2b1",
        "EfficientNetV2B1",
        337,
        8_212_124,
        8_141_052,
        71_072,
        "efficientnetv2-b1",
        (240, 240, 3),
    ),
    (
        "efficientnetv2b2",
        "EfficientNetV2B2",
        352,
        10_178_374,
        10_096_086,
        82_288,
        "efficientnetv2-b2",
        (260, 260, 3),
    ),
    (
        "efficientnetv2b3",
        "EfficientNetV2B3",
        412,
        14_467_622,
        14_358_406,
        109_216,
        "efficientnetv2-b3",
        (300, 300, 3),
    ),
    (
        "efficientnetv2s",
        "EfficientNetV2S",
        516,
        21_612_360,
        21_458_488,
        153_872,
        "efficientnetv2-s",
        (384, 384, 3),
    ),
    (
        "efficientnetv2m",
        "EfficientNetV2M",
        743,
        54_431_388,
        54_139_356,
        292_032,
        "efficientnetv2-m",
        (480, 480, 3),
    ),
    (
        "efficientnetv2l",
        "EfficientNetV2L",
        1031,
        119_027_848,
        118_515_272,
        512_576,
        "efficientnetv2-l",
        (480, 480, 3),
    ),
    (
        "inceptionv3",
        "InceptionV3",
        313,
        23_851_784,
        23_817_352,
        34_432,
        "inception_v3",
        (299, 299, 3),
    ),
    (
        "inceptionresnetv2",
        "InceptionResNetV2",
        782,
        55_873_736,
        55_813_192,
        60_544,
        "inception_resnet_v2",
        (299, 299, 3),
    ),
    (
        "efficientnetb0",
        "EfficientNetB0",
        240,
        5_330_571,
        5_288_548,
        42_023,
        "efficientnetb0",
        (224, 224, 3),
    ),
    (
        "efficientnetb1",
        "EfficientNetB1",
        342,
        7_856_239,
        7_794_184,
        62_055,
        "efficientnetb1",
        (240, 240, 3),
    ),
    (
        "efficientnetb2",
        "EfficientNetB2",
        342,
        9_177_569,
        9_109_994,
        67_575,
        "efficientnetb2",
        (260, 260, 3),
    ),
    (
        "efficientnetb3",
        "EfficientNetB3",
        387,
        12_320_535,
        12_233_232,
        87_303,
        "efficientnetb3",
        (300, 300, 3),
    ),
    (
        "efficientnetb4",
        "EfficientNetB4",
        477,
        19_466_823,
        19_341_616,
        125_207,
        "efficientnetb4",
        (380, 380, 3),
    ),
    (
        "efficientnetb5",
        "EfficientNetB5",
        579,
        30_562_527,
        30_389_784,
        172_743,
        "efficientnetb5",
        (456, 456, 3),
    ),
    (
        "efficientnetb6",
        "EfficientNetB6",
        669,
        43_265_143,
        43_040_704,
        224_439,
        "efficientnetb6",
        (528, 528, 3),
    ),
    (
        "efficientnetb7",
        "EfficientNetB7",
        816,
        66_658_687,
        66_347_960,
        310_727,
        "efficientnetb7",
        (600, 600, 3),
    ),
    (
        "nasnetmobile",
        "NASNetMobile",
        771,
        5_326_716,
        5_289_978,
        36_738,
        "nasnet_mobile",
        (224, 224, 3),
    ),
    (
        "nasnetlarge",
        "NASNetLarge",
        1041,
        88_949_818,
        88_753_150,
        196_668,
        "nasnet_large",
        (331, 331, 3),
    ),
    (
        "convnexttiny",
        "ConvNeXtTiny",
        135,
        28_589_128,
        28_589_128,
        0,
        "convnext_tiny",
        (224, 224, 3),
    ),
    (
        "convnextsmall",
        "ConvNeXtSmall",
        261,
        50_223_688,
        50_223_688,
        0,
        "convnext_small",
        (224, 224, 3),
    ),
    (
        "convnextbase",
        "ConvNeXtBase",
        261,
        88_591_464,
        88_591_464,
        0,
        "convnext_base",
        (224, 224, 3),
    ),
    (
        "convnextlarge",
        "ConvNeXtLarge",
        261,
        197_767_336,
        197_767_336,
        0,
        "convnext_large",
        (224, 224, 3),
    ),
    (
        "convnextxlarge",
        "ConvNeXtXLarge",
        261,
        350_196_968,
        350_196_968,
        0,
        "convnext_xlarge",
        (224, 224, 3),
    ),
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
    "mobilenetv3small": {
        "top": [
            *("conv_1", "conv_1_bn", "activation_17", "global_average_pooling2d", "conv_2"),
            *("activation_18", "dropout", "logits", "flatten", "predictions"),
        ],
        "avg": ["conv_1", "conv_1_bn", "activation_17", "avg_pool"],
        "max": ["conv_1", "conv_1_bn", "activation_17", "max_pool"],
        None: ["conv_1", "conv_1_bn", "activation_17"],
    },
    "efficientnetv2b0": {
        "top": ["top_activation", "avg_pool", "top_dropout", "predictions"],
        "avg": ["top_activation", "avg_pool"],
        "max": ["top_activation", "max_pool"],
        None: ["top_activation"],
    },
    "inceptionv3": {
        "top": ["mixed10", "avg_pool", "predictions"],
        "avg": ["mixed10", "global_average_pooling2d"],
        "max": ["mixed10", "global_max_pooling2d"],
        None: ["mixed10"],
    },
    "inceptionresnetv2": {
        "top": ["conv_7b_ac", "avg_pool", "predictions"],
        "avg": ["conv_7b_ac", "global_average_pooling2d"],
        "max": ["conv_7b_ac", "global_max_pooling2d"],
        None: ["conv_7b_ac"],
    },
    "efficientnetb0": {
        "top": ["top_activation", "avg_pool", "top_dropout", "predictions"],
        "avg": ["top_activation", "avg_pool"],
        "max": ["top_activation", "max_pool"],
        None: ["top_bn", "top_activation"],
    },
    "nasnetmobile": {
        "top": ["activation_187", "global_average_pooling2d", "predictions"],
        "avg": ["activation_187", "global_average_pooling2d"],
        "max": ["activation_187", "global_max_pooling2d"],
        None: ["activation_187"],
    },
    "convnexttiny": {
        "top": [
            "add_17",
            "convnext_tiny_head_gap",
            "convnext_tiny_head_layernorm",
            "convnext_tiny_head_dense",
        ],
        "avg": ["add_17", "global_average_pooling2d", "layer_normalization"],
        "max": ["add_17", "global_max_pooling2d", "layer_normalization"],
        None: ["add_17", "layer_normalization"],
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
    assert keras_layers(graph) == layers
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
    assert [n.name for n in v2.nodes if n.op == "max_pool"] == [
        "pool1_pool",
        "max_pooling2d",  # unnamed in keras.applications: its session counter's names
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


def test_mobilenetv3_large_is_small_with_its_table():
    small = archspec.load(spec_path("mobilenetv3small"))
    large = archspec.load(spec_path("mobilenetv3large"))
    assert large.spec.layers == small.spec.layers
    changed = {k for k, v in large.params.items() if small.params[k] != v}
    assert changed == {"stack", "relu_rows", "se_rows", "last_point_ch"}
    graph = archspec.lower(large)
    # the depthwise ReLU scaled by the first hard sigmoid, Keras's `x * (1 / 6)`
    assert graph.node("expanded_conv_3_squeeze_excite_mul").inputs == ("re_lu_6", "multiply")
    assert graph.node("multiply").op == "scalar_multiply"
    assert graph.node("expanded_conv_12_depthwise_pad").attrs["padding"] == ((1, 2), (1, 2))
    assert graph.node("expanded_conv_12_depthwise").attrs["kernel_size"] == (5, 5)
    minimal = archspec.lower(spec_path("mobilenetv3large"), minimalistic=True)
    assert minimal.node("expanded_conv_12_depthwise").attrs["kernel_size"] == (3, 3)
    assert not [n for n in minimal.nodes if "squeeze_excite" in n.name]
    assert [n.name for n in minimal.nodes if n.op == "activation"] == ["predictions"]
    assert minimal.node("conv_1").inputs == ("expanded_conv_14_add",)


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
    reference = getattr(keras.applications, function)(weights=None)
    built = archspec.build(graph)
    assert reference.count_params() == built.count_params() == total
    assert len(built.layers) == layers
    # every name, Keras's session-counter names too (the reference's session was fresh)
    assert_same_model(built, reference, names="all")
    assert_same_outputs(built, reference, atol=1e-5, batch=1)
    # The generated module builds the same model (tests/test_codegen.py builds the
    # smaller specs' modules in both styles and compares outputs too).
    del reference
    keras.backend.clear_session()  # the module may leave names to Keras's counters
    generated = getattr(import_module(module_path(spec_path(name), ROOT / "generated")), graph.name)
    assert_same_model(generated(), built, names="all")


# Non-default params: the include_top=False heads, width multipliers, odd input sizes.
VARIANTS = [
    (
        "resnet152",
        "ResNet152",
        {"include_top": False, "pooling": "max"},
        (64, 64, 3),
    ),
    (
        "resnet50v2",
        "ResNet50V2",
        {"include_top": False, "pooling": "avg"},
        (64, 64, 3),
    ),
    ("vgg19", "VGG19", {"include_top": False, "pooling": "max"}, (64, 64, 3)),
    (
        "densenet121",
        "DenseNet121",
        {"include_top": False, "pooling": "avg"},
        (64, 64, 3),
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
    (
        "mobilenetv3small",
        "MobileNetV3Small",
        {"include_top": False, "pooling": "avg"},
        (96, 96, 3),
    ),
    (
        "mobilenetv3small",
        "MobileNetV3Small",
        {"minimalistic": True, "alpha": 0.75, "include_preprocessing": False, "dropout_rate": 0.0},
        (97, 131, 3),
    ),
    (
        "mobilenetv3large",
        "MobileNetV3Large",
        {"include_top": False, "pooling": "max", "minimalistic": True},
        (96, 96, 3),
    ),
    ("mobilenetv3large", "MobileNetV3Large", {"classes": 10, "alpha": 1.25}, (64, 64, 3)),
    (
        "efficientnetv2b0",
        "EfficientNetV2B0",
        {"include_top": False, "pooling": "avg"},
        (64, 64, 3),
    ),
    (
        "efficientnetv2b0",
        "EfficientNetV2B0",
        {"include_top": False, "pooling": "max", "include_preprocessing": False},
        (65, 65, 3),
    ),
    ("inceptionv3", "InceptionV3", {"include_top": False, "pooling": "avg"}, (75, 75, 3)),
    (
        "inceptionresnetv2",
        "InceptionResNetV2",
        {"include_top": False, "pooling": "max"},
        (75, 75, 3),
    ),
    (
        "efficientnetb0",
        "EfficientNetB0",
        {"include_top": False, "pooling": "avg"},
        (97, 97, 3),
    ),
    (
        "efficientnetb3",
        "EfficientNetB3",
        {"include_top": False, "pooling": "max"},
        (64, 64, 3),
    ),
    (
        "efficientnetb1",
        "EfficientNetB1",
        {"classes": 10, "classifier_activation": "linear"},
        (75, 75, 3),
    ),
    ("nasnetmobile", "NASNetMobile", {"include_top": False, "pooling": "avg"}, (97, 97, 3)),
    ("nasnetlarge", "NASNetLarge", {"include_top": False, "pooling": "max"}, (64, 64, 3)),
    ("convnexttiny", "ConvNeXtTiny", {"include_top": False, "pooling": "avg"}, (64, 64, 3)),
    (
        "convnexttiny",
        "ConvNeXtTiny",
        {"include_top": False, "pooling": None, "include_preprocessing": False},
        (96, 80, 3),
    ),
    ("convnexttiny", "ConvNeXtTiny", {"classes": 10, "classifier_activation": None}, (64, 64, 3)),
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


INCEPTION_VARIANTS = [v for v in VARIANTS if v[0].startswith("inception")]


@pytest.mark.keras
@pytest.mark.parametrize("variant", INCEPTION_VARIANTS, ids=[v[0] for v in INCEPTION_VARIANTS])
def test_inception_headless_keeps_keras_counter_names(variant):
    # the null-named layers and the unnamed global pool count on in a fresh session
    import keras
    from keras_compare import assert_same_model

    name, function, params, shape = variant
    keras.backend.clear_session()
    reference = getattr(keras.applications, function)(weights=None, input_shape=shape, **params)
    keras.backend.clear_session()
    built = archspec.build(spec_path(name), input_shape=list(shape), **params)
    assert_same_model(built, reference, names="all")


def test_extends_names_a_shipped_spec(write):
    # from anywhere: a variant of a shipped model is its name and a params change
    path = write("extends: keras/resnet50\nname: Mine\nmodel_name: mine\nparams: {classes: 10}\n")
    graph, base = archspec.lower(path), archspec.lower(spec_path("resnet50"), classes=10)
    assert graph.model_name == "mine" and graph.output_shape == (None, 10)
    assert _layers(graph) == _layers(base)
    assert "keras/resnet50" in shipped_specs()


def test_efficientnetv2_rates_preprocessing_and_inputs():
    graph = archspec.lower(spec_path("efficientnetv2b0"))
    # the drop rate grows with the blocks before it, over the table's 21 repeats
    assert graph.node("block2b_drop").attrs["rate"] == 0.2 * 2 / 21
    assert graph.node("block6h_drop").attrs["noise_shape"] == (None, 1, 1, 1)
    assert "block1a_drop" not in {n.name for n in graph.nodes}  # no residual: 32 -> 16
    assert graph.node("block4a_se_excite").inputs == ("block4a_activation", "block4a_se_expand")
    assert graph.node("block6b_add").inputs == ("block6b_drop", "block6a_project_bn")
    assert [n.op for n in graph.nodes[1:3]] == ["rescaling", "normalization"]
    # keras's obtain_input_shape: without the top and an input_shape, any size
    open_size = archspec.lower(spec_path("efficientnetv2b0"), include_top=False)
    assert open_size.node("input_layer").output_shape == (None, None, None, 3)
    plain = archspec.lower(spec_path("efficientnetv2b0"), include_preprocessing=False)
    assert plain.nodes[1].name == "stem_conv"


def test_efficientnet_sizes_pads_and_drop_rates():
    # keras's obtain_input_shape: the default size with the top, else any size
    assert archspec.lower(spec_path("efficientnetb7")).node("input_layer").shape == (600, 600, 3)
    graph = archspec.lower(spec_path("efficientnetb0"), include_top=False)
    assert graph.node("input_layer").output_shape == (None, None, None, 3)
    assert graph.node("block2a_dwconv_pad").attrs["padding"] == ((0, 1), (0, 1))
    # correct_pad: k // 2 at the end, one less at the start of an even side
    odd = archspec.lower(spec_path("efficientnetb0"), include_top=False, input_shape=[97, 97, 3])
    assert odd.node("stem_conv_pad").attrs["padding"] == ((1, 1), (1, 1))
    assert odd.node("block3a_dwconv_pad").attrs["padding"] == ((2, 2), (2, 2))  # 5x5 on 25x25
    assert odd.node("block1a_se_excite").inputs == ("block1a_activation", "block1a_se_expand")
    # drop_connect_rate * b / blocks over the model's 16 blocks, b counted from 0
    rates = {n.name: n.attrs["rate"] for n in graph.nodes if n.op == "dropout"}
    assert rates == {
        f"block{k}_drop": 0.2 * b / 16
        for k, b in [("2b", 2), ("3b", 4), ("4b", 6), ("4c", 7), ("5b", 9), ("5c", 10)]
        + [("6b", 12), ("6c", 13), ("6d", 14)]
    }
    b7 = archspec.lower(spec_path("efficientnetb7"))
    assert [b.prefix for b in b7.blocks if b.stage == 6][-1] == "block6m"  # ceil(3.1 * 4) = 13
    assert b7.node("top_conv").shape[-1] == 2560 and b7.node("top_dropout").attrs["rate"] == 0.5


@pytest.mark.keras
def test_efficientnet_builder_params_equal_keras():
    """EfficientNet's own params, which keras's B0-B7 fix, against keras's builder; and
    the unknown input size keras gives include_top=False."""
    import keras
    from keras.src.applications.efficientnet import EfficientNet
    from keras_compare import assert_same_model, assert_same_outputs

    keras.backend.clear_session()
    built = archspec.build(spec_path("efficientnetb0"), include_top=False, pooling="max")
    reference = keras.applications.EfficientNetB0(weights=None, include_top=False, pooling="max")
    assert built.input_shape == reference.input_shape == (None, None, None, 3)
    assert_same_model(built, reference, names="explicit")
    params = {
        "dropout_rate": 0.0,
        "drop_connect_rate": 0.5,
        "depth_divisor": 16,
        "activation": "relu",
    }
    scaled = {"width_coefficient": 1.3, "depth_coefficient": 0.8}
    keras.backend.clear_session()
    built = archspec.build(spec_path("efficientnetb0"), input_shape=[65, 65, 3], **scaled, **params)
    reference = EfficientNet(
        *scaled.values(),
        224,
        weights=None,
        input_shape=(65, 65, 3),
        name="efficientnetb0",
        **params,
    )
    assert "top_dropout" not in {layer.name for layer in built.layers}
    assert_same_model(built, reference, names="explicit")
    assert_same_outputs(built, reference, atol=1e-5)


def test_nasnet_adjusts_p_by_its_shape():
    graph = archspec.lower(spec_path("nasnetmobile"))
    names = {n.name for n in graph.nodes}
    # the first cell reads its input twice, unadjusted (keras's p=None)
    assert not {"adjust_bn_stem_1", "adjust_relu_1_stem_1"} & names
    # a larger p is halved by two strided 1x1 paths, the second shifted by a pixel...
    assert graph.node("adjust_bn_stem_2").inputs == ("concatenate",)
    assert graph.node("cropping2d_1").inputs == ("zero_padding2d_1",)
    assert graph.node("adjust_conv_1_5").output_shape == (None, 14, 14, 44)
    # ...a p of the same size but other channels is projected
    assert graph.node("adjust_bn_1").inputs == ("adjust_conv_projection_1",)
    assert graph.node("reduction_concat_reduce_4").inputs == (
        "reduction_add_2_reduce_4",
        "reduction_add3_reduce_4",
        "add_2",
        "reduction_add4_reduce_4",
    )
    # the stack after a reduction halves the last normal cell (NASNetLarge: the one before)
    assert graph.node("adjust_relu_1_5").inputs == ("normal_concat_3",)
    large = archspec.lower(spec_path("nasnetlarge"))
    assert large.node("adjust_relu_1_7").inputs == ("normal_concat_4",)
    # without the top its sizes are unknown; keras compares None with None and only projects
    unknown = archspec.lower(spec_path("nasnetlarge"), include_top=False)
    assert (len(unknown.nodes), unknown.total) == (1012, 84_887_922)
    assert unknown.node("input_layer").output_shape == (None, None, None, 3)
    assert unknown.node("adjust_bn_stem_2").inputs == ("adjust_conv_projection_stem_2",)
    assert "adjust_bn_0" not in {n.name for n in unknown.nodes}
    assert unknown.nodes[-1].name == "activation_262"


@pytest.mark.keras
@pytest.mark.parametrize(
    "name, function", [("nasnetmobile", "NASNetMobile"), ("nasnetlarge", "NASNetLarge")]
)
def test_nasnet_unknown_sizes_equal_keras_applications(name, function):
    """keras's NASNet of unknown sizes never halves p (None equals None); the model it
    builds fails when called (its adds meet two sizes), so only the graphs compare
    (and their names: the session's counters count other layers than with known sizes)."""
    import keras
    from keras_compare import assert_same_model

    keras.backend.clear_session()
    shape = [None, None, 3]
    built = archspec.build(spec_path(name), include_top=False, input_shape=shape)
    reference = getattr(keras.applications, function)(
        weights=None, include_top=False, input_shape=tuple(shape)
    )
    assert_same_model(built, reference, names="all")


def keras_layers(graph) -> int:
    """How many layers Keras lists (``len(model.layers)``, the input included): a block
    built as a nested model is one layer and its layers are none of them; arithmetic on
    tensors (``x + 3.0``, ConvNeXt's ``inputs + x``) records operations, not layers."""
    nested = [b for b in graph.blocks if b.model]
    inside = {n for b in nested for n in b.nodes}
    outer = [
        b for b in nested if not any(b is not o and set(b.nodes) < set(o.nodes) for o in nested)
    ]
    operations = [
        n
        for n in graph.nodes
        if n.name not in inside
        and n.op in OPS
        and (OPS[n.op].operation is not None or OPS[n.op].module == "keras.src.ops.numpy")
    ]
    return len(graph.nodes) - len(inside) + len(outer) - len(operations)


def test_convnext_sizes_change_only_params():
    tiny = archspec.load(spec_path("convnexttiny"))
    for size in ("small", "base", "large", "xlarge"):
        other = archspec.load(spec_path(f"convnext{size}"))
        assert other.spec.layers == tiny.spec.layers
        changed = {k for k, v in other.params.items() if tiny.params[k] != v}
        assert changed <= {"name", "depths", "projection_dims"}, size
        assert other.params["name"] == f"convnext_{size}"


def test_convnext_drop_path_schedule():
    graph = archspec.lower(spec_path("convnexttiny"), drop_path_rate=0.3)
    rates = [n.attrs["drop_path_rate"] for n in graph.nodes if n.op == "stochastic_depth"]
    # np.linspace(0.0, 0.3, 18) with its first, zero, an identity activation
    assert len(rates) == 17 and rates[-1] == 0.3
    assert graph.node("convnext_tiny_stage_0_block_0_identity").op == "activation"


@pytest.mark.keras
def test_convnext_without_top_takes_any_size_as_keras():
    import keras
    import numpy as np
    from keras_compare import assert_same_model

    keras.backend.clear_session()
    built = archspec.build(spec_path("convnexttiny"), include_top=False)
    reference = keras.applications.ConvNeXtTiny(weights=None, include_top=False)
    assert built.input_shape == reference.input_shape == (None, None, None, 3)
    assert_same_model(built, reference, names="explicit")
    for a, b in zip(built.layers, reference.layers):
        a.set_weights(b.get_weights())
    x = np.random.default_rng(0).standard_normal((1, 64, 48, 3)).astype("float32")
    got, want = built(x, training=False), reference(x, training=False)
    assert float(np.max(np.abs(np.asarray(got) - np.asarray(want)))) <= 1e-5


@pytest.mark.keras
def test_convnext_drop_path_equals_keras():
    import keras
    import numpy as np
    from keras.src.applications.convnext import ConvNeXt
    from keras_compare import assert_same_model, assert_same_outputs

    keras.backend.clear_session()
    params = {"depths": [1, 1, 2, 1], "projection_dims": [8, 16, 24, 32], "drop_path_rate": 0.2}
    built = archspec.build(
        spec_path("convnexttiny"), input_shape=[64, 64, 3], name="convnext", classes=5, **params
    )
    reference = ConvNeXt(weights=None, input_shape=(64, 64, 3), classes=5, **params)
    assert_same_model(built, reference, names="explicit")
    assert_same_outputs(built, reference, atol=1e-5)
    rates = [layer.drop_path_rate for layer in built.layers if hasattr(layer, "drop_path_rate")]
    assert rates == [float(r) for r in np.linspace(0.0, 0.2, 5)][1:]


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
