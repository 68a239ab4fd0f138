"""What the language server says about names: a kind's Keras class and arguments, a
block's or a spec's params, and the names the ``training`` and ``naming`` keys accept.

All of it is read from the op catalogue (argument models and ``ops.docs``) and the front
end's schema, so hovers and completions say what ``archspec check`` accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticUndefined

from archspec.core.ops.docs import argument_doc, kind_line
from archspec.core.ops.registry import lookup
from archspec.frontend.schema import LOSSES, METRICS, OPTIMIZERS, PRESETS, ParamDecl

# The names a ``training`` key or ``naming`` accepts, by the key.
NAMES: dict[str, dict[str, str | None]] = {
    "optimizer": OPTIMIZERS,
    "loss": LOSSES,
    "metrics": METRICS,
    "naming": dict.fromkeys(PRESETS),
}


def kind_arguments(kind: str) -> list[tuple[str, str, str | None]]:
    """A kind's arguments as (name, default as Python writes it or ``required``, doc)."""
    op = lookup(kind)
    if op is None:
        return []
    out = []
    for name, info in op.args.model_fields.items():
        default = "required" if info.default is PydanticUndefined else repr(info.default)
        out.append((name, default, argument_doc(op.kind, name)))
    return out


def kind_hover(kind: str) -> str | None:
    """Markdown for a kind: its Keras class, a line on what it takes, its arguments."""
    op = lookup(kind)
    if op is None:
        return None
    head = f"**{kind}**: " + kind_line(op, kind, code=lambda text: f"`{text}`")
    rows = [
        (f"- `{name}` (required)" if default == "required" else f"- `{name}` = `{default}`")
        + (f": {doc}" if doc else "")
        for name, default, doc in kind_arguments(kind)
    ]
    return "\n\n".join([head, "\n".join(rows) or "no arguments"])


def param_hover(name: str, decl: ParamDecl, block: str) -> str:
    """Markdown for a block param: its type, default (or that it is required) and doc."""
    default = "required" if decl.required else f"default `{decl.default!r}`"
    text = f"**{name}**: `{decl.type}`, {default} (param of block `{block}`)"
    return text + (f"\n\n{decl.doc}" if decl.doc else "")


def spec_param_hover(name: str, value: Any) -> str:
    """Markdown for a spec param: the type of its value and the value (``--set`` overrides)."""
    return f"**{name}**: `{type(value).__name__}`, default `{value!r}` (spec param, `--set {name}=...`)"
