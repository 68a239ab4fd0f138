"""The expression language: Jinja2 expressions evaluated in its sandbox.

``"{{ filters[2] }}"`` (a whole value in braces) yields a native Python value;
``"fc{{ classes }}"`` renders to a string; ``when: stride == 2`` is a bare expression.
Spec text never reaches ``eval``/``exec``: Jinja's sandbox compiles it, refuses
attribute access to internals, and here also bounds the size of numbers, strings and
lists an expression can build.
"""

from __future__ import annotations

import math
import operator
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

from archspec.limits import LIMITS

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


class ExpressionError(Exception):
    """An expression that does not parse or evaluate; the caller adds the position.
    ``code`` is its diagnostic code (see archspec.diagnostics)."""

    def __init__(self, message: str, code: str = "expression-error"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TensorInfo:
    """What an expression may know of a tensor: its shape without the batch axis."""

    shape: tuple

    @property
    def channels(self):
        return self.shape[-1]

    @property
    def height(self):
        return self.shape[0] if len(self.shape) == 3 else None

    @property
    def width(self):
        return self.shape[1] if len(self.shape) == 3 else None

    @property
    def rank(self):
        return len(self.shape)


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to a multiple of ``divisor``, never more than 10% below it
    (the width rule of MobileNet and EfficientNet)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _size(value) -> int:
    """How big a value is: items and characters, nested ones counted whole. Refuses
    integers beyond max_int, sizes beyond max_string and anything that is not data (a
    function, a template object). Stops counting at the limit, so that a list of shared
    sublists costs no more to check than the limit."""
    seen, stack = 0, [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool | float | TensorInfo):
            seen += 1
        elif isinstance(item, int):
            if abs(item) > LIMITS.max_int:
                raise ExpressionError(
                    f"integer too large: more than {LIMITS.max_int:,} (limit max_int)",
                    "limit-exceeded",
                )
            seen += 1
        elif isinstance(item, str):
            seen += max(len(item), 1)
        elif isinstance(item, list | tuple | dict):
            seen += max(len(item), 1)
            if seen <= LIMITS.max_string:
                stack.extend(item.items() if isinstance(item, dict) else item)
        elif _is_undefined(item):
            item._fail_with_undefined_error()  # UndefinedError, or SecurityError if unsafe
        else:
            raise ExpressionError(
                f"the value is a {type(item).__name__}; an expression must give a number, a string, "
                "a boolean, a list or a mapping",
                "expression-error",
            )
        if seen > LIMITS.max_string:
            raise ExpressionError(
                f"a value of more than {LIMITS.max_string:,} items or characters (limit max_string)",
                "limit-exceeded",
            )
    return seen


def _check_size(value):
    _size(value)
    return value


# printf-style widths and precisions ('%0999999999d' would build a gigabyte)
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_TENSOR_ATTRIBUTES = frozenset(["channels", "height", "width", "shape", "rank"])


# Jinja2 is imported on first use: most specs' expressions are simple lookups that never
# need it (see _fast below), and `archspec check` must start quickly.
_FUNCTIONS = {
    "make_divisible": make_divisible,
    "int": int,
    "float": float,
    "round": round,
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "ceil": math.ceil,
    "floor": math.floor,
}
FUNCTIONS = tuple(sorted(_FUNCTIONS))
# The filters the Python emitter can translate; Jinja's others (center, indent, replace,
# sum, ...) could build huge values and have no Python translation.
FILTERS = ("abs", "float", "int", "length", "string")


def _is_undefined(value) -> bool:
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(value, jinja2.Undefined)


def _bounded_filter(fn):
    def run(value, *args, **kwargs):
        return _check_size(fn(_check_size(value), *args, **kwargs))

    return run


@lru_cache(maxsize=1)
def _env():
    """The sandboxed Jinja2 environment of the expression language."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    callable_ = tuple(_FUNCTIONS.values())

    class _Sandbox(ImmutableSandboxedEnvironment):
        """Jinja's immutable sandbox, narrowed to the expression language: arithmetic that
        cannot build huge values, no attributes but a tensor's, no calls but the language's
        functions (so no ``str.ljust(10**9)``)."""

        intercepted_binops = frozenset(["**", "*", "+", "%"])

        def is_safe_attribute(self, obj, attr, value):
            return isinstance(obj, TensorInfo) and attr in _TENSOR_ATTRIBUTES

        def call(self, context, obj, /, *args, **kwargs):
            if isinstance(obj, jinja2.Undefined):
                obj._fail_with_undefined_error()
            if not any(obj is f for f in callable_):
                name = getattr(obj, "__name__", type(obj).__name__)
                raise ExpressionError(
                    f"'{name}' cannot be called; the functions are: {', '.join(FUNCTIONS)}",
                    "unsafe-expression",
                )
            return _check_size(obj(*args, **kwargs))

        def call_binop(self, context, operator_name, left, right):
            if operator_name == "**":
                if isinstance(right, int | float) and abs(right) > 64:
                    raise ExpressionError(f"exponent {right} is too large (at most 64)")
                return _check_size(operator.pow(left, right))
            if operator_name == "*":
                for seq, n in ((left, right), (right, left)):
                    repeated = isinstance(seq, str | list | tuple) and isinstance(n, int) and n > 0
                    if repeated and _size(seq) * n > LIMITS.max_string:
                        raise ExpressionError(
                            "repetition builds a value that is too large (limit max_string)",
                            "limit-exceeded",
                        )
                return _check_size(operator.mul(left, right))
            if operator_name == "%" and isinstance(left, str):
                for match in _PERCENT_WIDTH.finditer(left):
                    for part in match.groups():
                        if part == "*" or (part and int(part) > LIMITS.max_string):
                            raise ExpressionError(
                                f"a format width or precision of '{part}' is too large (limit max_string)",
                                "limit-exceeded",
                            )
                return _check_size(operator.mod(left, right))
            if operator_name == "+":
                return _check_size(operator.add(left, right))
            return super().call_binop(context, operator_name, left, right)

    env = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()
    env.globals.update(_FUNCTIONS)
    env.filters = {name: _bounded_filter(env.filters[name]) for name in FILTERS}
    return env


def is_expression(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _syntax(exc) -> str:
    if exc.message and exc.message.startswith("No filter named"):
        return f"{exc.message} The filters are: {', '.join(FILTERS)}"
    return exc.message


@lru_cache(maxsize=4096)
def _compile_expression(source: str):
    if len(source) > LIMITS.max_expression:
        raise ExpressionError(
            f"expression of {len(source):,} characters; the limit is "
            f"{LIMITS.max_expression:,} (limit max_expression)",
            "limit-exceeded",
        )
    import jinja2

    try:
        return _env().compile_expression(source, undefined_to_none=False)
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(
            f"invalid expression '{source.strip()}': {_syntax(exc)}", "expression-syntax"
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ExpressionError(
            f"expression '{source.strip()[:80]}' nests too deeply", "expression-error"
        ) from None


@lru_cache(maxsize=4096)
def _compile_template(source: str):
    if len(source) > LIMITS.max_expression:
        raise ExpressionError(
            f"template of {len(source):,} characters; the limit is "
            f"{LIMITS.max_expression:,} (limit max_expression)",
            "limit-exceeded",
        )
    import jinja2

    try:
        tree = _env().parse(source)
        if not all(isinstance(node, jinja2.nodes.Output) for node in tree.body):
            raise ExpressionError(
                f"invalid template '{source}': only {{{{ expressions }}}} are allowed, not {{% %}} tags",
                "expression-syntax",
            )
        return _env().from_string(tree)
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(
            f"invalid template '{source}': {_syntax(exc)}", "expression-syntax"
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ExpressionError(
            f"template '{source[:80]}' nests too deeply", "expression-error"
        ) from None


def _run(fn, source: str, context: dict):
    import jinja2

    try:
        return _check_size(fn(context))
    except ExpressionError:
        raise
    except jinja2.UndefinedError as exc:
        names = ", ".join(sorted(k for k in context if not k.startswith("_"))) or "none"
        raise ExpressionError(
            f"in '{source.strip()}': {exc.message}; known names: {names}",
            "undefined-name",
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise ExpressionError(
            f"in '{source.strip()}': not allowed: {exc}", "unsafe-expression"
        ) from None
    except RecursionError:
        raise ExpressionError(
            f"in '{source.strip()}': expression nests too deeply", "expression-error"
        ) from None
    except Exception as exc:  # any failure of spec arithmetic is the spec's error
        raise ExpressionError(f"in '{source.strip()}': {type(exc).__name__}: {exc}") from None


# The common cases, ``{{ f }}``, ``{{ filters[2] }}`` and ``res{{ prefix }}_branch{{ role }}``,
# are looked up directly: Jinja sets up a context per call, which dominates the cost of
# lowering large specs. Anything else, and any lookup that fails, goes through Jinja.
_SIMPLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(-?\d+)\s*\])?\s*$")


@lru_cache(maxsize=4096)
def _simple_template(source: str):
    """``text{{ name }}text...`` → [text, (name, index), ...], or None if not that simple."""
    parts = re.split(r"\{\{(.*?)\}\}", source)
    if "{%" in source or "{#" in source or any("{" in p or "}" in p for p in parts[::2]):
        return None
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        match = _SIMPLE.match(part)
        if not match:
            return None
        out.append((match[1], None if match[2] is None else int(match[2])))
    return out


_MISSING = object()


def _lookup(name: str, index, context: dict):
    value = context.get(name, _MISSING)
    if value is _MISSING or _is_undefined(value):
        return _MISSING
    if index is None:
        return value
    if isinstance(value, list | tuple) and -len(value) <= index < len(value):
        return value[index]
    return _MISSING


def _fast(value: str, context: dict):
    if len(value) > LIMITS.max_expression:  # Jinja's path reports the limit
        return _MISSING
    parts = _simple_template(value)
    if parts is None:
        return _MISSING
    if len(parts) == 3 and parts[0] == "" and parts[2] == "":  # a whole value: native
        return _lookup(*parts[1], context)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        found = _lookup(*part, context)
        if found is _MISSING or not isinstance(found, str | int | float | bool | type(None)):
            return _MISSING
        out.append(str(found))
    return "".join(out)


def evaluate(value, context: dict):
    """Evaluate every expression inside ``value`` (recursing into lists and dicts)."""
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        found = _fast(value, context)
        if found is not _MISSING:
            return found
        whole = _WHOLE.match(value)
        if whole and "{{" not in whole["expr"] and "}}" not in whole["expr"]:
            source = whole["expr"]
            return _run(_compile_expression(source), source, context)
        template = _compile_template(value)
        return _run(template.render, value, context)
    if isinstance(value, list):
        return [evaluate(v, context) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, context) for k, v in value.items()}
    return value


def condition(value, context: dict) -> bool:
    """Evaluate a ``when:`` condition: a bool, or an expression with or without braces."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        source = whole["expr"] if whole else value
        return bool(_run(_compile_expression(source), source, context))
    raise ExpressionError(
        f"a condition must be a boolean or an expression. Received: {value!r}", "wrong-type"
    )


def parse(source: str):
    """The Jinja AST of a template string (used by the Python emitter to translate it)."""
    return _env().parse(source)
