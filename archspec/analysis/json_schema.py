"""The JSON Schema of the spec language, for editors (``archspec schema``).

It is derived from the pydantic models: the structure from ``schema.Spec`` and
``schema.Library``, each layer kind's arguments from its op's model in ``ops``. Every
argument also accepts an expression string, and a one-key item whose key is not a layer
kind is a block call, which a schema cannot check (the block may be the user's own).
"""

from __future__ import annotations

import copy
import json

import yaml
from pydantic import TypeAdapter

from archspec.core.ops import OPS
from archspec.frontend.resolve import LIBRARY_DIR
from archspec.frontend.schema import COMMON_KEYS, Library, Spec

EXPRESSION = {"type": "string", "pattern": "\\{\\{|\\{%", "description": "a Jinja2 expression"}
BASE_URI = "https://archspec.dev/schema"


def _common_keys() -> dict:
    """The keys every layer item takes besides its arguments, from ``schema.COMMON_KEYS``;
    a union of plain types is written as a list of types."""
    out = {}
    for key, (type_, description) in COMMON_KEYS.items():
        schema = TypeAdapter(type_).json_schema()
        types = [form["type"] for form in schema.get("anyOf", [schema])]
        out[key] = {"type": types, "description": description}
    return out


def _layer_args(op) -> dict:
    schema = op.args.model_json_schema()
    defs = schema.pop("$defs", {})
    properties = {}
    for key, prop in schema.get("properties", {}).items():
        properties[key] = {"anyOf": [prop, EXPRESSION], "description": prop.get("title", key)}
    properties.update(_common_keys())
    # No "required": a spec's or library's defaults may supply any argument.
    args = {"type": "object", "properties": properties, "additionalProperties": False}
    forms = [args, {"type": "null"}]
    if op.primary:
        forms.append({"anyOf": [properties[op.primary]["anyOf"][0], EXPRESSION]})
    return {"anyOf": forms}, defs


BLOCK_CALL = {
    "type": ["object", "null"],
    "description": "a block call: the block's params, and name, role, when",
}


def _shipped_blocks() -> set[str]:
    """The names of the blocks the shipped libraries define."""
    names = set()
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        names |= set(yaml.safe_load(path.read_text(encoding="utf-8")).get("blocks") or {})
    return names


def _item_schema() -> tuple[dict, dict]:
    defs: dict = {}
    kinds = {}
    shipped = _shipped_blocks()
    for kind, op in OPS.items():
        if op.module is not None:  # a plugin's kind: the schema is the same on every machine
            continue
        schema, op_defs = _layer_args(op)
        defs.update(op_defs)
        if kind in shipped:  # a block of that name shadows the kind where it is imported
            schema = {"anyOf": [*schema["anyOf"], BLOCK_CALL]}
        for name in (kind, *op.aliases):
            kinds[name] = schema
    kinds["stage"] = {
        "type": "object",
        "description": "blocks repeated with per-position arguments; other keys go to the blocks",
        "properties": {
            "id": {"type": ["integer", "string"]},
            "blocks": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 1},
        },
        "required": ["id", "blocks"],
    }
    names = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    kinds["reuse"] = {
        "description": "a layer (or a block built as a model) applied again, sharing its weights",
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"layer": {"type": "string"}, "from": names, "as": names, "when": {}},
                "required": ["layer"],
                "additionalProperties": False,
            },
        ],
    }
    item = {
        "description": "a layer kind, a block call or a stage: 'relu', 'identity x 3' or {kind: arguments}",
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": kinds,
                "additionalProperties": BLOCK_CALL,
            },
        ],
    }
    return item, defs


# Shorthands that pydantic models accept before validation: a branch written as a plain
# list of items, a block param written as its type alone.
SHORTHANDS = {
    "#/$defs/Branch": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
    "#/$defs/ParamDecl": {"type": "string"},
}


def _with_items(schema: dict) -> dict:
    """Point every raw item (``str | dict``) of the pydantic schema at the Item definition,
    and admit the shorthands."""
    raw_item = [{"type": "string"}, {"additionalProperties": True, "type": "object"}]

    def walk(node):
        if isinstance(node, dict):
            if node.get("anyOf") == raw_item:
                return {"$ref": "#/$defs/Item"}
            if node.get("$ref") in SHORTHANDS:
                return {"anyOf": [dict(node), SHORTHANDS[node["$ref"]]]}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def spec_schema(model=Spec, name: str = "spec") -> dict:
    """The JSON Schema of a spec (or, with ``model=Library``, of a block library)."""
    schema = _with_items(copy.deepcopy(model.model_json_schema()))
    if model is Spec:
        # A spec that extends another may leave out what its base says.
        schema["properties"]["extends"] = {"type": "string", "description": "the base spec's path"}
        schema["if"] = {"required": ["extends"]}
        schema["then"] = {}
        schema["else"] = {
            "required": schema.pop("required", []),
            "oneOf": [{"required": ["input"]}, {"required": ["inputs"]}],
        }
    item, defs = _item_schema()
    schema.setdefault("$defs", {}).update(defs)
    schema["$defs"]["Item"] = item
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE_URI}/{name}.schema.json"
    return schema


def schemas() -> dict[str, str]:
    """File name → JSON text of every schema archspec publishes."""
    return {
        "spec.schema.json": json.dumps(spec_schema(Spec, "spec"), indent=2, sort_keys=True) + "\n",
        "library.schema.json": json.dumps(spec_schema(Library, "library"), indent=2, sort_keys=True)
        + "\n",
    }
