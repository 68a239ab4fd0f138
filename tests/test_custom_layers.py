"""Custom layers: a package registers kinds through an ``archspec.layers`` entry point,
archspec finds them only when a spec names a kind it lacks, and spec text never imports.

A third-party plugin is installed for real (a ``*.dist-info`` directory on ``sys.path``,
which ``importlib.metadata`` reads as pip would leave it); archspec's own plugins
(keras.applications' LayerScale, StochasticDepth and CustomScaleLayer, the sum of two
tensors as an Add operation, archspec's PositionEmbedding) are
found through the entry points of archspec's pyproject.toml. The kinds they register have
their hand-worked rows here (tests/test_ops.py has the built-in catalogue's), and the
keras-marked tests build them against keras.applications' own classes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import archspec
from archspec.backends.python.codegen import module_source
from archspec.core.ops import KINDS, OPS, custom, layer_weights, lookup
from archspec.core.ops.custom import GROUP, PluginError, register_layer
from archspec.core.ops.rules import ShapeError, size_of
from archspec.diagnostics import SpecError

OWN = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "entry-points"
][GROUP]


def install(folder: Path, name: str, entry_points: dict[str, str]) -> Path:
    """Write a distribution's metadata, as an installer leaves it, under ``folder``."""
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"[{GROUP}]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return folder


def _plugin_modules() -> set[str]:
    return {ep.module for ep in importlib.metadata.entry_points(group=GROUP)}


@pytest.fixture
def catalogue(monkeypatch, tmp_path):
    """The built-in catalogue with no plugin loaded, and archspec's own entry points
    installed; everything restored afterwards. Where the installed archspec's metadata
    predates this checkout's pyproject.toml (an editable install of another checkout),
    its entry points are installed beside it."""
    if not set(OWN.values()) <= {ep.value for ep in importlib.metadata.entry_points(group=GROUP)}:
        monkeypatch.syspath_prepend(str(install(tmp_path / "own", "archspec_checkout", OWN)))
    ops, kinds = dict(OPS), dict(KINDS)
    for table in (OPS, KINDS):
        for name in [n for n, op in table.items() if op.module is not None]:
            del table[name]
    monkeypatch.setattr(custom, "_scanned", False)
    monkeypatch.setattr(custom, "_failure", None)
    # Registration modules are imported afresh, so that they register again.
    stashed = {n: sys.modules.pop(n) for n in _plugin_modules() if n in sys.modules}
    yield
    for name in _plugin_modules():
        sys.modules.pop(name, None)
    sys.modules.update(stashed)
    for table, saved in ((OPS, ops), (KINDS, kinds)):
        table.clear()
        table.update(saved)


# A third-party plugin: its registration (no Keras) and its Keras class, apart.
PLUGIN = """
from archspec.core.ops.custom import Args, Weight, register_layer


class ScaleArgs(Args):
    factor: float = 2.0
    units: int


register_layer(
    "zz_scale",
    keras_class="zz_layers:Scale",
    args=ScaleArgs,
    weights=lambda attrs, shapes: (Weight("bias", (attrs["units"],)),),
    primary="factor",
)
"""
LAYERS = '''
import keras


class Scale(keras.layers.Layer):
    """x * factor + bias (not registered with Keras: archspec passes it on loading)."""

    def __init__(self, factor=2.0, units=1, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.units = factor, units

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="ones")

    def call(self, x):
        return x * self.factor + self.bias

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "units": self.units}
'''
SPEC = """
name: ZZ
input: {shape: [8, 3]}
layers:
  - dense: {units: 3, name: fc}
  - zz_scale: {factor: 0.5, units: 3, name: scaled}
  - zz_scale: {units: 3}
"""


@pytest.fixture
def third_party(catalogue, monkeypatch, tmp_path, write):
    """The zz plugin installed (modules and metadata); returns its spec's path."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "zz_plugin.py").write_text(PLUGIN)
    (folder / "zz_layers.py").write_text(LAYERS)
    monkeypatch.syspath_prepend(str(install(folder, "zz_plugin", {"zz": "zz_plugin"})))
    return write(SPEC)


def test_a_plugin_is_found_through_its_entry_point(third_party):
    graph = archspec.lower(third_party)
    scaled = graph.node("scaled")
    assert (scaled.op, scaled.keras_class, scaled.attrs) == (
        "zz_scale",
        "Scale",
        {"factor": 0.5, "units": 3},
    )
    assert (scaled.shape, scaled.trainable) == ((8, 3), 3)
    assert graph.nodes[-1].name == "scale"  # Keras's auto-name for the class
    for style in ("structured", "flat"):
        source = module_source(third_party, style)
        assert "from zz_layers import Scale\n" in source
        assert 'Scale(factor=0.5, units=3, name="scaled")' in source
    assert "zz_layers" not in sys.modules  # the class is imported by a build only


def test_check_and_codegen_import_no_keras(third_party):
    code = (
        "import sys, archspec\n"
        "from archspec.backends.python.codegen import module_source\n"
        f"archspec.lower({third_party!r}); module_source({third_party!r}, 'flat')\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'zz_layers') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    ).stdout
    assert out.strip() == "[]"


def _env() -> dict:
    """This process's environment with its ``sys.path`` (the test's installs included)."""
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def test_a_spec_of_built_in_kinds_never_scans_for_plugins(catalogue, monkeypatch):
    scans = []
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: scans.append(kw) or ())
    archspec.lower(ROOT / "specs" / "resnet50.yaml")
    assert scans == []
    assert lookup("no_such_kind") is None and scans == [{"group": GROUP}]
    assert lookup("no_such_kind_either") is None and len(scans) == 1  # once per process


def test_spec_text_never_imports(catalogue, monkeypatch, tmp_path, write):
    (tmp_path / "zz_never.py").write_text("raise SystemExit('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = write(
        """
        name: Sneaky
        input: {shape: [4, 4, 3]}
        blocks:
          pair:
            branches: [[], [relu]]
            merge: "zz_never:Layer"
        layers:
          - "zz_never:Layer"
          - zz_never.Layer: {}
          - keras.layers.Dense: {units: 2}
          - zz_never
        """
    )
    with pytest.raises(SpecError) as info:
        archspec.lower(spec)
    assert {p.code for p in info.value.problems} == {"unknown-kind"}
    assert "zz_never" not in sys.modules


BROKEN = [
    # (plugin module source, or None for a module that does not exist; message)
    (None, "plugin 'broken' (zz_broken, from zz_broken): cannot load it: ModuleNotFoundError"),
    ("raise RuntimeError('boom')", "cannot load it: RuntimeError: boom"),
    (
        "from archspec.core.ops.custom import register_layer\n"
        "register_layer('relu', keras_class='zz_layers:ReLU')",
        "plugin 'broken' (zz_broken, from zz_broken): op kind 'relu' is already registered",
    ),
    (
        "from archspec.core.ops.custom import register_layer\n"
        "register_layer('zz_a', keras_class='zz_layers:A')\n"
        "register_layer('zz_a', keras_class='zz_layers:B')",
        "op kind 'zz_a' is already registered",
    ),
    (
        "from archspec.core.ops.custom import register_layer\n"
        "register_layer('zz_a', keras_class='Dense')",
        "keras_class must be 'package.module:ClassName'; received 'Dense'",
    ),
    (
        "from archspec.core.ops.custom import register_layer\n"
        "register_layer('zz_a', keras_class='zz_layers:A', category='shiny')",
        "unknown category 'shiny'",
    ),
]


@pytest.mark.parametrize(("source", "message"), BROKEN)
def test_a_broken_plugin_is_named(catalogue, monkeypatch, tmp_path, write, cli, source, message):
    if source is not None:
        (tmp_path / "zz_broken.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(install(tmp_path, "zz_broken", {"broken": "zz_broken"})))
    spec = write("name: M\ninput: {shape: [3]}\nlayers: [zz_unknown]\n")
    result = cli("check", spec)
    assert result.code == 2
    assert result.err.startswith(f"archspec: error: {GROUP} plugin 'broken'")
    assert message in result.err and "Traceback" not in result.err
    with pytest.raises(PluginError, match="plugin 'broken'"):  # and at every later lookup
        lookup("zz_unknown")
    # A spec of built-in kinds never meets it.
    assert cli("check", "specs/resnet50.yaml").code == 0


def test_a_plugin_may_name_a_function(catalogue, monkeypatch, tmp_path):
    (tmp_path / "zz_fn.py").write_text(
        "from archspec.core.ops.custom import register_layer\n"
        "def register():\n"
        "    register_layer('zz_fn', keras_class='zz_layers:Fn')\n"
    )
    monkeypatch.syspath_prepend(str(install(tmp_path, "zz_fn", {"fn": "zz_fn:register"})))
    assert lookup("zz_fn").module == "zz_layers"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "Bad-Kind"}, "expected lower-case letters"),
        ({"aliases": ("ok", "not ok")}, "custom layer kind 'not ok'"),
        ({"keras_class": "zz.layers.Scale"}, "must be 'package.module:ClassName'"),
        (
            {"keras_class": "keras.src.applications.convnext:LayerScale"},
            "is already kind 'layer_scale'",
        ),
        ({"args": dict}, "args must be a subclass of archspec's Args"),
        ({"args": "InitArgs"}, "initializer argument 'init' must be named '..._initializer'"),
        ({"shape": "same"}, "shape must be a function"),
        ({"positional": ("nothing",)}, "no argument nothing"),
    ],
)
def test_registrations_are_checked(catalogue, fields, message):
    from archspec.core.ops.custom import Args, Initializer

    class InitArgs(Args):
        init: Initializer = "zeros"

    if fields.get("args") == "InitArgs":
        fields = {**fields, "args": InitArgs}
    custom.load_plugins()  # archspec's own: a class they registered is taken
    before = set(OPS)
    with pytest.raises(ValueError, match=message):
        register_layer(**{"kind": "zz_x", "keras_class": "zz_layers:X", **fields})
    assert set(OPS) == before


def test_registration_imports_no_keras():
    modules = ", ".join(ep.split(":")[0] for ep in OWN.values())
    code = f"import sys, {modules}\nprint('keras' in sys.modules or 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_installed_entry_points_are_pyproject_s():
    """After ``pip install -e .`` the installed metadata lists archspec's plugins (skipped
    where the installed archspec is another checkout, whose metadata may be older)."""
    dist = importlib.metadata.distribution("archspec")
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if url and Path(url.removeprefix("file://")).resolve() != ROOT:
        pytest.skip(f"the installed archspec is {url}, not this checkout")
    installed = {ep.name: ep.value for ep in dist.entry_points if ep.group == GROUP}
    assert installed == OWN, "reinstall: pip install -e ."


def test_listings_describe_the_built_in_catalogue(catalogue):
    """The JSON Schema and docs/language.md's table do not depend on what is installed:
    they are made where no plugin is loaded (``archspec schema`` never looks one up), so
    the published schema flags a plugin's kind in a spec with no blocks of its own; one
    written with ``--plugins`` knows the installed plugins' kinds."""
    import jsonschema

    from archspec.analysis.catalogue import catalogue_table
    from archspec.analysis.json_schema import spec_schema

    assert "layer_scale" not in catalogue_table()
    spec = {
        "name": "S",
        "input": {"shape": [4, 8]},
        "layers": [{"layer_scale": {"init_values": 0.1, "projection_dim": 8}}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, spec_schema())
    jsonschema.validate(spec, spec_schema(plugins=True))
    with pytest.raises(jsonschema.ValidationError):  # its arguments are checked too
        jsonschema.validate(
            {**spec, "layers": [{"layer_scale": {"init_valuez": 0.1}}]}, spec_schema(plugins=True)
        )


# ---- archspec's own plugins: hand-worked figures ---------------------------------------

# (kind, args, input shapes, output shape, (trainable, non-trainable), MACs)
CASES = [
    # gamma: one value per channel; x * gamma multiplies no kernel, so no MACs (as batch_norm)
    ("layer_scale", {"init_values": 1e-6, "projection_dim": 96}, [(7, 7, 96)], (7, 7, 96),
     (96, 0), 0),
    ("layer_scale", {"init_values": 0.5, "projection_dim": 4}, [(None, 4)], (None, 4), (4, 0), 0),
    # x + scale · r: no weights
    ("custom_scale_layer", {"scale": 0.17}, [(35, 35, 320), (35, 35, 320)], (35, 35, 320),
     (0, 0), 0),
    # drops whole examples' paths in training: no weights
    ("stochastic_depth", {"drop_path_rate": 0.1}, [(7, 7, 96)], (7, 7, 96), (0, 0), 0),
    # x + y of two tensors, broadcast as the add layer's
    ("tensor_add", {}, [(7, 7, 96), (7, 7, 96)], (7, 7, 96), (0, 0), 0),
    ("tensor_add", {}, [(7, 7, 96), (1, 1, 96)], (7, 7, 96), (0, 0), 0),
    # one embedding per position: 197 · 64 = 12,608
    ("position_embedding", {}, [(197, 64)], (197, 64), (12_608, 0), 0),
    ("position_embedding", {"embeddings_initializer": {"random_normal": {"stddev": 0.02}}},
     [(16, 8)], (16, 8), (128, 0), 0),
]  # fmt: skip

ERRORS = [
    ("layer_scale", {"init_values": 0.1, "projection_dim": 8}, [(4, 4, 3)],
     "projection_dim=8 differs from the input's channels 3", "incompatible-argument"),
    ("layer_scale", {"init_values": 0.1, "projection_dim": 8}, [(4, None)],
     "channels must be known", "unknown-size"),
    ("custom_scale_layer", {"scale": 1.0}, [(4, 3)] * 3, "takes two inputs", "shape-mismatch"),
    ("custom_scale_layer", {"scale": 1.0}, [(4, 3), (4, 2)], "inputs of different shapes",
     "shape-mismatch"),
    ("tensor_add", {}, [(4, 3), (4, 2)], "inputs of different shapes", "shape-mismatch"),
    ("position_embedding", {}, [(4, 4, 3)], "expects an input of shape (sequence_length, features)",
     "shape-mismatch"),
    ("position_embedding", {}, [(None, 8)], "sequence length must be known", "unknown-size"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "shapes", "shape", "params", "macs"), CASES)
def test_shape_params_macs(catalogue, kind, args, shapes, shape, params, macs):
    op = lookup(kind)
    validated = op.args.model_validate(args)
    out = op.shape(validated, shapes)
    assert out == shape
    assert op.params(validated, shapes, out) == params
    attrs = validated.model_dump()
    assert size_of(layer_weights(kind, attrs, shapes)) == params
    assert op.macs(attrs, shapes, out) == macs


@pytest.mark.parametrize(("kind", "args", "shapes", "message", "code"), ERRORS)
def test_check_time_errors(catalogue, kind, args, shapes, message, code):
    op = lookup(kind)
    with pytest.raises(ShapeError) as info:
        op.shape(op.args.model_validate(args), shapes)
    assert message in str(info.value)
    assert info.value.code == code


def test_every_own_plugin_kind_has_a_case(catalogue):
    custom.load_plugins()
    assert {case[0] for case in CASES} == {k for k, op in OPS.items() if op.module is not None}


# ---- against Keras ---------------------------------------------------------------------

# InceptionResNetV2's residual (x + scale · r, the shortcut first) and ConvNeXt's scale.
SCALED = """
name: Scaled
input: {shape: [8, 8, 4]}
blocks:
  residual:
    params: {scale: float}
    branches:
      - []
      - [conv2d: {filters: 4, kernel_size: 3, padding: same}]
    merge: {custom_scale_layer: "{{ scale }}"}
layers:
  - residual: {scale: 0.17, name: block35_1}
  - conv2d: {filters: 8, kernel_size: 1, name: proj}
  - layer_scale: {init_values: 1.0e-6, projection_dim: 8, name: proj_layer_scale}
  - layer_scale: {init_values: 0.5, projection_dim: 8}
"""


def _by_hand():
    import keras
    from keras import layers
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    inputs = keras.Input(shape=(8, 8, 4), name="input_layer")
    up = layers.Conv2D(4, 3, padding="same", name="block35_1_conv")(inputs)
    x = CustomScaleLayer(0.17, name="block35_1_scale")([inputs, up])
    x = layers.Conv2D(8, 1, name="proj")(x)
    x = LayerScale(1e-6, 8, name="proj_layer_scale")(x)
    x = LayerScale(0.5, 8)(x)
    return keras.Model(inputs, x, name="Scaled")


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unnumbered(name: str) -> str:
    return re.sub(r"^variable_\d+$", "variable", name)


def _same_everywhere(path: str, expected, tmp_path: Path, atol: float = 1e-5) -> None:
    """The built model equals ``expected`` (configs, weights, outputs), both generated
    styles build it, and a saved .keras reads back to the graph's kinds."""
    from keras_compare import assert_same_model, assert_same_outputs

    from archspec.backends.keras.read import load_saved

    built = archspec.build(path)
    assert_same_model(built, expected)
    assert_same_outputs(built, expected, atol=atol)
    for a, b in zip(built.weights, expected.weights, strict=True):
        # An unnamed variable is "variable" with a per-session counter (LayerScale's gamma).
        assert (_unnumbered(a.name), tuple(a.shape), a.trainable) == (
            _unnumbered(b.name),
            tuple(b.shape),
            b.trainable,
        )
    graph = archspec.lower(path)
    for style in ("structured", "flat"):
        module = tmp_path / f"{graph.name.lower()}_{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        assert_same_model(_import(module).__dict__[graph.name](), built, names="all")
    built.save(tmp_path / "model.keras")
    back, _ = load_saved(tmp_path / "model.keras")
    for a, b in zip(graph.nodes, back.nodes, strict=True):
        assert (b.op, b.attrs, b.shape) == (a.op, a.attrs, a.shape), a.name
        assert (b.trainable, b.non_trainable) == (a.trainable, a.non_trainable), a.name


@pytest.mark.keras
def test_keras_applications_layers_equal_keras_own(catalogue, write, tmp_path):
    _same_everywhere(write(SCALED), _by_hand(), tmp_path)


# ConvNeXt's residual, ``inputs + layer(x)``, with its layer a StochasticDepth: the sum
# of two tensors is Keras's Add operation (not a layer), under the name the spec gives.
RESIDUAL = """
name: Residual
input: {shape: [8, 8, 4]}
layers:
  - conv2d: {filters: 4, kernel_size: 3, padding: same, name: conv}
  - stochastic_depth: {drop_path_rate: 0.25, name: drop}
  - tensor_add: {from: [input_layer, drop], name: add}
  - dense: {units: 2, name: fc}
"""


@pytest.mark.keras
def test_a_residual_sum_is_keras_add_operation(catalogue, write, tmp_path):
    import keras
    from keras.src.applications.convnext import StochasticDepth
    from keras_compare import assert_same_model, assert_same_outputs

    keras.backend.clear_session()  # the sum's name is Keras's first "add"
    inputs = keras.Input(shape=(8, 8, 4), name="input_layer")
    x = StochasticDepth(0.25, name="drop")(
        keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    )
    x = keras.layers.Dense(2, name="fc")(inputs + x)
    expected = keras.Model(inputs, x, name="Residual")
    path = write(RESIDUAL)
    built = archspec.build(path)
    assert built.get_config() == expected.get_config()
    assert_same_model(built, expected, names="all")
    assert_same_outputs(built, expected, atol=1e-5)
    for style in ("structured", "flat"):
        module = tmp_path / f"residual_{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        assert _import(module).Residual().get_config() == built.get_config(), style


@pytest.mark.keras
@pytest.mark.parametrize("shape", [(1, 1), (16, 8), (197, 32)])
def test_position_embedding_against_keras(catalogue, write, tmp_path, shape):
    import keras

    from archspec.plugins.layers import PositionEmbedding

    init = {"random_normal": {"stddev": 0.02, "seed": 3}}
    spec = {
        "name": "Embedded",
        "input": {"shape": list(shape)},
        "layers": [{"position_embedding": {"embeddings_initializer": init, "name": "pos"}}],
    }
    path = write(yaml.safe_dump(spec))
    inputs = keras.Input(shape=shape, name="input_layer")
    own = PositionEmbedding(keras.initializers.RandomNormal(stddev=0.02, seed=3), name="pos")
    expected = keras.Model(inputs, own(inputs), name="Embedded")
    node = archspec.lower(path).node("pos")
    assert node.output_shape == tuple(own.output.shape)
    assert [
        (w.name, w.shape) for w in layer_weights("position_embedding", node.attrs, [shape])
    ] == [(w.name, tuple(w.shape)) for w in own.weights]
    assert node.trainable == own.count_params()
    _same_everywhere(path, expected, tmp_path)


@pytest.mark.keras
def test_a_third_party_layer_builds_and_reads_back(third_party, tmp_path):
    import keras
    from zz_layers import Scale

    inputs = keras.Input(shape=(8, 3), name="input_layer")
    x = keras.layers.Dense(3, name="fc")(inputs)
    x = Scale(0.5, 3, name="scaled")(x)
    expected = keras.Model(inputs, Scale(units=3)(x), name="ZZ")
    _same_everywhere(third_party, expected, tmp_path)


@pytest.mark.keras
def test_a_class_that_cannot_be_imported_is_named(catalogue, write):
    register_layer("zz_gone", keras_class="zz_nowhere.layers:Gone")
    with pytest.raises(PluginError, match=r"custom layer 'zz_gone': cannot import zz_nowhere"):
        archspec.build(write("name: M\ninput: {shape: [3]}\nlayers: [zz_gone]\n"))


def test_docs_show_every_own_plugin_kind(catalogue):
    custom.load_plugins()
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text[text.index("## Custom layers") :]
    for kind, op in OPS.items():
        if op.module is not None:
            assert f"`{kind}`" in section, kind
