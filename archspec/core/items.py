"""How a layer, block or stage item is written in a spec (``"relu"``, ``{conv2d: {...}}``,
``"identity x 3"``): the syntax the elaboration reads."""

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


def repeat(entry: str):
    """``"identity x 3"`` → ("identity", "3"); ``"identity"`` → ("identity", None)."""
    match = _REPEAT.match(entry)
    if not match:
        raise ItemError(f"expected 'kind' or 'kind x N'. Received: {entry!r}")
    return match["kind"], match["n"]
