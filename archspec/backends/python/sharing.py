"""Generated modules that share their block functions: a variant's module (a spec that
``extends`` another, generated into the same folder) imports the functions it would
write exactly as its base's module does, instead of a copy of them.

A function is shared only with every module function it calls, so that each call still
reaches the same code. The import names the module that defines the function, so that
a chain of variants (NASNetLarge extends NASNetMobile) imports from the first.
"""

from __future__ import annotations

import ast
import importlib.util
import keyword
import sys
import types
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Function:
    text: str  # its source, from ``def`` (or its decorators) to its end
    start: int  # its first and last line (1-based)
    end: int
    calls: frozenset[str]  # the names it reads that are functions of the module


def _functions(text: str) -> tuple[dict[str, _Function], str | None]:
    """The module's top-level functions, and the model function's name (the last)."""
    tree = ast.parse(text)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    names = {d.name for d in defs}
    lines = text.splitlines()
    out = {}
    for d in defs:
        start = d.decorator_list[0].lineno if d.decorator_list else d.lineno
        calls = {
            n.id
            for n in ast.walk(d)
            if isinstance(n, ast.Name) and n.id in names and n.id != d.name
        }
        out[d.name] = _Function(
            "\n".join(lines[start - 1 : d.end_lineno]), start, d.end_lineno, frozenset(calls)
        )
    return out, (defs[-1].name if defs else None)


def share(specs: list[str], modules: dict[Path, str], base_of) -> dict[Path, str]:
    """``modules`` (path → source, one per spec, in order) with each variant's copies of
    its base's functions replaced by an import from the module that defines them.
    ``base_of(spec)`` is the spec a spec extends, or None."""
    paths = dict(zip((str(Path(s).resolve()) for s in specs), modules))
    bases: dict[Path, Path] = {}
    for spec, path in zip(specs, modules):
        base = base_of(spec)
        base_path = paths.get(str(Path(base).resolve())) if base is not None else None
        if (
            base_path is not None
            and base_path.parent == path.parent
            and base_path.stem.isidentifier()
        ):
            if not keyword.iskeyword(base_path.stem):
                bases[path] = base_path
    definer: dict[Path, dict[str, Path]] = {}  # after sharing: function → defining module
    parsed = {path: _functions(text) for path, text in modules.items()}
    out = dict(modules)

    def settle(path: Path) -> None:
        if path in definer:
            return
        functions, model = parsed[path]
        definer[path] = {name: path for name in functions}
        base = bases.get(path)
        if base is None:
            return
        settle(base)
        theirs = parsed[base][0]
        shared = {
            n
            for n, f in functions.items()
            if n != model and n in theirs and theirs[n].text == f.text and n in definer[base]
        }
        while True:  # only with everything it calls
            keep = {n for n in shared if functions[n].calls <= shared}
            if keep == shared:
                break
            shared = keep
        if not shared:
            return
        out[path] = _with_imports(modules[path], functions, shared, definer[base], path)
        for n in shared:
            definer[path][n] = definer[base][n]

    for path in modules:
        settle(path)
    return out


def _with_imports(text, functions, shared, theirs, path) -> str:
    lines = text.splitlines()
    drop = set()
    for n in shared:
        drop.update(range(functions[n].start - 1, functions[n].end))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    by_module: dict[str, list[str]] = {}
    for n in sorted(shared):
        by_module.setdefault(theirs[n].stem, []).append(n)
    imports = [f"from .{m} import {', '.join(names)}" for m, names in sorted(by_module.items())]
    last_import = max(i for i, line in enumerate(kept) if line.startswith(("import ", "from ")))
    source = "\n".join(kept[: last_import + 1] + imports + kept[last_import + 1 :]) + "\n"
    return source


def import_module(path: str | Path, name: str):
    """Import a generated module from its file. It is loaded as a member of a package
    for its folder, so that an import of a sibling module (``from .resnet50 import
    block1``) finds it there; the package and the module are not kept in sys.modules."""
    path = Path(path).resolve()
    package = f"_archspec_generated_{abs(hash(str(path.parent)))}"
    created = package not in sys.modules
    if created:
        folder = types.ModuleType(package)
        folder.__path__ = [str(path.parent)]
        sys.modules[package] = folder
    full = f"{package}.{name}"
    spec = importlib.util.spec_from_file_location(full, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    finally:
        for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
            if created or key == full:
                sys.modules.pop(key, None)
    return module
