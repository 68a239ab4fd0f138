"""Generated code's identifiers come from one namespace: spec names that would collide
with the module's imports, builtins, Python keywords, the model function, block
functions or their locals are renamed, never shadow; docstrings carry the spec's
``doc``; consecutive layers under one condition share one ``if``; and the line map
points each statement at the IR nodes it makes."""

from __future__ import annotations

import ast
import re

import pytest
from conftest import ROOT, SPECS
from test_codegen import STYLES, import_module

import archspec
from archspec.backends.python.codegen import module, module_source

# Each spec names something the way that used to generate a module that fails: a block
# called like the module's imports or the model, a block param and vars called like the
# block function's own locals, model params that Python reserves.
COLLISIONS = {
    "block_named_layers": """
        name: Net
        blocks:
          layers: {layers: [{dense: {units: 4, role: a}}]}
        input: {shape: [3]}
        layers: [layers, {dense: {units: 2, name: out}}]
        """,
    "block_named_keras": """
        name: Net
        blocks:
          keras: {layers: [{dense: {units: 4, role: a}}]}
        input: {shape: [3]}
        layers: [keras]
        """,
    "block_named_like_the_model": """
        name: Net
        blocks:
          Net: {layers: [{dense: {units: 4, role: a}}]}
        input: {shape: [3]}
        layers: [Net, Net]
        """,
    "block_param_inputs": """
        name: Net
        blocks:
          unit:
            params: {inputs: int, shortcut: int}
            layers: [{dense: {units: "{{ inputs + shortcut }}", role: a}}]
        input: {shape: [3]}
        layers: [{unit: {inputs: 4, shortcut: 1}}]
        """,
    "vars_named_layers_and_inputs": """
        name: Net
        blocks:
          unit:
            params: {n: int}
            vars: {layers: "{{ n * 2 }}", inputs: "{{ layers + 1 }}", max: "{{ inputs }}"}
            layers: [{dense: {units: "{{ max }}", role: a}}]
        input: {shape: [3]}
        layers: [{unit: {n: 2}}]
        """,
    "params_class_and_class_": """
        name: Net
        params: {class: 3, class_: 2, inputs: 5, unit: 1, len: 2}
        blocks:
          unit: {params: {n: int}, layers: [{dense: {units: "{{ n }}", role: a}}]}
        input: {shape: [3]}
        layers:
          - {unit: {n: "{{ class + class_ + unit + len }}"}}
          - {dense: {units: "{{ inputs }}", name: out}}
        """,
    "layer_names_python_reserves": """
        name: Net
        input: {shape: [3]}
        layers:
          - {dense: {units: 2, name: class}}
          - {dense: {units: 3, name: None}}
          - {dense: {units: 4, name: def, as: lambda}}
          - {dense: {units: 5, from: lambda, name: "True"}}
        """,
}
# What each model must be, written out by hand: (layer name, units) after the input.
EXPECTED = {
    "block_named_layers": [("layers_a_dense", 4), ("out", 2)],
    "block_named_keras": [("keras_a_dense", 4)],
    "block_named_like_the_model": [("Net_a_dense", 4), ("Net_1_a_dense", 4)],
    "block_param_inputs": [("unit_a_dense", 5)],
    "vars_named_layers_and_inputs": [("unit_a_dense", 5)],
    "params_class_and_class_": [("unit_a_dense", 8), ("out", 5)],
    "layer_names_python_reserves": [("class", 2), ("None", 3), ("def", 4), ("True", 5)],
}


def _source(name, write, tmp_path, monkeypatch, style="structured"):
    path = write(COLLISIONS[name], f"{name}.yaml")
    monkeypatch.chdir(tmp_path)
    return module_source(path, style)


def _shadowed(source: str) -> list[str]:
    """Names a function binds (parameters, assignments, loops) that the module also
    binds at its top level (imports, functions), or that are builtins."""
    import builtins

    tree = ast.parse(source)
    top = {
        a.asname or a.name
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    top |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    bad = []
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        bound = {a.arg for a in fn.args.args}
        bound |= {
            t.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Assign | ast.For)
            for t in ast.walk(n.targets[0] if isinstance(n, ast.Assign) else n.target)
            if isinstance(t, ast.Name)
        }
        bad += [f"{fn.name}: {b}" for b in sorted(bound) if b in top or hasattr(builtins, b)]
    return bad


@pytest.mark.parametrize("name", COLLISIONS)
def test_spec_names_never_shadow(name, write, tmp_path, monkeypatch):
    source = _source(name, write, tmp_path, monkeypatch)
    compile(source, f"{name}.py", "exec")
    assert not _shadowed(source), source
    tree = ast.parse(source)
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert len(functions) == len(set(functions))
    assert functions[-1] == "Net"  # the model function keeps the spec's name


@pytest.mark.keras
@pytest.mark.parametrize("name", COLLISIONS)
def test_colliding_names_generate_working_code(name, write, tmp_path, monkeypatch):
    from keras_compare import assert_same_model

    for style in STYLES:
        source = _source(name, write, tmp_path, monkeypatch, style)
        target = tmp_path / f"{name}_{style}.py"
        target.write_text(source)
        model = import_module(target).Net()
        layers = [
            (layer.name, layer.units) for layer in model.layers[1:] if hasattr(layer, "units")
        ]
        assert layers == EXPECTED[name]
        assert_same_model(model, archspec.build(f"{name}.yaml"), names="all")


def test_params_renamed_by_the_namespace_keep_their_meaning(write, tmp_path, monkeypatch):
    source = _source("params_class_and_class_", write, tmp_path, monkeypatch)
    assert "def Net(class_=3, class__=2, inputs=5, unit_=1, len_=2):" in source
    assert 'x = unit(inputs_, n=((class_ + class__) + unit_) + len_, name="unit")' in source
    assert "inputs_ = keras.Input(" in source and 'layers.Dense(inputs, name="out")' in source


def test_doc_becomes_docstrings(write, tmp_path, monkeypatch):
    path = write(
        """
        name: Net
        doc: "A small net.\\nTwo lines, a \\"\\"\\" and a \\\\ backslash."
        blocks:
          unit: {doc: Dense then relu., layers: [{dense: {units: 2, role: a}}]}
        input: {shape: [3]}
        layers: [unit]
        """
    )
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "net.py"
    target.write_text(module_source(path))
    tree = ast.parse(target.read_text())
    docs = {n.name: ast.get_docstring(n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    # the spec's doc opens each docstring (the Args that follow: tests/test_codegen_docs.py)
    assert {name: doc.split("\n\n")[0] for name, doc in docs.items()} == {
        "unit": "Dense then relu.",
        "Net": 'A small net.\nTwo lines, a """ and a \\ backslash.',
    }


def test_one_if_for_consecutive_layers_under_one_condition():
    source = (ROOT / "generated/keras/vgg16.py").read_text()
    top = source[source.index("    if include_top:") :]
    assert top.splitlines()[1:5] == [
        '        x = layers.Flatten(name="flatten")(x)',
        '        x = layers.Dense(4096, activation="relu", name="fc1")(x)',
        '        x = layers.Dense(4096, activation="relu", name="fc2")(x)',
        '        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)',
    ]
    assert source.count("if include_top:") == 1


def test_a_condition_that_reads_the_tensor_is_not_shared(write, tmp_path, monkeypatch):
    path = write(
        """
        name: Net
        input: {shape: [3]}
        layers:
          - {dense: {units: 3, name: c}}
          - {dense: {units: 4, name: a, when: "x.channels == 3"}}
          - {dense: {units: 5, name: b, when: "x.channels == 3"}}
        """
    )
    monkeypatch.chdir(tmp_path)
    source = module_source(path)
    # b reads a's output (4 channels): the spec leaves it out, and so must the code
    assert [n.name for n in archspec.lower(path).nodes] == ["input_layer", "c", "a"]
    assert source.count("    if x.shape[-1] == 3:\n") == 2


def _segment(lines: list[bytes], node: ast.AST) -> str:
    """``ast.get_source_segment`` over lines split once: it splits the whole source on
    every call, which made this test quadratic in a zoo model's flat module."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first][node.col_offset : node.end_col_offset].decode()
    parts = [lines[first][node.col_offset :], *lines[first + 1 : last]]
    return b"\n".join([*parts, lines[last][: node.end_col_offset]]).decode()


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("style", STYLES)
def test_line_map_points_at_the_statements_nodes(spec, style, monkeypatch):
    """Every layer statement's line maps to IR nodes whose names that statement makes:
    a literal name appears in the statement; an f-string name matches as a pattern; a
    block call's nodes are those of the blocks it calls; every layer is made by a line."""
    monkeypatch.chdir(ROOT)
    generated = module(spec, style)
    lines = generated.source.splitlines()
    graph = archspec.lower(spec)
    tree = ast.parse(generated.source)
    statements = {n.lineno: n for n in ast.walk(tree) if isinstance(n, ast.Assign)}
    encoded = [line.encode() for line in lines]
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    covered = set()
    for line, names in generated.lines.items():
        statement = _segment(encoded, statements[line])
        assert statement is not None and lines[line - 1].strip()
        literal = re.search(r'name="([^"]*)"', statement)
        fstring = re.search(r'name=f"([^"]*)"', statement)
        # a call of one of the module's block functions (a layer is a class, from keras
        # or from a plugin's module)
        call = statements[line].value
        while isinstance(call, ast.Call) and isinstance(call.func, ast.Call):
            call = call.func
        is_block_call = isinstance(call, ast.Call) and getattr(call.func, "id", None) in functions
        for node in names:
            if is_block_call:
                assert node in {n.name for n in graph.nodes if n.block}, (line, statement)
            elif literal:
                assert node == literal[1], (line, statement)
            elif fstring:
                pattern = re.sub(r"\\\{[^}]*\\\}", ".*", re.escape(fstring[1]))  # may be empty
                assert re.fullmatch(pattern, node), (line, statement, node)
        covered |= set(names)
    # every layer is made by a statement: its own in the flat style; in the structured
    # style, a block's layers are also made by the calls of that block
    assert covered == {n.name for n in graph.nodes if n.op != "input"}


# A name of null leaves a layer to Keras's session counters, as Keras's name=None does:
# keras.applications' conv2d_bn helpers name their layers so when they are not given one.
SESSION_NAMES = """
name: M
input: {shape: [8, 8, 3]}
blocks:
  conv_bn:
    params: {label: {type: str, default: ""}}
    layers:
      - conv2d: {filters: 4, kernel_size: 1, name: "{{ label + '_conv' if label else None }}"}
      - batch_norm: {name: "{{ label + '_bn' if label else None }}"}
      - relu: {name: "{{ label or None }}"}
      - scalar_add: {x2: 1.0, name: "{{ None }}"}
layers:
  - max_pool: {pool_size: 1}
  - conv_bn
  - relu
  - conv_bn: {label: named}
  - conv_bn
  - max_pool: {pool_size: 1}
"""


def _session_names_by_hand():
    import keras
    from keras import layers

    def conv_bn(x, label=None):
        x = layers.Conv2D(4, 1, name=label and label + "_conv")(x)
        x = layers.BatchNormalization(name=label and label + "_bn")(x)
        return layers.ReLU(name=label)(x) + 1.0

    inputs = keras.Input((8, 8, 3), name="input_layer")
    x = layers.MaxPooling2D(1)(inputs)
    x = conv_bn(x)
    x = layers.ReLU()(x)  # made after the block's layers, as the spec's relu
    x = conv_bn(conv_bn(x, "named"))
    x = layers.MaxPooling2D(1)(x)
    return keras.Model(inputs, x, name="M")


def test_names_left_to_keras_count_in_the_order_layers_are_made(write):
    graph = archspec.lower(write(SESSION_NAMES))
    assert graph.session_names
    # the model's own unnamed layers count with them, in the order the model makes them
    assert [n.name for n in graph.nodes if n.op in ("conv2d", "max_pool", "relu", "scalar_add")] == [
        "max_pooling2d", "conv2d", "re_lu", "add", "re_lu_1", "named_conv", "named", "add_1",
        "conv2d_1", "re_lu_2", "add_2", "max_pooling2d_1",
    ]  # fmt: skip


@pytest.mark.keras
def test_names_left_to_keras_are_keras_names(write, tmp_path, monkeypatch):
    import keras

    path = write(SESSION_NAMES)
    keras.backend.clear_session()
    expected = [op.name for op in _session_names_by_hand().operations]
    keras.backend.clear_session()
    assert [op.name for op in archspec.build(path).operations] == expected
    monkeypatch.chdir(tmp_path)
    for style in STYLES:
        target = tmp_path / f"session_{style}.py"
        target.write_text(module_source(path, style))
        keras.backend.clear_session()
        assert [op.name for op in import_module(target).M().operations] == expected, style
