"""What the docstrings of a generated module say: the module names its spec, the model
function and each block function say what they build, their parameters (the spec's
types, defaults and ``doc``) and what they return. Plain text; ``writer.docstring_lines``
makes it a safe docstring.

Nothing here names the spec's path inside a block function, so that a variant's block
functions stay identical to its base's and can be imported from it (sharing.py).
"""

from __future__ import annotations

import textwrap

from archspec.backends.python.writer import LINE_LENGTH, tuples
from archspec.lang.to_python import literal

# What a block function's position parameters mean (docs/language.md, "Stages").
POSITIONS = {
    "stage": "the id of the stage it is in (for layer names)",
    "block": "its letter in the stage: a, b, ..., z, aa (for layer names)",
    "index": "its 1-based index in the stage",
    "serial": "the model's count of blocks before it (0-based)",
}

# Args entries are indented twice inside a function's docstring.
_ENTRY_WIDTH = LINE_LENGTH - 8


def module_doc(model: str, source: str, text: str | None) -> str:
    """The module's docstring: the spec it came from and the function to call."""
    first = f"The {model} model, generated from {source}."
    call = f"Call ``{model}()`` for the ``keras.Model``; the module needs only Keras."
    return _paragraphs(first, text, call)


def model_doc(model: str, text: str | None, params: dict) -> str:
    """The model function's docstring; ``params``: Python name → the spec's value."""
    args = [(name, f"default {_default(value)}.") for name, value in params.items()]
    return _paragraphs(
        text or f"The {model} model.",
        "Keyword arguments are the spec's params.",
        _section("Args", args),
        _section("Returns", ["The ``keras.Model``."]),
    )


def flat_doc(model: str, text: str | None, params: dict) -> str:
    """The flat style's model function, which takes no arguments."""
    built = ", ".join(f"{k}={_default(v)}" for k, v in params.items()) or "no params"
    return _paragraphs(
        text or f"The {model} model.",
        f"Flat form: one statement per layer, built with {built}.",
        _section("Returns", ["The ``keras.Model``."]),
    )


def block_doc(block, signature: list[tuple[str, str, str]]) -> str:
    """A block function's docstring. ``signature``: (Python name, role, spec name) of
    each parameter in order, the role one of ``input``, ``param``, ``position``,
    ``name``."""
    args = []
    for var, role, name in signature:
        if role == "input":
            many = len(block.inputs) > 1
            args.append((var, f"the block's input '{name}'." if many else "the input tensor."))
        elif role == "position":
            args.append((var, POSITIONS[name] + "."))
        elif role == "name":
            args.append((var, "the prefix of its layers' names."))
        else:
            args.append(_param(var, block.params[name]))
    if block.model == "functional":
        returns = "A ``keras.Model`` of the block, named by its prefix; the call applies it."
    elif block.model == "sequential":
        returns = "A ``keras.Sequential`` of the block, named by its prefix; the call applies it."
    elif block.outputs is not None and len(block.outputs) > 1:
        returns = f"Its output tensors: {', '.join(block.outputs)}."
    else:
        returns = "The output tensor."
    return _paragraphs(
        block.text or f"The ``{block.name}`` block.",
        _section("Args", args),
        _section("Returns", [returns]),
    )


def _param(var: str, decl) -> tuple[str, str]:
    """``("filters (int[3])", "the filters of its convolutions; default (64, 64, 256).")``"""
    head = var if decl.type == "any" else f"{var} ({decl.type})"
    text = " ".join(decl.doc.split()).rstrip(".") if decl.doc else ""
    if not decl.required:
        default = f"default {_default(decl.default)}"
        text = f"{text}; {default}" if text else default
    return head, (text or "required") + "."


def _default(value) -> str:
    return literal(tuples(value))


def _section(title: str, entries: list) -> str | None:
    """A Google-style section: ``Args:`` entries ``name: text``, wrapped and indented."""
    if not entries:
        return None
    lines = [f"{title}:"]
    for entry in entries:
        text = entry if isinstance(entry, str) else f"{entry[0]}: {entry[1]}"
        lines += textwrap.wrap(
            text,
            _ENTRY_WIDTH,
            initial_indent="    ",
            subsequent_indent="        ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return "\n".join(lines)


def _paragraphs(*parts: str | None) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())
