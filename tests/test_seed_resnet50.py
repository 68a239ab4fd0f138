"""The seed's ResNet-50: figures from the tutorial, names, shapes, and Keras itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archspec

SPEC = "specs/resnet50.yaml"

STAGES = {
    2: ([64, 64, 256], 3, 15),
    3: ([128, 128, 512], 4, 8),
    4: ([256, 256, 1024], 6, 4),
    5: ([512, 512, 2048], 3, 2),
}


def expected_layers() -> list[tuple[str, tuple]]:
    """(name, output shape) of every layer the seed names, in the seed's order."""
    out = [("conv1", (None, 32, 32, 64)), ("bn_conv1", (None, 32, 32, 64))]
    for stage, (filters, blocks, size) in STAGES.items():
        for i in range(blocks):
            b = "abcdef"[i]
            main = [("2a", filters[0]), ("2b", filters[1]), ("2c", filters[2])]
            for role, f in main + ([("1", filters[2])] if i == 0 else []):
                out.append((f"res{stage}{b}_branch{role}", (None, size, size, f)))
                out.append((f"bn{stage}{b}_branch{role}", (None, size, size, f)))
    out += [("avg_pool", (None, 1, 1, 2048)), ("fc6", (None, 6))]
    return out


@pytest.fixture(scope="module")
def graph():
    return archspec.lower(SPEC)


def test_seed_totals(graph):
    assert len(graph.nodes) == 177
    assert graph.total == 23_600_006
    assert graph.trainable == 23_546_886
    assert graph.non_trainable == 53_120
    assert graph.output_shape == (None, 6)
    assert graph.model_name == "ResNet50"


def test_every_named_layer_has_its_name_and_shape(graph):
    for name, shape in expected_layers():
        assert graph.node(name).output_shape == shape, name


def test_layer_kinds_and_configuration(graph):
    kinds = [n.keras_class for n in graph.nodes]
    assert kinds.count("Conv2D") == 53 and kinds.count("BatchNormalization") == 53
    assert kinds.count("Add") == 16 and kinds.count("Activation") == 49
    for node in graph.nodes:
        if node.op == "conv2d":
            assert node.attrs["kernel_initializer"] == {
                "class_name": "GlorotUniform",
                "config": {"seed": 0},
            }
        if node.op == "batch_norm":
            assert node.attrs["axis"] == 3
    conv = graph.node("res3a_branch2a")
    assert (conv.attrs["kernel_size"], conv.attrs["strides"], conv.attrs["padding"]) == (
        (1, 1),
        (2, 2),
        "valid",
    )
    assert graph.node("res3a_branch2b").attrs["padding"] == "same"
    assert graph.node("res3a_branch1").attrs["strides"] == (2, 2)
    assert graph.node("res2a_branch1").attrs["strides"] == (1, 1)
    assert graph.node("conv1").attrs["kernel_size"] == (7, 7)
    assert graph.node("zero_padding2d").attrs["padding"] == ((3, 3), (3, 3))
    assert graph.node("fc6").attrs["activation"] == "softmax"
    add = graph.node("res2b_add")
    assert add.inputs == ("bn2b_branch2c", "res2a_relu")  # main path first, as the seed adds


def test_params_override_input_and_classes():
    graph = archspec.lower(SPEC, input_shape=[224, 224, 3], classes=1000)
    assert graph.node("avg_pool").output_shape == (None, 3, 3, 2048)
    assert graph.node("fc1000").output_shape == (None, 1000)
    assert graph.total == 23_587_712 + 3 * 3 * 2048 * 1000 + 1000  # body + fc1000 on 3x3x2048


def test_check_prints_the_summary(cli):
    result = cli("check", SPEC)
    assert result.code == 0, result.err
    assert "Total params: 23,600,006" in result.out
    assert "Trainable params: 23,546,886" in result.out
    assert "Non-trainable params: 53,120" in result.out
    rows = [line.split() for line in result.out.splitlines()]
    # identity block at 4x4: 1x1 1024->256, 3x3 256->256, 1x1 256->1024
    macs = 16 * 1024 * 256 + 16 * 9 * 256 * 256 + 16 * 256 * 1024
    assert ["4", "4f", "identity", "(None,", "4,", "4,", "1024)", "1,121,792", f"{macs:,}"] in rows
    assert "stage 3: convolutional, identity ×3 → (None, 8, 8, 512), 1,230,336 params" in result.out


def test_check_layers_lists_every_layer(cli):
    result = cli("check", SPEC, "--layers", "--set", "classes=10")
    assert result.code == 0, result.err
    names = [line.split()[0] for line in result.out.splitlines() if line[:1].isalpha()]
    assert "res5c_branch2c" in names and "fc10" in names
    assert "Total params: 23,608,202" in result.out  # 23,600,006 - 12,294 + (2048*10+10)


def test_check_does_not_import_tensorflow():
    code = (
        "import sys; from archspec.cli.main import main; rc = main(['check', 'specs/resnet50.yaml']);"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; sys.exit(rc or bool(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.keras
def test_build_equals_the_seed_code_layer_by_layer():
    from keras_compare import assert_same_model, assert_same_outputs
    from seed_resnet50 import ResNet50

    built = archspec.build(SPEC)
    seed = ResNet50(input_shape=(64, 64, 3), classes=6)
    assert_same_model(built, seed)
    assert built.count_params() == 23_600_006
    graph = archspec.lower(SPEC)
    assert {layer.name for layer in built.layers} == {node.name for node in graph.nodes}
    for layer in built.layers:
        node = graph.node(layer.name)
        assert tuple(layer.output.shape) == node.output_shape
        assert layer.count_params() == node.params
    assert_same_outputs(built, seed, atol=1e-5)


@pytest.mark.keras
def test_build_224_and_1000_classes():
    model = archspec.build(SPEC, input_shape=[224, 224, 3], classes=1000)
    assert model.output_shape == (None, 1000)
    assert model.get_layer("avg_pool").output.shape == (None, 3, 3, 2048)
    assert model.count_params() == 42_020_712


@pytest.mark.keras
def test_build_saves_a_file_that_plain_keras_loads(cli, tmp_path):
    target = tmp_path / "seed.keras"
    result = cli("build", SPEC, "-o", str(target))
    assert result.code == 0, result.err
    assert "Total params: 23,600,006" in result.out
    code = (
        "import sys, keras; m = keras.models.load_model(sys.argv[1]);"
        "assert 'archspec' not in sys.modules; print(m.count_params(), len(m.layers), m.name)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["23600006", "177", "ResNet50"]
    assert [p.name for p in tmp_path.iterdir()] == ["seed.keras"]
