"""``archspec diff``: what a change does to the model, and whether old weights still load.

Two graphs are compared layer by layer (pure Python, no TensorFlow): layers are matched
by name, then an unmatched pair at the same place (same class reading the same inputs,
or the same position in the same block) is a rename. Each matched pair is compared on
class, attributes, inputs, output shape and parameter counts; shape changes are traced
to the layers they start from. Changes are grouped by stage and block, with runs of
blocks collapsed, and a verdict says whether every weight of A loads into B by layer
name with the same shape, as ``load_weights(..., by_name=True)`` requires.

The JSON form (``as_json``) is documented in docs/diff.md; ``SCHEMA`` names its version.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from archspec.core.ir import BlockInstance, Graph, Node
from archspec.core.ops import OPS, layer_weights
from archspec.core.ops.args import is_initializer

SCHEMA = "archspec-diff/1"

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
        if node.op in OPS:
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
        if self.reason == "renamed":
            return f"renamed to {self.renamed_to}: B has no layer '{self.layer}'"
        if self.reason == "missing":
            return "missing: B has no layer of that name"
        if self.reason == "class_changed":
            return f"class changed: {self.kind[0]} → {self.kind[1]}"
        parts = []
        for name, old, new in self.weights:
            if old is None:
                parts.append(f"{name} {_shape(new)} only in B")
            elif new is None:
                parts.append(f"{name} {_shape(old)} not in B")
            elif old != new:
                parts.append(f"{name} {_shape(old)} → {_shape(new)}")
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
        if not self.layers and not self.model:
            return IDENTICAL
        return BREAKING if self.breaking else COMPATIBLE

    @property
    def exit_code(self) -> int:
        """0 identical, 1 different (compatible or breaking)."""
        return 0 if self.verdict == IDENTICAL else 1

    def count(self, change: str) -> int:
        return sum(1 for c in self.layers if c.change == change)

    def as_json(self) -> dict:
        """Plain data, the schema of docs/diff.md."""
        return _as_json(self)

    def render(self, *, layers: bool = False, color: bool = False, width: int | None = None) -> str:
        """The text report: totals, changes by stage and block, shape changes, the
        verdict; with ``layers`` every changed layer."""
        return _render(self, layers=layers, color=color, width=width)


# ---- the comparison ---------------------------------------------------------------------


def compare(a: Side, b: Side) -> Diff:
    """Compare two sides."""
    ga, gb = a.graph, b.graph
    a_nodes = {n.name: n for n in ga.nodes}
    b_nodes = {n.name: n for n in gb.nodes}
    to_b, renamed = _match(ga, gb, a_nodes, b_nodes)
    to_a = {v: k for k, v in to_b.items()}
    place_a, place_b = _places(ga, gb), _places(gb, ga)

    changes: dict[str, LayerChange] = {}  # by B name (or A name for removed layers)
    shape_changed: dict[str, tuple] = {}  # B name → origins
    added = {n for n in b_nodes if n not in to_a}
    for node in gb.nodes:
        if node.name in added:
            changes[node.name] = LayerChange("added", None, node, place_b[node.name])
            continue
        old = a_nodes[to_a[node.name]]
        change = _compare_nodes(old, node, to_b)
        change.place = place_b[node.name]
        if old.name != node.name:
            change.change = "renamed"
        if change.inputs:
            change.rewired = _rewired(old, node, to_b, to_a, a_nodes, b_nodes, added)
        if change.shape:
            upstream = [i for i in node.inputs if i in shape_changed or i in added]
            origins = []
            for i in upstream:
                for o in shape_changed.get(i, (i,)):
                    if o not in origins:
                        origins.append(o)
            change.shape_from = tuple(origins) or (node.name,)
            shape_changed[node.name] = change.shape_from
        own = (
            change.change == "renamed"
            or change.kind
            or change.attrs
            or change.shape
            or change.params
        )
        if own or change.inputs:
            if not own and change.rewired:
                change.change = "rewired"
            changes[node.name] = change
    order = _merged_order(ga, gb, to_b)
    for node in ga.nodes:
        if node.name not in to_b:
            changes[node.name] = LayerChange("removed", node, None, place_a[node.name])
    layers = sorted(changes.values(), key=lambda c: order[(c.change == "removed", c.name)])

    model = {}
    if ga.model_name != gb.model_name:
        model["model_name"] = (ga.model_name, gb.model_name)
    for key in ("inputs", "outputs"):
        old, new = getattr(ga, key), getattr(gb, key)
        if tuple(to_b.get(n) for n in old) != new:
            model[key] = (old, new)

    breaking, loaded = _weights(a, b, renamed, a_nodes, b_nodes)
    new_weights = [n for n in b.weights if n not in a.weights]
    return Diff(a, b, layers, model, _runs(layers), breaking, loaded, new_weights, _regions(layers))


def _regions(layers: list[LayerChange]) -> list[tuple]:
    """Shape changes as regions: layers whose changes start from overlapping origins
    form one region, named by all its origins."""
    regions: list[tuple[list, list]] = []  # (origins, layer names)
    for change in layers:
        if not change.shape:
            continue
        hits = [r for r in regions if set(r[0]) & set(change.shape_from)]
        origins = [o for r in hits for o in r[0]]
        names = [n for r in hits for n in r[1]]
        origins += [o for o in change.shape_from if o not in origins]
        regions = [r for r in regions if r not in hits] + [(origins, names + [change.name])]
    return [(tuple(o), n) for o, n in regions]


def _match(ga: Graph, gb: Graph, a_nodes: dict, b_nodes: dict) -> tuple[dict, dict]:
    """A name → B name: same names first; then renames, an unmatched layer of A and one
    of B at the same place: the only layers of their class reading the same (matched)
    inputs, or else the same class at the same position in corresponding blocks (the
    same block name, or the same stage, index and kind)."""
    to_b = {n: n for n in a_nodes if n in b_nodes}
    renamed: dict[str, str] = {}
    taken = set(to_b.values())

    def pair(x: Node, y: Node):
        to_b[x.name] = y.name
        renamed[x.name] = y.name
        taken.add(y.name)

    members_a, members_b = _block_members(ga), _block_members(gb)
    blocks = _corresponding_blocks(ga, gb)
    progress = True
    while progress:
        progress = False
        free_a: dict[tuple, list[Node]] = {}
        for x in ga.nodes:
            if x.name not in to_b:
                inputs = tuple(to_b.get(i) for i in x.inputs)
                if None not in inputs:
                    free_a.setdefault((x.keras_class, inputs), []).append(x)
        free_b: dict[tuple, list[Node]] = {}
        for y in gb.nodes:
            if y.name not in taken:
                free_b.setdefault((y.keras_class, y.inputs), []).append(y)
        for key, xs in free_a.items():
            ys = free_b.get(key, [])
            if len(xs) == 1 and len(ys) == 1:
                pair(xs[0], ys[0])
                progress = True
        if progress:
            continue
        for prefix, members in members_a.items():
            others = members_b.get(blocks.get(prefix), [])
            if len(others) != len(members):
                continue
            for x_name, y_name in zip(members, others):
                x, y = a_nodes[x_name], b_nodes[y_name]
                if x_name not in to_b and y_name not in taken and x.keras_class == y.keras_class:
                    pair(x, y)
                    progress = True
    return to_b, renamed


def _corresponding_blocks(ga: Graph, gb: Graph) -> dict[str, str]:
    """A's block name → B's: the same name, or else the block of B at the same stage
    and index, of the same kind, whose name A does not have."""
    names_b = {b.prefix for b in gb.blocks}
    names_a = {b.prefix for b in ga.blocks}
    by_position = {
        (b.stage, b.index, b.kind): b.prefix
        for b in gb.blocks
        if b.prefix not in names_a and b.index is not None
    }
    out = {}
    for b in ga.blocks:
        if b.prefix in names_b:
            out[b.prefix] = b.prefix
        elif (b.stage, b.index, b.kind) in by_position:
            out[b.prefix] = by_position[(b.stage, b.index, b.kind)]
    return out


def _block_members(graph: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node.block is not None:
            out.setdefault(node.block, []).append(node.name)
    return out


def _canon(key: str, value):
    """Values that build the same layer compare equal: no activation is ``linear``, an
    initializer's unset (None) arguments are left out, lists are tuples."""
    if key == "activation" and value is None:
        return "linear"
    if is_initializer(value):
        config = {k: _canon(k, v) for k, v in (value["config"] or {}).items() if v is not None}
        return {"class_name": value["class_name"], "config": config}
    if isinstance(value, list | tuple):
        return tuple(_canon("", v) for v in value)
    if isinstance(value, dict):
        return {k: _canon(k, v) for k, v in value.items()}
    return value


def _compare_nodes(old: Node, new: Node, to_b: dict) -> LayerChange:
    change = LayerChange("changed", old, new, Place())
    if old.keras_class != new.keras_class:
        change.kind = (old.keras_class, new.keras_class)
    for key in dict.fromkeys([*old.attrs, *new.attrs]):
        x, y = old.attrs.get(key), new.attrs.get(key)
        if _canon(key, x) != _canon(key, y):
            change.attrs[key] = (x, y)
    if tuple(to_b.get(i) for i in old.inputs) != new.inputs:
        change.inputs = (old.inputs, new.inputs)
    if old.shape != new.shape:
        change.shape = (old.shape, new.shape)
    if (old.trainable, old.non_trainable) != (new.trainable, new.non_trainable):
        change.params = ((old.trainable, old.non_trainable), (new.trainable, new.non_trainable))
    return change


def _rewired(old: Node, new: Node, to_b, to_a, a_nodes, b_nodes, added) -> bool:
    """Whether the inputs differ only because layers were inserted or removed upstream:
    each new input leads back through added layers only to the old input (in B), or each
    old input leads back through removed layers only to the new one (in A)."""
    if len(old.inputs) != len(new.inputs):
        return False

    def through(start: str, nodes: dict, skipped) -> set:
        seen, stack, ends = set(), [start], set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if skipped(name):
                stack.extend(nodes[name].inputs)
            else:
                ends.add(name)
        return ends

    for x, y in zip(old.inputs, new.inputs):
        if to_b.get(x) == y:
            continue
        if to_b.get(x) in through(y, b_nodes, lambda n: n in added):
            continue
        if to_a.get(y) in through(x, a_nodes, lambda n: n not in to_b):
            continue
        return False
    return True


def _merged_order(ga: Graph, gb: Graph, to_b: dict) -> dict:
    """A sort key for every change: B's order, A's removed layers after the layer of B
    that their predecessor in A became."""
    order = {}
    b_index = {n.name: i for i, n in enumerate(gb.nodes)}
    for name, i in b_index.items():
        order[(False, name)] = (i, 0, 0)
    last = -1
    for j, node in enumerate(ga.nodes):
        if node.name in to_b:
            last = b_index[to_b[node.name]]
        else:
            order[(True, node.name)] = (last, 1, j)
    return order


def _places(graph: Graph, other: Graph) -> dict[str, Place]:
    """Each layer's top-level block and stage; a graph without blocks (one read from
    Keras) borrows them from the other side's layer of the same name."""
    if not graph.blocks and other.blocks:
        borrowed = _places(other, graph)
        return {n.name: borrowed.get(n.name, Place()) for n in graph.nodes}
    blocks = {b.prefix: b for b in graph.blocks}
    out = {}
    for node in graph.nodes:
        top = node.block
        while top is not None and blocks.get(top) is not None and blocks[top].parent is not None:
            top = blocks[top].parent
        b: BlockInstance | None = blocks.get(top) if top is not None else None
        out[node.name] = Place(b.stage, b.prefix, b.kind, b.letter, b.index) if b else Place()
    return out


def _weights(a: Side, b: Side, renamed: dict, a_nodes: dict, b_nodes: dict):
    """Does every weighted layer of A load into B by name (same class, same number of
    weights, same shapes)?"""
    problems, loaded = [], []
    for name, wa in a.weights.items():
        if name not in b_nodes:
            if name in renamed:
                problems.append(WeightProblem(name, "renamed", renamed_to=renamed[name]))
            else:
                problems.append(WeightProblem(name, "missing"))
            continue
        old, new = a_nodes[name].keras_class, b_nodes[name].keras_class
        if old != new:
            problems.append(WeightProblem(name, "class_changed", kind=(old, new)))
            continue
        wb = b.weights.get(name, ())
        if [w.shape for w in wa] != [w.shape for w in wb]:
            pairs = []
            for i in range(max(len(wa), len(wb))):
                x = wa[i] if i < len(wa) else None
                y = wb[i] if i < len(wb) else None
                pairs.append(((x or y).name, x.shape if x else None, y.shape if y else None))
            problems.append(WeightProblem(name, "shape_changed", weights=pairs))
            continue
        loaded.append(name)
    return problems, loaded


def _runs(layers: list[LayerChange]) -> list[BlockRun]:
    """Changes by top-level block; consecutive blocks of a stage that changed the same
    way (added, removed, or the same aspects) form one run."""
    blocks: dict[str, dict] = {}
    for c in layers:
        if c.place.block is None:
            continue
        entry = blocks.setdefault(c.place.block, {"place": c.place, "changes": []})
        entry["changes"].append(c)
    runs: list[BlockRun] = []
    for prefix, entry in blocks.items():
        changes, place = entry["changes"], entry["place"]
        kinds = {c.change for c in changes}
        if kinds == {"added"}:
            what, aspects = "added", ()
        elif kinds == {"removed"}:
            what, aspects = "removed", ()
        else:
            what = "changed"
            found = []
            for c in changes:
                for aspect in c.aspects():
                    if aspect not in found:
                        found.append(aspect)
            n_added = sum(c.change == "added" for c in changes)
            n_removed = sum(c.change == "removed" for c in changes)
            if n_added:
                found.append(f"+{n_added} layer" + ("s" if n_added > 1 else ""))
            if n_removed:
                found.append(f"-{n_removed} layer" + ("s" if n_removed > 1 else ""))
            aspects = tuple(found)
            if not aspects:
                continue  # only rewired: the consequence of blocks added or removed upstream
        delta = sum(_params(c.b) - _params(c.a) for c in changes)
        last = runs[-1] if runs else None
        if last and (last.stage, last.change, last.kind, last.aspects) == (
            place.stage,
            what,
            place.kind,
            aspects,
        ):
            last.blocks.append(prefix)
            last.params += delta
        else:
            runs.append(BlockRun(place.stage, what, place.kind, [prefix], aspects, delta))
    return runs


def _params(node: Node | None) -> int:
    return node.params if node is not None else 0


# ---- JSON -------------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # something a foreign Keras layer's config holds


def _layer_json(node: Node | None, side: Side) -> dict | None:
    if node is None:
        return None
    return {
        "name": node.name,
        "kind": node.op,
        "keras_class": node.keras_class,
        "inputs": list(node.inputs),
        "output_shape": _jsonable(node.output_shape),
        "params": node.params,
        "trainable_params": node.trainable,
        "non_trainable_params": node.non_trainable,
        "weights": [
            {"name": w.name, "shape": list(w.shape)} for w in side.weights.get(node.name, ())
        ],
    }


def _side_json(side: Side) -> dict:
    g = side.graph
    return {
        "source": side.label,
        "kind": side.kind,
        "name": g.name,
        "model_name": g.model_name,
        "layers": len(g.nodes),
        "total_params": g.total,
        "trainable_params": g.trainable,
        "non_trainable_params": g.non_trainable,
        "output_shape": _jsonable(g.output_shape) if g.outputs else None,
    }


def _as_json(d: Diff) -> dict:
    ga, gb = d.a.graph, d.b.graph
    return {
        "schema": SCHEMA,
        "verdict": d.verdict,
        "a": _side_json(d.a),
        "b": _side_json(d.b),
        "params": {
            key: {
                "a": getattr(ga, attr),
                "b": getattr(gb, attr),
                "delta": getattr(gb, attr) - getattr(ga, attr),
            }
            for key, attr in (
                ("total", "total"),
                ("trainable", "trainable"),
                ("non_trainable", "non_trainable"),
            )
        },
        "counts": {
            "added": d.count("added"),
            "removed": d.count("removed"),
            "renamed": d.count("renamed"),
            "changed": d.count("changed"),
            "rewired": d.count("rewired"),
        },
        "model": {
            key: {"a": _jsonable(old), "b": _jsonable(new)} for key, (old, new) in d.model.items()
        },
        "blocks": [
            {
                "stage": r.stage,
                "change": r.change,
                "kind": r.kind,
                "blocks": list(r.blocks),
                "aspects": list(r.aspects),
                "params_delta": r.params,
                "summary": r.text(),
            }
            for r in d.runs
        ],
        "shape_changes": [{"from": list(origin), "layers": names} for origin, names in d.origins],
        "layers": [
            {
                "change": c.change,
                "name": c.name,
                "stage": c.place.stage,
                "block": c.place.block,
                "block_kind": c.place.kind,
                "a": _layer_json(c.a, d.a),
                "b": _layer_json(c.b, d.b),
                "class": {"a": c.kind[0], "b": c.kind[1]} if c.kind else None,
                "attrs": {
                    k: {"a": _jsonable(x), "b": _jsonable(y)} for k, (x, y) in c.attrs.items()
                },
                "inputs": {"a": list(c.inputs[0]), "b": list(c.inputs[1]), "rewired": c.rewired}
                if c.inputs
                else None,
                "output_shape": {
                    "a": _jsonable((None, *c.shape[0])),
                    "b": _jsonable((None, *c.shape[1])),
                }
                if c.shape
                else None,
                "shape_from": list(c.shape_from),
                "params_delta": _params(c.b) - _params(c.a),
            }
            for c in d.layers
        ],
        "weights": {
            "weighted_layers": len(d.a.weights),
            "loaded": len(d.loaded),
            "breaking": [
                {
                    "layer": p.layer,
                    "reason": p.reason,
                    "renamed_to": p.renamed_to,
                    "class": {"a": p.kind[0], "b": p.kind[1]} if p.kind else None,
                    "weights": [
                        {
                            "name": n,
                            "a": _jsonable(x) if x is not None else None,
                            "b": _jsonable(y) if y is not None else None,
                        }
                        for n, x, y in p.weights
                    ],
                    "message": p.text(),
                }
                for p in d.breaking
            ],
            "new": [
                {"layer": name, "params": sum(math.prod(w.shape) for w in d.b.weights[name])}
                for name in d.new_weights
            ],
        },
    }


# ---- text -------------------------------------------------------------------------------


def _shape(shape) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _value(value) -> str:
    if is_initializer(value):
        args = ", ".join(f"{k}={v!r}" for k, v in value["config"].items())
        return f"{value['class_name']}({args})"
    if isinstance(value, tuple):
        return _shape(value)
    return repr(value) if isinstance(value, str) else str(value)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _signed(n: int) -> str:
    return f"+{n:,}" if n > 0 else (f"{n:,}" if n < 0 else "±0")


def _span(names: list[str]) -> str:
    if len(names) <= 2:
        return ", ".join(names)
    return f"{names[0]} … {names[-1]}"


def _causes(c: LayerChange | None) -> str:
    """Why a layer's own output shape changed: its attributes, class or inputs."""
    if c is None:
        return ""
    parts = [f"{k} {_value(x)} → {_value(y)}" for k, (x, y) in c.attrs.items()]
    if c.kind:
        parts.insert(0, f"class {c.kind[0]} → {c.kind[1]}")
    if c.inputs and not c.rewired:
        parts.append(f"inputs {', '.join(c.inputs[0])} → {', '.join(c.inputs[1])}")
    return "; ".join(parts)


def _detail(c: LayerChange) -> str:
    """One changed layer in words."""
    parts = []
    if c.change == "renamed":
        parts.append(f"renamed from {c.a.name}")
    if c.kind:
        parts.append(f"class {c.kind[0]} → {c.kind[1]}")
    for key, (x, y) in c.attrs.items():
        parts.append(f"{key} {_value(x)} → {_value(y)}")
    if c.inputs:
        how = "rewired" if c.rewired else "inputs"
        parts.append(f"{how} {', '.join(c.inputs[0])} → {', '.join(c.inputs[1])}")
    if c.shape:
        text = f"output {_shape((None, *c.shape[0]))} → {_shape((None, *c.shape[1]))}"
        if c.shape_from != (c.name,):
            text += f" (from {', '.join(c.shape_from)})"
        parts.append(text)
    if c.params and (old := sum(c.params[0])) != (new := sum(c.params[1])):
        parts.append(f"params {old:,} → {new:,}")
    elif c.params:
        parts.append(
            f"trainable/non-trainable {c.params[0][0]:,}/{c.params[0][1]:,} → {c.params[1][0]:,}/{c.params[1][1]:,}"
        )
    return "; ".join(parts)


class _Out:
    """Lines of text, coloured through rich only when asked (a terminal)."""

    def __init__(self, color: bool, width: int | None):
        self.color = color
        self.lines: list[tuple[str, str | None]] = []
        self.width = width

    def line(self, text: str = "", style: str | None = None):
        self.lines.append((text, style))

    def text(self) -> str:
        if not self.color:
            return "".join(t + "\n" for t, _ in self.lines)
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=True,
            width=self.width or 200,
            highlight=False,
            soft_wrap=True,
        )
        for text, style in self.lines:
            console.print(text, style=style, markup=False)
        return buffer.getvalue()


STYLE = {
    "added": "green",
    "removed": "red",
    "renamed": "yellow",
    "changed": "yellow",
    "rewired": None,
}
SIGN = {"added": "+", "removed": "-", "renamed": "→", "changed": "~", "rewired": "^"}
VERDICT_STYLE = {IDENTICAL: "bold green", COMPATIBLE: "bold yellow", BREAKING: "bold red"}
SHOWN = 20  # weight problems and new layers listed in full without --layers


def _render(d: Diff, *, layers: bool, color: bool, width: int | None) -> str:
    out = _Out(color, width)
    ga, gb = d.a.graph, d.b.graph
    for tag, side in (("a", d.a), ("b", d.b)):
        g = side.graph
        out.line(
            f"{tag.upper()}: {side.label}  ({g.model_name}, {len(g.nodes)} layers, {g.total:,} params)",
            "bold",
        )
    out.line()
    if d.verdict == IDENTICAL:
        out.line(
            f"identical: the same {len(gb.nodes)} layers (names, classes, configurations, "
            f"connections, shapes) and {len(d.loaded)} weighted layers that load by name",
            VERDICT_STYLE[IDENTICAL],
        )
        return out.text()

    for key, (old, new) in d.model.items():
        old_text = old if isinstance(old, str) else ", ".join(old)
        new_text = new if isinstance(new, str) else ", ".join(new)
        out.line(
            f"{'model name' if key == 'model_name' else 'model ' + key}: {old_text} → {new_text}"
        )
    out.line(
        f"layers: {len(ga.nodes)} → {len(gb.nodes)} ({_signed(len(gb.nodes) - len(ga.nodes))}): "
        f"{d.count('added')} added, {d.count('removed')} removed, {d.count('renamed')} renamed, "
        f"{d.count('changed')} changed"
        + (f", {d.count('rewired')} rewired" if d.count("rewired") else "")
    )
    out.line(
        f"params: {ga.total:,} → {gb.total:,} ({_signed(gb.total - ga.total)}); "
        f"trainable {_signed(gb.trainable - ga.trainable)}, non-trainable {_signed(gb.non_trainable - ga.non_trainable)}"
    )
    out.line()

    # By stage and block, runs collapsed; layers outside blocks one by one.
    groups: dict[str, list[str]] = {}
    deltas: dict[str, int] = {}
    for run in d.runs:
        label = Place(run.stage, run.blocks[0]).label
        groups.setdefault(label, []).append(run.text())
        deltas[label] = deltas.get(label, 0) + run.params
    for c in d.layers:
        if c.place.block is None:
            label = "top level"
            what = {"added": "+", "removed": "-"}.get(c.change)
            text = f"{what}{c.name}" if what else f"~{c.name}: {', '.join(c.aspects())}"
            if c.change == "renamed":
                text = f"{c.a.name} → {c.b.name}" + (
                    f": {', '.join(a for a in c.aspects() if a != 'renamed')}"
                    if len(c.aspects()) > 1
                    else ""
                )
            elif c.change == "rewired":
                continue
            groups.setdefault(label, []).append(text)
            deltas[label] = deltas.get(label, 0) + _params(c.b) - _params(c.a)
    for label, texts in groups.items():
        delta = deltas[label]
        tail = f", {_signed(delta)} params" if delta else ""
        out.line(f"{label}: {'; '.join(texts)}{tail}")
    if groups:
        out.line()

    by_name = {c.name: c for c in d.layers}
    for origin, names in d.origins:
        causes = []
        for name in origin:
            c = by_name.get(name)
            what = "added" if c is not None and c.change == "added" else _causes(c)
            if what and what not in causes:
                causes.append(what)
        cause = f" ({'; '.join(causes)})" if causes else ""
        out.line(
            f"output shapes change from {', '.join(origin)}{cause}: {_plural(len(names), 'layer')}, {_span(names)}"
        )
    if d.origins:
        final = d.model.get("outputs")
        out_a, out_b = (
            ga.output_shape if ga.outputs else None,
            gb.output_shape if gb.outputs else None,
        )
        if final is None:
            verb = "unchanged" if out_a == out_b else f"{_shape(out_a)} → {_shape(out_b)}"
            out.line(
                f"model output shape: {_shape(out_b) + ' ' if verb == 'unchanged' else ''}{verb}"
            )
        out.line()

    if layers:
        current = None
        for c in d.layers:
            header = c.place.label + (
                f", block {c.place.block} ({c.place.kind})" if c.place.block else ""
            )
            if header != current:
                out.line(header, "bold")
                current = header
            node = c.b or c.a
            if c.change in ("added", "removed"):
                body = f"{node.op:<12} {_shape(node.output_shape):<22} {node.params:>12,}"
            else:
                body = _detail(c)
            out.line(f"  {SIGN[c.change]} {c.name:<28} {body}", STYLE[c.change])
        out.line()

    verdict = d.verdict
    total = len(d.a.weights)
    if verdict == COMPATIBLE:
        out.line(
            f"compatible: all {total} weighted layers of A load into B by name",
            VERDICT_STYLE[verdict],
        )
    else:
        out.line(
            f"breaking: {len(d.breaking)} of {total} weighted layers of A will not load into B by name",
            VERDICT_STYLE[verdict],
        )
        shown = d.breaking if layers else d.breaking[:SHOWN]
        for p in shown:
            out.line(f"  {p.layer}: {p.text()}", "red")
        if len(shown) < len(d.breaking):
            out.line(
                f"  … and {len(d.breaking) - len(shown)} more (--layers or --format json lists all)"
            )
    if d.new_weights:
        added = sum(sum(math.prod(w.shape) for w in d.b.weights[n]) for n in d.new_weights)
        out.line(
            f"B adds {_plural(len(d.new_weights), 'weighted layer')} ({added:,} params) that A's weights do not cover: "
            + (
                ", ".join(d.new_weights)
                if layers or len(d.new_weights) <= SHOWN // 2
                else _span(d.new_weights)
            )
        )
    return out.text()
