"""The op catalogue as a table for people: docs/language.md's list of layers is this
table (a test keeps the two equal), so the documentation cannot lag the catalogue."""

from __future__ import annotations

from archspec.core.ops import CATEGORIES, OPS

BEGIN = "<!-- catalogue: generated from archspec/core/ops; do not edit by hand -->"
END = "<!-- catalogue: end -->"


def _default(value) -> str:
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]  # (1, 1) reads as 1, the way specs write it
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _arguments(op) -> str:
    out = []
    for name, field in op.args.model_fields.items():
        if field.is_required() or field.default is None:
            out.append(name)
        else:
            out.append(f"{name} {_default(field.default)}")
    return ", ".join(out)


def catalogue_table() -> str:
    """Markdown: every kind (and its aliases), its Keras layer and its arguments with
    Keras's defaults, grouped by diagram category."""
    rows = ["| kind | Keras layer | arguments (defaults as Keras) |", "|---|---|---|"]
    # The built-in catalogue only: installed plugins (``op.module``) differ between machines.
    built_in = [op for op in OPS.values() if op.module is None]
    ordered = sorted(built_in, key=lambda op: (CATEGORIES.index(op.category), op.kind))
    for op in ordered:
        names = ", ".join(f"`{name}`" for name in (op.kind, *op.aliases))
        rows.append(f"| {names} | {op.keras_class} | {_arguments(op)} |")
    return "\n".join([BEGIN, *rows, END])
