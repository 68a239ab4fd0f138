"""archspec: compile declarative architecture specs into Keras models and Python.

The public API mirrors the command line::

    spec = archspec.load("specs/resnet50.yaml", classes=10)
    graph = archspec.lower(spec)      # the IR: names, shapes, params; no TensorFlow
    model = archspec.build(spec)      # a keras.Model (imports TensorFlow)
    source = archspec.codegen("specs/resnet50.yaml")   # a Python module, as text
    change = archspec.diff("specs/resnet50.yaml", against="HEAD")   # what a change does

Packages add layer kinds with ``archspec.register_layer`` (``archspec.core.ops.custom``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from archspec._version import __version__
from archspec.core.ir import Graph
from archspec.diagnostics import MissingFile, SpecError, UsageError

if TYPE_CHECKING:  # what the names below are, for type checkers; loaded on first use
    import keras

    from archspec.analysis.diff.model import Diff
    from archspec.core.ops.custom import register_layer
    from archspec.frontend.resolve import ResolvedSpec

__all__ = [
    "__version__",
    "Graph",
    "ResolvedSpec",
    "MissingFile",
    "SpecError",
    "UsageError",
    "build",
    "codegen",
    "diff",
    "load",
    "lower",
    "register_layer",
    "summary",
]


def __getattr__(name: str):
    # register_layer comes with the op catalogue and ResolvedSpec with the front end
    # (pydantic), which `import archspec` does not load: it stays quick to import.
    if name == "register_layer":
        from archspec.core.ops.custom import register_layer

        return register_layer
    if name == "ResolvedSpec":
        from archspec.frontend.resolve import ResolvedSpec

        return ResolvedSpec
    raise AttributeError(f"module 'archspec' has no attribute '{name}'")


def load(path: str | os.PathLike, **params: object) -> ResolvedSpec:
    """Read, resolve and validate a spec, as ``archspec check`` does: the YAML, the
    schema, and the lowering (kinds, arguments, blocks, shapes, names), with keyword
    arguments overriding its params. Raises ``SpecError`` (a ``ValueError``, with
    ``.problems``) for an invalid spec and ``MissingFile`` (a ``FileNotFoundError``) for
    a missing one."""
    from archspec.core.lowering import lower as _lower
    from archspec.frontend.resolve import load as _load

    resolved = _load(path, params)
    _lower(resolved)  # what check finds, load finds
    return resolved


def lower(spec: ResolvedSpec | str | os.PathLike, **params: object) -> Graph:
    """The IR graph of a spec (a resolved spec or a path): every layer's name, shape and
    parameter counts, computed without TensorFlow."""
    from archspec.core.lowering import lower as _lower
    from archspec.frontend.resolve import ResolvedSpec
    from archspec.frontend.resolve import load as _load

    if not isinstance(spec, ResolvedSpec):
        spec = _load(spec, params)  # lowered once, below
    elif params:
        raise TypeError(
            "params apply when loading; pass a path, or use archspec.load(path, **params)"
        )
    return _lower(spec)


def build(spec: ResolvedSpec | Graph | str | os.PathLike, **params: object) -> keras.Model:
    """Build the ``keras.Model`` of a spec (a path, a resolved spec or a graph)."""
    from archspec.backends.keras.build import build_model

    graph = spec if isinstance(spec, Graph) else lower(spec, **params)
    return build_model(graph)


def summary(
    graph: Graph, *, layers: bool = False, depth: int | None = None, dtype: str = "float32"
) -> str:
    """The text ``archspec check`` prints for a graph: by blocks, one row per layer
    (``layers=True``), or nested stage → block → layer to ``depth``; memory in ``dtype``.
    The figures are on the graph too: ``graph.macs``, ``.flops``, ``.param_bytes()``,
    ``.activation_bytes()``."""
    from archspec.analysis.summary import render

    return render(graph, layers=layers, depth=depth, dtype=dtype)


def codegen(spec: str | os.PathLike, style: str = "structured") -> str:
    """The generated Python module of a spec file (``structured`` or ``flat``)."""
    from archspec.backends.python.codegen import module_source

    return module_source(spec, style)


def diff(
    a: str | os.PathLike | ResolvedSpec | Graph | keras.Model,
    b: str | os.PathLike | ResolvedSpec | Graph | keras.Model | None = None,
    *,
    against: str | None = None,
    params: dict | None = None,
    params_a: dict | None = None,
    params_b: dict | None = None,
    execute: bool = False,
) -> Diff:
    """Compare two models: what changed (layers added, removed, renamed, changed; shapes;
    params) and whether A's weights load into B by name. Each of ``a`` and ``b`` is a
    spec, a generated module (``.py``) or a saved model (``.keras``) by path, or a
    resolved spec, a graph or a ``keras.Model``; or give one spec and ``against`` a git
    revision to compare it with. ``params`` apply to both sides, ``params_a`` and
    ``params_b`` to one. A ``.py`` file is imported and run only with ``execute=True``
    (it runs whatever the file holds); otherwise it must be a module archspec generated,
    unchanged, and the spec its header names is compared. Returns an
    ``archspec.analysis.diff.model.Diff`` (``.verdict``, ``.as_json()``, ``.render()``).
    Two specs, or a spec and a generated module, are compared without TensorFlow."""
    from archspec.analysis.diff.sources import diff as _diff

    return _diff(
        a,
        b,
        against=against,
        params=params,
        params_a=params_a,
        params_b=params_b,
        execute=execute,
    )
