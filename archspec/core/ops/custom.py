"""Custom layers: how a Python package adds layer kinds to the catalogue, and how archspec
finds them. Everything a plugin needs is importable from here.

A package registers each kind with ``register_layer`` in a module that one of its
distribution's ``archspec.layers`` entry points names::

    [project.entry-points."archspec.layers"]
    my_layers = "my_package.archspec_layers"

archspec loads those modules the first time a spec (or a saved model) names a kind the
catalogue lacks, so a spec of built-in kinds never scans for them; and it loads nothing
else: spec text never names a module, so no spec can cause an import. A registration
records its Keras class by import path (``"my_package.layers:Scale"``), as a string: the
class, and with it Keras, is imported only when a model is built or read back.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from types import ModuleType

from archspec.core.ops.args import (
    Args,
    Initializer,
    NoArgs,
    NonNegativeInt,
    PositiveInt,
    parse_initializer,
)
from archspec.core.ops.registry import CATEGORIES, OPS, Op, no_macs, no_weights, register
from archspec.core.ops.rules import Shape, ShapeError, Weight, fmt, known
from archspec.diagnostics import UsageError

__all__ = [
    "CATEGORIES",
    "GROUP",
    "Args",
    "Initializer",
    "NoArgs",
    "NonNegativeInt",
    "PluginError",
    "PositiveInt",
    "Shape",
    "ShapeError",
    "Weight",
    "fmt",
    "known",
    "layer_class",
    "load_plugins",
    "register_layer",
    "rule_of",
    "unchanged",
]

GROUP = "archspec.layers"  # the entry-point group plugins are found in

_KIND = re.compile(r"[a-z][a-z0-9_]*")
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


class PluginError(UsageError):
    """A plugin that cannot be loaded, or a custom layer class that cannot be imported."""


def unchanged(args, shapes: list[Shape]) -> Shape:
    """The shape rule of a layer whose output has its input's shape."""
    return shapes[0]


def rule_of(kind: str) -> Callable:
    """The shape rule of a built-in kind, for a custom layer shaped the same way: its
    arguments must have the fields that rule reads (``rule_of("add")`` reads none: inputs
    of one shape, which the output has)."""
    return OPS[kind].shape


def register_layer(
    kind: str,
    *,
    keras_class: str,
    args: type[Args] | Callable[[], type[Args]] = NoArgs,
    shape: Callable[[Args, list[Shape]], Shape] = unchanged,
    weights: Callable[[dict, list[Shape]], tuple[Weight, ...]] = no_weights,
    macs: Callable[[dict, list[Shape], Shape], int] = no_macs,
    suffix: str | None = None,
    category: str = "other",
    merge: bool = False,
    primary: str | None = None,
    positional: tuple[str, ...] = (),
    implied: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> Op:
    """Add a custom layer kind to the catalogue; returns its op.

    ``keras_class`` is ``"package.module:ClassName"``, the module that defines the class
    (where Keras saves it from). ``args`` is a subclass of ``Args`` with the class's
    constructor arguments and defaults (or a function that makes one), using the shared
    types (``Initializer``, ``PositiveInt``); an initializer argument's name ends in
    ``_initializer``, as Keras's do. ``shape(args, input shapes)`` gives the output shape
    (without the batch axis) or raises ``ShapeError``; ``weights(attrs, input shapes)``
    the ``Weight``s Keras creates, with its names, in its order (the parameter counts are
    their sizes); ``macs(attrs, input shapes, output shape)`` multiply-accumulates per
    example. ``suffix`` names it in naming schemes (default: the kind); ``category``
    colours it in diagrams. A ``merge`` takes its inputs as one list (a block's
    ``merge:``). ``primary`` is the argument a scalar value sets (``scale: 0.17``);
    ``positional`` arguments are written positionally by generated code, in order;
    ``implied`` ones are written even at their defaults.

    Registering a kind (or alias, or class) that is already registered is an error, as
    is any registration that does not hold together.
    """
    for name in (kind, *aliases):
        if not isinstance(name, str) or not _KIND.fullmatch(name):
            raise ValueError(
                f"custom layer kind {name!r}: expected lower-case letters, digits and '_', "
                "starting with a letter"
            )
    if not isinstance(keras_class, str) or not _CLASS_PATH.fullmatch(keras_class):
        raise ValueError(
            f"custom layer '{kind}': keras_class must be 'package.module:ClassName'; "
            f"received {keras_class!r}"
        )
    module, class_name = keras_class.split(":")
    for op in OPS.values():
        if (op.module, op.keras_class) == (module, class_name):
            raise ValueError(f"custom layer '{kind}': {keras_class} is already kind '{op.kind}'")
    model = args if isinstance(args, type) else args()  # checked now, not at first use
    if not (isinstance(model, type) and issubclass(model, Args)):
        raise ValueError(
            f"custom layer '{kind}': args must be a subclass of archspec's Args (or a "
            f"function returning one); received {model!r}"
        )
    for name, field in model.model_fields.items():
        if _is_initializer(field) and not name.endswith("_initializer"):
            # Generated code knows an initializer argument by its name.
            raise ValueError(
                f"custom layer '{kind}': initializer argument '{name}' must be named "
                f"'..._initializer'"
            )
    for what, rule in (("shape", shape), ("weights", weights), ("macs", macs)):
        if not callable(rule):
            raise ValueError(f"custom layer '{kind}': {what} must be a function")
    return register(
        kind=kind,
        keras_class=class_name,
        module=module,
        args=model,
        shape=shape,
        weights=weights,
        macs=macs,
        primary=primary,
        positional=tuple(positional),
        implied=tuple(implied),
        suffix=suffix or kind,
        category=category,
        merge=merge,
        aliases=tuple(aliases),
    )


def _is_initializer(field) -> bool:
    return any(getattr(m, "func", None) is parse_initializer for m in field.metadata)


# ---- discovery ------------------------------------------------------------------------

_scanned = False
_failure: PluginError | None = None


def load_plugins() -> bool:
    """Load the installed plugins (the ``archspec.layers`` entry points), once per
    process; whether this call loaded them. A plugin that fails raises ``PluginError``
    naming it, now and at every later call."""
    global _scanned, _failure
    if _failure is not None:
        raise _failure
    if _scanned:
        return False
    _scanned = True
    from importlib.metadata import entry_points

    # By name, then value: a deterministic order; the same one listed twice loads once.
    found = {(ep.name, ep.value): ep for ep in entry_points(group=GROUP)}
    for key in sorted(found):
        try:
            _load(found[key])
        except PluginError as exc:
            _failure = exc
            raise
    return True


def _load(ep) -> None:
    dist = getattr(ep.dist, "name", None)
    where = f"{GROUP} plugin '{ep.name}' ({ep.value}" + (f", from {dist})" if dist else ")")
    try:
        plugin = ep.load()
        if not isinstance(plugin, ModuleType):
            if not callable(plugin):
                raise ValueError("the entry point names neither a module nor a function")
            plugin()
    except ValueError as exc:  # a registration that does not hold together
        raise PluginError(f"{where}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - whatever importing the plugin raises
        raise PluginError(f"{where}: cannot load it: {type(exc).__name__}: {exc}") from exc


def layer_class(op: Op) -> type:
    """A custom layer's class, imported by its path (when a model is built or read)."""
    try:
        cls = getattr(importlib.import_module(op.module), op.keras_class)
    except Exception as exc:  # noqa: BLE001 - whatever importing the module raises
        raise PluginError(
            f"custom layer '{op.kind}': cannot import {op.module}:{op.keras_class}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(cls, type):
        raise PluginError(f"custom layer '{op.kind}': {op.module}:{op.keras_class} is not a class")
    return cls
