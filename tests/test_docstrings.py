"""Every public function, class and method of archspec has a docstring, read from the
source with ast (nothing is imported, so neither are TensorFlow nor the backends).

Public: a name without a leading underscore, in a module whose path has none
(``__init__.py`` counts as its package's). Dunder methods are underscore-named and so
not checked. pydantic validators get no exemption: the package names them ``_like_this``,
and a public one would show in ``help()`` of its model like any method.
"""

from __future__ import annotations

import ast

from conftest import ROOT

PACKAGE = ROOT / "archspec"


def public_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(p.startswith("_") and p != "__init__.py" for p in parts):
            continue
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def definitions(body, prefix=""):
    """(qualified name, node) of each public function, class and method, nested classes'
    included; functions inside functions are not part of the API."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_"):
                continue
            yield prefix + node.name, node
            if isinstance(node, ast.ClassDef):
                yield from definitions(node.body, f"{prefix}{node.name}.")


def undocumented(tree) -> set[str]:
    return {name for name, node in definitions(tree.body) if ast.get_docstring(node) is None}


def test_every_public_definition_has_a_docstring():
    missing = []
    for module, tree in public_modules():
        for name in sorted(undocumented(tree)):
            missing.append(f"{module}: {name}")
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


def test_the_walk_sees_what_it_checks():
    # the checker itself: a nested method, a private one and a documented one
    tree = ast.parse(
        "class A:\n"
        "    '''doc'''\n"
        "    def m(self): pass\n"
        "    def _p(self): pass\n"
        "    def __init__(self): pass\n"
        "    class B:\n"
        "        def n(self): pass\n"
        "def f():\n"
        "    def inner(): pass\n"
        "def _g(): pass\n"
    )
    assert undocumented(tree) == {"A.m", "A.B", "A.B.n", "f"}
