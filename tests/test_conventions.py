"""The command line's conventions, as people expect them of Unix tools: ``-`` is
standard input; ``--format json`` is JSON whatever happens; NO_COLOR and FORCE_COLOR;
did-you-mean for commands and options; ``-o FILE`` into a folder that exists; and a
project's defaults in ``[tool.archspec]`` of its pyproject.toml, below the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from archspec.cli.main import main

TINY = "name: Tiny\ninput: {shape: [4]}\nlayers: [{dense: {units: 2}}]\n"


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """``archspec ARGS`` in-process in an empty folder, with ``stdin`` as its input."""

    def go(*args: str, stdin: bytes = b""):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def test_dash_reads_the_spec_from_standard_input(run):
    code, out, _ = run("check", "-", stdin=TINY.encode())
    assert code == 0 and "Layers: 2 (with the input)" in out
    code, _, err = run("check", "-", stdin=b"name: Tiny\nlayers: [flaten]\n")
    assert code == 1 and err.startswith("<stdin>:1:1: error: ")
    code, _, err = run("check", "-", stdin=b"x" * 2_000_001)
    assert code == 1 and "standard input is more than 2,000,000 bytes" in err, err
    code, out, _ = run("render", "-", stdin=TINY.encode())
    assert code == 0 and "name: Tiny" in out
    code, _, err = run("codegen", "-", stdin=TINY.encode())
    assert code == 2 and "give a file, not -" in err


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["check", "missing.yaml"], 2, "missing.yaml: cannot read: No such file or directory"),
        (["check", "spec.yaml", "--layres"], 2, "did you mean '--layers'?"),
        (["diff", "missing.yaml", "spec.yaml"], 2, "missing.yaml: cannot read"),
        (["check", "spec.yaml", "--limit", "bogus=1"], 2, "unknown limit 'bogus'"),
        (["graph", "spec.yaml", "-o", "spec.yaml/x.dot", "--format", "json"], 2, "unrecognized"),
    ],
)
def test_format_json_is_json_whatever_happens(run, tmp_path, args, code, fragment):
    (tmp_path / "spec.yaml").write_text(TINY)
    got, out, err = run(*args, "--format", "json")
    assert got == code and err == "", err
    errors = json.loads(out)["errors"]
    assert errors[0]["code"] == "usage-error" and fragment in errors[0]["message"]


def test_did_you_mean_for_commands_and_options(run):
    assert "did you mean 'check'?" in run("chek", "x.yaml")[2]
    assert "did you mean '--layers'?" in run("check", "x.yaml", "--layres")[2]
    assert "did you mean" not in run("bogus")[2]  # nothing close: the list of commands
    assert "did you mean '--against'?" in run("diff", "a.yaml", "--agianst", "HEAD")[2]


def test_no_color_and_force_color(run, tmp_path, monkeypatch):
    """Not a terminal: plain, unless FORCE_COLOR; NO_COLOR (any non-empty value) wins,
    bold included; an empty value is no value, as the two standards say."""
    (tmp_path / "spec.yaml").write_text(TINY)
    for env, styled in [
        ({}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    ]:
        for name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code, out, _ = run("check", "spec.yaml")
        assert code == 0 and ("\033[" in out) == styled, (env, out)
        code, out, _ = run("diff", "spec.yaml", "spec.yaml")
        assert code == 0 and ("\033[" in out) == styled, (env, out)


def test_an_output_goes_into_a_folder_that_exists(run, tmp_path):
    """A file output (-o FILE) into a missing folder is refused, before any work; the
    folder outputs (codegen -o DIR, schema -o DIR, data --pair -o DIR) are made."""
    (tmp_path / "spec.yaml").write_text(TINY)
    code, _, err = run("graph", "spec.yaml", "-o", "no/such/net.dot")
    assert code == 2 and "there is no folder no/such (create it first)" in err
    code, _, err = run("build", "spec.yaml", "-o", "nowhere/net.keras")
    # (refused before the build: the corpus's write_build_into_a_missing_folder runs it
    # in a process of its own, within its CPU bound)
    assert code == 2 and "there is no folder nowhere" in err
    assert not (tmp_path / "no").exists() and not (tmp_path / "nowhere").exists()
    assert run("codegen", "spec.yaml", "-o", "gen/a/b")[0] == 0
    assert (tmp_path / "gen" / "a" / "b" / "spec.py").is_file()
    assert run("schema", "-o", "schemas/new")[0] == 0
    assert (tmp_path / "schemas" / "new" / "spec.schema.json").is_file()


def test_project_defaults_from_pyproject(run, tmp_path):
    """[tool.archspec] sets the naming preset of specs that name none, where codegen
    finds specs and writes modules, and limits; the command line and the spec win."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.yaml").write_text(
        (ROOT / "specs" / "resnet50.yaml").read_text().replace("naming: caffe\n", "")
    )
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.archspec]\nnaming = "caffe"\nspecs = "models"\ngenerated = "out"\n'
        "limits = {max_layers = 100}\n"
    )
    code, _, err = run("check", "models/net.yaml")
    assert code == 1 and "(limit max_layers)" in err  # the project's limit
    code, out, _ = run("check", "models/net.yaml", "--limit", "max_layers=1000", "--layers")
    assert code == 0 and "res2a_branch2a" in out  # caffe names, from the project
    pyproject.write_text(pyproject.read_text().replace('naming = "caffe"', 'naming = "keras"'))
    code, out, _ = run("check", "models/net.yaml", "--limit", "max_layers=1000", "--layers")
    assert code == 0 and "res2a_branch2a" not in out
    code, out, _ = run("codegen", "--limit", "max_layers=1000")
    assert code == 0 and (tmp_path / "out" / "net.py").is_file(), out
    assert run("codegen", "--limit", "max_layers=1000", "--check")[0] == 0
    pyproject.write_text('[tool.archspec]\nnamng = "caffe"\n')
    code, _, err = run("check", "models/net.yaml")
    assert code == 2 and "unknown key 'namng'; did you mean 'naming'?" in err


def test_project_defaults_do_not_reach_the_api(tmp_path, monkeypatch):
    """The API reads no pyproject.toml, and a command line's defaults end with it."""
    spec = (ROOT / "specs" / "resnet50.yaml").read_text().replace("naming: caffe\n", "")
    (tmp_path / "net.yaml").write_text(spec)
    (tmp_path / "pyproject.toml").write_text('[tool.archspec]\nnaming = "caffe"\n')
    probe = (
        "import archspec; from archspec.cli.main import main\n"
        "names = lambda: {n.name for n in archspec.lower('net.yaml').nodes}\n"
        "before = 'res2a_branch2a' in names(); main(['check', 'net.yaml'])\n"
        "print(before, 'res2a_branch2a' in names())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.strip().splitlines()[-1] == "False False", proc.stdout


def test_load_validates_what_check_validates(tmp_path):
    """archspec.load finds what `check` finds, a SpecError is a ValueError with its
    problems, and a missing file is a FileNotFoundError."""
    import archspec

    for body, code in [
        ("layers: [{dense: {units: 2, unitz: 3}}]", "unknown-argument"),
        ("layers: [flaten]", "unknown-kind"),
        ("layers: [nosuchblock x 2]", "unknown-kind"),
        ("layers: [{dense: {units: 2, activation: nosuch}}]", None),
    ]:
        path = tmp_path / "spec.yaml"
        path.write_text(f"name: Net\ninput: {{shape: [4]}}\n{body}\n")
        with pytest.raises(ValueError) as caught:
            archspec.load(path)
        assert isinstance(caught.value, archspec.SpecError), body
        assert code is None or caught.value.problems[0].code == code, caught.value.problems
    with pytest.raises(FileNotFoundError):
        archspec.load(tmp_path / "missing.yaml")
