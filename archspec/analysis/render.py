"""``archspec render``: the spec as archspec sees it, with nothing left to look up.

``extends`` is merged, imported blocks are copied in, params carry their final values
(``--set`` applied), every layer carries its kind's defaults, a stage's shared
arguments are written on each block that takes them, and the naming scheme is written
out. The items come from the Program, where all of that was decided once. The result is
itself a spec that checks and builds to the same model.
"""

from __future__ import annotations

import copy

import yaml

from archspec.core.elaborate import Block, Branch, Call, Layer, Program, Reuse, Stage

_ORDER = [
    "name", "model_name", "doc", "params", "naming", "input", "inputs", "outputs", "blocks",
    "layers",
]  # fmt: skip

# the keys every item may carry, by their field in the Program's items
_COMMON = (("name", "name"), ("role", "role"), ("when", "when"), ("from", "reads"), ("as", "binds"))


def _common(item) -> dict:
    out = {}
    for key, field in _COMMON:
        arg = getattr(item, field, None)
        if arg is not None:
            out[key] = arg.value
    return out


def _item(kind: str, args: dict, item) -> str | dict:
    """``kind`` alone, or ``{kind: {arguments..., name, role, when, from, as}}``."""
    values = {k: a.value for k, a in args.items()} | _common(item)
    return {kind: values} if values else kind


def _items(items) -> list:
    out = []
    for item in items:
        if isinstance(item, Layer):
            out.append(_item(item.op.kind, item.args, item))
        elif isinstance(item, Call):
            out.append(_item(item.block, item.args, item))
        elif isinstance(item, Reuse):
            out.append({"reuse": {"layer": item.target.value} | _common(item)})
        elif isinstance(item, Stage):
            stage = {"id": item.id.value, "blocks": [_entry(e) for e in item.entries]}
            out.append({"stage": stage | _common(item)})
    return out


def _entry(entry) -> str | dict:
    args = {k: a.value for k, a in entry.args.items()}
    for key, arg in (("name", entry.name), ("when", entry.when)):
        if arg is not None:
            args[key] = arg.value
    if entry.times.value != 1:
        args["repeat"] = entry.times.value
    return {entry.block: args} if args else entry.block


def _branch(branch: Branch) -> list | dict:
    layers = _items(branch.items)
    if branch.start.value == "layers" and branch.when is None:
        return layers
    out = {"from": branch.start.value}
    if branch.when is not None:
        out["when"] = branch.when.value
    return {**out, "layers": layers}


def _param(decl) -> dict:
    out = {"type": decl.type}
    if not decl.required:
        out["default"] = decl.default
    if decl.doc:
        out["doc"] = decl.doc
    return out


def _block(block: Block) -> dict:
    out = {
        "doc": block.text,
        "inputs": list(block.inputs) if block.inputs != ("input",) else None,
        "outputs": list(block.outputs) if block.outputs else None,
        "model": block.model,
        "params": {k: _param(d) for k, d in block.params.items()},
        "vars": {k: a.value for k, a in block.vars.items()},
        "layers": _items(block.layers),
        "branches": [_branch(b) for b in block.branches],
        "merge": _items([block.merge])[0] if block.merge is not None else None,
        "after": _items(block.after),
    }
    return {k: v for k, v in out.items() if v not in (None, [], {})}


def resolved_document(program: Program) -> dict:
    """The resolved spec as plain data."""
    resolved = program.resolved
    data = copy.deepcopy(resolved.doc.data)
    data.pop("defaults", None)
    data["params"] = copy.deepcopy(resolved.params)
    data["naming"] = resolved.naming.model_dump()
    data["blocks"] = {name: _block(block) for name, block in program.blocks.items()}
    data["layers"] = _items(program.items)
    return {k: data[k] for k in _ORDER if k in data} | {
        k: v for k, v in data.items() if k not in _ORDER
    }


def render_yaml(program: Program) -> str:
    """The resolved spec as YAML, under a comment naming the file it came from."""
    header = (
        f"# {program.resolved.path} resolved by archspec render: extends, imports, params "
        "and defaults applied\n"
    )
    return header + yaml.safe_dump(
        resolved_document(program), sort_keys=False, default_flow_style=None, width=100
    )
