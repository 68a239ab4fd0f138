"""Matching two graphs for ``archspec diff`` (pure Python, no TensorFlow).

Layers are matched by name, then an unmatched pair at the same place (same class reading
the same inputs, or the same position in the same block) is a rename. Each matched pair
is compared on class, attributes, inputs, output shape and parameter counts; shape
changes are traced to the layers they start from. Changes are grouped by stage and
block, with runs of blocks collapsed, and the weights of A are checked against B's by
layer name and shape, as ``load_weights(..., by_name=True)`` requires.
"""

from __future__ import annotations

from archspec.analysis.diff.model import (
    BlockRun,
    Diff,
    LayerChange,
    Place,
    Side,
    WeightProblem,
    params_of,
)
from archspec.core.ir import BlockInstance, Graph, Node
from archspec.core.ops.args import is_initializer


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

    model = _model_changes(ga, gb, to_b)
    breaking, loaded = _weights(a, b, renamed, a_nodes, b_nodes)
    new_weights = [n for n in b.weights if n not in a.weights]
    return Diff(a, b, layers, model, _runs(layers), breaking, loaded, new_weights, _regions(layers))


def _model_changes(ga: Graph, gb: Graph, to_b: dict) -> dict:
    """The model's own name, inputs and outputs → (old, new), where they differ."""
    model = {}
    if ga.model_name != gb.model_name:
        model["model_name"] = (ga.model_name, gb.model_name)
    for key in ("inputs", "outputs"):
        old, new = getattr(ga, key), getattr(gb, key)
        if tuple(to_b.get(n) for n in old) != new:
            model[key] = (old, new)
    return model


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


# Keras's defaults of its initializers' arguments (a saved model leaves them out) and
# the activations it saves under another name (Activation("swish") saves "silu").
INITIALIZER_DEFAULTS = {
    "VarianceScaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
    "RandomUniform": {"minval": -0.05, "maxval": 0.05},
    "RandomNormal": {"mean": 0.0, "stddev": 0.05},
    "TruncatedNormal": {"mean": 0.0, "stddev": 0.05},
    "Orthogonal": {"gain": 1.0},
    "Constant": {"value": 0.0},
}
ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _canon(key: str, value):
    """Values that build the same layer compare equal: no activation is ``linear``, an
    initializer's unset (None) or default arguments are left out, an activation's alias
    is its saved name, lists are tuples."""
    if key == "activation" and value is None:
        return "linear"
    if key == "activation" and isinstance(value, str):
        return ACTIVATION_ALIASES.get(value, value)
    if is_initializer(value):
        defaults = INITIALIZER_DEFAULTS.get(value["class_name"], {})
        config = {
            k: _canon(k, v)
            for k, v in (value["config"] or {}).items()
            if v is not None and (k not in defaults or defaults[k] != v)
        }
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
        delta = sum(params_of(c.b) - params_of(c.a) for c in changes)
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
