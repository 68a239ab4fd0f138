"""The summary's figures: MACs and FLOPs, parameter and activation memory for a dtype,
kernel and stride columns, the nested view by depth, JSON beside text, and the same on
``Graph``. Expected values are worked out by hand from the specs below, or taken from
Keras itself (the keras-marked test)."""

from __future__ import annotations

import json
import math
import re

import pytest

import archspec

# 4×4×1 → conv 3×3 same, 2 filters → flatten (32) → dense 3.
#   params: conv 3·3·1·2 + 2 = 20, dense 32·3 + 3 = 99; 119 in all
#   MACs: conv 4·4·2 · 3·3·1 = 288, dense 32·3 = 96; 384 in all (FLOPs 768)
#   outputs: input 16, conv 32, flatten 32, dense 3; 83 values (332 bytes as float32)
TINY = """
name: Tiny
input: {shape: [4, 4, 1]}
layers:
  - conv2d: {filters: 2, kernel_size: 3, padding: same, name: conv}
  - flatten: {name: flat}
  - dense: {units: 3, name: out}
"""

# Stages of blocks of blocks: stem (input, first), stages 2 and 3 of two `pair`s each, a
# head (flat, out). A pair is two `unit`s (conv, bn) and a relu.
#   depth 1: stem, stage 2, stage 3, head                                     4 rows
#   depth 2: + 2 stem layers, 2 + 2 pairs, 2 head layers                     12 rows
#   depth 3: + 4 pairs × (2 units + relu)                                    24 rows
#   depth 4: + 4 pairs × 2 units × (conv, bn)                                40 rows
NEST = """
name: Nest
input: {shape: [8, 8, 3]}
naming: keras
blocks:
  unit:
    params: {filters: int, stride: {type: int, default: 1}}
    layers:
      - conv2d: {filters: "{{ filters }}", kernel_size: 3, strides: "{{ stride }}", padding: same, role: conv}
      - batch_norm: {role: bn}
  pair:
    params: {filters: int, stride: {type: int, default: 1}}
    layers:
      - unit: {filters: "{{ filters }}", stride: "{{ stride }}", role: u1}
      - unit: {filters: "{{ filters }}", role: u2}
    after:
      - activation: {activation: relu, role: out}
layers:
  - conv2d: {filters: 4, kernel_size: 3, padding: same, name: first}
  - stage: {id: 2, filters: 4, blocks: [pair x 2]}
  - stage: {id: 3, filters: 8, blocks: [pair: {stride: 2}, pair]}
  - flatten: {name: flat}
  - dense: {units: 2, name: out}
"""

# A conv with a non-square kernel and strides, and a pool. Conv same, strides (2, 1):
# ceil(6/2) × ceil(6/1) = 3 × 6; pool 2×2, stride 2 (Keras's default: the pool size),
# valid: 1 × 3.
WINDOWS = """
name: Windows
input: {shape: [6, 6, 1]}
layers:
  - conv2d: {filters: 2, kernel_size: [3, 5], strides: [2, 1], padding: same, name: conv}
  - max_pool: {pool_size: 2, name: pool}
"""


def _table_rows(text: str) -> list[str]:
    """The rows of the summary's table: after its rule, up to the blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    end = lines.index("", start)
    return lines[start:end]


def _figure(text: str, label: str) -> int:
    return int(re.search(re.escape(label) + r" ([\d,]+)", text)[1].replace(",", ""))


def test_macs_flops_and_memory_by_hand(write):
    graph = archspec.lower(write(TINY))
    assert graph.node("conv").params == 20 and graph.node("out").params == 99
    assert graph.macs == 288 + 96
    assert graph.flops == 768
    assert graph.param_bytes() == 119 * 4
    assert graph.param_bytes("float16") == 119 * 2
    assert graph.param_bytes("float64") == 119 * 8
    assert graph.activation_bytes() == 83 * 4
    assert graph.activation_bytes("bfloat16") == 83 * 2
    with pytest.raises(ValueError, match="Received: dtype='int8'"):
        graph.param_bytes("int8")


def test_the_text_says_which_figure_is_which(cli, write):
    out = cli("check", write(TINY), "--dtype", "float16").out
    assert "Total params: 119 (238.00 B)" in out
    assert "Parameter memory (float16): 238.00 B" in out
    assert "Activation memory (float16, forward pass): 166.00 B per example" in out
    assert "MACs (multiply-accumulates): 384 per example" in out
    assert "FLOPs (2 × MACs): 768 per example" in out
    default = cli("check", write(TINY)).out
    assert "Parameter memory (float32): 476.00 B" in default


def test_activation_memory_unknown_for_an_input_of_any_size(cli, write):
    path = write(TINY.replace("[4, 4, 1]", "[null, null, 1]").replace("flatten", "global_avg_pool"))
    assert archspec.lower(path).activation_bytes() is None
    assert "Activation memory (float32, forward pass): unknown" in cli("check", path).out
    assert (
        json.loads(cli("check", path, "--format", "json").out)["model"]["activation_bytes"] is None
    )


@pytest.mark.parametrize(("depth", "rows"), [(1, 4), (2, 12), (3, 24), (4, 40), (9, 40)])
def test_depth_rows_follow_stages_blocks_and_layers(cli, write, depth, rows):
    result = cli("check", write(NEST), "--depth", str(depth))
    assert result.code == 0, result.err
    table = _table_rows(result.out)
    assert len(table) == rows
    names = [line.split()[0] for line in table]
    indent = {line.split()[0]: len(line) - len(line.lstrip()) for line in table}
    if depth >= 3:
        # stage 3's first pair (stride 2), its first unit, its conv: one level deeper each
        assert indent["conv3_block1"] == 2 and indent["conv3_block1_u1"] == 4
    if depth >= 4:
        assert indent["conv3_block1_u1_conv_conv"] == 6 and indent["conv3_block1_out_relu"] == 4
        # every layer of the model once, in the model's order
        graph = archspec.lower(write(NEST))
        layers = {x.name for x in graph.nodes}
        assert [n for n in names if n in layers and indent[n]] == [x.name for x in graph.nodes]
    assert names[:1] == ["stem"] and "head" in names


def test_depth_totals_add_up(write):
    from archspec.analysis.summary import tree_view

    graph = archspec.lower(write(NEST))
    rows = tree_view(graph, 2)
    # stage 3's first pair: units conv 3·3·4·8+8 = 296 and 3·3·8·8+8 = 584, bns 4·8 each
    (pair,) = [r for r in rows if r.name == "conv3_block1"]
    assert pair.params == 296 + 584 + 2 * 32
    # its MACs: 4×4×8 outputs (stride 2 from 8×8) of 3·3·4 and of 3·3·8
    assert pair.macs == 4 * 4 * 8 * (36 + 72)
    assert sum(r.params for r in rows if r.level == 1) == graph.total


def test_depth_and_layers_are_one_or_the_other(cli, write):
    path = write(NEST)
    assert cli("check", path, "--depth", "2", "--layers").code == 2
    assert "positive integer" in cli("check", path, "--depth", "0").err
    assert cli("check", path, "--dtype", "int8").code == 2


def test_kernel_stride_and_class_columns(cli, write):
    out = cli("check", write(WINDOWS), "--layers").out
    header, _, _, conv, pool = out.split("\n\n")[2].splitlines()
    assert header.split()[:6] == ["Layer", "Kind", "Class", "Output", "shape", "Kernel"]
    assert re.match(r"conv\s+conv2d\s+Conv2D\s+\(None, 3, 6, 2\)\s+3×5\s+2×1\s", conv)
    assert re.match(r"pool\s+max_pool\s+MaxPooling2D\s+\(None, 1, 3, 2\)\s+2×2\s+2×2\s", pool)
    data = json.loads(cli("check", write(WINDOWS), "--format", "json").out)
    conv_json = next(layer for layer in data["layers"] if layer["name"] == "conv")
    assert (conv_json["kernel"], conv_json["strides"]) == ([3, 5], [2, 1])
    tree = json.loads(cli("check", write(WINDOWS), "--depth", "2", "--format", "json").out)
    conv_row = next(r for r in tree["tree"] if r["name"] == "conv")
    assert (conv_row["keras_class"], conv_row["kernel"], conv_row["strides"]) == (
        "Conv2D",
        [3, 5],
        [2, 1],
    )
    depth = cli("check", write(WINDOWS), "--depth", "2").out
    assert re.search(r"  conv\s+conv2d\s+Conv2D\s+\(None, 3, 6, 2\)\s+3×5\s+2×1\s", depth)


def test_json_has_the_texts_figures(cli):
    spec = "specs/resnet50.yaml"
    text = cli("check", spec, "--dtype", "bfloat16").out
    data = json.loads(cli("check", spec, "--dtype", "bfloat16", "--format", "json").out)
    model = data["model"]
    assert model["total_params"] == _figure(text, "Total params:") == 23_600_006
    assert model["macs"] == _figure(text, "MACs (multiply-accumulates):")
    assert model["flops"] == _figure(text, "FLOPs (2 × MACs):") == 2 * model["macs"]
    assert model["dtype"] == "bfloat16" and model["param_bytes"] == 23_600_006 * 2
    assert sum(layer["macs"] for layer in data["layers"]) == model["macs"]
    # the layer table's params and MACs, row by row
    rows = _table_rows(cli("check", spec, "--layers").out)
    assert len(rows) == len(data["layers"]) == 177
    for row, layer in zip(rows, data["layers"]):
        assert row.split()[0] == layer["name"]
        assert f" {layer['params']:,} " in row and f" {layer['macs']:,}" in row
    tree = json.loads(cli("check", spec, "--depth", "2", "--format", "json").out)["tree"]
    assert len(tree) == len(_table_rows(cli("check", spec, "--depth", "2").out))
    # the seed's structure: 6 groups; stem 6 layers, 3+4+6+3 blocks, head 3 layers
    assert [r["level"] for r in tree].count(1) == 6 and len(tree) == 6 + 6 + 16 + 3


def test_api_summary_is_checks_text(cli, write):
    path = write(NEST)
    graph = archspec.lower(path)
    assert (
        archspec.summary(graph, depth=3, dtype="float16")
        == cli("check", path, "--depth", "3", "--dtype", "float16").out
    )
    assert archspec.summary(graph) == cli("check", path).out
    with pytest.raises(ValueError):
        archspec.summary(graph, layers=True, depth=2)


@pytest.mark.keras
@pytest.mark.parametrize("spec", [TINY, NEST, WINDOWS])
def test_params_and_activations_equal_keras(write, spec):
    graph = archspec.lower(write(spec))
    model = archspec.build(graph)
    assert graph.total == model.count_params()
    assert graph.trainable == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert graph.non_trainable == sum(math.prod(w.shape) for w in model.non_trainable_weights)
    # every layer's output, the input's included, one example
    values = sum(math.prod(layer.output.shape[1:]) for layer in model.layers)
    assert graph.activation_bytes() == values * 4
