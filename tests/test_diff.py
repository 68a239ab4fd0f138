"""archspec diff: exact figures for known changes, the weight-compatibility verdict
(checked against Keras's own by-name loader), git revisions, JSON against its
documented schema, and no TensorFlow for two specs."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BUILT_SPECS, ROOT, SPECS

import archspec
from archspec.analysis.diff.match import compare
from archspec.analysis.diff.model import spec_side
from archspec.core.ops import layer_weights

SEED = ROOT / "specs" / "resnet50.yaml"
SEED_TEXT = SEED.read_text(encoding="utf-8")


def variant(tmp_path: Path, old: str, new: str, name: str = "variant.yaml") -> str:
    """The seed spec with one textual edit, written beside nothing else (it imports the
    shipped ``resnet`` library by name)."""
    assert SEED_TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(SEED_TEXT.replace(old, new), encoding="utf-8")
    return str(path)


def conv(k: int, cin: int, cout: int) -> int:
    return k * k * cin * cout + cout


def bn(c: int) -> int:
    return 4 * c  # gamma, beta trainable; moving mean and variance not


def bottleneck(cin: int, f1: int, f2: int, f3: int, k: int = 3) -> int:
    """Params of the seed's identity block (1x1, kxk, 1x1 convolutions with biases)."""
    return conv(1, cin, f1) + bn(f1) + conv(k, f1, f2) + bn(f2) + conv(1, f2, f3) + bn(f3)


SCHEMA = json.loads(
    re.search(
        r"```json schema\n(.*?)```",
        (ROOT / "docs" / "diff.md").read_text(encoding="utf-8"),
        re.DOTALL,
    )[1]
)


def valid_json(result) -> dict:
    import jsonschema

    data = json.loads(json.dumps(result.as_json()))
    jsonschema.validate(data, SCHEMA)
    return data


# ---- the weight rules agree with the parameter counts ------------------------------------


@pytest.mark.parametrize("spec", SPECS)
def test_weight_shapes_add_up_to_the_params_of_every_layer(spec):
    graph = archspec.lower(ROOT / spec)
    shapes = {n.name: n.shape for n in graph.nodes}
    for node in graph.nodes:
        if node.op == "input":
            continue
        weights = layer_weights(node.op, node.attrs, [shapes[i] for i in node.inputs])
        trainable = sum(math.prod(w.shape) for w in weights if w.trainable)
        frozen = sum(math.prod(w.shape) for w in weights if not w.trainable)
        # a layer called again (a shared tower) counts its weights at its first call
        owner = graph.node(node.shares) if node.shares else node
        assert (trainable, frozen) == (owner.trainable, owner.non_trainable), node.name
        assert not node.shares or (node.trainable, node.non_trainable) == (0, 0), node.name


@pytest.mark.parametrize("spec", SPECS)
def test_a_spec_is_identical_to_itself(spec):
    result = archspec.diff(ROOT / spec, ROOT / spec)
    assert result.verdict == "identical" and result.exit_code == 0
    assert result.layers == [] and result.breaking == []
    valid_json(result)


# ---- the seed against a deeper stage 4 ---------------------------------------------------


def test_seed_against_22_identity_blocks_in_stage_4(tmp_path, cli):
    deeper = variant(tmp_path, "identity x 5]", "identity x 22]")
    result = archspec.diff(SEED, deeper)
    # 17 new identity blocks 4g..4w: each 3 conv2d, 3 batch_norm, 2 inner relu, add, relu
    block = bottleneck(1024, 256, 256, 1024)
    assert block == 1_121_792
    added = 17 * block
    assert added == 19_070_464
    assert result.count("added") == 17 * 10
    assert result.count("removed") == result.count("renamed") == result.count("changed") == 0
    assert result.a.graph.total == 23_600_006
    assert result.b.graph.total == 23_600_006 + added
    assert result.b.graph.non_trainable - result.a.graph.non_trainable == 17 * 2 * (
        256 + 256 + 1024
    )
    letters = "ghijklmnopqrstuvw"
    assert [c.name for c in result.layers if c.change == "added"][:3] == [
        "res4g_branch2a",
        "bn4g_branch2a",
        "res4g_branch2a_relu",
    ]
    assert {c.place.block for c in result.layers if c.change == "added"} == {
        f"4{x}" for x in letters
    }
    # the first block after them now reads from 4w: rewired, not changed
    rewired = {c.name: c.inputs for c in result.layers if c.change == "rewired"}
    assert rewired == {
        "res5a_branch2a": (("res4f_relu",), ("res4w_relu",)),
        "res5a_branch1": (("res4f_relu",), ("res4w_relu",)),
    }
    [run] = result.runs
    assert (run.stage, run.change, run.kind, run.blocks[0], run.blocks[-1], len(run.blocks)) == (
        4,
        "added",
        "identity",
        "4g",
        "4w",
        17,
    )
    assert run.params == added
    assert run.text() == "+17 identity blocks (4g…4w)"
    # every weighted layer of the seed (53 conv2d, 53 batch_norm, fc6) loads
    assert result.verdict == "compatible" and result.breaking == []
    assert len(result.loaded) == 53 + 53 + 1
    assert len(result.new_weights) == 17 * 6
    data = valid_json(result)
    assert data["params"]["total"] == {"a": 23_600_006, "b": 42_670_470, "delta": 19_070_464}
    assert sum(item["params"] for item in data["weights"]["new"]) == added

    out = cli("diff", str(SEED), deeper)
    assert out.code == 1, out.err
    assert "stage 4: +17 identity blocks (4g…4w), +19,070,464 params" in out.out
    assert "compatible: all 107 weighted layers of A load into B by name" in out.out
    assert "\x1b[" not in out.out  # no colour when not on a terminal


def test_keras_resnet50_against_resnet152(cli):
    a, b = "specs/keras/resnet50.yaml", "specs/keras/resnet152.yaml"
    result = archspec.diff(ROOT / a, ROOT / b)

    def block1(f: int) -> int:  # keras.applications' bottleneck, 4f channels in and out
        return bottleneck(4 * f, f, f, 4 * f)

    stages = [
        (r.stage, r.change, r.kind, r.blocks[0], r.blocks[-1], len(r.blocks), r.params)
        for r in result.runs
    ]
    assert stages == [
        (3, "added", "block1", "conv3_block5", "conv3_block8", 4, 4 * block1(128)),
        (4, "added", "block1", "conv4_block7", "conv4_block36", 30, 30 * block1(256)),
    ]
    assert result.b.graph.total - result.a.graph.total == 4 * block1(128) + 30 * block1(256)
    assert (
        result.b.graph.total - result.a.graph.total == 60_419_944 - 25_636_712
    )  # the zoo's figures
    assert result.model == {"model_name": ("resnet50", "resnet152")}
    assert result.count("added") == 517 - 177
    assert result.verdict == "compatible"
    out = cli("diff", a, b)
    assert out.code == 1
    assert "stage 3: +4 block1 blocks (conv3_block5…conv3_block8), +1,129,472 params" in out.out
    assert "stage 4: +30 block1 blocks (conv4_block7…conv4_block36), +33,653,760 params" in out.out


# ---- breaking and non-breaking changes ---------------------------------------------------


def test_a_renamed_layer_is_breaking_and_named(tmp_path, cli):
    renamed = variant(tmp_path, "name: conv1}", "name: conv_1}")
    result = archspec.diff(SEED, renamed)
    [change] = result.layers
    assert (change.change, change.a.name, change.b.name) == ("renamed", "conv1", "conv_1")
    assert not (change.attrs or change.shape or change.inputs)
    assert result.verdict == "breaking"
    [problem] = result.breaking
    assert (problem.layer, problem.reason, problem.renamed_to) == ("conv1", "renamed", "conv_1")
    assert result.new_weights == ["conv_1"]
    assert len(result.loaded) == 106
    out = cli("diff", str(SEED), renamed)
    assert out.code == 1
    assert "top level: conv1 → conv_1" in out.out
    assert "breaking: 1 of 107 weighted layers of A will not load into B by name" in out.out
    assert "  conv1: renamed to conv_1: B has no layer 'conv1'" in out.out


def test_a_changed_stride_lists_the_shape_changes_from_that_layer_on(tmp_path):
    strided = variant(
        tmp_path,
        "blocks: [convolutional: {s: 2}, identity x 3]",
        "blocks: [convolutional: {s: 1}, identity x 3]",
    )
    result = archspec.diff(SEED, strided)
    a_nodes = [n.name for n in result.a.graph.nodes]
    after = a_nodes[a_nodes.index("res3a_branch2a") :]
    # every layer from stage 3 on changes its output shape, except the classifier
    shaped = [c.name for c in result.layers if c.shape]
    assert sorted(shaped) == sorted(n for n in after if n != "fc6")
    assert [(origins, len(names)) for origins, names in result.origins] == [
        (("res3a_branch2a", "res3a_branch1"), len(after) - 1)
    ]
    attrs = {c.name: c.attrs for c in result.layers if c.attrs}
    assert attrs == {
        "res3a_branch2a": {"strides": ((2, 2), (1, 1))},
        "res3a_branch1": {"strides": ((2, 2), (1, 1))},
    }
    by_name = {c.name: c for c in result.layers}
    assert by_name["res3a_branch2a"].shape == ((8, 8, 128), (15, 15, 128))
    assert by_name["bn3a_branch2a"].shape_from == ("res3a_branch2a",)
    assert by_name["res3a_add"].shape_from == ("res3a_branch2a", "res3a_branch1")
    # 15x15 through stage 3, then 8, 4; the 2x2 average pool leaves 2x2x2048 to flatten
    side = 15
    for _ in (4, 5):
        side = (side - 1) // 2 + 1
    flat = (side // 2) ** 2 * 2048
    assert by_name["flatten"].shape == ((2048,), (flat,))
    assert "fc6" not in shaped and by_name["fc6"].params == ((2048 * 6 + 6, 0), (flat * 6 + 6, 0))
    # conv kernels do not depend on the spatial size: only the classifier breaks
    [problem] = result.breaking
    assert (problem.layer, problem.reason) == ("fc6", "shape_changed")
    assert problem.weights == [("kernel", (2048, 6), (flat, 6)), ("bias", (6,), (6,))]
    assert [(r.stage, r.change, r.kind, tuple(r.blocks), r.aspects) for r in result.runs][:2] == [
        (3, "changed", "convolutional", ("3a",), ("strides", "output shape")),
        (3, "changed", "identity", ("3b", "3c", "3d"), ("output shape",)),
    ]
    text = result.render()
    assert (
        "output shapes change from res3a_branch2a, res3a_branch1 (strides (2, 2) → (1, 1))" in text
    )
    assert "fc6: shape changed: kernel (2048, 6) → (8192, 6)" in text
    valid_json(result)


def test_a_changed_activation_is_compatible_but_different(tmp_path, cli):
    sigmoid = variant(tmp_path, "activation: softmax", "activation: sigmoid")
    result = archspec.diff(SEED, sigmoid)
    [change] = result.layers
    assert (change.change, change.name, change.attrs) == (
        "changed",
        "fc6",
        {"activation": ("softmax", "sigmoid")},
    )
    assert not change.shape and result.origins == []
    assert result.verdict == "compatible" and result.exit_code == 1
    out = cli("diff", str(SEED), sigmoid, "--layers")
    assert out.code == 1
    assert "top level: ~fc6: activation" in out.out
    assert "~ fc6" in out.out and "activation 'softmax' → 'sigmoid'" in out.out


def test_removed_blocks_and_head(cli):
    out = cli(
        "diff",
        "specs/keras/resnet50.yaml",
        "specs/keras/resnet50.yaml",
        "--set-b",
        "depths=[3,4,6,2]",
        "--set-b",
        "include_top=false",
        "--set-b",
        "pooling=avg",
        "--format",
        "json",
    )
    assert out.code == 1, out.err
    data = json.loads(out.out)
    assert [b["summary"] for b in data["blocks"]] == ["-1 block1 block (conv5_block3)"]
    assert data["blocks"][0]["params_delta"] == -bottleneck(2048, 512, 512, 2048)
    assert {p["layer"]: p["reason"] for p in data["weights"]["breaking"]} == {
        **{f"conv5_block3_{i}_{k}": "missing" for i in (1, 2, 3) for k in ("conv", "bn")},
        "predictions": "missing",
    }
    assert data["model"]["outputs"] == {"a": ["predictions"], "b": ["avg_pool"]}


def test_set_applies_to_one_side_or_both(cli):
    same = cli("diff", "specs/resnet50.yaml", "specs/resnet50.yaml", "--set", "classes=10")
    assert same.code == 0, same.err
    assert "identical" in same.out
    other = cli(
        "diff",
        "specs/resnet50.yaml",
        "specs/resnet50.yaml",
        "--set-b",
        "classes=10",
        "--format",
        "json",
    )
    assert other.code == 1
    data = json.loads(other.out)
    [layer] = data["layers"]
    assert (layer["change"], layer["a"]["name"], layer["name"]) == ("renamed", "fc6", "fc10")
    assert layer["attrs"] == {"units": {"a": 6, "b": 10}}
    assert data["params"]["total"]["delta"] == 2048 * 4 + 4


def test_a_naming_scheme_change_renames_every_block_layer_in_place(tmp_path):
    keras_names = variant(tmp_path, "naming: caffe", "naming: keras")
    result = archspec.diff(SEED, keras_names)
    renames = {c.a.name: c.b.name for c in result.layers if c.change == "renamed"}
    assert (
        len(renames) == len(result.layers) == 4 * 12 + 12 * 10
    )  # 4 conv blocks, 12 identity blocks
    index = {}
    for b in result.a.graph.blocks:
        index[b.prefix] = b.index
    for old, new in renames.items():
        m = re.fullmatch(r"(res|bn)(\d)([a-f])_branch([0-9a-z]+)", old)
        if m:  # both convolutions of a conv block read the block input: matched by position
            kind = "conv" if m[1] == "res" else "bn"
            assert new == f"conv{m[2]}_block{index[m[2] + m[3]]}_{m[4]}_{kind}", old
    assert len(result.breaking) == 2 * (16 * 3 + 4)  # conv and bn of every block, shortcuts too
    assert {p.reason for p in result.breaking} == {"renamed"}


# ---- git revisions ---------------------------------------------------------------------


def git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path):
    """A git repository with a spec that imports a library by relative path."""
    shutil.copy(ROOT / "archspec" / "blocks" / "resnet.yaml", tmp_path / "blocks.yaml")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.yaml").write_text(
        SEED_TEXT.replace("imports: [resnet]", "imports: [../blocks.yaml]"), encoding="utf-8"
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "seed")
    return tmp_path


def test_against_head_on_a_modified_spec(repo, cli):
    spec = repo / "models" / "net.yaml"
    assert cli("diff", str(spec), "--against", "HEAD").code == 0
    spec.write_text(spec.read_text().replace("identity x 5]", "identity x 22]"), encoding="utf-8")
    result = archspec.diff(spec, against="HEAD")
    assert result.a.label == f"{spec}@HEAD"
    assert result.count("added") == 170
    assert result.b.graph.total - result.a.graph.total == 17 * bottleneck(1024, 256, 256, 1024)
    assert result.verdict == "compatible"
    out = cli("diff", str(spec), "--against", "HEAD")
    assert out.code == 1
    assert "stage 4: +17 identity blocks (4g…4w), +19,070,464 params" in out.out


def test_against_reads_imports_at_the_revision(repo):
    library = repo / "blocks.yaml"
    text = library.read_text()
    # the identity block's last activation (after the merge) becomes swish
    head, tail = text.split("  convolutional:")
    head = head.replace(
        "    after:\n      - activation: relu", "    after:\n      - activation: swish"
    )
    library.write_text(head + "  convolutional:" + tail, encoding="utf-8")
    result = archspec.diff(repo / "models" / "net.yaml", against="HEAD")
    identity = [b.prefix for b in result.b.graph.blocks if b.kind == "identity"]
    assert len(identity) == 2 + 3 + 5 + 2
    # the scheme names an activation after its function: renamed in place, and changed
    assert {(c.change, c.a.name, c.b.name): c.attrs for c in result.layers} == {
        ("renamed", f"res{p}_relu", f"res{p}_swish"): {"activation": ("relu", "swish")}
        for p in identity
    }
    assert result.verdict == "compatible"  # activations have no weights


def test_against_refuses_a_blob_over_the_limit_before_reading_it(repo, cli, monkeypatch):
    """A file too large at the revision is refused by its size, as git reports it,
    before its content is read."""
    spec = repo / "models" / "net.yaml"
    size = len(spec.read_bytes())
    reads = []
    real = subprocess.run

    def spy(args, *rest, **kwargs):
        reads.append(args[1:3])
        return real(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    out = cli("diff", str(spec), "--against", "HEAD", "--limit", f"max_file_bytes={size - 1}")
    monkeypatch.undo()
    assert out.code == 2, out.err
    assert f"net.yaml@HEAD: file is {size:,} bytes; the limit is {size - 1:,}" in out.err
    assert ["cat-file", "blob"] not in reads


def test_against_errors(repo, cli, tmp_path_factory):
    spec = str(repo / "models" / "net.yaml")
    out = cli("diff", spec, "--against", "no-such-rev")
    assert out.code == 2 and "unknown revision" in out.err
    new = repo / "models" / "new.yaml"
    new.write_text(
        SEED_TEXT.replace("imports: [resnet]", "imports: [../blocks.yaml]"), encoding="utf-8"
    )
    out = cli("diff", str(new), "--against", "HEAD")
    assert out.code == 2 and "not in revision HEAD" in out.err
    outside = tmp_path_factory.mktemp("plain") / "spec.yaml"
    outside.write_text(SEED_TEXT, encoding="utf-8")
    out = cli("diff", str(outside), "--against", "HEAD")
    assert out.code == 2 and "not inside a git repository" in out.err
    assert cli("diff", spec, spec, "--against", "HEAD").code == 2
    assert cli("diff", spec).code == 2


# ---- errors and speed ------------------------------------------------------------------


def test_an_invalid_spec_is_an_error_in_the_core_format(tmp_path, cli):
    broken = variant(tmp_path, "identity x 5]", "identiy x 5]")
    out = cli("diff", str(SEED), broken)
    assert out.code == 2
    assert re.search(
        r"variant\.yaml:\d+:\d+: error: .*unknown block 'identiy'; did you mean 'identity'\?",
        out.err,
    )
    assert out.out == "" and "Traceback" not in out.err
    out = cli("diff", str(SEED), broken, "--format", "json")
    assert out.code == 2 and json.loads(out.out)["errors"][0]["message"].startswith("layers[7]")


def test_unreadable_files_are_errors(tmp_path, cli):
    out = cli("diff", str(SEED), str(tmp_path / "missing.yaml"))
    assert out.code == 2 and "cannot read" in out.err
    out = cli("diff", str(SEED), str(tmp_path / "missing.keras"))
    assert out.code == 2 and "cannot read" in out.err
    out = cli("diff", str(SEED), str(tmp_path / "missing.keras"), "--set", "classes=3")
    assert out.code == 2 and "a saved model has no params" in out.err


def test_two_specs_never_import_tensorflow():
    code = (
        "import sys; from archspec.cli.main import main;"
        "rc = main(['diff', 'specs/keras/resnet50.yaml', 'specs/keras/resnet152.yaml', '--layers']);"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; sys.exit(10 + len(bad) if bad else rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 1, proc.stderr


def test_comparing_lowered_graphs_is_fast():
    a = spec_side(archspec.lower(ROOT / "specs/keras/resnet50.yaml"))
    b = spec_side(archspec.lower(ROOT / "specs/keras/resnet152.yaml"))
    start = time.perf_counter()
    result = compare(a, b)
    result.render(layers=True)
    result.as_json()
    assert time.perf_counter() - start < 0.5


def test_doc_examples_run(tmp_path):
    """The console examples of docs/diff.md exit as they say."""
    text = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    commands = [
        line[2:]
        for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL)
        for line in block.splitlines()
    ]
    assert commands
    for line in commands:
        command, _, expect = line.partition("# exit ")
        proc = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == int(expect or 0), f"{command}\n{proc.stderr}"
    valid = json.loads((tmp_path / "change.json").read_text())
    import jsonschema

    jsonschema.validate(valid, SCHEMA)


# ---- generated modules, compared without running them ------------------------------------


def test_a_generated_module_is_compared_through_its_spec_without_running_it(tmp_path):
    """The module's header names its spec; unchanged, the module is its spec's model,
    compared without importing the module or TensorFlow; a variant that imports its
    base's functions too; moved elsewhere, it still is what codegen writes there."""
    moved = tmp_path / "copy.py"
    shutil.copy(ROOT / "generated" / "resnet50.py", moved)
    probe = (
        "import sys, archspec\n"
        "for a, b in [('specs/resnet50.yaml', 'generated/resnet50.py'),\n"
        "             ('generated/keras/resnet101.py', 'specs/keras/resnet101.yaml'),\n"
        f"             ({str(moved)!r}, 'specs/resnet50.yaml')]:\n"
        "    print(archspec.diff(a, b).verdict)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split("\n")[:4] == ["identical"] * 3 + ["[]"], proc.stdout + proc.stderr


def test_a_changed_module_or_spec_is_refused_unless_executed(cli, tmp_path):
    module = tmp_path / "resnet50.py"
    text = (ROOT / "generated" / "resnet50.py").read_text()
    module.write_text(text + "\nprint('ran')\n")
    out = cli("diff", str(module), "specs/resnet50.yaml")
    assert out.code == 2 and "not what archspec generates from specs/resnet50.yaml" in out.err
    assert "pass --execute" in out.err and out.out == ""
    # with its spec changed since, the header's digest no longer matches
    spec = tmp_path / "tiny.yaml"
    spec.write_text("name: Tiny\ninput: {shape: [4]}\nlayers: [{dense: {units: 2}}]\n")
    assert cli("codegen", str(spec), "-o", str(tmp_path / "gen")).code == 0
    spec.write_text(spec.read_text().replace("units: 2", "units: 3"))
    out = cli("diff", str(tmp_path / "gen" / "tiny.py"), str(spec))
    assert out.code == 2 and "the spec changed since" in out.err, out.err


# ---- Keras: generated modules, saved models, and Keras's own loader ------------------------


@pytest.mark.keras
@pytest.mark.parametrize("spec", BUILT_SPECS)
def test_a_spec_is_identical_to_the_model_it_builds(spec):
    model = archspec.build(ROOT / spec)
    result = archspec.diff(ROOT / spec, model)
    assert result.verdict == "identical", result.render(layers=True)
    assert len(result.loaded) == len(result.a.weights) == len(result.b.weights)


@pytest.mark.keras
def test_a_spec_against_its_generated_module_and_its_saved_model(cli, tmp_path):
    # --execute: the module is imported and its model read back from Keras
    out = cli("diff", "specs/resnet50.yaml", "generated/resnet50.py", "--execute")
    assert out.code == 0, out.out + out.err
    assert "identical: the same 177 layers" in out.out
    assert (
        cli(
            "diff",
            "generated/resnet50.py",
            "specs/resnet50.yaml",
            "--set",
            "classes=10",
            "--execute",
        ).code
        == 0
    )
    saved = tmp_path / "seed.keras"
    assert cli("build", "specs/resnet50.yaml", "-o", str(saved)).code == 0
    out = cli("diff", "specs/resnet50.yaml", str(saved), "--format", "json")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["verdict"] == "identical" and data["b"]["kind"] == "keras"
    assert data["b"]["total_params"] == 23_600_006
    # a saved model against a spec that renames a layer: weights come from the file
    renamed = variant(tmp_path, "name: conv1}", "name: conv_1}")
    out = cli("diff", str(saved), renamed, "--format", "json")
    assert out.code == 1
    assert json.loads(out.out)["weights"]["breaking"][0]["layer"] == "conv1"


@pytest.mark.keras
def test_the_verdict_is_what_keras_by_name_loading_does(tmp_path):
    """Save the seed as a legacy .h5 and load it by name into B: compatible loads every
    layer; breaking fails on the layer the diff names."""
    import numpy as np

    a = archspec.build(SEED)
    a.save(tmp_path / "seed.h5")
    deeper = variant(tmp_path, "identity x 5]", "identity x 22]", "deeper.yaml")
    assert archspec.diff(SEED, deeper).verdict == "compatible"
    b = archspec.build(deeper)
    b.load_weights(tmp_path / "seed.h5", by_name=True)
    for layer in a.layers:
        for x, y in zip(layer.get_weights(), b.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(x, y)
    strided = variant(
        tmp_path,
        "blocks: [convolutional: {s: 2}, identity x 3]",
        "blocks: [convolutional: {s: 1}, identity x 3]",
        "strided.yaml",
    )
    [problem] = archspec.diff(SEED, strided).breaking
    c = archspec.build(strided)
    with pytest.raises(ValueError, match=problem.layer):
        c.load_weights(tmp_path / "seed.h5", by_name=True)


@pytest.mark.keras
def test_keras_applications_model_against_the_zoo_spec(tmp_path):
    import keras

    keras.backend.clear_session()  # Keras names the input by its session counter
    model = keras.applications.MobileNetV2(weights=None)
    path = tmp_path / "mobilenetv2.keras"
    model.save(path)
    result = archspec.diff(ROOT / "specs/keras/mobilenetv2.yaml", path)
    assert result.verdict == "identical", result.render(layers=True)


@pytest.mark.keras
def test_the_canonical_forms_are_keras_own():
    import keras

    from archspec.analysis.diff.match import ACTIVATION_ALIASES, INITIALIZER_DEFAULTS

    for name, defaults in INITIALIZER_DEFAULTS.items():
        config = getattr(keras.initializers, name)().get_config()
        assert {k: config[k] for k in defaults} == defaults, name
    for alias, saved in ACTIVATION_ALIASES.items():
        assert keras.layers.Activation(alias).get_config()["activation"] == saved
