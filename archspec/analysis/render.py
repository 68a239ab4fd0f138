"""``archspec render``: the spec as archspec sees it, with nothing left to look up.

``extends`` is merged, imported blocks are copied in, params carry their final values
(``--set`` applied), every layer carries its kind's defaults, and the naming scheme is
written out. The result is itself a spec that checks and builds to the same model.
"""

from __future__ import annotations

import copy

import yaml

from archspec.core.items import ItemError, split
from archspec.core.ops import OPS
from archspec.frontend.resolve import ResolvedSpec


def _with_defaults(item, tables: list[dict]):
    """A layer item with its kind's defaults written into its arguments."""
    try:
        kind, args, _ = split(item, ())
    except ItemError:
        return item
    if kind not in OPS:
        return item
    merged: dict = {}
    for table in tables:
        merged.update(table.get(kind) or {})
    if not merged:
        return item
    op = OPS[kind]
    if args is not None and not isinstance(args, dict):
        args = {op.primary: args}
    return {kind: {**merged, **(args or {})}}


def _block(definition: dict, tables: list[dict]) -> dict:
    out = copy.deepcopy(definition)
    for key in ("layers", "after"):
        out[key] = [_with_defaults(i, tables) for i in out.get(key, [])] or None
    branches = []
    for branch in out.get("branches", []):
        if isinstance(branch, dict):
            branch = {
                **branch,
                "layers": [_with_defaults(i, tables) for i in branch.get("layers", [])],
            }
        else:
            branch = [_with_defaults(i, tables) for i in branch]
        branches.append(branch)
    out["branches"] = branches or None
    if out.get("merge") is not None:
        out["merge"] = _with_defaults(out["merge"], tables)
    return {k: v for k, v in out.items() if v is not None}


def resolved_document(resolved: ResolvedSpec) -> dict:
    """The resolved spec as plain data."""
    data = copy.deepcopy(resolved.doc.data)
    spec_defaults = resolved.spec.defaults
    data.pop("defaults", None)
    data["params"] = copy.deepcopy(resolved.params)
    data["naming"] = resolved.naming.model_dump()
    blocks = {}
    for name, entry in resolved.blocks.items():
        raw = entry.doc.data
        for part in entry.path:
            raw = raw[part]
        blocks[name] = _block(raw, [entry.defaults, spec_defaults])
    data["blocks"] = blocks
    data["layers"] = [_with_defaults(item, [spec_defaults]) for item in data["layers"]]
    order = ["name", "model_name", "doc", "params", "naming", "input", "blocks", "layers"]
    return {k: data[k] for k in order if k in data} | {
        k: v for k, v in data.items() if k not in order
    }


def render_yaml(resolved: ResolvedSpec) -> str:
    header = f"# {resolved.path} resolved by archspec render: extends, imports, params and defaults applied\n"
    return header + yaml.safe_dump(
        resolved_document(resolved), sort_keys=False, default_flow_style=None, width=100
    )
