"""mypy on a user's script sees archspec's real types (py.typed, an annotated API), and
refuses a wrong use of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

USER_SCRIPT = """\
import archspec

spec = archspec.load("specs/resnet50.yaml", classes=10)
reveal_type(spec)
graph = archspec.lower(spec)
reveal_type(graph)
reveal_type(archspec.lower("specs/resnet50.yaml"))
reveal_type(archspec.build(graph))
reveal_type(archspec.codegen("specs/resnet50.yaml"))
change = archspec.diff("a.yaml", "b.yaml")
reveal_type(change)
reveal_type(change.verdict)
reveal_type(spec.spec)
archspec.lower(3)
"""

REVEALED = [
    "archspec.frontend.resolve.ResolvedSpec",
    "archspec.core.ir.Graph",
    "archspec.core.ir.Graph",
    "keras.Model",
    "str",
    "archspec.analysis.diff.model.Diff",
    "str",
    "archspec.frontend.schema.Spec",
]

# Keras ships no type information (no py.typed), so mypy would see its every class as
# Any; this stand-in declares keras.Model, so the test sees what archspec's annotation
# of build names.
KERAS_STUB = "class Model: ...\n"


@pytest.mark.slow
def test_mypy_sees_the_real_types(tmp_path):
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    (tmp_path / "stubs" / "keras").mkdir(parents=True)
    (tmp_path / "stubs" / "keras" / "__init__.pyi").write_text(KERAS_STUB)
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(ROOT), str(tmp_path / "stubs")])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            # archspec's own modules are read for their types; only the script is judged
            "--follow-imports",
            "silent",
            "--show-error-codes",
            "--no-error-summary",
            "--no-color-output",
            "user.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout
    revealed = re.findall(r'Revealed type is "([^"]+)"', out)
    assert revealed == REVEALED, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "user.py:14:" in errors[0], out
    assert 'Argument 1 to "lower" has incompatible type "int"' in errors[0], out
    assert "[arg-type]" in errors[0] and proc.returncode == 1, out
