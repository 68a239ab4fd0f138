"""The op catalogue: the primitive layers, each registered once in its family's module.

Each op maps a spec kind (``conv2d``) to a stock Keras class (``Conv2D``). Its pydantic
model validates and normalizes the Keras arguments (defaults as Keras has them), and
its pure-Python rules give the output shape, the weights (and so the parameter counts)
and the multiply-accumulates that Keras would have, without importing it.

Families: ``conv``, ``pool``, ``norm``, ``merge``, ``reshape``, ``core``, ``noise``,
``preprocessing``, ``attention``, ``recurrent``, ``arithmetic`` (a tensor and a constant:
Keras operations, not layers); shared argument types in ``args``, shared rule helpers in
``rules``, the registry in ``registry``. The families are imported here, eagerly: every module that imports the catalogue looks an op
up soon after, and their models build lazily (``defer_build``), so this costs little.
"""

from __future__ import annotations

from archspec.core.ops import (  # noqa: F401 - they register
    arithmetic,
    attention,
    conv,
    core,
    merge,
    noise,
    norm,
    pool,
    preprocessing,
    recurrent,
    reshape,
)
from archspec.core.ops.registry import (
    CATEGORIES,
    KINDS,
    OPS,
    Op,
    keras_auto_name,
    layer_weights,
    lookup,
    read_back,
    read_operation,
    refine,
    register,
)
from archspec.core.ops.rules import Shape, ShapeError, Weight

MERGES = tuple(k for k, op in OPS.items() if op.merge)

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MERGES",
    "OPS",
    "Op",
    "Shape",
    "ShapeError",
    "Weight",
    "keras_auto_name",
    "layer_weights",
    "lookup",
    "read_back",
    "read_operation",
    "refine",
    "register",
]
