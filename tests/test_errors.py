"""Every spec error names its file, line and column, the node's path, and what was
expected and received; exit 1 for invalid specs, 2 for usage and I/O errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import archspec

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
name: M
params: {classes: 6}
imports: [resnet]
naming: caffe
input: {shape: [64, 64, 3]}
layers:
  - conv2d: {filters: 64, kernel_size: 7, strides: 2, name: conv1}
  - stage: {id: 2, f: 3, filters: [64, 64, 256], blocks: [convolutional: {s: 1}, identity x 2]}
  - flatten
  - dense: {units: "{{ classes }}", name: fc}
"""

# (case, text replaced, replacement, extra CLI args, "line:col", code, message fragments):
# the code and the place are the contract; the fragments check the wording that matters
CASES = [
    (
        "yaml syntax",
        "naming: caffe",
        "naming: caffe\n  foo: [",
        (),
        "5:6",
        "yaml-syntax",
        ["YAML syntax"],
    ),
    (
        "unknown key",
        "naming: caffe",
        "namig: caffe",
        (),
        "4:1",
        "unknown-key",
        ["unknown key 'namig'", "did you mean 'naming'"],
    ),
    (
        "wrong type",
        "filters: 64,",
        'filters: "abc",',
        (),
        "7:23",
        "invalid-argument",
        ["layers[0].conv2d.filters", "valid integer", "Received: filters='abc'"],
    ),
    (
        "filter pair",
        "[64, 64, 256]",
        "[64, 256]",
        (),
        "8:35",
        "invalid-param",
        ["layers[1].stage.filters", "int[3]", "Received: filters=[64, 256]"],
    ),
    (
        "filter quadruple",
        "[64, 64, 256]",
        "[64, 64, 256, 3]",
        (),
        "8:35",
        "invalid-param",
        ["int[3]", "Received: filters=[64, 64, 256, 3]"],
    ),
    (
        "zero filters",
        "filters: 64,",
        "filters: 0,",
        (),
        "7:23",
        "invalid-argument",
        ["greater than 0", "Received: filters=0"],
    ),
    (
        "negative kernel",
        "kernel_size: 7",
        "kernel_size: -1",
        (),
        "7:40",
        "invalid-argument",
        ["kernel_size", "greater than 0", "Received: kernel_size=-1"],
    ),
    (
        "zero strides",
        "strides: 2, name",
        "strides: 0, name",
        (),
        "7:52",
        "invalid-argument",
        ["strides", "greater than 0", "Received: strides=0"],
    ),
    (
        "filters zero inside a block",
        "[64, 64, 256]",
        "[0, 64, 256]",
        (),
        "8:58",
        "invalid-argument",
        ["block '2a' (convolutional)", "filters", "Received: filters=0"],
    ),
    (
        "unknown block",
        "identity x 2",
        "identiy x 2",
        (),
        "8:82",
        "unknown-block",
        ["unknown block 'identiy'", "did you mean 'identity'"],
    ),
    (
        "unknown layer",
        "  - flatten",
        "  - flaten",
        (),
        "9:5",
        "unknown-kind",
        ["unknown layer or block kind 'flaten'", "did you mean 'flatten'"],
    ),
    (
        "unknown kind points to the catalogue",
        "  - flatten",
        "  - qqqq",
        (),
        "9:5",
        "unknown-kind",
        ["unknown layer or block kind 'qqqq'", "docs/language.md lists the layers"],
    ),
    (
        "identity channel mismatch",
        "convolutional: {s: 1}, identity x 2",
        "identity, identity x 2",
        (),
        "8:59",
        "shape-mismatch",
        ["block '2a' (identity)", "256 channels", "64 channels", "identity shortcut"],
    ),
    (
        "spatial collapse",
        "[64, 64, 3]",
        "[4, 4, 3]",
        (),
        "7:13",
        "window-too-large",
        ["conv2d 'conv1'", "window of 7", "input of size 4"],
    ),
    (
        "duplicate name",
        "name: fc}",
        "name: conv1}",
        (),
        "10:12",
        "duplicate-name",
        ["duplicate layer name 'conv1'", "first at", ":7:"],
    ),
    (
        "unknown --set param",
        "",
        "",
        ("--set", "clases=10"),
        "2:1",
        "unknown-param",
        ["unknown param 'clases'", "did you mean 'classes'"],
    ),
    (
        "wrong --set type",
        "",
        "",
        ("--set", "classes=[1, 2]"),
        "2:1",
        "invalid-param",
        ["param 'classes' expects an int", "Received: classes=[1, 2]"],
    ),
    (
        "unknown block param",
        "convolutional: {s: 1}",
        "convolutional: {s: 1, g: 3}",
        (),
        "8:84",
        "unknown-param",
        ["unknown param 'g'"],
    ),
    (
        "bad expression",
        '"{{ classes }}"',
        '"{{ classes +* 2 }}"',
        (),
        "10:20",
        "expression-syntax",
        ["invalid expression", "classes +* 2"],
    ),
    (
        "undefined name",
        '"{{ classes }}"',
        '"{{ clases }}"',
        (),
        "10:20",
        "undefined-name",
        ["'clases' is undefined", "known names: classes"],
    ),
    (
        "sandboxed attribute",
        '"{{ classes }}"',
        '"{{ classes.__class__ }}"',
        (),
        "10:20",
        "unsafe-expression",
        ["unsafe"],
    ),
    (
        "duplicate key",
        "naming: caffe",
        "naming: caffe\nnaming: keras",
        (),
        "5:1",
        "duplicate-key",
        ["duplicate key 'naming'", "line 4"],
    ),
    (
        "repeat limit",
        "identity x 2",
        "identity x 1000000000",
        (),
        "8:82",
        "limit-exceeded",
        ["limit max_repeat"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_spec_error_position_and_message(case, cli, write):
    _, old, new, extra, position, code, fragments = case
    assert old in BASE
    path = write(BASE.replace(old, new, 1))
    result = cli("check", path, *extra)
    assert result.code == 1, result.out
    assert result.out == ""
    first = result.err.splitlines()[0]
    assert first.startswith(f"{path}:{position}: error: "), first
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
    assert "Traceback" not in result.err
    first = json.loads(cli("check", path, *extra, "--format", "json").out)["errors"][0]
    line, col = map(int, position.split(":"))
    assert (first["code"], first["file"], first["line"], first["column"]) == (code, path, line, col)


def test_usage_errors_exit_2(cli, tmp_path):
    assert cli("check", str(tmp_path)).code == 2
    missing = cli("check", str(tmp_path / "nope.yaml"))
    assert missing.code == 2 and "cannot read" in missing.err
    assert cli("check").code == 2
    assert cli("frobnicate", "x").code == 2
    bad_set = cli("check", "specs/resnet50.yaml", "--set", "classes")
    assert bad_set.code == 2 and "KEY=VALUE" in bad_set.err


def test_traceback_only_on_request(cli, write):
    path = write(BASE.replace("  - flatten", "  - flaten"))
    assert "Traceback" not in cli("check", path).err
    assert "Traceback" in cli("check", path, "--traceback").err


def test_several_problems_reported_together(cli, write):
    path = write(BASE.replace("naming: caffe", "namig: caffe\nfoo: 1"))
    result = cli("check", path)
    assert result.code == 1
    assert "unknown key 'namig'" in result.err and "unknown key 'foo'" in result.err
    errors = json.loads(cli("check", path, "--format", "json").out)["errors"]
    assert [e["code"] for e in errors] == ["unknown-key", "unknown-key"]


def _documented_codes() -> list[str]:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    section = text.split("## Codes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M)


def test_docs_list_exactly_the_registered_codes():
    from archspec.diagnostics import CODES

    documented = _documented_codes()
    assert len(documented) == len(set(documented)), "a code is listed twice"
    assert sorted(documented) == sorted(CODES)


def test_every_code_is_raised():
    """Each registered code is named at a raise site in the source, or (for the codes
    the pydantic mapper builds from what it maps: missing-argument...) asserted by a
    case of the bad-spec corpus."""
    from test_bad_specs import CASES

    from archspec.diagnostics import CODES

    source = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "archspec").rglob("*.py")
        if p.name != "diagnostics.py"
    )
    raised = {c for c in CODES if f'"{c}"' in source} | {case.code for case in CASES}
    assert sorted(set(CODES) - raised) == []


UNKNOWN_KINDS = """
name: M
blocks:
  unused:
    layers: [{fancy_layer: {size: 1}}]
input: {shape: [8, 8, 3]}
layers:
  - time_distributed
  - conv2: {filters: 4, kernel_size: 3}
  - flatten
  - {dens: {units: 2, when: false}}
  - group_query_attention
"""


def test_every_unknown_kind_is_reported_at_its_place(cli, write):
    """Each unknown kind is an error at its own line, in reading order, blocks nobody
    calls and items under a false ``when`` included; a look-alike only when really
    close; a Keras layer the catalogue lacks is named as such."""
    result = cli("check", write(UNKNOWN_KINDS), "--format", "json")
    assert result.code == 1
    errors = json.loads(result.out)["errors"]
    assert [(e["code"], e["line"], e["column"]) for e in errors] == [
        ("unknown-kind", 4, 14),
        ("unknown-kind", 7, 5),
        ("unknown-kind", 8, 5),
        ("unknown-kind", 10, 5),
        ("unknown-kind", 11, 5),
    ]
    fancy, wrapper, conv2, dens, attention = (e["message"] for e in errors)
    assert "did you mean" not in fancy and "docs/language.md lists the layers" in fancy
    assert "Keras's TimeDistributed is not in archspec's catalogue yet" in wrapper
    assert conv2.endswith("did you mean 'conv2d'?")
    assert dens.endswith("did you mean 'dense'?")
    assert "Keras's GroupQueryAttention is not in archspec's catalogue yet" in attention


@pytest.mark.keras
def test_the_keras_layer_names_are_keras_s():
    """The names that unknown kinds are checked against are Keras's layer classes, and
    every op of the catalogue that is a stock layer (not arithmetic on a tensor, not a
    plugin's class) builds one."""
    import inspect

    import keras

    from archspec.core.ops import OPS
    from archspec.core.ops.keras_classes import KERAS_LAYER_CLASSES

    classes = {
        name
        for name, value in vars(keras.layers).items()
        if inspect.isclass(value) and issubclass(value, keras.layers.Layer)
    }
    assert KERAS_LAYER_CLASSES <= classes
    stock = {op.keras_class for op in OPS.values() if op.operation is None and op.module is None}
    assert stock <= KERAS_LAYER_CLASSES


def test_keras_names_are_aliases(cli, write):
    """Keras's class names in snake_case reach the ops that have shorter names."""
    path = write(
        """
        name: M
        defaults: {batch_normalization: {epsilon: 0.01}}
        input: {shape: [8, 8, 3]}
        layers:
          - zero_padding2d: {padding: 1}
          - batch_normalization: {}
          - max_pooling2d: {pool_size: 2}
          - global_average_pooling2d
        """
    )
    graph = archspec.lower(path)
    assert [(n.op, n.keras_class) for n in graph.nodes[1:]] == [
        ("zero_padding", "ZeroPadding2D"),
        ("batch_norm", "BatchNormalization"),
        ("max_pool", "MaxPooling2D"),
        ("global_avg_pool", "GlobalAveragePooling2D"),
    ]
    assert graph.node("batch_normalization").attrs["epsilon"] == 0.01
