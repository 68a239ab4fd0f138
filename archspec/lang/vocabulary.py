"""The vocabulary of the expression language, declared once: the functions, filters,
operators and tensor attributes an expression may use.

Each entry carries its Python implementation, which the sandbox evaluator
(``evaluate.py``) runs; how generated Python writes it, which the translator
(``to_python.py``) emits; and the bounds on its work, which the sandbox checks before
running it. Helpers that generated modules must define (``make_divisible``,
``block_letter``) are written here as plain functions, and a module gets their source
from these very definitions, so the two evaluators cannot drift apart.

Nothing here imports Jinja2: the sandbox imports it on first use, and ``check`` must
start quickly.
"""

import inspect
import math
import operator
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from archspec.limits import LIMITS


class ExpressionError(Exception):
    """An expression that does not parse or evaluate; the caller adds the position.
    ``code`` is its diagnostic code (see archspec.diagnostics): a bound on the work an
    expression may do is ``limit-exceeded`` unless the raise site says otherwise."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code or ("limit-exceeded" if "(limit " in message else "expression-error")


# ---- helpers that generated modules define ------------------------------------------------
# Their bodies are copied verbatim into generated modules (see helper_source), which is why
# they explain themselves in a comment rather than a docstring and use nothing but builtins.


def make_divisible(value, divisor=8, min_value=None):
    """Round to a multiple of divisor, never more than 10% below value."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def block_letter(index):
    """The letter of a 1-based block position: a, b, ... z, aa, ab, ..."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ---- bounds -------------------------------------------------------------------------------
# The sandbox measures every value an expression takes or builds with size() (limits
# max_int, max_string). The checks after it run on a function's or operator's arguments
# before it runs, and refuse work whose cost grows with a number in the spec rather than
# with the size of the values (a huge exponent, repetition count or format width).


def size(value) -> int:
    """How big a value is: items and characters, nested ones counted whole. Refuses
    integers beyond max_int, sizes beyond max_string and anything that is not data (a
    function, a template object). Stops counting at the limit, so that a list of shared
    sublists costs no more to check than the limit."""
    seen, stack = 0, [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool | TensorInfo):
            seen += 1
        elif isinstance(item, float):
            _check_finite(item)
            seen += 1
        elif isinstance(item, int):
            if abs(item) > LIMITS.max_int:
                raise ExpressionError(
                    f"integer too large: more than {LIMITS.max_int:,} (limit max_int)"
                )
            seen += 1
        elif isinstance(item, str):
            seen += max(len(item), 1)
        elif isinstance(item, list | tuple | dict):
            seen += max(len(item), 1)
            if seen <= LIMITS.max_string:
                stack.extend(item.items() if isinstance(item, dict) else item)
        elif is_undefined(item):
            item._fail_with_undefined_error()  # UndefinedError, or SecurityError if unsafe
        else:
            raise ExpressionError(
                f"the value is a {type(item).__name__}; an expression must give a number, a string, "
                "a boolean, a list or a mapping"
            )
        if seen > LIMITS.max_string:
            raise ExpressionError(
                f"a value of more than {LIMITS.max_string:,} items or characters (limit max_string)"
            )
    return seen


def check_size(value):
    """``value``, once size() has found it within bounds."""
    size(value)
    return value


def is_undefined(value) -> bool:
    """Whether a value is Jinja2's undefined (without importing Jinja2)."""
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(value, jinja2.Undefined)


MAX_EXPONENT = 64
MAX_ROUND_DIGITS = 64  # round(5, -10**9) computes 10**(10**9) before it answers
# int() and float() of a string: reading decimal digits is quadratic in their number, and no
# number within max_int needs more than a few dozen characters (spaces and "_" included)
MAX_NUMBER_TEXT = 100


def _check_finite(number: float) -> None:
    # 1e308 * 10 is inf and '-nan'|float is nan: neither is a size, a rate or a count
    if not math.isfinite(number):
        raise ExpressionError(
            f"the number {number!r} is not finite (an overflow, or inf or nan written out); "
            "an expression must give finite numbers"
        )


def _check_numbers(*args, **kwargs):
    """The check every function starts with: the numbers it is given are within max_int and
    finite (a literal ``block_letter(99...9)`` would loop over its 2,000 digits). Scalars
    only, so that it costs nothing: a list it is given was measured when it was built."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > LIMITS.max_int:
            raise ExpressionError(
                f"integer too large: more than {LIMITS.max_int:,} (limit max_int)"
            )
        if isinstance(value, float):
            _check_finite(value)


def _check_round(number=None, ndigits=None, *args, **kwargs):
    _check_numbers(number, ndigits, *args, **kwargs)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round to {ndigits} digits is too many (at most {MAX_ROUND_DIGITS})")


def _check_number_text(value=None, *args, **kwargs):
    _check_numbers(value, *args, **kwargs)
    if isinstance(value, str | bytes) and len(value) > MAX_NUMBER_TEXT:
        raise ExpressionError(
            f"a number written in {len(value):,} characters is too long to read "
            f"(at most {MAX_NUMBER_TEXT})"
        )


def _check_letter(index=None, *args, **kwargs):
    _check_numbers(index, *args, **kwargs)
    if not isinstance(index, int):
        raise ExpressionError(
            f"block_letter takes a whole-number position (1 is 'a'). Received: {index!r}"
        )


def _check_pow(left, right):
    _check_numbers(left, right)
    if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise ExpressionError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
    if isinstance(left, int | float) and left < 0 and isinstance(right, float):
        if not right.is_integer():
            raise ExpressionError(
                f"({left!r}) ** {right!r} is a complex number; a negative base needs a "
                "whole-number exponent"
            )


def _check_repeat(left, right):
    _check_numbers(left, right)
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > 0:
            if size(seq) * n > LIMITS.max_string:
                raise ExpressionError(
                    "repetition builds a value that is too large (limit max_string)"
                )


# printf-style widths and precisions ('%0999999999d' would build a gigabyte)
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


# an integer conversion: '%d' % 1.5 is '1', but generated code writes it as {x:d}, which
# refuses a float; check refuses it too, so that the two agree
_INTEGER_CONVERSION = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[di]")


def _check_format(left, right):
    if not isinstance(left, str):
        _check_numbers(left, right)
        return
    if isinstance(right, float) and _INTEGER_CONVERSION.search(left):
        raise ExpressionError(
            f"'%d' formats an integer; received {right!r} (write int(...) to truncate it)"
        )
    # Widths and precisions are what a format builds regardless of its values
    # ('%.9999f%.9999f' % (x, y) is 20,000 characters): together they are bounded before it
    # runs. The values' own text is bounded by their size, measured when they were made.
    total = len(left)
    for match in _PERCENT_WIDTH.finditer(left):
        for part in match.groups():
            if part == "*" or (part and int(part) > LIMITS.max_string):
                raise ExpressionError(
                    f"a format width or precision of '{part}' is too large (limit max_string)"
                )
            total += int(part) if part else 0
    if total > LIMITS.max_string:
        raise ExpressionError(
            f"a format whose widths and precisions come to {total:,} characters is too large "
            "(limit max_string)"
        )


# ---- functions and filters ----------------------------------------------------------------


class Function(NamedTuple):
    """A function (or filter) of the language. ``python`` is how generated code calls it:
    a builtin, a module's function (``math.ceil``, with ``module`` to import) or, when
    ``helper``, a function of that name that the generated module defines from
    ``implementation``'s source. ``check`` bounds its work (see above): the sandbox runs it
    on the arguments before the function, and each function declares its own."""

    name: str
    implementation: Callable
    python: str
    check: Callable[..., None]
    module: str | None = None
    helper: bool = False


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        # helpers first, in the order generated modules define them
        Function("make_divisible", make_divisible, "make_divisible", _check_numbers, helper=True),
        Function("block_letter", block_letter, "block_letter", _check_letter, helper=True),
        Function("abs", abs, "abs", _check_numbers),
        Function("ceil", math.ceil, "math.ceil", _check_numbers, module="math"),
        Function("float", float, "float", _check_number_text),
        Function("floor", math.floor, "math.floor", _check_numbers, module="math"),
        Function("int", int, "int", _check_number_text),
        Function("len", len, "len", _check_numbers),
        # max and min compare their arguments: the work is their size, measured when made
        Function("max", max, "max", _check_numbers),
        Function("min", min, "min", _check_numbers),
        Function("round", round, "round", _check_round),
    )
}

# Filters take no arguments: ``x|int`` is ``int(x)``. The sandbox runs these same builtins
# rather than Jinja's filters of those names, which differ from Python (``"abc"|int`` is 0
# there), so that a generated module computes what ``check`` computed. Jinja's other
# filters (center, indent, replace, sum, ...) could build huge values and are left out.
FILTERS: dict[str, Function] = {
    "abs": FUNCTIONS["abs"],
    "float": FUNCTIONS["float"],
    "int": FUNCTIONS["int"],
    "length": FUNCTIONS["len"],
    "string": Function("str", str, "str", _check_numbers),
}


def _check_arithmetic_test(name):
    def check(value, *args):
        # Jinja's even/odd/divisibleby compute ``value % n``: on a string that is a
        # printf format ('%0999999999d' is divisibleby 1 builds a gigabyte)
        for operand in (value, *args):
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                raise ExpressionError(
                    f"the test '{name}' takes numbers. Received: {type(operand).__name__}"
                )
        _check_numbers(value, *args)

    return check


class Test(NamedTuple):
    """A test of the language (``x is none``, ``n is divisibleby 4``): what it computes,
    as Jinja defines it, how many arguments it takes, its Python (``{0}`` the value,
    ``{1}`` the argument; an identity test is ``{0} is None``) and the bounds on its work.
    Jinja's other tests are left out: generated code could not write them."""

    name: str
    implementation: Callable
    arguments: int
    python: str
    check: Callable[..., None]
    identity: bool = False


def _no_check(*args):
    """The identity tests do no work."""


TESTS: dict[str, Test] = {
    t.name: t
    for t in (
        Test("none", lambda v: v is None, 0, "None", _no_check, identity=True),
        Test("true", lambda v: v is True, 0, "True", _no_check, identity=True),
        Test("false", lambda v: v is False, 0, "False", _no_check, identity=True),
        Test("even", lambda v: v % 2 == 0, 0, "{0} % 2 == 0", _check_arithmetic_test("even")),
        Test("odd", lambda v: v % 2 == 1, 0, "{0} % 2 == 1", _check_arithmetic_test("odd")),
        Test(
            "divisibleby",
            lambda v, n: v % n == 0,
            1,
            "{0} % {1} == 0",
            _check_arithmetic_test("divisibleby"),
        ),
    )
}


@cache
def helper_source(function: Function) -> str:
    """The source a generated module defines a helper with: its definition above."""
    return inspect.getsource(function.implementation)


def python_support(names) -> tuple[list[str], list[str]]:
    """What a generated module needs for the functions ``names`` it calls: the modules to
    import (sorted) and the helpers' sources (in the vocabulary's order)."""
    names = set(names)
    used = [f for f in (*FUNCTIONS.values(), *FILTERS.values()) if f.name in names]
    imports = sorted({f.module for f in used if f.module})
    helpers = [helper_source(f) for f in dict.fromkeys(used) if f.helper]
    return imports, helpers


# ---- operators ----------------------------------------------------------------------------


class Operator(NamedTuple):
    """A binary operator: its symbol in expressions and in Python (the same), the Jinja2
    node class that parses it, what it computes, and the bounds on its work."""

    symbol: str
    node: str
    implementation: Callable
    check: Callable[[object, object], None]


# + and - on sequences build what their operands' sizes allow (measured when made); / and //
# of numbers within max_int do constant work; * repeats, % formats and ** raises by a number.
BINARY_OPERATORS: dict[str, Operator] = {
    op.symbol: op
    for op in (
        Operator("+", "Add", operator.add, _check_numbers),
        Operator("-", "Sub", operator.sub, _check_numbers),
        Operator("*", "Mul", operator.mul, _check_repeat),
        Operator("/", "Div", operator.truediv, _check_numbers),
        Operator("//", "FloorDiv", operator.floordiv, _check_numbers),
        Operator("%", "Mod", operator.mod, _check_format),
        Operator("**", "Pow", operator.pow, _check_pow),
    )
}

# Jinja2's comparison operator names → Python's operators (same semantics). A comparison
# (``in`` too) walks its operands at most once: its work is their size, and every value an
# expression reaches is measured, a name's once per value (see evaluate.py), anything it
# builds as it is built. So comparisons need no check of their own; ``max``/``min`` likewise.
# A subscript or slice (``xs[::10**12]``) copies at most the value it reads from.
COMPARISONS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "lteq": "<=",
    "gt": ">",
    "gteq": ">=",
    "in": "in",
    "notin": "not in",
}


# ---- tensors ------------------------------------------------------------------------------


class TensorAttribute(NamedTuple):
    """An attribute of a tensor an expression may read (``input.channels``): its value from
    the shape without the batch axis, and its Python for a Keras tensor ``{t}`` (with it)."""

    of_shape: Callable[[tuple], object]
    python: str


TENSOR_ATTRIBUTES: dict[str, TensorAttribute] = {
    "channels": TensorAttribute(lambda shape: shape[-1], "{t}.shape[-1]"),
    "height": TensorAttribute(lambda shape: shape[0] if len(shape) == 3 else None, "{t}.shape[1]"),
    "width": TensorAttribute(lambda shape: shape[1] if len(shape) == 3 else None, "{t}.shape[2]"),
    "shape": TensorAttribute(lambda shape: shape, "tuple({t}.shape[1:])"),
    "rank": TensorAttribute(len, "(len({t}.shape) - 1)"),
}


@dataclass(frozen=True)
class TensorInfo:
    """What an expression may know of a tensor: its shape without the batch axis, and the
    attributes of TENSOR_ATTRIBUTES computed from it."""

    shape: tuple

    def __getattr__(self, name):
        attribute = TENSOR_ATTRIBUTES.get(name)
        if attribute is None or name == "shape":  # a missing shape: not yet initialised
            raise AttributeError(f"a tensor has no attribute '{name}'")
        return attribute.of_shape(self.shape)
