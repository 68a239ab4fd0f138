"""The ``archspec diff`` report: a ``Diff`` as JSON and as text (coloured through rich
on a terminal).

The JSON form (``as_json``) is documented in docs/diff.md; ``SCHEMA`` names its version.
"""

from __future__ import annotations

import io
import math

from archspec.analysis.diff.model import (
    BREAKING,
    COMPATIBLE,
    IDENTICAL,
    Diff,
    LayerChange,
    Place,
    Side,
    WeightProblem,
    params_of,
    shape_text,
)
from archspec.core.ir import Node
from archspec.core.ops.args import is_initializer

SCHEMA = "archspec-diff/1"


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


def as_json(d: Diff) -> dict:
    """Plain data, the schema of docs/diff.md."""
    return {
        "schema": SCHEMA,
        "verdict": d.verdict,
        "a": _side_json(d.a),
        "b": _side_json(d.b),
        "params": _params_json(d),
        "counts": {
            change: d.count(change)
            for change in ("added", "removed", "renamed", "changed", "rewired")
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
        "layers": [_change_json(c, d) for c in d.layers],
        "weights": {
            "weighted_layers": len(d.a.weights),
            "loaded": len(d.loaded),
            "breaking": [_problem_json(p) for p in d.breaking],
            "new": [
                {"layer": name, "params": sum(math.prod(w.shape) for w in d.b.weights[name])}
                for name in d.new_weights
            ],
        },
    }


def _params_json(d: Diff) -> dict:
    ga, gb = d.a.graph, d.b.graph
    return {
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
    }


def _change_json(c: LayerChange, d: Diff) -> dict:
    return {
        "change": c.change,
        "name": c.name,
        "stage": c.place.stage,
        "block": c.place.block,
        "block_kind": c.place.kind,
        "a": _layer_json(c.a, d.a),
        "b": _layer_json(c.b, d.b),
        "class": {"a": c.kind[0], "b": c.kind[1]} if c.kind else None,
        "attrs": {k: {"a": _jsonable(x), "b": _jsonable(y)} for k, (x, y) in c.attrs.items()},
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
        "params_delta": params_of(c.b) - params_of(c.a),
    }


def _problem_json(p: WeightProblem) -> dict:
    return {
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


# ---- text -------------------------------------------------------------------------------


def _value(value) -> str:
    if is_initializer(value):
        args = ", ".join(f"{k}={v!r}" for k, v in value["config"].items())
        return f"{value['class_name']}({args})"
    if isinstance(value, tuple):
        return shape_text(value)
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
        text = f"output {shape_text((None, *c.shape[0]))} → {shape_text((None, *c.shape[1]))}"
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


def render(d: Diff, *, layers: bool = False, color: bool = False, width: int | None = None) -> str:
    """The text report: totals, changes by stage and block, shape changes, the verdict;
    with ``layers`` every changed layer."""
    out = _Out(color, width)
    _sides(out, d)
    if d.verdict == IDENTICAL:
        out.line(
            f"identical: the same {len(d.b.graph.nodes)} layers (names, classes, configurations, "
            f"connections, shapes) and {len(d.loaded)} weighted layers that load by name",
            VERDICT_STYLE[IDENTICAL],
        )
        return out.text()
    _totals(out, d)
    _by_block(out, d)
    _shape_changes(out, d)
    if layers:
        _every_layer(out, d)
    _verdict(out, d, layers)
    _new_weights(out, d, layers)
    return out.text()


def _sides(out: _Out, d: Diff) -> None:
    for tag, side in (("a", d.a), ("b", d.b)):
        g = side.graph
        out.line(
            f"{tag.upper()}: {side.label}  ({g.model_name}, {len(g.nodes)} layers, {g.total:,} params)",
            "bold",
        )
    out.line()


def _totals(out: _Out, d: Diff) -> None:
    """The model's own changes (name, inputs, outputs), layer counts and parameters."""
    ga, gb = d.a.graph, d.b.graph
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


def _by_block(out: _Out, d: Diff) -> None:
    """By stage and block, runs collapsed; layers outside blocks one by one."""
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
            deltas[label] = deltas.get(label, 0) + params_of(c.b) - params_of(c.a)
    for label, texts in groups.items():
        delta = deltas[label]
        tail = f", {_signed(delta)} params" if delta else ""
        out.line(f"{label}: {'; '.join(texts)}{tail}")
    if groups:
        out.line()


def _shape_changes(out: _Out, d: Diff) -> None:
    """Each region of changed output shapes, with its causes, and the model's output."""
    ga, gb = d.a.graph, d.b.graph
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
            verb = "unchanged" if out_a == out_b else f"{shape_text(out_a)} → {shape_text(out_b)}"
            out.line(
                f"model output shape: {shape_text(out_b) + ' ' if verb == 'unchanged' else ''}{verb}"
            )
        out.line()


def _every_layer(out: _Out, d: Diff) -> None:
    """``--layers``: every changed layer under its stage and block."""
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
            body = f"{node.op:<12} {shape_text(node.output_shape):<22} {node.params:>12,}"
        else:
            body = _detail(c)
        out.line(f"  {SIGN[c.change]} {c.name:<28} {body}", STYLE[c.change])
    out.line()


def _verdict(out: _Out, d: Diff, layers: bool) -> None:
    """Compatible, or breaking with the weights that will not load (the first ``SHOWN``
    without ``--layers``)."""
    verdict = d.verdict
    total = len(d.a.weights)
    if verdict == COMPATIBLE:
        out.line(
            f"compatible: all {total} weighted layers of A load into B by name",
            VERDICT_STYLE[verdict],
        )
        return
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


def _new_weights(out: _Out, d: Diff, layers: bool) -> None:
    if not d.new_weights:
        return
    added = sum(sum(math.prod(w.shape) for w in d.b.weights[n]) for n in d.new_weights)
    out.line(
        f"B adds {_plural(len(d.new_weights), 'weighted layer')} ({added:,} params) that A's weights do not cover: "
        + (
            ", ".join(d.new_weights)
            if layers or len(d.new_weights) <= SHOWN // 2
            else _span(d.new_weights)
        )
    )
