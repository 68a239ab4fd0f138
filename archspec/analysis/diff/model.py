"""What ``archspec diff`` finds: the two sides compared, the changes of their layers and
blocks, the weights of A that will not load into B, and the verdict.

Plain dataclasses; ``match`` fills them in, ``report`` turns them into text and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS, layer_weights

IDENTICAL, COMPATIBLE, BREAKING = "identical", "compatible", "breaking"


# ---- the two sides ----------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its graph, what it was read from, its layers' weights."""

    graph: Graph
    label: str  # how reports name it: a path, ``path@REV``
    kind: str  # "spec", "module" or "keras"
    weights: dict  # layer name → tuple[Weight, ...], only layers that have weights


def spec_side(graph: Graph, label: str | None = None, kind: str = "spec") -> Side:
    """A side whose weights follow from the IR (the ops' weight rules)."""
    shapes = {n.name: n.shape for n in graph.nodes}
    weights = {}
    for node in graph.nodes:
        if node.op in OPS and not node.shares:  # a layer called again has its first's
            found = layer_weights(node.op, node.attrs, [shapes[i] for i in node.inputs])
            if found:
                weights[node.name] = found
    return Side(graph, label or graph.source or graph.name, kind, weights)


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a layer sits: its top-level block (if any) and that block's stage."""

    stage: object = None
    block: str | None = None
    kind: str | None = None  # the block's kind
    letter: str | None = None
    index: int | None = None

    @property
    def label(self) -> str:
        """Where the layer is, in words: ``top level``, ``block NAME`` or ``stage ID``."""
        if self.block is None:
            return "top level"
        if self.stage is None:
            return f"block {self.block}"
        return f"stage {self.stage}"


@dataclass
class LayerChange:
    """One layer that is not the same on both sides."""

    change: str  # "added", "removed", "renamed", "changed", "rewired" (only its inputs moved)
    a: Node | None
    b: Node | None
    place: Place
    kind: tuple | None = None  # (old, new) Keras class
    attrs: dict = field(default_factory=dict)  # attribute → (old, new)
    inputs: tuple | None = None  # (old, new) input names, each in its own graph
    rewired: bool = False  # inputs differ only because layers were added or removed between
    shape: tuple | None = None  # (old, new) output shape, without the batch axis
    shape_from: tuple = ()  # B's layers where the shape change starts
    params: tuple | None = None  # ((trainable, non-trainable) old, new)

    @property
    def name(self) -> str:
        """The layer's name: B's, or A's for a removed layer."""
        return (self.b or self.a).name

    def aspects(self) -> list[str]:
        """What changed, in words for the summary: attribute names, ``shape``, ..."""
        out = []
        if self.change == "renamed":
            out.append("renamed")
        if self.kind:
            out.append("class")
        out += sorted(self.attrs)
        if self.inputs and not self.rewired:
            out.append("inputs")
        if self.shape:
            out.append("output shape")
        if self.params and self.params[0] != self.params[1]:
            out.append("params")
        return out


@dataclass
class BlockRun:
    """Consecutive blocks of one stage that changed the same way."""

    stage: object
    change: str  # "added", "removed", "changed"
    kind: str
    blocks: list[str]
    aspects: tuple = ()
    params: int = 0  # parameter delta (B - A) of these blocks

    def text(self) -> str:
        """The run in one line: ``+2 identity blocks (4b, 4c): filters``."""
        n = len(self.blocks)
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.change]
        noun = f"{self.kind} block" + ("s" if n > 1 else "")
        span = ", ".join(self.blocks) if n <= 2 else f"{self.blocks[0]}…{self.blocks[-1]}"
        text = f"{sign}{n} {noun} ({span})"
        if self.aspects:
            text += ": " + ", ".join(self.aspects)
        return text


@dataclass
class WeightProblem:
    """A weighted layer of A that will not load into B by name."""

    layer: str
    reason: str  # "missing", "renamed", "class_changed", "shape_changed"
    renamed_to: str | None = None
    kind: tuple | None = None  # (old, new) Keras class
    weights: list = field(default_factory=list)  # [(name, old shape | None, new shape | None)]

    def text(self) -> str:
        """Why the layer's weights do not load, in one line."""
        if self.reason == "renamed":
            return f"renamed to {self.renamed_to}: B has no layer '{self.layer}'"
        if self.reason == "missing":
            return "missing: B has no layer of that name"
        if self.reason == "class_changed":
            return f"class changed: {self.kind[0]} → {self.kind[1]}"
        parts = []
        for name, old, new in self.weights:
            if old is None:
                parts.append(f"{name} {shape_text(new)} only in B")
            elif new is None:
                parts.append(f"{name} {shape_text(old)} not in B")
            elif old != new:
                parts.append(f"{name} {shape_text(old)} → {shape_text(new)}")
        return "shape changed: " + "; ".join(parts)


@dataclass
class Diff:
    """The semantic difference of two models, and the weight-compatibility verdict."""

    a: Side
    b: Side
    layers: list[LayerChange]  # in B's order, removed layers where they were
    model: dict  # "model_name" / "inputs" / "outputs" → (old, new), when they differ
    runs: list[BlockRun]
    breaking: list[WeightProblem]
    loaded: list[str]  # A's weighted layers that load into B
    new_weights: list[str]  # B's weighted layers that A has no weights for
    origins: list[tuple]  # shape changes: (origin layers, [changed layers]), in B's order

    @property
    def verdict(self) -> str:
        """``identical``, ``compatible`` (A's weights load into B) or ``breaking``."""
        if not self.layers and not self.model:
            return IDENTICAL
        return BREAKING if self.breaking else COMPATIBLE

    @property
    def exit_code(self) -> int:
        """0 identical, 1 different (compatible or breaking)."""
        return 0 if self.verdict == IDENTICAL else 1

    def count(self, change: str) -> int:
        """How many layers changed the way ``change`` names (``added``, ``removed``...)."""
        return sum(1 for c in self.layers if c.change == change)

    # The renderers live in ``report``, which imports this module; importing them on call
    # keeps the import graph one way (report → model) while ``Diff`` keeps its methods.
    def as_json(self) -> dict:
        """Plain data, the schema of docs/diff.md."""
        from archspec.analysis.diff.report import as_json

        return as_json(self)

    def render(self, *, layers: bool = False, color: bool = False, width: int | None = None) -> str:
        """The text report: totals, changes by stage and block, shape changes, the
        verdict; with ``layers`` every changed layer."""
        from archspec.analysis.diff.report import render

        return render(self, layers=layers, color=color, width=width)


def params_of(node: Node | None) -> int:
    """A layer's parameter count; 0 for the missing side of an added or removed layer."""
    return node.params if node is not None else 0


def shape_text(shape) -> str:
    """``(None, 8, 8, 64)``."""
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"
