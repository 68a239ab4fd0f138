"""archspec: compile declarative architecture specs into Keras models and Python.

The public API mirrors the command line::

    spec = archspec.load("specs/resnet50.yaml", classes=10)
    graph = archspec.lower(spec)      # the IR: names, shapes, params; no TensorFlow
    model = archspec.build(spec)      # a keras.Model (imports TensorFlow)
    source = archspec.codegen("specs/resnet50.yaml")   # a Python module, as text
    change = archspec.diff("specs/resnet50.yaml", against="HEAD")   # what a change does
"""

from __future__ import annotations

__version__ = "0.1.0"

import os  # noqa: E402

from .errors import SpecError, UsageError  # noqa: E402
from .ir import Graph  # noqa: E402
from .resolve import ResolvedSpec  # noqa: E402

__all__ = [
    "Graph",
    "ResolvedSpec",
    "SpecError",
    "UsageError",
    "build",
    "codegen",
    "diff",
    "load",
    "lower",
]


def load(path: str | os.PathLike, **params) -> ResolvedSpec:
    """Read, validate and resolve a spec; keyword arguments override its params."""
    from .resolve import load as _load

    return _load(path, params)


def lower(spec: ResolvedSpec | str | os.PathLike, **params) -> Graph:
    """The IR graph of a spec (a resolved spec or a path): every layer's name, shape and
    parameter counts, computed without TensorFlow."""
    from .lowering import lower as _lower

    if not isinstance(spec, ResolvedSpec):
        spec = load(spec, **params)
    elif params:
        raise TypeError(
            "params apply when loading; pass a path, or use archspec.load(path, **params)"
        )
    return _lower(spec)


def build(spec: ResolvedSpec | Graph | str | os.PathLike, **params):
    """Build the ``keras.Model`` of a spec (a path, a resolved spec or a graph)."""
    from .emit_keras import build_model

    graph = spec if isinstance(spec, Graph) else lower(spec, **params)
    return build_model(graph)


def codegen(spec: str | os.PathLike, style: str = "structured") -> str:
    """The generated Python module of a spec file (``structured`` or ``flat``)."""
    from .generated import module_source

    return module_source(spec, style)


def diff(
    a,
    b=None,
    *,
    against: str | None = None,
    params: dict | None = None,
    params_a: dict | None = None,
    params_b: dict | None = None,
):
    """Compare two models: what changed (layers added, removed, renamed, changed; shapes;
    params) and whether A's weights load into B by name. Each of ``a`` and ``b`` is a
    spec, a generated module (``.py``) or a saved model (``.keras``) by path, or a
    resolved spec, a graph or a ``keras.Model``; or give one spec and ``against`` a git
    revision to compare it with. ``params`` apply to both sides, ``params_a`` and
    ``params_b`` to one. Returns an ``archspec.graphdiff.Diff`` (``.verdict``,
    ``.as_json()``, ``.render()``). Two specs are compared without TensorFlow."""
    from .sources import diff as _diff

    return _diff(a, b, against=against, params=params, params_a=params_a, params_b=params_b)
