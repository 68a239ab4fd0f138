"""Tensors by name: skips across the chain, several inputs and outputs, blocks that read
and return several tensors, shared layers and hierarchical names of nested blocks. Each
spec is compared with the same model written by hand in Keras, and both generated styles
must build it again."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest

import archspec
from archspec.backends.python.codegen import module_source
from archspec.diagnostics import SpecError


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source(tensor) -> str:
    """The layer that made a tensor; a Sequential's own input layer, which Keras names by
    its session counter, as one name."""
    return re.sub(r"^input_layer_\d+$", "input_layer", tensor._keras_history[0].name)


def _same(actual, expected):
    """Same layers (class, name, config, weight shapes), each called on the same layers'
    outputs at every call, and the same outputs after copying the weights."""
    assert actual.name == expected.name
    assert [type(a).__name__ for a in actual.layers] == [type(b).__name__ for b in expected.layers]
    assert [a.name for a in actual.layers] == [b.name for b in expected.layers]
    for a, b in zip(actual.layers, expected.layers):
        assert _config(a) == _config(b), a.name
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], a.name
        calls_a = [[_source(t) for t in n.input_tensors] for n in a._inbound_nodes]
        calls_b = [[_source(t) for t in n.input_tensors] for n in b._inbound_nodes]
        assert calls_a == calls_b, a.name
    assert actual.count_params() == expected.count_params()
    if hasattr(expected, "output_names"):
        assert list(actual.output_names) == list(expected.output_names)
    for a, b in zip(actual.layers, expected.layers):
        a.set_weights(b.get_weights())
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, *t.shape[1:])).astype("float32") for t in expected.inputs]
    got, want = actual(inputs), expected(inputs)
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        got, want = [got[k] for k in sorted(got)], [want[k] for k in sorted(want)]
    elif not isinstance(want, list):
        got, want = [got], [want]
    for g, w in zip(got, want, strict=True):
        assert float(np.max(np.abs(np.asarray(g) - np.asarray(w)))) <= 1e-5


def _config(layer) -> dict:
    """A layer's config; inside a nested Sequential, the input layer Keras adds and names
    by its session counter (``input_layer_3``) is compared without its name."""

    def strip(node, sequential=False):
        if isinstance(node, dict):
            if sequential and node.get("class_name") == "InputLayer":
                node["config"].pop("name", None)
            inner = node["class_name"] == "Sequential" if "class_name" in node else sequential
            for value in node.values():
                strip(value, inner)
        elif isinstance(node, list):
            for value in node:
                strip(value, sequential)
        return node

    config = layer.get_config()
    if type(layer).__name__ == "Sequential":
        strip(config["layers"], True)
    return strip(config)


def _generated_builds_the_same(path, built, tmp_path, function: str):
    for style in ("structured", "flat"):
        module = tmp_path / f"generated_{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        _same(getattr(_import(module), function)(), built)


UNET = """
name: TinyUNet
input: {shape: [16, 16, 3], name: image}
blocks:
  down:
    params: {filters: int}
    layers:
      - conv2d: {filters: "{{ filters }}", kernel_size: 3, padding: same, activation: relu, name: "{{ prefix }}_conv"}
  up:
    inputs: [low, skip]
    params: {filters: int}
    layers:
      - conv2d_transpose: {filters: "{{ filters }}", kernel_size: 2, strides: 2, name: "{{ prefix }}_up", as: up}
      - concatenate: {from: [up, skip], name: "{{ prefix }}_concat"}
      - conv2d: {filters: "{{ filters }}", kernel_size: 3, padding: same, name: "{{ prefix }}_conv"}
layers:
  - down: {filters: 8, name: d1, as: s1}
  - max_pool: {name: p1}
  - down: {filters: 16, name: d2, as: d2out}
  - up: {from: [d2out, s1], filters: 8, name: u1}
  - conv2d: {filters: 2, kernel_size: 1, activation: softmax, name: mask}
"""


def _unet_by_hand():
    import keras
    from keras import layers

    image = keras.Input((16, 16, 3), name="image")
    s1 = layers.Conv2D(8, 3, padding="same", activation="relu", name="d1_conv")(image)
    x = layers.MaxPooling2D(name="p1")(s1)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="d2_conv")(x)
    x = layers.Conv2DTranspose(8, 2, strides=2, name="u1_up")(x)
    x = layers.Concatenate(name="u1_concat")([x, s1])
    x = layers.Conv2D(8, 3, padding="same", name="u1_conv")(x)
    x = layers.Conv2D(2, 1, activation="softmax", name="mask")(x)
    return keras.Model(image, x, name="TinyUNet")


@pytest.mark.keras
def test_a_skip_across_the_chain_and_a_block_of_two_inputs(write, tmp_path):
    # The decoder block reads the chain (x) and the encoder's output named s1; the
    # chain's current tensor is the up block's input by position.
    path = write(UNET)
    built = archspec.build(path)
    _same(built, _unet_by_hand())
    _generated_builds_the_same(path, built, tmp_path, "TinyUNet")


SIAMESE = """
name: Twins
inputs:
  - {shape: [12], name: left}
  - {shape: [12], name: right}
outputs: {similarity: score, left_embedding: a}
layers:
  - dense: {units: 8, activation: relu, name: embed, from: left, as: a}
  - reuse: {layer: embed, from: right, as: b}
  - subtract: {from: [a, b], name: diff}
  - dense: {units: 1, activation: sigmoid, name: head, as: score}
"""


def _twins_by_hand():
    import keras
    from keras import layers

    left = keras.Input((12,), name="left")
    right = keras.Input((12,), name="right")
    embed = layers.Dense(8, activation="relu", name="embed")
    a, b = embed(left), embed(right)
    x = layers.Subtract(name="diff")([a, b])
    score = layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model([left, right], {"similarity": score, "left_embedding": a}, name="Twins")


@pytest.mark.keras
def test_two_inputs_a_shared_layer_and_named_outputs(write, tmp_path):
    path = write(SIAMESE)
    built = archspec.build(path)
    _same(built, _twins_by_hand())
    graph = archspec.lower(path)
    # The shared layer's weights are counted once; its second call is a node of its own.
    assert graph.total == built.count_params() == 12 * 8 + 8 + 8 + 1
    assert graph.node("embed:1").shares == "embed"
    assert graph.node("embed:1").inputs == ("right",)
    # Saved and read back: the second call is the same node again.
    from archspec.backends.keras.read import load_saved

    built.save(tmp_path / "twins.keras")
    back, _ = load_saved(tmp_path / "twins.keras")
    assert [(n.name, n.op, n.inputs, n.shares, n.params) for n in back.nodes] == [
        (n.name, n.op, n.inputs, n.shares, n.params) for n in graph.nodes
    ]
    _generated_builds_the_same(path, built, tmp_path, "Twins")


CELLS = """
name: Cells
input: {shape: [8, 8, 4]}
naming: keras
blocks:
  cell:
    doc: Reads the previous two tensors; returns the new one and the previous.
    inputs: [h, p]
    outputs: [out, h]
    params: {filters: int}
    layers:
      - conv2d: {filters: "{{ filters }}", kernel_size: 1, from: p, role: p}
      - add: {from: [h, "{{ 'y' }}"], role: sum}
layers:
  - cell: {filters: 4, from: [input_layer, input_layer]}
"""


def test_tensor_names_are_written_out_not_computed(write):
    path = write(CELLS)
    with pytest.raises(SpecError) as err:
        archspec.lower(path)
    assert err.value.problems[0].code == "wrong-type"


CELLS_OK = """
name: Cells
input: {shape: [8, 8, 4]}
naming: keras
blocks:
  cell:
    doc: Reads the previous two tensors; returns the new one and the previous.
    inputs: [h, p]
    outputs: [out, h]
    params: {filters: int}
    layers:
      - conv2d: {filters: "{{ filters }}", kernel_size: 1, from: p, role: p, as: q}
      - add: {from: [h, q], role: sum, as: out}
layers:
  - conv2d: {filters: 4, kernel_size: 1, name: stem, as: s}
  - stage: {id: 1, filters: 4, blocks: [cell x 3], from: [s, input_layer]}
  - global_average_pooling2d: {name: pool}
"""


def _cells_by_hand():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 4), name="input_layer")
    x = layers.Conv2D(4, 1, name="stem")(inputs)
    p = inputs
    for i in (1, 2, 3):
        q = layers.Conv2D(4, 1, name=f"conv1_block{i}_p_conv")(p)
        x, p = layers.Add(name=f"conv1_block{i}_sum_add")([x, q]), x
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name="Cells")


@pytest.mark.keras
def test_a_stage_chains_blocks_of_two_inputs_and_two_outputs(write, tmp_path):
    path = write(CELLS_OK)
    built = archspec.build(path)
    _same(built, _cells_by_hand())
    _generated_builds_the_same(path, built, tmp_path, "Cells")


RECURSIVE = """
name: Nest
input: {shape: [8, 8, 3]}
blocks:
  level:
    params: {depth: int}
    layers:
      - conv2d: {filters: 4, kernel_size: 3, padding: same, role: conv}
      - level: {depth: "{{ depth - 1 }}", when: depth > 0}
layers:
  - level: {depth: 2, name: level}
"""


def test_a_block_that_calls_itself_gets_hierarchical_names(write):
    graph = archspec.lower(write(RECURSIVE))
    assert [n.name for n in graph.nodes[1:]] == [
        "level_conv_conv",
        "level_level_conv_conv",
        "level_level_level_conv_conv",
    ]


def test_the_scheme_decides_how_nested_names_are_made(write):
    text = RECURSIVE.replace(
        "input: {shape: [8, 8, 3]}",
        'input: {shape: [8, 8, 3]}\nnaming:\n  block: b\n  nested: "{{ parent }}.{{ name }}"\n'
        "  layer: {'*': '{{ prefix }}_{{ role }}'}\n  block_layer: {'*': '{{ prefix }}'}",
    )
    graph = archspec.lower(write(text))
    assert [n.name for n in graph.nodes[1:]] == [
        "level_conv",
        "level.level_conv",
        "level.level.level_conv",
    ]


@pytest.mark.parametrize(
    ("layers", "code", "fragment"),
    [
        ("[{dense: {units: 2, from: nowhere}}]", "unknown-tensor", "unknown tensor 'nowhere'"),
        (
            "[{dense: {units: 2, as: [a, b]}}]",
            "wrong-tensor-count",
            "returns 1 tensor; as: names 2",
        ),
        (
            "[{dense: {units: 2, from: [input_layer, input_layer]}}]",
            "wrong-tensor-count",
            "dense reads one tensor",
        ),
        ("[{dense: {units: 2, from: 3}}]", "wrong-type", "a tensor name"),
        ("[{reuse: nothing}]", "unknown-layer", "no layer or block named 'nothing'"),
        (
            "[{dense: {units: 2, name: d}}, {reuse: {layer: d, role: x}}]",
            "unknown-argument",
            "'role' for reuse",
        ),
    ],
)
def test_tensor_errors(write, layers, code, fragment):
    path = write(f"name: M\ninput: {{shape: [4]}}\nlayers: {layers}\n")
    with pytest.raises(SpecError) as err:
        archspec.lower(path)
    problem = err.value.problems[0]
    assert problem.code == code
    assert fragment in problem.message
    assert problem.where.line == 3


def test_every_unknown_tensor_is_reported(write):
    path = write(
        "name: M\ninput: {shape: [4]}\noutputs: [c]\n"
        "layers:\n  - dense: {units: 2, from: a}\n  - dense: {units: 2, from: b}\n"
    )
    with pytest.raises(SpecError) as err:
        archspec.lower(path)
    assert [(p.code, p.where.line) for p in err.value.problems] == [
        ("unknown-tensor", 3),
        ("unknown-tensor", 5),
        ("unknown-tensor", 6),
    ]


def test_a_reused_layer_needs_the_same_weights(write):
    path = write(
        "name: M\ninputs: [{shape: [4], name: a}, {shape: [5], name: b}]\n"
        "layers:\n  - dense: {units: 2, name: d, from: a}\n  - reuse: {layer: d, from: b}\n"
    )
    with pytest.raises(SpecError) as err:
        archspec.lower(path)
    assert "its weights were made for input (None, 4)" in err.value.problems[0].message


def test_input_or_inputs(write):
    with pytest.raises(SpecError) as err:
        archspec.load(write("name: M\nlayers: [flatten]\n"))
    assert "either input (one) or inputs" in str(err.value)


NESTED = """
name: Nested
inputs:
  - {shape: [16, 16, 3], name: left}
  - {shape: [16, 16, 3], name: right}
outputs: [score]
blocks:
  stem:
    doc: A patchify stem, as ConvNeXt's nested Sequential.
    model: sequential
    layers:
      - conv2d: {filters: 8, kernel_size: 4, strides: 4, name: "{{ prefix }}_conv"}
      - layer_normalization: {epsilon: 1.0e-6, name: "{{ prefix }}_ln"}
  tower:
    doc: One tower of a Siamese network, a nested functional model applied twice.
    model: functional
    params: {units: int}
    layers:
      - stem: {name: stem, as: s}
      - conv2d: {filters: 8, kernel_size: 1, name: "{{ prefix }}_mix", as: m}
      - add: {from: [m, s], name: "{{ prefix }}_add"}
      - global_average_pooling2d: {name: "{{ prefix }}_pool"}
      - dense: {units: "{{ units }}", name: "{{ prefix }}_fc"}
layers:
  - tower: {units: 4, from: left, name: tower, as: a}
  - reuse: {layer: tower, from: right, as: b}
  - subtract: {from: [a, b], name: ab}
  - subtract: {from: [b, a], name: ba}
  - relu: {from: ab, name: ab_pos, as: p}
  - relu: {from: ba, name: ba_pos, as: q}
  - add: {from: [p, q], name: l1}
  - dense: {units: 1, activation: sigmoid, name: head, as: score}
"""


def _nested_by_hand():
    import keras
    from keras import layers

    def tower():
        inputs = keras.Input((16, 16, 3), name="tower_input")
        stem = keras.Sequential(
            [
                layers.Conv2D(8, 4, strides=4, name="tower_stem_conv"),
                layers.LayerNormalization(epsilon=1e-6, name="tower_stem_ln"),
            ],
            name="tower_stem",
        )
        s = stem(inputs)
        m = layers.Conv2D(8, 1, name="tower_mix")(s)
        x = layers.Add(name="tower_add")([m, s])
        x = layers.GlobalAveragePooling2D(name="tower_pool")(x)
        x = layers.Dense(4, name="tower_fc")(x)
        return keras.Model(inputs, x, name="tower")

    left = keras.Input((16, 16, 3), name="left")
    right = keras.Input((16, 16, 3), name="right")
    twin = tower()
    a, b = twin(left), twin(right)
    p = layers.ReLU(name="ab_pos")(layers.Subtract(name="ab")([a, b]))
    q = layers.ReLU(name="ba_pos")(layers.Subtract(name="ba")([b, a]))
    x = layers.Add(name="l1")([p, q])
    score = layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model([left, right], [score], name="Nested")


@pytest.mark.keras
def test_blocks_built_as_nested_models_and_a_model_applied_twice(write, tmp_path):
    path = write(NESTED)
    built = archspec.build(path)
    expected = _nested_by_hand()
    _same(built, expected)
    tower, twin = built.get_layer("tower"), expected.get_layer("tower")
    _same(tower, twin)
    assert type(tower.get_layer("tower_stem")).__name__ == "Sequential"
    _same(tower.get_layer("tower_stem"), twin.get_layer("tower_stem"))
    graph = archspec.lower(path)
    assert graph.total == built.count_params()
    assert sum(n.params for n in graph.nodes if n.shares) == 0
    assert [b.prefix for b in graph.blocks if b.shares] == ["tower:1"]
    # A saved model reads back as the same nodes: the nested models' layers, called again.
    from archspec.backends.keras.read import load_saved

    built.save(tmp_path / "nested.keras")
    back, _ = load_saved(tmp_path / "nested.keras")
    assert [(n.name, n.op, n.attrs, n.inputs, n.shares, n.params) for n in back.nodes] == [
        (n.name, n.op, n.attrs, n.inputs, n.shares, n.params) for n in graph.nodes
    ]
    _generated_builds_the_same(path, built, tmp_path, "Nested")


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        (
            "{model: sequential, layers: [{dense: {units: 4, as: a, role: one}}, "
            "{dense: {units: 4, role: two}}, "
            "{add: {from: [a, input]}}]}",
            "each layer must read the one before it",
        ),
        ("{model: sequential, inputs: [a, b], layers: [dense: 2]}", "one input, no branches"),
    ],
)
def test_a_sequential_model_is_a_chain(write, block, fragment):
    path = write(f"name: M\ninput: {{shape: [4]}}\nblocks:\n  b: {block}\nlayers: [b]\n")
    with pytest.raises(SpecError) as err:
        archspec.lower(path)
    assert fragment in str(err.value)


TWO_OUTPUTS = """
name: TwoOut
input: {shape: [8, 8, 3]}
blocks:
  two:
    outputs: [a, b]
    layers:
      - conv2d: {filters: 4, kernel_size: 1, name: "{{ prefix }}_a", as: a}
      - conv2d: {filters: 4, kernel_size: 1, name: "{{ prefix }}_b", as: b}
layers:
  - two: {name: t, as: [p, q]}
  - add: {from: [p, q], name: s}
"""


@pytest.mark.parametrize(
    "text", [UNET, SIAMESE, CELLS_OK, RECURSIVE, NESTED, TWO_OUTPUTS], ids=lambda t: t.split()[1]
)
def test_generated_code_has_no_unused_or_undefined_names(text, write, tmp_path):
    # pyflakes' checks (F): a block returning named tensors assigns nothing it leaves unused
    path = write(text)
    for style in ("structured", "flat"):
        module = tmp_path / f"{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F", str(module)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
