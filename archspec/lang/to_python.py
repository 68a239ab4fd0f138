"""Translate spec expressions (Jinja2) into Python source for generated modules.

Only a whitelist of Jinja constructs is translated: constants, names the generated
function defines, arithmetic, comparisons, conditionals, indexing, list/tuple/dict
literals, and the functions, filters, operators and tensor attributes of the
vocabulary (``vocabulary.py``), written as it says. Anything else is refused, so no spec
text can reach the generated source except as a checked name or an escaped literal.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable

from jinja2 import nodes

from archspec.lang.evaluate import WHOLE_EXPRESSION, ExpressionError, is_expression, parse
from archspec.lang.vocabulary import (
    BINARY_OPERATORS,
    COMPARISONS,
    FILTERS,
    FUNCTIONS,
    TENSOR_ATTRIBUTES,
    TESTS,
)

_BINARY = {op.node: op.symbol for op in BINARY_OPERATORS.values()}  # Jinja node → Python

_ATOMIC = (
    nodes.Name,
    nodes.Const,
    nodes.Getitem,
    nodes.Getattr,
    nodes.Call,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Filter,
)


def _is_none(node) -> bool:
    return isinstance(node, nodes.Const) and node.value is None


def identifier(name: str) -> str:
    """A legal Python identifier for a spec name (``class`` → ``class_``)."""
    name = re.sub(r"\W", "_", name)
    if not name or name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def literal(value) -> str:
    """Python source for a plain value; strings double-quoted and fully escaped."""
    if isinstance(value, str):
        return string(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"cannot write {value!r} as a Python literal")
        return repr(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise ExpressionError(f"cannot write a {type(value).__name__} as a Python literal")


_PERCENT = re.compile(
    r"^(?P<before>[^%]*)%(?P<flags>[-+ #0]*\d*(?:\.\d+)?)(?P<type>[sdifeEgGxXo])(?P<after>[^%]*)$"
)


def _join(parts: list[tuple[str, str, str]]) -> str:
    """Text and expressions as one string: an f-string when the expressions allow it."""
    parts = [_folded(p) for p in parts]
    parts = [p for p in parts if p[0] == "expr" or p[1]]
    if all(kind == "text" for kind, _, _ in parts):
        return string("".join(text for _, text, _ in parts))
    if all('"' not in code and "\\" not in code for kind, code, _ in parts if kind == "expr"):
        body = "".join(
            _escape(code, braces=True)
            if kind == "text"
            else "{" + code + (f":{spec}" if spec else "") + "}"
            for kind, code, spec in parts
        )
        return 'f"' + body + '"'
    return " + ".join(
        string(code)
        if kind == "text"
        else (f"format({code}, {string(spec)})" if spec else f"str({code})")
        for kind, code, spec in parts
    )


def _folded(part: tuple[str, str, str]) -> tuple[str, str, str]:
    """An expression that is a string literal (a name written out, ``"se"``) as text:
    ``str("se")`` is what ruff flags (UP018), and its quotes keep an f-string out."""
    kind, code, spec = part
    if kind == "expr" and not spec and code.startswith('"'):
        try:
            value = ast.literal_eval(code)
        except (ValueError, SyntaxError):
            return part
        if isinstance(value, str):
            return ("text", value, "")
    return part


def has_expression(value) -> bool:
    """Whether a value holds an expression, at any depth."""
    if isinstance(value, list | tuple):
        return any(has_expression(v) for v in value)
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    return is_expression(value)


def _escape(text: str, *, braces: bool = False) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127 or ch in "\u2028\u2029\x85":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        elif braces and ch in "{}":
            out.append(ch * 2)
        else:
            out.append(ch)
    return "".join(out)


def string(text: str) -> str:
    """A double-quoted, fully escaped Python string literal."""
    return '"' + _escape(text) + '"'


class Translator:
    """Turns one scope's expressions into Python. ``names`` maps each spec name the
    scope defines to its Python expression; ``tensors`` maps ``input``/``x`` to the
    variables holding those tensors."""

    def __init__(
        self,
        names: dict[str, str],
        tensors: dict[str, str],
        on_function: Callable[[str], None] | None = None,
        constants: dict | None = None,
    ):
        self.names = names
        self.tensors = tensors
        self.on_function = on_function or (lambda name: None)
        self.constants = constants or {}  # names whose values are known: folded into text

    def value(self, value) -> str:
        """Python source for a spec value that may hold expressions."""
        if isinstance(value, str) and is_expression(value):
            return self.template(value)
        if isinstance(value, list | tuple) and has_expression(value):
            items = [self.value(v) for v in value]
            if isinstance(value, tuple):
                return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
            return "[" + ", ".join(items) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{literal(k)}: {self.value(v)}" for k, v in value.items()) + "}"
        return literal(value)

    def condition(self, value) -> str:
        """The Python source of a ``when`` condition: a bool or an expression."""
        if isinstance(value, bool):
            return repr(value)
        whole = WHOLE_EXPRESSION.match(value)
        return self.expression(whole["expr"] if whole else value)

    def expression(self, source: str) -> str:
        """The Python source of one expression (without its ``{{ }}``)."""
        template = parse("{{ " + source + " }}")
        (output,) = template.body
        (node,) = output.nodes
        return self._expr(node)

    def template(self, source: str) -> str:
        """The Python source of a template: one expression, or a string of text and expressions."""
        whole = WHOLE_EXPRESSION.match(source)
        if whole and "{{" not in whole["expr"] and "}}" not in whole["expr"]:
            return self.expression(whole["expr"])
        template = parse(source)
        if len(template.body) != 1 or not isinstance(template.body[0], nodes.Output):
            raise ExpressionError(
                f"'{source}': only {{{{ }}}} expressions can be generated as Python, not {{% %}} tags"
            )
        parts: list[tuple[str, str, str]] = []  # ("text", text, "") or ("expr", code, format spec)
        for node in template.body[0].nodes:
            percent = self._percent(node)
            if isinstance(node, nodes.TemplateData):
                parts.append(("text", node.data, ""))
            elif isinstance(node, nodes.Name) and isinstance(
                self.constants.get(node.name), str | int
            ):
                parts.append(("text", str(self.constants[node.name]), ""))
            elif percent:
                before, code, spec, after = percent
                parts += [("text", before, ""), ("expr", code, spec), ("text", after, "")]
            else:
                parts.append(("expr", self._expr(node), ""))
        return _join(parts)

    def _percent(self, node):
        """``'%0.2f' % alpha`` with one conversion → (text before, code, spec, text after),
        so that it can be written as an f-string (``{alpha:0.2f}``)."""
        if not (
            isinstance(node, nodes.Mod)
            and isinstance(node.left, nodes.Const)
            and isinstance(node.left.value, str)
        ):
            return None
        match = _PERCENT.match(node.left.value)
        if not match or isinstance(node.right, nodes.Tuple):
            return None
        spec = {"s": "", "d": "d", "i": "d"}.get(match["type"], match["flags"] + match["type"])
        if match["type"] in "di" and match["flags"]:
            spec = match["flags"] + "d"
        return match["before"], self._expr(node.right), spec, match["after"]

    def _test(self, node, negated: bool = False) -> str:
        """``x is none``, ``n is divisibleby(4)``: Jinja's tests the language translates."""
        test = TESTS.get(node.name)
        if test is None:
            known = ", ".join(TESTS)
            raise ExpressionError(
                f"the test '{node.name}' cannot be generated as Python; these can: {known}"
            )
        if node.dyn_args or node.dyn_kwargs or node.kwargs:
            raise ExpressionError(f"the test '{node.name}' takes no keyword arguments")
        args = [self._wrap(a) for a in node.args]
        if len(args) != test.arguments:
            raise ExpressionError(f"the test '{node.name}' takes {test.arguments} argument(s)")
        if test.identity:
            operator = "is not" if negated else "is"
            return f"{self._wrap(node.node)} {operator} {test.python}"
        return test.python.format(self._wrap(node.node), *args)

    # ---- nodes ----------------------------------------------------------------------------

    def _wrap(self, node) -> str:
        code = self._expr(node)
        return code if isinstance(node, _ATOMIC) else f"({code})"

    def _expr(self, node) -> str:
        if isinstance(node, nodes.Const):
            return literal(node.value)
        if isinstance(node, nodes.Name):
            if node.name in self.constants:
                return literal(self.constants[node.name])
            if node.name in self.names:
                return self.names[node.name]
            raise ExpressionError(f"'{node.name}' is not defined here")
        percent = self._percent(node)
        if percent:
            before, code, spec, after = percent
            return _join([("text", before, ""), ("expr", code, spec), ("text", after, "")])
        if type(node).__name__ in _BINARY and isinstance(node, nodes.BinExpr):
            symbol = _BINARY[type(node).__name__]
            return f"{self._wrap(node.left)} {symbol} {self._wrap(node.right)}"
        if isinstance(node, nodes.Neg):
            return f"-{self._wrap(node.node)}"
        if isinstance(node, nodes.Pos):
            return f"+{self._wrap(node.node)}"
        if isinstance(node, nodes.Not):
            if isinstance(node.node, nodes.Test) and getattr(
                TESTS.get(node.node.name), "identity", False
            ):
                return self._test(node.node, negated=True)
            return f"not {self._wrap(node.node)}"
        if isinstance(node, nodes.Test):
            return self._test(node)
        if isinstance(node, nodes.And):
            return f"{self._wrap(node.left)} and {self._wrap(node.right)}"
        if isinstance(node, nodes.Or):
            return f"{self._wrap(node.left)} or {self._wrap(node.right)}"
        if isinstance(node, nodes.Concat):
            return " + ".join(f"str({self._expr(n)})" for n in node.nodes)
        if isinstance(node, nodes.Compare):
            out, left = self._wrap(node.expr), node.expr
            for op in node.ops:
                symbol = COMPARISONS[op.op]
                if op.op in ("eq", "ne") and (_is_none(left) or _is_none(op.expr)):
                    # the same for the values specs hold, and what linters want (E711)
                    symbol = "is" if op.op == "eq" else "is not"
                out += f" {symbol} {self._wrap(op.expr)}"
                left = op.expr
            return out
        if isinstance(node, nodes.CondExpr):
            if node.expr2 is None:
                raise ExpressionError("a conditional expression needs an 'else'")
            return (
                f"{self._wrap(node.expr1)} if {self._wrap(node.test)} else {self._wrap(node.expr2)}"
            )
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Slice):
                s = node.arg
                parts = [self._expr(p) if p is not None else "" for p in (s.start, s.stop)]
                step = f":{self._expr(s.step)}" if s.step is not None else ""
                return f"{self._wrap(node.node)}[{parts[0]}:{parts[1]}{step}]"
            return f"{self._wrap(node.node)}[{self._expr(node.arg)}]"
        if isinstance(node, nodes.Getattr):
            if (
                isinstance(node.node, nodes.Name)
                and node.node.name in self.tensors
                and node.attr in TENSOR_ATTRIBUTES
            ):
                python = TENSOR_ATTRIBUTES[node.attr].python
                return python.format(t=self.tensors[node.node.name])
            # Anything else the sandbox resolves as Jinja does for a value without such an
            # attribute: by item, so ``row.units`` is a mapping's ``row["units"]``. A name
            # a mapping has as an attribute (``row.keys``) the sandbox refuses, so here too.
            if hasattr(dict, node.attr):
                raise ExpressionError(f"attribute '{node.attr}' cannot be generated as Python")
            return f"{self._wrap(node.node)}[{string(node.attr)}]"
        if isinstance(node, nodes.List):
            return "[" + ", ".join(self._expr(i) for i in node.items) + "]"
        if isinstance(node, nodes.Tuple):
            items = [self._expr(i) for i in node.items]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(node, nodes.Dict):
            return (
                "{"
                + ", ".join(f"{self._expr(p.key)}: {self._expr(p.value)}" for p in node.items)
                + "}"
            )
        if isinstance(node, nodes.Call):
            if not isinstance(node.node, nodes.Name) or node.node.name not in FUNCTIONS:
                raise ExpressionError("only the expression language's functions can be called")
            if node.dyn_args or node.dyn_kwargs:
                raise ExpressionError("*args and **kwargs cannot be generated")
            function = FUNCTIONS[node.node.name]
            self.on_function(function.name)
            args = [self._expr(a) for a in node.args]
            args += [f"{identifier(k.key)}={self._expr(k.value)}" for k in node.kwargs]
            return f"{function.python}({', '.join(args)})"
        if isinstance(node, nodes.Filter):
            if node.name not in FILTERS or node.args or node.kwargs:
                raise ExpressionError(f"the filter '{node.name}' cannot be generated as Python")
            function = FILTERS[node.name]
            self.on_function(function.name)
            return f"{function.python}({self._expr(node.node)})"
        raise ExpressionError(f"{type(node).__name__} cannot be generated as Python")
