"""Every example in the docs runs: files marked ``# file: NAME`` are written to a fresh
directory (beside a copy of specs/, schema/ and generated/), then each ``$ command``
line of the console blocks runs there, in order, and must exit as its ``# exit N`` says
(0 by default). Commands that need TensorFlow run in the keras-marked test, which runs
the whole sequence."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

DOCS = [
    "README.md",
    "docs/tutorial.md",
    "docs/language.md",
    "docs/cli.md",
    "docs/diff.md",
    "docs/errors.md",
    "docs/summary.md",
    "docs/export.md",
]
NEEDS_KERAS = re.compile(r"^archspec (build|train|evaluate|export)\b")


def examples(doc: str):
    text = (ROOT / doc).read_text(encoding="utf-8")
    files = {m[1]: m[2] for m in re.finditer(r"```yaml\n# file: (\S+)\n(.*?)```", text, re.S)}
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                command, _, expect = line[2:].partition("# exit ")
                commands.append((command.strip(), int(expect or 0)))
    return files, commands


def run_doc(doc: str, tmp_path: Path, keras: bool) -> int:
    files, commands = examples(doc)
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "schema", tmp_path / "schema")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ran = 0
    for command, expect in commands:
        if NEEDS_KERAS.match(command) and not keras:
            continue
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == expect, f"{doc}: {command}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr
        ran += 1
    return ran


@pytest.mark.parametrize("doc", DOCS)
def test_doc_examples(doc, tmp_path):
    run_doc(doc, tmp_path, keras=False)


@pytest.mark.keras
@pytest.mark.parametrize("doc", DOCS)
def test_doc_examples_that_build(doc, tmp_path):
    run_doc(doc, tmp_path, keras=True)


def test_the_tutorial_has_examples():
    files, commands = examples("docs/tutorial.md")
    assert {"tiny.yaml", "tiny_blocks.yaml"} <= set(files)
    assert any(c.startswith("archspec codegen") for c, _ in commands)
    assert shlex.split(commands[0][0])[:2] == ["archspec", "check"]


def test_the_layer_table_is_the_catalogue():
    """docs/language.md lists exactly the catalogue's kinds, aliases and arguments."""
    from archspec.analysis.catalogue import BEGIN, END, catalogue_table

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert documented == catalogue_table(), "regenerate it: catalogue_table() in docs/language.md"


def test_the_language_names_every_shipped_library():
    from archspec.frontend.resolve import shipped_libraries

    row = next(
        line
        for line in (ROOT / "docs/language.md").read_text().splitlines()
        if line.startswith("| `imports` |")
    )
    assert [name for name in shipped_libraries() if f"`{name}`" not in row] == []


def test_the_readme_zoo_table_is_fresh():
    sys.path.insert(0, str(ROOT / "tools"))
    import zoo_table

    assert zoo_table.main(["--check"]) == 0, "regenerate it: python tools/zoo_table.py"
    assert zoo_table.table().count("| [`specs/keras/") == 40  # all of keras.applications
