"""The expression language: Jinja2 expressions evaluated in its sandbox.

``"{{ filters[2] }}"`` (a whole value in braces) yields a native Python value;
``"fc{{ classes }}"`` renders to a string; ``when: stride == 2`` is a bare expression.
Spec text never reaches ``eval``/``exec``: Jinja's sandbox compiles it, refuses
attribute access to internals, and here also bounds the size of numbers, strings and
lists an expression can build.
"""

from __future__ import annotations

import re
from functools import lru_cache

from archspec.lang.vocabulary import (
    BINARY_OPERATORS,
    FILTERS,
    FUNCTIONS,
    TENSOR_ATTRIBUTES,
    TESTS,
    ExpressionError,
    TensorInfo,
    check_size,
    is_undefined,
    size,
)
from archspec.limits import LIMITS

__all__ = [
    "WHOLE_EXPRESSION",
    "ExpressionError",
    "TensorInfo",
    "condition",
    "evaluate",
    "is_expression",
    "parse",
]

# A value that is one expression in braces, ``"{{ filters[2] }}"``: it yields a native value.
WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


# A call is allowed only to one of the vocabulary's functions, found by identity.
_BY_IMPLEMENTATION = {id(f.implementation): f for f in FUNCTIONS.values()}


def _bounded_filter(name, function):
    def run(value, *args, **kwargs):
        if args or kwargs:
            raise ExpressionError(f"the filter '{name}' takes no arguments")
        function.check(check_size(value))
        return check_size(function.implementation(value))

    return run


def _bounded_test(test):
    # Jinja folds a test of constants when it compiles, calling this same function: the
    # check runs then too ('%0999999999d' is divisibleby 1 never reaches the format).
    def run(value, *args, **kwargs):
        if kwargs or len(args) != test.arguments:
            raise ExpressionError(f"the test '{test.name}' takes {test.arguments} argument(s)")
        test.check(value, *args)
        return test.implementation(value, *args)

    return run


# What each value a name gives has been measured to be, by id, with the value kept alive so
# that its id stays its own: a large spec evaluates thousands of expressions on the same
# params, which must not be measured each time. The sandbox is immutable, so a measured
# value stays the size it was.
_MEASURED: dict[int, tuple[object, int]] = {}


def _measured(value):
    """``value`` once it is within the size bounds (as check_size), each value measured once."""
    if isinstance(value, list | tuple | dict):
        known = _MEASURED.get(id(value))
        if known is None or known[0] is not value:
            if len(_MEASURED) >= 4096:
                _MEASURED.clear()
            _MEASURED[id(value)] = (value, size(value))
        return value
    return check_size(value)


def _finalize(value):
    # each {{ }} of a template is text: measured as text before the next one is made, so that
    # "{{ xs }}{{ xs }}..." stops at the first that is too long
    text = str(value)
    if len(text) > LIMITS.max_string:
        raise ExpressionError(
            f"a value of more than {LIMITS.max_string:,} items or characters (limit max_string)"
        )
    return value


# Jinja2 is imported on first use: most specs' expressions are simple lookups that never
# need it (see _fast below), and `archspec check` must start quickly.
@lru_cache(maxsize=1)
def _env():
    """The sandboxed Jinja2 environment of the expression language."""
    import jinja2
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Context(jinja2.runtime.Context):
        """A context whose names give only values within the size bounds: a spec's params
        may hold up to max_yaml_nodes items, and ``[p, p, ...] == [q, q, ...]`` compares
        each copy in full."""

        def resolve_or_missing(self, key):
            found = super().resolve_or_missing(key)
            if found is jinja2.runtime.missing or is_undefined(found):
                return found
            if _BY_IMPLEMENTATION.get(id(found)) is not None:  # a function of the language
                return found
            return _measured(found)

    class _Generator(CodeGenerator):
        """Jinja's code generator, with ``a ~ b`` (its string concatenation, which the
        sandbox cannot intercept) written as a call to the sandbox's bounded ``concat``."""

        def visit_Concat(self, node, frame):
            self.write("environment.concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

    class _Sandbox(ImmutableSandboxedEnvironment):
        """Jinja's immutable sandbox, narrowed to the expression language: every operator
        runs as the vocabulary says, within its bounds; no attributes but a tensor's; no
        calls but the vocabulary's functions (so no ``str.ljust(10**9)``)."""

        intercepted_binops = frozenset(BINARY_OPERATORS)
        code_generator_class = _Generator
        context_class = _Context

        def concat(self, parts):
            # each operand as text, the total bounded as it grows (not after a join of
            # hundreds of copies of a long value)
            out, total = [], 0
            for part in parts:
                text = str(part)
                total += len(text)
                if total > LIMITS.max_string:
                    raise ExpressionError(
                        f"'~' builds a string of more than {LIMITS.max_string:,} characters "
                        "(limit max_string)"
                    )
                out.append(text)
            return "".join(out)

        def is_safe_attribute(self, obj, attr, value):
            return isinstance(obj, TensorInfo) and attr in TENSOR_ATTRIBUTES

        def call(self, context, obj, /, *args, **kwargs):
            if isinstance(obj, jinja2.Undefined):
                obj._fail_with_undefined_error()
            function = _BY_IMPLEMENTATION.get(id(obj))
            if function is None or function.implementation is not obj:
                name = getattr(obj, "__name__", type(obj).__name__)
                raise ExpressionError(
                    f"'{name}' cannot be called; the functions are: {', '.join(sorted(FUNCTIONS))}",
                    "unsafe-expression",
                )
            function.check(*args, **kwargs)
            return check_size(obj(*args, **kwargs))

        def getitem(self, obj, argument):
            # Jinja gives a missing item as undefined, which can vanish unnoticed
            # (``len([xs[9]])``); Python raises at once, and so must check.
            found = super().getitem(obj, argument)
            if isinstance(found, jinja2.Undefined):
                found._fail_with_undefined_error()
            return found

        def call_binop(self, context, operator_name, left, right):
            op = BINARY_OPERATORS[operator_name]
            op.check(left, right)
            return check_size(op.implementation(left, right))

    env = _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.globals.clear()
    env.globals.update({name: f.implementation for name, f in FUNCTIONS.items()})
    env.filters = {name: _bounded_filter(name, f) for name, f in FILTERS.items()}
    env.tests = {name: _bounded_test(t) for name, t in TESTS.items()}
    return env


def is_expression(value) -> bool:
    """Whether a spec value holds an expression (``{{ }}`` or a ``{% %}`` tag)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _syntax(exc) -> str:
    if exc.message and exc.message.startswith("No filter named"):
        return f"{exc.message} The filters are: {', '.join(sorted(FILTERS))}"
    if exc.message and exc.message.startswith("No test named"):
        return f"{exc.message} The tests are: {', '.join(TESTS)}"
    return exc.message


@lru_cache(maxsize=4096)
def _compile_expression(source: str):
    if len(source) > LIMITS.max_expression:
        raise ExpressionError(
            f"expression of {len(source):,} characters; the limit is "
            f"{LIMITS.max_expression:,} (limit max_expression)"
        )
    import jinja2

    try:
        return _env().compile_expression(source, undefined_to_none=False)
    except jinja2.TemplateSyntaxError as exc:
        raise ExpressionError(
            f"invalid expression '{source.strip()}': {_syntax(exc)}", "expression-syntax"
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ExpressionError(f"expression '{source.strip()[:80]}' nests too deeply") from None


@lru_cache(maxsize=4096)
def _compile_template(source: str):
    if len(source) > LIMITS.max_expression:
        raise ExpressionError(
            f"template of {len(source):,} characters; the limit is "
            f"{LIMITS.max_expression:,} (limit max_expression)"
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
        raise ExpressionError(f"template '{source[:80]}' nests too deeply") from None


def _run(fn, source: str, context: dict):
    import jinja2

    try:
        return check_size(fn(context))
    except ExpressionError:
        raise
    except jinja2.UndefinedError as exc:
        names = ", ".join(sorted(k for k in context if not k.startswith("_"))) or "none"
        raise ExpressionError(
            f"in '{source.strip()}': {exc.message}; known names: {names}", "undefined-name"
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise ExpressionError(
            f"in '{source.strip()}': not allowed: {exc}", "unsafe-expression"
        ) from None
    except RecursionError:
        raise ExpressionError(f"in '{source.strip()}': expression nests too deeply") from None
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
    if value is _MISSING or is_undefined(value):
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
        whole = WHOLE_EXPRESSION.match(value)
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
        whole = WHOLE_EXPRESSION.match(value)
        source = whole["expr"] if whole else value
        return bool(_run(_compile_expression(source), source, context))
    raise ExpressionError(
        f"a condition must be a boolean or an expression. Received: {value!r}", "wrong-type"
    )


def parse(source: str):
    """The Jinja AST of a template string (used by the Python emitter to translate it)."""
    return _env().parse(source)
