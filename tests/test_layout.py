"""The package's import graph: no cycles, imports run one way, no private names borrowed.

DESIGN.md: command line → API → analysis, backends, training (and archspec's own
plugins) → core → front end and expression language → diagnostics. Every module of
archspec is parsed with ``ast`` (none is imported), and its ``archspec.*`` imports,
absolute or relative, are collected:

- cycles count module-level imports only (an import inside a function runs on call,
  after every module is loaded, which is how a module reaches one that imports it);
- the layering counts every import, wherever it is;
- ``from M import _name`` is refused: a private name is private to its module.

An import names its most specific module: ``from archspec.train import datasets`` is an
edge to ``archspec.train.datasets``; the parent packages that Python also runs are not
edges (they would make every module depend on the API in ``archspec/__init__.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archspec"

# The layers, highest first; a module may import its own layer and the layers below.
LAYERS = [
    ("command line", {"archspec.cli", "archspec.__main__"}),
    ("API", {"archspec"}),
    # archspec's own plugins use the op catalogue as any package's do; the language
    # server reads specs through the front end and core, as check does.
    (
        "analysis, backends, training, plugins",
        {
            "archspec.analysis",
            "archspec.backends",
            "archspec.train",
            "archspec.plugins",
            "archspec.lsp",
        },
    ),
    ("core", {"archspec.core"}),
    ("front end, expression language", {"archspec.frontend", "archspec.lang"}),
    (
        "diagnostics",
        {
            "archspec.diagnostics",
            "archspec.identifiers",
            "archspec.project",
            "archspec.limits",
            "archspec.files",
            "archspec._version",
        },
    ),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


class _Import:
    """One imported module, the names taken from it, and whether it runs at import."""

    def __init__(self, module: str, names: list[str], top_level: bool, line: int):
        self.module, self.names, self.top_level, self.line = module, names, top_level, line


def _resolve(importer: str, node: ast.ImportFrom) -> str | None:
    """The absolute module an ``ImportFrom`` reads from (relative ones included)."""
    if node.level == 0:
        return node.module
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str) -> list[_Import]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: list[_Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "archspec":
                    found.append(_Import(alias.name, [], top_level, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            if module and module.split(".")[0] == "archspec":
                plain = []
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    if sub in MODULES:  # `from archspec.train import datasets`: a module
                        found.append(_Import(sub, [], top_level, node.lineno))
                    else:
                        plain.append(alias.name)
                if plain or not node.names:
                    found.append(_Import(module, plain, top_level, node.lineno))
        inner = top_level and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


IMPORTS = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> int:
    """The index in LAYERS of the longest package prefix that names the module."""
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), i)
    assert best is not None, f"{name} is in no layer; add its package to LAYERS"
    return best[1]


def test_every_import_is_a_module_of_archspec():
    """The graph below is only as good as the resolution of each import."""
    missing = [
        f"{name}:{i.line}: {i.module}"
        for name, imports in IMPORTS.items()
        for i in imports
        if i.module not in MODULES
    ]
    assert not missing


def test_no_import_cycles():
    graph = {
        name: sorted({i.module for i in imports if i.top_level and i.module != name})
        for name, imports in IMPORTS.items()
    }
    cycles, state, stack = [], {}, []

    def walk(node: str) -> None:  # depth first; a grey node met again closes a cycle
        state[node] = "grey"
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "grey":
                cycles.append(" → ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = "black"

    for name in graph:
        if name not in state:
            walk(name)
    assert not cycles


@pytest.mark.parametrize("name", MODULES)
def test_imports_run_one_way(name):
    mine = _layer(name)
    upward = [
        f"line {i.line}: {i.module} ({LAYERS[_layer(i.module)][0]})"
        for i in IMPORTS[name]
        if _layer(i.module) < mine
    ]
    assert not upward, f"{name} ({LAYERS[mine][0]}) imports from above: {upward}"


@pytest.mark.parametrize("name", [m for m in MODULES if m.startswith("archspec.backends")])
def test_backends_never_import_the_front_end(name):
    """A backend reads the IR and the Program; how a spec is read is not its business."""
    frontend = [
        f"line {i.line}: {i.module}"
        for i in IMPORTS[name]
        if i.module.startswith("archspec.frontend")
    ]
    assert not frontend, f"{name} imports the front end: {frontend}"


@pytest.mark.parametrize("name", MODULES)
def test_no_private_names_across_modules(name):
    borrowed = [
        f"line {i.line}: {i.module}.{n}"
        for i in IMPORTS[name]
        if i.module != name
        for n in i.names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not borrowed, f"{name} imports private names: {borrowed}"


def test_relative_imports_and_layers_resolve():
    """The machinery itself: relative imports resolve, layers are ordered."""
    node = ast.parse("from ..core.ir import _x").body[0]
    assert _resolve("archspec.analysis.summary", node) == "archspec.core.ir"
    assert _resolve("archspec.analysis", ast.parse("from .summary import y").body[0]) == (
        "archspec.analysis.summary"
    )
    assert _layer("archspec.cli.main") < _layer("archspec") < _layer("archspec.train.fit")
    assert _layer("archspec.core.ops") < _layer("archspec.lang.evaluate")
    assert _layer("archspec.frontend.loader") < _layer("archspec.diagnostics")
