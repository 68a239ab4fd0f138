"""How a layer, block or stage item is written in a spec, read the same way by the
lowering and by the Python emitter."""

from __future__ import annotations

import re

_REPEAT = re.compile(r"^\s*(?P<kind>[A-Za-z_][A-Za-z0-9_]*)\s*(?:x\s*(?P<n>\S.*?))?\s*$")


class ItemError(ValueError):
    """An item that is not ``kind`` or ``{kind: args}``; the caller adds the position."""


def split(item, path: tuple) -> tuple[str, object, tuple]:
    """``"relu"`` or ``{conv2d: {...}}`` → (kind, raw args, path of the args)."""
    if isinstance(item, str):
        return item.strip(), None, path
    if isinstance(item, dict) and len(item) == 1:
        ((kind, args),) = item.items()
        return str(kind), args, path + (kind,)
    if isinstance(item, dict):
        raise ItemError(
            "a layer item must have exactly one key, the layer or block kind "
            f"(put name, role and when inside its arguments). Received keys: {', '.join(map(str, item))}"
        )
    raise ItemError(f"expected a layer, block or stage. Received: {item!r}")


def layer_args(op, args) -> dict:
    """A layer's raw arguments as a dict; a scalar sets the op's primary argument."""
    if args is None:
        return {}
    if isinstance(args, dict):
        return dict(args)
    if op.primary:
        return {op.primary: args}
    raise ItemError(f"{op.kind} takes a mapping of arguments. Received: {args!r}")


def repeat(entry: str):
    """``"identity x 3"`` → ("identity", "3"); ``"identity"`` → ("identity", None)."""
    match = _REPEAT.match(entry)
    if not match:
        raise ItemError(f"expected 'kind' or 'kind x N'. Received: {entry!r}")
    return match["kind"], match["n"]


def stage_entry(entry, path: tuple) -> tuple[str, object, object, tuple, tuple]:
    """A stage's block entry → (kind, count, raw args, args path, count path)."""
    if isinstance(entry, str):
        kind, count = repeat(entry)
        return kind, count if count is not None else 1, None, path, path
    kind, args, apath = split(entry, path)
    if isinstance(args, dict) and "repeat" in args:
        args = dict(args)
        return kind, args.pop("repeat"), args, apath, apath + ("repeat",)
    return kind, 1, args, apath, apath
