"""Property-based tests (hypothesis): random valid specs agree with Keras layer by layer,
random mutations of valid specs get a clean error or work, and hostile strings in a
spec only ever become string constants or comments in generated code.

The number of examples comes from the hypothesis profile (tests/conftest.py): ``ci``
by default, ``HYPOTHESIS_PROFILE=deep`` for many more. Tests that build Keras models
are marked ``keras`` and run a fifth of the examples (small inputs keep them fast).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import math
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SPECS
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import archspec
from archspec.cli.main import main

EXAMPLES = settings.default.max_examples
KERAS_EXAMPLES = max(EXAMPLES // 5, 1)
_DIAGNOSTIC = re.compile(r"^\S.*?:\d+:\d+: error: ")

# ---- random valid specs --------------------------------------------------------------------
# The strategy follows Keras's shape rules as it goes, so that every spec it draws is
# valid (no rejected examples): a layer is only drawn if it fits its input.


def _window(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - (dilation * (kernel - 1) + 1)) // stride + 1


@st.composite
def _conv(draw, h: int, w: int, c: int):
    padding = draw(st.sampled_from(["valid", "same"]))
    strides = draw(st.sampled_from([1, 1, 2]))
    dilation = draw(st.sampled_from([1, 1, 2])) if strides == 1 else 1
    kernels = [k for k in (1, 2, 3, 5) if padding == "same" or dilation * (k - 1) + 1 <= min(h, w)]
    kernel = draw(st.sampled_from(kernels))
    groups = draw(st.sampled_from([g for g in (1, 1, 2, 3) if c % g == 0]))
    filters = groups * draw(st.integers(1, 4))
    args = {"filters": filters, "kernel_size": kernel, "padding": padding}
    if strides != 1:
        args["strides"] = strides
    if dilation != 1:
        args["dilation_rate"] = dilation
    if groups != 1:
        args["groups"] = groups
    if draw(st.booleans()):
        args["use_bias"] = False
    if draw(st.booleans()):
        args["activation"] = draw(st.sampled_from(["relu", "swish", "sigmoid"]))
    size = [_window(s, kernel, strides, dilation, padding) for s in (h, w)]
    return {"conv2d": args}, (*size, filters)


@st.composite
def _layer(draw, shape: tuple):
    """One layer that fits ``shape`` (height, width, channels), and its output shape."""
    h, w, c = shape
    kind = draw(
        st.sampled_from(
            [
                "conv2d",
                "conv2d",
                "depthwise",
                "pool",
                "zero_padding",
                "batch_norm",
                "activation",
                "relu6",
                "dropout",
            ]
        )
    )
    if kind == "conv2d":
        return draw(_conv(h, w, c))
    if kind == "depthwise":
        padding = draw(st.sampled_from(["valid", "same"]))
        kernel = draw(st.sampled_from([k for k in (1, 3) if padding == "same" or k <= min(h, w)]))
        multiplier = draw(st.integers(1, 2))
        size = [_window(s, kernel, 1, 1, padding) for s in (h, w)]
        return {
            "depthwise_conv2d": {
                "kernel_size": kernel,
                "padding": padding,
                "depth_multiplier": multiplier,
            }
        }, (
            *size,
            c * multiplier,
        )
    if kind == "pool":
        padding = draw(st.sampled_from(["valid", "same"]))
        pool = draw(
            st.sampled_from([p for p in (2, 3) if padding == "same" or p <= min(h, w)] or [1])
        )
        strides = draw(st.sampled_from([None, 1, 2]))
        op = draw(st.sampled_from(["max_pool", "avg_pool"]))
        args = {"pool_size": pool, "padding": padding}
        if strides is not None:
            args["strides"] = strides
        size = [_window(s, pool, strides or pool, 1, padding) for s in (h, w)]
        return {op: args}, (*size, c)
    if kind == "zero_padding":
        pad = draw(st.integers(0, 2))
        return {"zero_padding": pad}, (h + 2 * pad, w + 2 * pad, c)
    if kind == "batch_norm":
        return {"batch_norm": {"axis": draw(st.sampled_from([-1, 3]))}}, shape
    if kind == "activation":
        return {"activation": draw(st.sampled_from(["relu", "tanh", "gelu", "softmax"]))}, shape
    if kind == "relu6":
        return "relu6", shape
    return {"dropout": draw(st.sampled_from([0.0, 0.1, 0.5]))}, shape


@st.composite
def valid_specs(draw) -> dict:
    """A random valid spec: a stem of layers, ResNet stages (filter triples, kernels,
    strides), an inline concatenating block, and a head."""
    shape = (draw(st.integers(6, 24)), draw(st.integers(6, 24)), draw(st.integers(1, 6)))
    spec: dict = {
        "name": "Net",
        "params": {"classes": draw(st.integers(1, 10))},
        "imports": ["resnet"],
        "naming": draw(st.sampled_from(["caffe", "keras"])),
        "input": {"shape": list(shape)},
        "layers": [],
    }
    for _ in range(draw(st.integers(0, 3))):
        layer, shape = draw(_layer(shape))
        spec["layers"].append(layer)
    if draw(st.booleans()):
        spec["blocks"] = {
            "mix": {
                "params": {"a": "int", "b": "int"},
                "branches": [
                    [{"conv2d": {"filters": "{{ a }}", "kernel_size": 1, "role": "1"}}],
                    [
                        {
                            "conv2d": {
                                "filters": "{{ b }}",
                                "kernel_size": 3,
                                "padding": "same",
                                "role": "2",
                            }
                        }
                    ],
                ],
                "merge": "concatenate",
                "after": [{"activation": {"activation": "relu", "role": "out"}}],
            }
        }
        a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        spec["layers"].append({"mix": {"a": a, "b": b}})
        shape = (shape[0], shape[1], a + b)
    for stage in range(2, 2 + draw(st.integers(0, 3))):
        filters = draw(st.lists(st.integers(1, 8), min_size=3, max_size=3))
        stride = draw(st.sampled_from([1, 2]))
        blocks: list = [{"convolutional": {"s": stride}}]
        identities = draw(st.integers(0, 2))
        if identities:
            blocks.append(f"identity x {identities}" if identities > 1 else "identity")
        spec["layers"].append(
            {
                "stage": {
                    "id": stage,
                    "f": draw(st.sampled_from([1, 3])),
                    "filters": filters,
                    "blocks": blocks,
                }
            }
        )
        shape = (math.ceil(shape[0] / stride), math.ceil(shape[1] / stride), filters[2])
    spec["layers"].append(draw(st.sampled_from(["flatten", "global_avg_pool", "global_max_pool"])))
    spec["layers"].append(
        {"dense": {"units": "{{ classes }}", "activation": "softmax", "name": "predictions"}}
    )
    return spec


def dump(spec: dict) -> str:
    # allow_unicode=False: PyYAML would write a raw U+0085 into a quoted scalar, where
    # YAML reads it as a line break; escaped, every string reads back as it was.
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=False)


def import_module(path: Path):
    spec = importlib.util.spec_from_file_location(
        f"generated_{path.stem}_{abs(hash(str(path)))}", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``archspec ARGV`` in-process; any exception escaping main fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def workdir():
    """A scratch copy of specs/ (mutants of a spec sit beside it, for its extends)."""
    folder = Path(tempfile.mkdtemp(prefix="archspec-properties-"))
    shutil.copytree(ROOT / "specs", folder / "specs")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# ---- 1. static shapes and params agree with Keras; generated module == build ----------------


@pytest.mark.keras
@settings(max_examples=KERAS_EXAMPLES)
@given(spec=valid_specs())
def test_static_shapes_and_params_equal_keras_and_generated_code(spec, workdir):
    import keras
    from keras_compare import assert_same_model

    keras.backend.clear_session()
    path = workdir / "net.yaml"
    path.write_text(dump(spec), encoding="utf-8")
    graph = archspec.lower(path)
    model = archspec.build(graph)
    layers = {layer.name: layer for layer in model.layers}
    assert sorted(n.name for n in graph.nodes) == sorted(
        layers
    )  # Keras orders branches its own way
    for node in graph.nodes:
        layer = layers[node.name]
        assert tuple(layer.output.shape[1:]) == node.shape, node.name
        trainable = sum(math.prod(v.shape) for v in layer.trainable_weights)
        frozen = sum(math.prod(v.shape) for v in layer.non_trainable_weights)
        assert (trainable, frozen) == (node.trainable, node.non_trainable), node.name
    assert model.count_params() == sum(n.params for n in graph.nodes)
    module = workdir / "net_generated.py"
    module.write_text(archspec.codegen(path), encoding="utf-8")
    generated = import_module(module).Net()
    assert_same_model(generated, model, names="all")


def test_valid_specs_are_valid(workdir):
    """The strategy itself draws only valid specs (checked without Keras)."""

    @settings(max_examples=EXAMPLES)
    @given(spec=valid_specs())
    def check(spec):
        path = workdir / "valid.yaml"
        path.write_text(dump(spec), encoding="utf-8")
        code, _, err = run_cli("check", str(path))
        assert code == 0, err

    check()


# ---- 2. mutations of valid specs: a clean error or a valid spec, never a crash -------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.integers(-3, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-5, 300), max_size=5),
    st.dictionaries(st.text(max_size=6), st.integers(-3, 9), max_size=2),
    st.sampled_from(
        [
            "{{ 1 / 0 }}",
            "{{ x.channels }}",
            "{{ nope }}",
            "{{ [0] * 10000 }}",
            "{{ 'x' * 99999 }}",
            "{% if 1 %}1{% endif %}",
            "identity x 3",
            "identity x 1000000000",
            "-1",
            "1e9",
            "relu",
            "conv2d",
            "same",
            "*alias",
            "&anchor",
        ]
    ),
)
_GARBAGE = st.sampled_from(
    [
        ":",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "&a ",
        "*a",
        "!!python/none ",
        "!x ",
        "\t",
        '"',
        "'",
        "#",
        "|",
        ">",
        "\\",
        "%",
        "@",
        "\u2028",
        "\x85",
        "\x07",
        "<<: ",
        "? ",
        "---\n",
        "~",
        "0x",
        "1e309",
        "{{",
        "}}",
    ]
)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


@st.composite
def mutants(draw, texts: list[tuple[str, str]]) -> tuple[str, str]:
    """(folder, text): a spec from specs/ or a random valid one, mutated once or twice."""
    if draw(st.booleans()):
        folder, text = draw(st.sampled_from(texts))
    else:
        folder, text = "specs", dump(draw(valid_specs()))
    for _ in range(draw(st.integers(1, 2))):
        how = draw(st.sampled_from(["data", "data", "data", "line", "truncate", "insert"]))
        lines = text.splitlines(keepends=True)
        if how == "line" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            if draw(st.booleans()):
                del lines[i]
            else:
                lines.insert(i, lines[i])
            text = "".join(lines)
        elif how == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif how == "insert":
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(_GARBAGE) + text[i:]
        else:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            paths = [p for p in _paths(data) if p]
            if not paths:
                continue
            path = draw(st.sampled_from(paths))
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            op = draw(st.sampled_from(["replace", "replace", "delete", "rename"]))
            if op == "delete":
                del parent[path[-1]]
            elif op == "rename" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = parent.pop(path[-1])
            else:
                parent[path[-1]] = draw(_VALUES)
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return folder, text


SPEC_TEXTS = [(str(Path(s).parent), (ROOT / s).read_text(encoding="utf-8")) for s in SPECS]


@settings(max_examples=EXAMPLES)
@given(mutant=mutants(SPEC_TEXTS))
def test_mutants_get_a_clean_error_or_work(mutant, workdir):
    """check; and for a spec that checks, codegen, render, graph and check --format json."""
    folder, text = mutant
    path = workdir / folder / "mutant.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli("check", str(path))
    event(f"check exit {code}")
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    if code == 1:
        assert err and all(_DIAGNOSTIC.match(line) for line in err.splitlines()), err
        assert out == ""
    if code == 0:  # every command that reads a spec takes it
        for argv in (
            ["codegen", str(path), "-o", str(workdir / "generated")],
            ["render", str(path)],
            ["graph", str(path), "--layers", "-o", str(workdir / "mutant.dot")],
            ["check", str(path), "--layers", "--format", "json"],
        ):
            code, _, err = run_cli(*argv)
            assert code in (0, 1), (argv, err)
            assert "Traceback" not in err


# ---- 3. hostile strings: refused, or inert in generated code ------------------------------

_PIECES = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "{",
    "}",
    "%",
    "#",
    "\x00",
    "\x1b[31m",
    "\u2028",
    "\u202e",
    "\x85",
    "é",
    "😀",
    "\ufeff",
    "import os; os.system('id')",
    '"); import os; ("',
    "\\n",
    "\\x00",
    "${HOME}",
    "__import__('os')",
    "*/",
    "<!--",
    "f'{x}'",
    "\\N{BULLET}",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)), min_size=1, max_size=6
).map("".join)
_FORBIDDEN_NAMES = {
    "eval",
    "exec",
    "compile",
    "open",
    "os",
    "sys",
    "subprocess",
    "__import__",
    "globals",
    "getattr",
    "setattr",
    "importlib",
    "input",
    "breakpoint",
    "print",
    "builtins",
    "locals",
    "vars",
}


def _hostile_spec(doc: str, model_name: str, tag: str, block_doc: str) -> dict:
    return {
        "name": "Hostile",
        "doc": doc,
        "model_name": model_name,
        "params": {"tag": tag, "classes": 3},
        "blocks": {
            "unit": {
                "doc": block_doc,
                "params": {"n": {"type": "int", "doc": block_doc}},
                "layers": [{"dense": {"units": "{{ n }}", "role": "fc"}}],
            }
        },
        "input": {"shape": [4, 4, 2], "name": "pixels"},
        "layers": ["flatten", {"unit": {"n": "{{ classes }}"}}],
    }


def _inert_tree(source: str, strings: set[str]) -> str:
    """The module's AST with every hostile string constant replaced by a placeholder,
    and docstrings (the module's and functions': the spec's and blocks' ``doc``, inert
    text once it parses as a docstring) left out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.FunctionDef)
            and ast.get_docstring(node, clean=False) is not None
        ):
            node.body = node.body[1:]
        if isinstance(node, ast.Constant) and node.value in strings:
            node.value = "<hostile>"
    return ast.dump(tree)


def _generate(spec: dict, folder: Path) -> tuple[int, str, str]:
    path = folder / "hostile.yaml"
    path.write_text(dump(spec), encoding="utf-8")
    code, _, err = run_cli("codegen", str(path), "-o", str(folder / "out"))
    source = (folder / "out" / "hostile.py").read_text(encoding="utf-8") if code == 0 else ""
    return code, source, err


@settings(max_examples=EXAMPLES)
@given(doc=hostile_text, model_name=hostile_text, tag=hostile_text, block_doc=hostile_text)
def test_hostile_strings_are_refused_or_inert(doc, model_name, tag, block_doc, workdir):
    folder = Path(tempfile.mkdtemp(dir=workdir))
    code, source, err = _generate(_hostile_spec(doc, model_name, tag, block_doc), folder)
    event("refused" if code == 1 else "generated")
    assert code in (0, 1), err
    assert "Traceback" not in err
    if code == 1:  # refused at validation: a positioned spec error
        assert err and all(_DIAGNOSTIC.match(line) for line in err.splitlines()), err
        return
    tree = ast.parse(source)  # compiles
    compile(source, "hostile.py", "exec")
    imports = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    imports |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imports <= {"keras", "math"}, imports
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & _FORBIDDEN_NAMES, names & _FORBIDDEN_NAMES
    # The same spec with plain strings generates the same code: hostile text only ever
    # became string constants and comments.
    benign_code, benign, _ = _generate(_hostile_spec("doc", "plain", "tag", "doc"), folder)
    assert benign_code == 0
    hostile = {model_name or "Hostile", tag}  # an empty model_name means the spec's name
    assert _inert_tree(source, hostile) == _inert_tree(benign, {"plain", "tag"})


@pytest.mark.keras
@settings(max_examples=KERAS_EXAMPLES)
@given(doc=hostile_text, model_name=hostile_text, tag=hostile_text, block_doc=hostile_text)
def test_hostile_modules_build_the_model(doc, model_name, tag, block_doc, workdir):
    import keras
    from keras_compare import assert_same_model

    keras.backend.clear_session()
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec = _hostile_spec(doc, model_name, tag, block_doc)
    code, source, _ = _generate(spec, folder)
    assume(code == 0)
    target = folder / "hostile_module.py"
    target.write_text(source, encoding="utf-8")
    generated = import_module(target).Hostile()
    built = archspec.build(folder / "hostile.yaml")
    assert generated.name == built.name == archspec.lower(folder / "hostile.yaml").model_name
    assert_same_model(generated, built, names="all")
