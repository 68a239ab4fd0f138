"""Naming schemes: the templates that give every unnamed layer a deterministic name.

A scheme is data. ``block`` names a block (its ``prefix``) from its stage and position;
``layer`` names a block's layer that has a ``role`` (``2a``, ``1``...), by kind;
``block_layer`` names a block's layer without one (the merge, the layers after it).
Layers outside blocks that carry no name get the name Keras would give them in a fresh
session (``zero_padding2d``, ``activation_1``), counted per model, never per process.
"""

from __future__ import annotations

from archspec.frontend.schema import NamingScheme
from archspec.lang.vocabulary import block_letter

# The block letter of a 1-based position (a, b, ... z, aa, ...): the expression language's
# block_letter, the very function generated modules define, so that names cannot disagree.
letter = block_letter


def layer_template(scheme: NamingScheme, op, role) -> str | None:
    """The template that names an unnamed layer of a block: by role if it has one; a
    scheme may key its templates by the op's kind or by any of its aliases."""
    table = scheme.layer if role not in (None, "") else scheme.block_layer
    for name in (op.kind, *op.aliases):
        if name in table:
            return table[name]
    return table.get("*")


def layer_naming_context(op, attrs: dict, role) -> dict:
    """What a layer template sees besides the block's names."""
    return {"role": role, "kind": op.kind, "suffix": op.short(attrs)}


class AutoNames:
    """Keras-style names for unnamed layers (``activation``, ``activation_1``), per model."""

    def __init__(self):
        self.counts: dict[str, int] = {}

    def next(self, base: str, taken) -> str:
        """The next Keras-style name on ``base`` that is not ``taken``."""
        while True:
            n = self.counts.get(base, 0)
            self.counts[base] = n + 1
            name = base if n == 0 else f"{base}_{n}"
            if name not in taken:
                return name
