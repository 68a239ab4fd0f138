"""The JSON Schema of the spec language, for editors (``archspec schema``).

It is derived from the pydantic models: the structure from ``schema.Spec`` and
``schema.Library``, each layer kind's arguments from its op's model in ``ops``, their
hovers from the catalogue's argument docs (``ops.docs``). Every argument also accepts an
expression string.

Which names an item may use depends on what the document can define. A spec with no
``blocks`` and no ``extends`` that imports only shipped libraries can name nothing but the
built-in kinds and the shipped blocks, so there the schema flags any other name (``- flaten``).
Where the document defines blocks, extends a spec or imports a user's library, a name the
schema does not know may be one of those blocks: it is admitted, since a schema cannot read
the names the document defines (``archspec check`` then says whether it exists). A plugin's
kind is known only to a schema written with ``archspec schema --plugins``.
"""

from __future__ import annotations

import copy
import json
import re

import yaml
from pydantic import TypeAdapter

from archspec.core.ops import OPS
from archspec.core.ops.docs import argument_doc, kind_line
from archspec.frontend.resolve import LIBRARY_DIR, shipped_libraries
from archspec.frontend.schema import COMMON_KEYS, NAME_DOCS, Library, Spec

# No description: a hover shows the argument's alone, not this one beside it.
EXPRESSION = {"type": "string", "pattern": "\\{\\{|\\{%"}
BASE_URI = "https://archspec.dev/schema"


def one_line(text: str) -> str:
    """A description as a hover shows it: one line, plain text. A docstring gives its
    first sentence; RST's literals lose their backticks (an editor would show them)."""
    if "\n" in text.strip():
        text = re.split(r"\.\s", " ".join(text.split()) + " ", maxsplit=1)[0]
    text = " ".join(text.split()).replace("`", "")
    return text[:-1] if text.endswith(".") and not text.endswith("...") else text


def _common_keys() -> dict:
    """The keys every layer item takes besides its arguments, from ``schema.COMMON_KEYS``;
    a union of plain types is written as a list of types."""
    out = {}
    for key, (type_, description) in COMMON_KEYS.items():
        schema = TypeAdapter(type_).json_schema()
        types = [form["type"] for form in schema.get("anyOf", [schema])]
        out[key] = {"type": types, "description": description}
    return out


def _layer_args(op, name: str) -> tuple[dict, dict]:
    schema = op.args.model_json_schema()
    defs = schema.pop("$defs", {})
    properties = {}
    for key, prop in schema.get("properties", {}).items():
        doc = argument_doc(op.kind, key) or key
        properties[key] = {"anyOf": [prop, EXPRESSION], "description": doc}
    properties.update(_common_keys())
    # No "required": a spec's or library's defaults may supply any argument.
    args = {"type": "object", "properties": properties, "additionalProperties": False}
    forms = [args, {"type": "null"}]
    if op.primary:
        forms.append({"anyOf": [properties[op.primary]["anyOf"][0], EXPRESSION]})
    return {"anyOf": forms, "description": kind_line(op, name)}, defs


BLOCK_CALL = {
    "type": ["object", "null"],
    "description": "a block call: the block's params, and name, role, when",
}


def _shipped_blocks() -> dict[str, str]:
    """The blocks the shipped libraries define: name → a line on it."""
    blocks = {}
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        library = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, block in (library.get("blocks") or {}).items():
            doc = one_line(block.get("doc") or "")
            line = f"block of the shipped library {path.stem}" + (f": {doc}" if doc else "")
            blocks[name] = f"{blocks[name]}; or {line}" if name in blocks else line
    return blocks


def _ops(plugins: bool) -> dict:
    """The kinds the schema knows: the built-in catalogue, and with ``plugins`` the
    installed plugins' kinds too (a schema for one machine)."""
    if plugins:
        from archspec.core.ops.custom import load_plugins

        load_plugins()
    return {kind: op for kind, op in OPS.items() if plugins or op.module is None}


def _item_schemas(plugins: bool) -> tuple[dict, dict]:
    """The Item definition (any name admitted: a block the document defines), the
    KnownItem one (only the known names) and the argument models' definitions."""
    defs: dict = {}
    kinds, names = {}, {}
    shipped = _shipped_blocks()
    for kind, op in _ops(plugins).items():
        for name in (kind, *op.aliases):
            schema, op_defs = _layer_args(op, name)
            defs.update(op_defs)
            if name in shipped:  # a block of that name shadows the kind where it is imported
                schema = {"anyOf": [*schema["anyOf"], BLOCK_CALL]}
                schema["description"] = f"{kind_line(op, name)}; or {shipped[name]}"
            kinds[name] = schema
            names[name] = schema["description"]
    for name, line in shipped.items():
        if name not in kinds:
            kinds[name] = {**BLOCK_CALL, "description": line}
            names[name] = line
    names_ref = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    kinds["reuse"] = {
        "description": "a layer (or a block built as a model) applied again, sharing its weights",
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "layer": {"type": "string"},
                    "from": names_ref,
                    "as": names_ref,
                    "when": {},
                },
                "required": ["layer"],
                "additionalProperties": False,
            },
        ],
    }

    kinds["stage"] = {
        "type": "object",
        "description": "blocks repeated with per-position arguments; other keys go to the blocks",
        "properties": {
            "id": {"type": ["integer", "string"], "description": "the stage's number"},
            "blocks": {
                "type": "array",
                "items": {"$ref": "#/$defs/Item"},
                "minItems": 1,
                "description": "its blocks in order: identity, identity x 3, {block: {...}}",
            },
        },
        "required": ["id", "blocks"],
    }

    ordered = sorted(names)  # what an item may be alone: not a stage, not a reuse
    keys = sorted([*names, "stage", "reuse"])
    # "name x N" repeats a block; N may be an expression.
    alternation = "|".join(re.escape(name) for name in ordered)
    known_string = {
        "anyOf": [
            {"enum": ordered, "enumDescriptions": [names[n] for n in ordered]},
            {"type": "string", "pattern": f"^\\s*({alternation})\\s*x\\s*\\S"},
        ]
    }
    description = (
        "a layer kind, a block call or a stage: 'relu', 'identity x 3' or {kind: arguments}"
    )

    item = {
        "description": description,
        "anyOf": [
            {"type": "string", "examples": ordered},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": kinds,
                "additionalProperties": BLOCK_CALL,
            },
        ],
    }
    # A known item is an item whose key is a known name, and a stage's blocks known items.
    known_stage = {"properties": {"blocks": {"items": {"$ref": "#/$defs/KnownItem"}}}}
    known_mapping = {
        "type": "object",
        "allOf": [{"$ref": "#/$defs/Item"}],
        "propertyNames": {"enum": keys},
        "properties": {"stage": known_stage},
    }
    known_item = {"description": description, "anyOf": [known_string, known_mapping]}
    return {"Item": item, "KnownItem": known_item}, defs


def _named(what: str) -> dict:
    """A training name (``adam``, ``{adam: {learning_rate: 0.01}}``) of the names
    archspec accepts, each with a line on it."""
    docs = NAME_DOCS[what]
    ordered = sorted(docs)
    return {
        "anyOf": [
            {"enum": ordered, "enumDescriptions": [docs[n] for n in ordered]},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {
                    n: {"type": ["object", "null"], "description": docs[n]} for n in ordered
                },
                "additionalProperties": False,
            },
        ]
    }


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


# Where a schema's keys are names (of properties, definitions), not keywords.
_NAMED = ("properties", "patternProperties", "$defs")


def _for_hovers(node):
    """Every description as one plain line, and no titles: pydantic's title is the key
    capitalized, which an editor shows as a heading above the description."""
    if isinstance(node, list):
        return [_for_hovers(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _NAMED:
            out[key] = {name: _for_hovers(v) for name, v in value.items()}
        elif key == "title":
            continue
        elif key == "description":
            out[key] = one_line(value)
        else:
            out[key] = _for_hovers(value)
    return out


def spec_schema(model=Spec, name: str = "spec", plugins: bool = False) -> dict:
    """The JSON Schema of a spec (or, with ``model=Library``, of a block library); with
    ``plugins``, the installed plugins' kinds are known names too."""
    schema = _with_items(copy.deepcopy(model.model_json_schema()))
    items, defs = _item_schemas(plugins)
    schema.setdefault("$defs", {}).update(defs)
    schema["$defs"].update(items)
    if "Training" in schema["$defs"]:
        training = schema["$defs"]["Training"]["properties"]
        for key, what in (("optimizer", "optimizer"), ("loss", "loss")):
            training[key] = {**_named(what), "description": training[key]["description"]}
        training["metrics"]["items"] = _named("metric")
    if model is Spec:
        # A spec that extends another may leave out what its base says.
        schema["properties"]["extends"] = {"type": "string", "description": "the base spec's path"}
        required = schema.pop("required", [])
        schema["allOf"] = [
            {
                "if": {"required": ["extends"]},
                "then": {},
                "else": {
                    "required": required,
                    "oneOf": [{"required": ["input"]}, {"required": ["inputs"]}],
                },
            },
            # Where the spec can name only the built-in kinds and the shipped blocks, its
            # layers may name nothing else (the module's docstring says why only there).
            {
                "if": {
                    "not": {"anyOf": [{"required": ["blocks"]}, {"required": ["extends"]}]},
                    "properties": {"imports": {"items": {"enum": shipped_libraries()}}},
                },
                "then": {"properties": {"layers": {"items": {"$ref": "#/$defs/KnownItem"}}}},
            },
        ]
    schema = _for_hovers(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE_URI}/{name}.schema.json"
    return schema


def schemas(plugins: bool = False) -> dict[str, str]:
    """File name → JSON text of every schema archspec publishes (with ``plugins``, the
    same knowing the installed plugins' kinds)."""
    return {
        f"{name}.schema.json": json.dumps(
            spec_schema(model, name, plugins), indent=2, sort_keys=True
        )
        + "\n"
        for name, model in (("spec", Spec), ("library", Library))
    }
