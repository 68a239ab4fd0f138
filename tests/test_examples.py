"""The example specs in specs/examples/: each is compared with the same model written by
hand with keras.layers (classes, names, configurations, connections, parameter counts
and outputs), its static count with Keras's, and both generated styles must build it
again. `archspec check` of every example needs no TensorFlow."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

import archspec
from archspec.backends.python.codegen import module_source

EXAMPLES = sorted(p.stem for p in (ROOT / "specs/examples").glob("*.yaml"))


def spec_path(name: str):
    return ROOT / "specs/examples" / f"{name}.yaml"


# ---- the models by hand -----------------------------------------------------------------


def unet():
    import keras
    from keras import layers

    def conv(x, filters, name):
        return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)(x)

    image = keras.Input((128, 128, 3), name="image")
    x, skips = image, []
    for level, filters in enumerate((16, 32, 64, 128), start=1):
        x = conv(x, filters, f"down{level}_conv1")
        x = conv(x, filters, f"down{level}_conv2")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = conv(x, 256, "bottleneck_conv1")
    x = conv(x, 256, "bottleneck_conv2")
    for level, filters in zip((4, 3, 2, 1), (128, 64, 32, 16)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}_up")(x)
        x = layers.Concatenate(name=f"up{level}_concat")([x, skips[level - 1]])
        x = conv(x, filters, f"up{level}_conv1")
        x = conv(x, filters, f"up{level}_conv2")
    x = layers.Conv2D(3, 1, activation="softmax", name="mask")(x)
    return keras.Model(image, x, name="unet")


def vit():
    import keras
    from keras import layers

    from archspec.plugins.layers import PositionEmbedding

    image = keras.Input((64, 64, 3), name="image")
    x = layers.Conv2D(64, 16, strides=16, name="patch_embed")(image)
    x = layers.Reshape((16, 64), name="tokens")(x)
    x = PositionEmbedding(name="pos_embed")(x)
    for i in range(1, 5):
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        h = layers.MultiHeadAttention(num_heads=4, key_dim=16, name=f"block{i}_attn")(h, h)
        x = layers.Add(name=f"block{i}_add1")([x, h])
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        h = layers.Dense(128, activation="gelu", name=f"block{i}_mlp1")(h)
        h = layers.Dense(64, name=f"block{i}_mlp2")(h)
        x = layers.Add(name=f"block{i}_add2")([x, h])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(image, x, name="vit")


def audio():
    import keras
    from keras import layers

    waveform = keras.Input((16000, 1), name="waveform")
    x = waveform
    for i, filters in enumerate((32, 64, 128, 256), start=1):
        prefix = f"conv1_block{i}"
        x = layers.Conv1D(filters, 9, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
        x = layers.BatchNormalization(name=f"{prefix}_bn")(x)
        x = layers.Activation("relu", name=f"{prefix}_relu")(x)
        x = layers.MaxPooling1D(4, name=f"{prefix}_pool")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(12, activation="softmax", name="predictions")(x)
    return keras.Model(waveform, x, name="audio_classifier")


def text():
    import keras
    from keras import layers

    tokens = keras.Input((200,), dtype="int32", name="tokens")
    x = layers.Embedding(10000, 64, name="embedding")(tokens)
    x = layers.Bidirectional(layers.LSTM(48, return_sequences=True), name="bilstm1")(x)
    x = layers.Bidirectional(layers.LSTM(48), name="bilstm2")(x)
    x = layers.Dense(64, activation="relu", name="hidden")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(4, activation="softmax", name="predictions")(x)
    return keras.Model(tokens, x, name="text_classifier")


def detector():
    import keras
    from keras import layers

    def down(x, filters, prefix):
        for i, strides in ((1, 2), (2, 1)):
            x = layers.Conv2D(
                filters,
                3,
                strides=strides,
                padding="same",
                use_bias=False,
                name=f"{prefix}_{i}_conv",
            )(x)
            x = layers.BatchNormalization(axis=3, name=f"{prefix}_{i}_bn")(x)
            x = layers.Activation("relu", name=f"{prefix}_{i}_relu")(x)
        return x

    def top_down(top, lateral, prefix):
        up = layers.UpSampling2D(2, name=f"{prefix}_up")(top)
        side = layers.Conv2D(64, 1, name=f"{prefix}_lateral_conv")(lateral)
        return layers.Add(name=f"{prefix}_add")([up, side])

    def smooth(m, prefix):
        return layers.Conv2D(64, 3, padding="same", name=f"{prefix}_smooth_conv")(m)

    def head(p, prefix):
        s = layers.Conv2D(3 * 8, 3, padding="same", name=f"{prefix}_class_conv")(p)
        s = layers.Reshape((-1, 8), name=f"{prefix}_class_reshape")(s)
        b = layers.Conv2D(3 * 4, 3, padding="same", name=f"{prefix}_box_conv")(p)
        b = layers.Reshape((-1, 4), name=f"{prefix}_box_reshape")(b)
        return s, b

    image = keras.Input((128, 128, 3), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="stem_conv")(image)
    x = down(x, 32, "c2")
    c3 = down(x, 64, "c3")
    c4 = down(c3, 128, "c4")
    c5 = down(c4, 256, "c5")
    m5 = layers.Conv2D(64, 1, name="p5_lateral_conv")(c5)
    p5 = smooth(m5, "p5")
    m4 = top_down(m5, c4, "p4")
    p4 = smooth(m4, "p4")
    p3 = smooth(top_down(m4, c3, "p3"), "p3")
    (s3, b3), (s4, b4), (s5, b5) = head(p3, "head3"), head(p4, "head4"), head(p5, "head5")
    scores = layers.Concatenate(axis=1, name="class_logits")([s3, s4, s5])
    scores = layers.Activation("sigmoid", name="scores")(scores)
    boxes = layers.Concatenate(axis=1, name="boxes")([b3, b4, b5])
    return keras.Model(image, {"scores": scores, "boxes": boxes}, name="detector")


def siamese():
    import keras
    from keras import layers

    def tower():
        image = keras.Input((105, 105, 1), name="tower_input")
        x = image
        for i, (filters, kernel) in enumerate(((64, 10), (128, 7), (128, 4), (256, 4)), start=1):
            x = layers.Conv2D(filters, kernel, activation="relu", name=f"tower_conv{i}")(x)
            if i < 4:
                x = layers.MaxPooling2D(2, name=f"tower_pool{i}")(x)
        x = layers.Flatten(name="tower_flatten")(x)
        x = layers.Dense(4096, activation="sigmoid", name="tower_embedding")(x)
        return keras.Model(image, x, name="tower")

    left = keras.Input((105, 105, 1), name="left")
    right = keras.Input((105, 105, 1), name="right")
    twin = tower()
    a, b = twin(left), twin(right)
    p = layers.ReLU(name="a_over_b")(layers.Subtract(name="a_minus_b")([a, b]))
    q = layers.ReLU(name="b_over_a")(layers.Subtract(name="b_minus_a")([b, a]))
    x = layers.Add(name="l1_distance")([p, q])
    x = layers.Dense(1, activation="sigmoid", name="similarity")(x)
    return keras.Model([left, right], x, name="siamese")


def digits():
    import keras
    from keras import layers

    image = keras.Input((16, 16, 1), name="input_layer")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2d")(image)
    x = layers.MaxPooling2D(name="max_pooling2d")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2d_1")(x)
    x = layers.MaxPooling2D(name="max_pooling2d_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, activation="softmax", name="dense")(x)
    return keras.Model(image, x, name="DigitsNet")


# example: (the model by hand, its generated function, total params)
BY_HAND = {
    "unet": (unet, "UNet", 1_941_139),
    "vit": (vit, "ViT", 184_906),
    "audio": (audio, "AudioClassifier", 392_364),
    "text": (text, "TextClassifier", 745_540),
    "detector": (detector, "Detector", 1_381_292),
    "siamese": (siamese, "Siamese", 38_951_745),
    "digits": (digits, "DigitsNet", 9_930),
}


def test_every_example_is_compared():
    assert sorted(BY_HAND) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_static_totals(name):
    assert archspec.lower(spec_path(name)).total == BY_HAND[name][2]


@pytest.mark.parametrize("name", EXAMPLES)
def test_check_needs_no_tensorflow(name):
    code = (
        "import sys; from archspec.cli.main import main; rc = main(sys.argv[1:]);"
        "sys.exit(rc or 10 * any(m in sys.modules for m in ('tensorflow', 'keras')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "check", f"specs/examples/{name}.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.keras
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_builds_the_model_by_hand(name, tmp_path):
    from keras_compare import assert_same_graph

    by_hand, function, total = BY_HAND[name]
    path = spec_path(name)
    built = archspec.build(path)
    expected = by_hand()
    assert expected.count_params() == built.count_params() == total
    assert archspec.lower(path).total == total
    assert_same_graph(built, expected)
    for style in ("structured", "flat"):
        module = tmp_path / f"generated_{name}_{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        assert_same_graph(getattr(_import(module), function)(), built)
