"""The expression language's two evaluators agree: the sandbox (what ``check`` and
``build`` compute) and the Python translation (what a generated module computes).

Random expressions over the vocabulary, with random params, are evaluated both ways;
hand-written cases with answers known independently (Keras's MobileNetV2 widths, the
seed's block letters) pin both to the truth.
"""

from __future__ import annotations

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archspec.core import naming
from archspec.lang.evaluate import ExpressionError, TensorInfo, condition, evaluate
from archspec.lang.to_python import Translator
from archspec.lang.vocabulary import (
    FILTERS,
    FUNCTIONS,
    block_letter,
    helper_source,
    make_divisible,
    python_support,
)

PARAMS = ("n0", "n1", "n2", "f0", "f1", "b", "s", "xs")


def _generated_namespace() -> dict:
    """The module-level names a generated module has: its imports and its helpers, from
    the very text the module template writes."""
    imports, helpers = python_support(FUNCTIONS)
    source = "".join(f"import {name}\n" for name in imports) + "\n\n".join(helpers)
    namespace: dict = {}
    exec(compile(source, "<generated helpers>", "exec"), namespace)
    return namespace


GENERATED = _generated_namespace()


def _python(kind: str, text: str, context: dict):
    """Translate ``text`` and run it in plain Python, as a generated function would."""
    names = {k: k for k in context if k != "input"}
    translator = Translator(names, {"input": "inputs"})
    if kind == "condition":  # generated code tests it in an ``if``: its truth is what counts
        code = f"bool({translator.condition(text)})"
    else:
        code = translator.value(text)
    namespace = dict(GENERATED)
    namespace.update({k: v for k, v in context.items() if k != "input"})
    # a Keras tensor, as far as the translation reads it: its shape with the batch axis
    namespace["inputs"] = types.SimpleNamespace(shape=(None, *context["input"].shape))
    return eval(compile(code, "<translated>", "eval"), namespace)


def _sandbox(kind: str, text: str, context: dict):
    return condition(text, context) if kind == "condition" else evaluate(text, context)


def _outcome(run, *args):
    try:
        return ("value", run(*args))
    except Exception as exc:  # the comparison is of outcomes: a value, or a failure
        return ("error", exc)


def _same(a, b) -> bool:
    """Equal and of the same types all the way down (``1 == True`` is not agreement)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# ---- random expressions -------------------------------------------------------------------


def _paren(draw, text: str) -> str:
    # Parentheses sometimes left out: Jinja's precedence then decides, and the translation
    # must keep what Jinja parsed.
    return f"({text})" if draw(st.booleans()) else text


@st.composite
def ints(draw, depth=3):
    leaves = st.sampled_from(
        [
            *(str(i) for i in (0, 1, 2, 3, 7, 8, 16, 26, 27, 32)),
            "n0",
            "n1",
            "n2",
            "input.channels",
            "input.height",
            "input.width",
            "input.rank",
            "len(xs)",
            "xs|length",
            "xs[0]",
            "xs[-1]",
            "xs[2]",
            "b|int",
            "s|length",
        ]
    )
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaves)
    sub = ints(depth - 1)
    num = numbers(depth - 1)
    choice = draw(st.integers(0, 12))
    p = lambda text: _paren(draw, text)  # noqa: E731
    if choice == 0:
        op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
        return f"{p(draw(sub))} {op} {p(draw(sub))}"
    if choice == 1:
        return f"{p(draw(sub))} ** {draw(st.integers(0, 3))}"
    if choice == 2:
        return f"-{p(draw(sub))}"
    if choice == 3:
        fn = draw(st.sampled_from(["int", "round", "ceil", "floor", "abs"]))
        return f"{fn}({draw(num)})"
    if choice == 4:
        return f"{p(draw(num))}|int"
    if choice == 5:
        fn = draw(st.sampled_from(["min", "max"]))
        args = draw(st.lists(sub, min_size=1, max_size=3))
        return f"{fn}({', '.join(args)})" if len(args) > 1 else f"{fn}([{args[0]}, 4])"
    if choice == 6:
        divisor = draw(st.one_of(st.sampled_from(["8", "4", "1"]), sub))
        return f"make_divisible({draw(num)}, {divisor})"
    if choice == 7:
        return f"{p(draw(sub))} if {p(draw(bools(depth - 1)))} else {p(draw(sub))}"
    if choice == 8:
        return f"[{draw(sub)}, {draw(sub)}, {draw(sub)}][{draw(sub)}]"
    if choice == 9:
        return f"xs[{draw(sub)}]"
    if choice == 10:
        return f"len({draw(strings(depth - 1))})"
    if choice == 11:
        return f"make_divisible({draw(num)})"
    return f"{p(draw(lists(depth - 1)))}|length"


@st.composite
def numbers(draw, depth=3):
    if draw(st.booleans()):
        return draw(ints(depth))
    leaves = st.sampled_from(["0.35", "1.0", "0.5", "2.5", "1.4", "f0", "f1", "s|float"])
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves)
    sub = numbers(depth - 1)
    choice = draw(st.integers(0, 4))
    p = lambda text: _paren(draw, text)  # noqa: E731
    if choice == 0:
        op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
        return f"{p(draw(sub))} {op} {p(draw(sub))}"
    if choice == 1:
        return f"float({draw(sub)})"
    if choice == 2:
        return f"round({draw(sub)}, {draw(st.integers(-2, 3))})"
    if choice == 3:
        return f"{p(draw(sub))}|float"
    return f"{p(draw(sub))} if {p(draw(bools(depth - 1)))} else {p(draw(sub))}"


@st.composite
def bools(draw, depth=3):
    leaves = st.sampled_from(["b", "True", "False", "n0 == 2", "input.height"])
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves)
    p = lambda text: _paren(draw, text)  # noqa: E731
    choice = draw(st.integers(0, 4))
    if choice == 0:
        ops = draw(
            st.lists(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), min_size=1, max_size=2)
        )
        terms = [p(draw(numbers(depth - 1))) for _ in range(len(ops) + 1)]
        return terms[0] + "".join(f" {op} {term}" for op, term in zip(ops, terms[1:], strict=True))
    if choice == 1:
        op = draw(st.sampled_from(["and", "or"]))
        return f"{p(draw(bools(depth - 1)))} {op} {p(draw(bools(depth - 1)))}"
    if choice == 2:
        return f"not {p(draw(bools(depth - 1)))}"
    if choice == 3:
        op = draw(st.sampled_from(["in", "not in"]))
        return f"{p(draw(ints(depth - 1)))} {op} {p(draw(lists(depth - 1)))}"
    return f"{p(draw(strings(depth - 1)))} == {p(draw(strings(depth - 1)))}"


@st.composite
def strings(draw, depth=3):
    leaves = st.sampled_from(["s", "'same'", "'valid'", "''", "n0|string", "f0|string"])
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves)
    p = lambda text: _paren(draw, text)  # noqa: E731
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return f"block_letter({draw(ints(depth - 1))})"
    if choice == 1:
        return f"{p(draw(strings(depth - 1)))} ~ {p(draw(ints(depth - 1)))}"
    if choice == 2:
        return f"{p(draw(strings(depth - 1)))} if {p(draw(bools(depth - 1)))} else {p(draw(strings(depth - 1)))}"
    if choice == 3:
        return f"'block_%d' % {p(draw(ints(depth - 1)))}"
    return f"'%0.2f' % {p(draw(numbers(depth - 1)))}"


@st.composite
def lists(draw, depth=3):
    leaves = st.sampled_from(["xs", "[]", "[1, 2, 3]"])
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves)
    p = lambda text: _paren(draw, text)  # noqa: E731
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return "[" + ", ".join(draw(st.lists(ints(depth - 1), max_size=3))) + "]"
    if choice == 1:
        return f"{p(draw(lists(depth - 1)))} + {p(draw(lists(depth - 1)))}"
    if choice == 2:
        return f"{p(draw(lists(depth - 1)))} * {draw(st.integers(0, 3))}"
    return f"xs[{draw(st.integers(-2, 2))}:]"


contexts = st.fixed_dictionaries(
    {
        "n0": st.integers(-30, 30),
        "n1": st.integers(-30, 30),
        "n2": st.integers(0, 800),
        "f0": st.sampled_from([0.35, 0.5, 0.75, 1.0, 1.3, 1.4, -2.25]),
        "f1": st.floats(-100, 100, allow_nan=False, allow_infinity=False),
        "b": st.booleans(),
        "s": st.sampled_from(["3", "3.5", "abc", "", "x"]),
        "xs": st.lists(st.integers(-5, 40), max_size=4),
        "input": st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(1, 512)).map(
            TensorInfo
        ),
    }
)

expressions = st.one_of(
    ints().map(lambda e: ("value", "{{ " + e + " }}")),
    numbers().map(lambda e: ("value", "{{ " + e + " }}")),
    strings().map(lambda e: ("value", "{{ " + e + " }}")),
    lists().map(lambda e: ("value", "{{ " + e + " }}")),
    bools().map(lambda e: ("condition", e)),
    st.tuples(strings(1), ints(1)).map(
        lambda p: ("value", "res{{ " + p[1] + " }}_{{ " + p[0] + " }}branch")
    ),
)

# A refusal by the sandbox's bounds (the integer and size limits); plain Python has none.
BOUNDS = ("limit max_", "too large", "too many")


@given(expressions, contexts)
def test_the_sandbox_and_the_python_translation_agree(expression, context):
    kind, text = expression
    sandbox = _outcome(_sandbox, kind, text, context)
    python = _outcome(_python, kind, text, context)
    if sandbox[0] == "error":
        assert isinstance(sandbox[1], ExpressionError), sandbox[1]
        if any(bound in str(sandbox[1]) for bound in BOUNDS):
            return
    assert sandbox[0] == python[0], (text, sandbox, python)
    if sandbox[0] == "value":
        assert _same(sandbox[1], python[1]), (text, sandbox[1], python[1])


# ---- known answers ------------------------------------------------------------------------

KNOWN = {"alpha": 0.35, "stride": 2, "classes": 6, "stage": 3, "index": 27, "xs": [4, 5, 6]}

CASES = [
    # Keras MobileNetV2 widths: _make_divisible(32 * alpha, 8) etc.
    ("{{ make_divisible(32 * alpha, 8) }}", 16),
    ("{{ make_divisible(int(16 * alpha), 8) }}", 8),
    ("{{ make_divisible(1280 * 1.4, 8) }}", 1792),
    ("{{ make_divisible(24 * 0.5, 8) }}", 16),
    ("{{ make_divisible(3) }}", 8),
    ("{{ make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280 }}", 1280),
    # block letters: a ... z, aa, ...
    ("{{ block_letter(1) }}", "a"),
    ("{{ block_letter(26) }}", "z"),
    ("{{ block_letter(27) }}", "aa"),
    ("{{ block_letter(53) }}", "ba"),
    ("{{ block_letter(702) }}", "zz"),
    ("{{ block_letter(703) }}", "aaa"),
    ("res{{ stage }}{{ block_letter(3) }}_branch2a", "res3c_branch2a"),
    ("res{{ stage }}{{ block_letter(index) }}_branch1", "res3aa_branch1"),
    # arithmetic as Python does it
    ("{{ 7 // 2 }}", 3),
    ("{{ -7 // 2 }}", -4),
    ("{{ 7 / 2 }}", 3.5),
    ("{{ -7 % 3 }}", 2),
    ("{{ 2 ** 10 }}", 1024),
    ("{{ ceil(7 / 2) }}", 4),
    ("{{ floor(-0.5) }}", -1),
    ("{{ round(2.5) }}", 2),
    ("{{ round(0.125, 2) }}", 0.12),
    ("{{ min(3, 1, 2) }}", 1),
    ("{{ max(xs) }}", 6),
    ("{{ abs(-3) }}", 3),
    ("{{ xs|length }}", 3),
    ("{{ xs[-1] }}", 6),
    ("{{ xs[1:] }}", [5, 6]),
    ("{{ '3'|int }}", 3),
    ("{{ 3.9|int }}", 3),
    ("{{ '2.5'|float }}", 2.5),
    ("{{ classes|string }}", "6"),
    ("fc{{ classes }}", "fc6"),
    ("{{ 'same' if stride == 1 else 'valid' }}", "valid"),
    ("mobilenetv2_{{ '%0.2f' % alpha }}", "mobilenetv2_0.35"),
    ("{{ 'block_%d' % stage }}", "block_3"),
    ("{{ stage ~ 'x' }}", "3x"),
    ("{{ 2 in xs }}", False),
    ("{{ 1 < stride <= 2 }}", True),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_known_answers(text, expected):
    context = {**KNOWN, "input": TensorInfo((7, 8, 16))}
    assert _same(evaluate(text, context), expected)
    assert _same(_python("value", text, context), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ input.channels * 6 }}", 96),
        ("{{ input.shape }}", (7, 8, 16)),
        ("{{ input.rank }}", 3),
        # MobileNetV2's padding by input parity
        (
            "{{ [[input.height % 2 if input.height else 0, 1], [input.width % 2 if input.height else 0, 1]] }}",
            [[1, 1], [0, 1]],
        ),
    ],
)
def test_known_tensor_answers(text, expected):
    context = {"input": TensorInfo((7, 8, 16))}
    assert _same(evaluate(text, context), expected)
    assert _same(_python("value", text, context), expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ round(5, -1000) }}", "too many"),
        ("{{ 2 ** 100 }}", "exponent"),
        ("{{ 'x' * 100000 }}", "too large"),
        ("{{ [[0] * 1000] * 1000 }}", "too large"),
        ("{{ '%099999d' % 1 }}", "too large"),
        ("{{ 10 ** 13 }}", "limit max_int"),
        ("{{ classes|int(8) }}", "takes no arguments"),
        ("{{ 'block_%d' % 1.5 }}", "formats an integer"),  # generated {x:d} refuses a float
        ("{{ 'abc'|int }}", "ValueError"),  # Python's int, as generated code runs it
        ("{{ len([xs[9]]) }}", "no element 9"),  # a missing item fails at once, as in Python
    ],
)
def test_refused(text, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate(text, {**KNOWN, "input": TensorInfo((7, 8, 16))})


def test_conditions():
    context = {**KNOWN, "input": TensorInfo((7, 8, 16))}
    for text, expected in [("stride == 2", True), ("{{ not stride }}", False), (True, True)]:
        assert condition(text, context) is expected
        assert _python("condition", text, context) is expected


# ---- one definition -----------------------------------------------------------------------


def test_naming_letters_are_the_vocabulary_block_letter():
    assert naming.letter is block_letter
    assert FUNCTIONS["block_letter"].implementation is block_letter
    assert FUNCTIONS["make_divisible"].implementation is make_divisible


def test_the_helpers_the_module_defines_are_the_vocabulary_functions():
    imports, helpers = python_support(["ceil", "make_divisible", "block_letter", "int"])
    assert imports == ["math"]
    assert helpers == [
        helper_source(FUNCTIONS["make_divisible"]),
        helper_source(FUNCTIONS["block_letter"]),
    ]
    for name in ("make_divisible", "block_letter"):
        assert GENERATED[name].__code__.co_code == FUNCTIONS[name].implementation.__code__.co_code


def test_a_generated_module_defines_the_helpers_it_uses(tmp_path, cli, write):
    spec = write(
        """
        name: M
        params: {classes: 27}
        input: {shape: [8, 8, 3]}
        layers:
          - flatten
          - dense: {units: "{{ ceil(classes / 2) }}", name: "fc{{ block_letter(classes) }}"}
        """
    )
    assert cli("codegen", spec, "-o", str(tmp_path / "out")).code == 0
    (module,) = (tmp_path / "out").iterdir()
    text = module.read_text()
    assert "import math\n" in text
    assert helper_source(FUNCTIONS["block_letter"]) in text
    assert "def make_divisible" not in text


def test_each_spelling_names_the_function_the_sandbox_runs():
    for function in (*FUNCTIONS.values(), *FILTERS.values()):
        if function.helper:
            assert function.python == function.name
            assert helper_source(function).startswith(f"def {function.name}(")
        else:  # a builtin or an imported module's function
            assert eval(function.python, dict(GENERATED)) is function.implementation


# ---- bounds on work that grows with a number in the spec -----------------------------------

# (hostile expression, what its refusal says, an ordinary use of the same thing and its value)
BOUNDS_CASES = [
    ("{{ int('9' * 5000) }}", "too long to read", "{{ int(' 42 ') }}", 42),
    ("{{ ('1' * 5000)|int }}", "too long to read", "{{ '7'|int }}", 7),
    ("{{ float('1' * 9999) }}", "too long to read", "{{ float('2.5') }}", 2.5),
    ("{{ '%.9999f%.9999f' % (1e300, 1e300) }}", "limit max_string", "{{ '%.3f' % 0.5 }}", "0.500"),
    ("{{ '%0999999999d' is divisibleby 1 }}", "takes numbers", "{{ 12 is divisibleby 4 }}", True),
    ("{{ 's' is even }}", "takes numbers", "{{ 3 is odd }}", True),
    ("{{ round(1.5, 10**9) }}", "too many", "{{ round(1.25, 1) }}", 1.2),
    # Jinja's ** is left-associative, as the generated Python writes it: (2 ** 3) ** 2
    ("{{ 10 ** 64 ** 64 }}", "limit max_int", "{{ 2 ** 3 ** 2 }}", 64),
    ("{{ (-1) ** 0.5 }}", "complex", "{{ (-2) ** 2.0 }}", 4.0),
    ("{{ 1e308 * 10 }}", "not finite", "{{ 1e300 * 10 }}", 1e301),
    ("{{ '-nan'|float }}", "not finite", "{{ '-1'|float }}", -1.0),
    (
        "{{ block_letter(" + "9" * 1500 + ") }}",
        "limit max_int",
        "{{ block_letter(10**12) }}",
        "dtmchrxun",
    ),
    ("{{ block_letter(1e300) }}", "whole-number position", "{{ block_letter(28) }}", "ab"),
    (
        "{{ make_divisible(" + "9" * 1500 + ", 1) }}",
        "limit max_int",
        "{{ make_divisible(10**12, 1) }}",
        10**12,
    ),
    ("{{ max(" + "9" * 1500 + ", 1) }}", "limit max_int", "{{ max(xs) }}", 6),
    ("{{ p ~ p }}", "limit max_string", "{{ stage ~ 'x' }}", "3x"),
    ("{{ p == p }}", "limit max_string", "{{ xs == [4, 5, 6] }}", True),
    ("{{ max(p) }}", "limit max_string", "{{ min(xs) }}", 4),
    ("{{ '%s%s' % (big, big) }}", "limit max_string", "{{ '%s' % xs }}", "[4, 5, 6]"),
    ("{{ big ~ big ~ big }}", "limit max_string", "{{ 'a' ~ 'b' }}", "ab"),
    ("{{ range(10**12) }}", "undefined", "{{ xs[::10**12] }}", [4]),
]


@pytest.mark.parametrize(("bad", "message", "good", "value"), BOUNDS_CASES)
def test_work_bounds_refuse_fast_and_keep_ordinary_use(bad, message, good, value):
    import time

    context = {**KNOWN, "p": list(range(40_000)), "big": "ab" * 4000}
    start = time.process_time()
    with pytest.raises(ExpressionError, match=message):
        evaluate(bad, context)
    assert time.process_time() - start < 0.5, bad
    assert _same(evaluate(good, context), value)


def test_templates_stop_at_the_first_output_too_long():
    import time

    context = {"p": [0.123456789] * 9000}
    start = time.process_time()
    with pytest.raises(ExpressionError, match="limit max_string"):
        evaluate("{{p}}" * 400, context)
    assert time.process_time() - start < 0.5


def test_names_are_measured_once_per_value():
    import time

    context = {"p": list(range(4_000))}  # within the limit: measured once, then looked up
    start = time.process_time()
    for _ in range(2000):
        assert evaluate("{{ p[1] + 1 }}", context) == 2
    assert time.process_time() - start < 2.0


def test_every_function_filter_operator_and_test_declares_its_check():
    from archspec.lang.vocabulary import BINARY_OPERATORS, TESTS

    for entry in (
        *FUNCTIONS.values(),
        *FILTERS.values(),
        *BINARY_OPERATORS.values(),
        *TESTS.values(),
    ):
        assert callable(entry.check), entry
