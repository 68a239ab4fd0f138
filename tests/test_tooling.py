"""Editor schema, diagrams and machine-readable output."""

from __future__ import annotations

import json
import os
import shutil

import jsonschema
import pytest
import yaml
from conftest import ROOT, SPECS

import archspec
from archspec.analysis.json_schema import schemas
from archspec.core.cost import total_macs
from archspec.frontend.schema import Library

LIBRARIES = sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "archspec" / "blocks").glob("*.yaml")
)


def validator(name: str):
    return jsonschema.Draft202012Validator(json.loads(schemas()[name]))


def test_schema_files_are_fresh(cli):
    assert cli("schema", "--check").code == 0
    for name, text in schemas().items():
        assert (ROOT / "schema" / name).read_text() == text


@pytest.mark.parametrize("spec", SPECS)
def test_every_spec_validates_and_names_its_schema(spec):
    text = (ROOT / spec).read_text()
    errors = list(validator("spec.schema.json").iter_errors(yaml.safe_load(text)))
    assert errors == []
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (ROOT / spec).parent / first.split("$schema=", 1)[1]
    assert target.resolve() == (ROOT / "schema" / "spec.schema.json").resolve()


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_library_validates(library):
    text = (ROOT / library).read_text()
    assert list(validator("library.schema.json").iter_errors(yaml.safe_load(text))) == []
    assert Library.model_validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text",
    [
        "name: M\ninput: {shape: [8, 8, 3]}\nlayers: [{conv2d: {filterz: 3}}]\n",
        "name: M\ninput: {shape: [8, 8, 3]}\nlayers: [{conv2d: {filters: 3, padding: sideways}}]\n",
        "name: M\nlayers: [flatten]\n",
        "name: M\ninput: {shape: [8, 8, 3]}\nlayers: [flatten]\nnamig: keras\n",
    ],
)
def test_schema_flags_mistakes(text):
    assert list(validator("spec.schema.json").iter_errors(yaml.safe_load(text)))


def test_check_json(cli):
    result = cli("check", "specs/resnet50.yaml", "--format", "json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["model"]["total_params"] == 23_600_006
    assert data["model"]["layers"] == 177 == len(data["layers"])
    assert [s["label"] for s in data["stages"]] == [
        "stem",
        "stage 2",
        "stage 3",
        "stage 4",
        "stage 5",
        "head",
    ]
    stage3 = data["stages"][2]
    assert stage3["blocks"] == [
        {"kind": "convolutional", "count": 1},
        {"kind": "identity", "count": 3},
    ]
    assert (stage3["params"], stage3["output_shape"]) == (1_230_336, [None, 8, 8, 512])


def test_errors_as_json_and_github(cli, write):
    path = write("name: M\ninput: {shape: [8, 8, 3]}\nlayers:\n  - flaten\n")
    result = cli("check", path, "--format", "json")
    assert result.code == 1
    (error,) = json.loads(result.out)["errors"]
    assert (error["file"], error["line"], error["column"], error["path"]) == (
        path,
        4,
        5,
        "layers[0]",
    )
    assert error["code"] == "unknown-kind"
    assert "did you mean 'flatten'" in error["message"]
    result = cli("check", path, "--format", "github")
    assert result.code == 1
    assert (
        f"::error file={path},line=4,col=5,title=archspec unknown-kind::"
        "layers[0]: unknown layer or block kind 'flaten'" in result.out
    )


def test_macs_by_hand():
    from archspec.core.cost import macs

    graph = archspec.lower("specs/resnet50.yaml")
    assert macs(graph.node("conv1"), graph) == 32 * 32 * 64 * 7 * 7 * 3  # 32x32 out, 64 of 7x7x3
    assert macs(graph.node("fc6"), graph) == 2048 * 6
    mobilenet = archspec.lower("specs/keras/mobilenetv2.yaml")
    # the depthwise 3x3 of block 1: 112x112 input, stride 2 -> 56x56, 96 channels
    assert macs(mobilenet.node("block_1_depthwise"), mobilenet) == 56 * 56 * 96 * 9


@pytest.mark.keras
@pytest.mark.parametrize(
    "spec", ["specs/resnet50.yaml", "specs/keras/mobilenetv2.yaml", "specs/keras/densenet121.yaml"]
)
def test_macs_equal_tensorflow_profiler(spec):
    """TensorFlow's profiler counts 2 FLOPs per multiply-accumulate of Conv2D,
    DepthwiseConv2dNative and MatMul; ours must be exactly half of those."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = archspec.build(spec)
    shape = (1, *model.input_shape[1:])
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec(shape, tf.float32)
    )
    frozen = convert_variables_to_constants_v2(function)
    options = tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    )
    options = options.with_empty_output().build()
    options["account_type_regexes"] = ["Conv2D", "DepthwiseConv2dNative", "MatMul"]
    flops = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options).total_float_ops
    assert flops == 2 * total_macs(archspec.lower(spec))


@pytest.mark.parametrize("layers", [False, True])
def test_graph_dot_and_svg(cli, tmp_path, layers):
    extra = ["--layers"] if layers else []
    dot = tmp_path / "model.dot"
    assert cli("graph", "specs/resnet50.yaml", "-o", str(dot), *extra).code == 0
    source = dot.read_text()
    assert "cluster_stage_4" in source or "cluster_4a" in source
    assert "4×4×1024" in source  # shapes on the edges
    if shutil.which("dot"):
        svg = tmp_path / "model.svg"
        assert cli("graph", "specs/resnet50.yaml", "-o", str(svg), *extra).code == 0
        assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_graph_without_dot_writes_the_source(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = cli("graph", "specs/resnet50.yaml", "-o", str(tmp_path / "m.png"))
    assert result.code == 2
    assert "apt-get install graphviz" in result.err
    assert (tmp_path / "m.dot").is_file() and not (tmp_path / "m.png").exists()


def _same_graph(a, b) -> None:
    assert (a.name, a.model_name, a.outputs) == (b.name, b.model_name, b.outputs)
    assert [(n.name, n.op, n.attrs, n.inputs, n.shape, n.params) for n in a.nodes] == [
        (n.name, n.op, n.attrs, n.inputs, n.shape, n.params) for n in b.nodes
    ]


@pytest.mark.parametrize("spec", SPECS)
def test_render_is_a_spec_of_the_same_model(spec, cli, tmp_path):
    # a param set on the command line is rendered as the param's value
    changed = {"classes": 10} if "classes" in archspec.load(ROOT / spec).params else {}
    result = cli("render", spec, *[f"--set={k}={v}" for k, v in changed.items()])
    assert result.code == 0, result.err
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(result.out)
    data = yaml.safe_load(result.out)
    assert "imports" not in data and "extends" not in data and "defaults" not in data
    assert all(data["params"][k] == v for k, v in changed.items())
    _same_graph(archspec.lower(rendered), archspec.lower(ROOT / spec, **changed))
    assert list(validator("spec.schema.json").iter_errors(data)) == []


def _complete(words: list[str]) -> list[str]:
    import subprocess

    script = (
        'eval "$(archspec completion bash)"; '
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _archspec; "
        'echo "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return proc.stdout.split()


def test_bash_completion():
    assert _complete(["archspec", "ch"]) == ["check"]
    assert _complete(["archspec", "check", "--la"]) == ["--layers"]
    assert "--style" in _complete(["archspec", "codegen", "--"])
    assert _complete(["archspec", "data", "s"]) == ["synth-signs"]


def test_every_command_shows_an_example(cli):
    from archspec.cli.completion import subcommands
    from archspec.cli.parser import build_parser

    commands = subcommands(build_parser())
    assert {"check", "build", "codegen", "graph", "schema", "render", "completion"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert "example" in text and f"archspec {name}" in text, name


STATIC_COMMANDS = [
    ["check", "specs/keras/mobilenetv2.yaml"],
    ["codegen", "specs/resnet50.yaml", "-o", "{tmp}"],
    ["render", "specs/keras/resnet101.yaml"],
    ["graph", "specs/resnet50.yaml", "-o", "{tmp}/model.dot"],
    ["schema", "-o", "{tmp}"],
    ["diff", "specs/keras/resnet50.yaml", "specs/keras/resnet152.yaml"],
]


@pytest.mark.parametrize("command", STATIC_COMMANDS, ids=[c[0] for c in STATIC_COMMANDS])
def test_static_commands_do_not_import_tensorflow(command, tmp_path):
    """check, codegen, render, graph, schema and diff of specs stay free of TensorFlow."""
    import subprocess
    import sys

    args = [a.format(tmp=tmp_path) for a in command]
    code = (
        "import sys; from archspec.cli.main import main; rc = main(sys.argv[1:]);"
        "sys.exit(rc or 10 * any(m in sys.modules for m in ('tensorflow', 'keras')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == (1 if command[0] == "diff" else 0), (
        proc.stderr
    )  # diff: 1, they differ


def test_an_input_shape_of_expressions(write):
    # each size may be an expression, as the whole list may; the editor schema agrees
    text = 'name: M\nparams: {n: 8}\ninput: {shape: ["{{ n }}", "{{ n * 2 }}", 3]}\nlayers: [flatten]\n'
    path = write(text)
    assert archspec.lower(path).node("input_layer").shape == (8, 16, 3)
    assert list(validator("spec.schema.json").iter_errors(yaml.safe_load(text))) == []
    with pytest.raises(archspec.SpecError) as err:
        archspec.lower(write(text.replace("n * 2", "n / 3")))
    assert ":3:16: error: input.shape: expected a list of positive sizes" in str(err.value)


@pytest.mark.keras
def test_tensorflow_is_quiet_on_the_command_line_and_left_alone_in_a_library(tmp_path):
    """`build` prints no TensorFlow, absl or CUDA line on stderr; `--verbose` lets them
    through; archspec used as a library sets no TF_CPP_MIN_LOG_LEVEL in the process."""
    import subprocess
    import sys

    spec = tmp_path / "tiny.yaml"
    spec.write_text("name: Tiny\ninput: {shape: [4]}\nlayers: [{dense: {units: 2}}]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "tiny.keras"
    proc = subprocess.run(
        [sys.executable, "-m", "archspec", "build", str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    # what TensorFlow itself leaves in the environment (some versions set the variable
    # on import), and what archspec's API leaves: the same
    probe = "import os, {}; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    seen = []
    for code in (
        probe.format("keras, tensorflow"),
        probe.format(f"archspec; archspec.build(archspec.load({str(spec)!r}))"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        seen.append(proc.stdout.strip().splitlines()[-1])
    assert seen[0] == seen[1], seen
