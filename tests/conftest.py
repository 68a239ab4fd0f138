"""Shared test helpers: run the CLI in-process, write small specs, discover specs."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from archspec.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
# The hand-written seed ResNet-50 lives with the benchmarks, which time against it.
sys.path.insert(0, str(ROOT / "benchmarks"))
SPECS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "specs").rglob("*.yaml"))
# One zoo model per family (the smallest): the Keras tests that build every spec again
# (generated flat modules, diffs of saved models) take these of the zoo, whose every
# model tests/test_zoo.py builds beside keras.applications and its structured module.
ZOO_SAMPLE = [
    f"specs/keras/{name}.yaml"
    for name in (
        "resnet50",
        "resnet50v2",
        "vgg16",
        "mobilenet",
        "mobilenetv2",
        "mobilenetv3small",
        "densenet121",
        "efficientnetb0",
        "efficientnetv2b0",
        "inceptionv3",
        "inceptionresnetv2",
        "nasnetmobile",
        "convnexttiny",
        "xception",
    )  # fmt: skip
]
BUILT_SPECS = [s for s in SPECS if not s.startswith("specs/keras/") or s in ZOO_SAMPLE]

# Property-based tests: "ci" (the default) keeps a run bounded and repeatable on a busy
# machine; HYPOTHESIS_PROFILE=deep explores far more examples, on demand.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``archspec ARGS`` in-process from the repository root."""

    def run(*args: str) -> Result:
        monkeypatch.chdir(ROOT)
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def write(tmp_path):
    """Write a dedented YAML text to a file under tmp_path; returns its path."""

    def make(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return str(path)

    return make
