"""``archspec codegen``: write generated modules, or check that they are fresh."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from archspec.backends.python.emit import generate, module_path, same_except_version
from archspec.backends.python.sharing import share
from archspec.backends.python.writer import line_map
from archspec.core.elaborate import elaborate_file
from archspec.core.lowering import lower
from archspec.diagnostics import UsageError
from archspec.files import write_text


def display_path(spec: str | os.PathLike) -> str:
    """The spec's path as the header names it: relative to the working directory, with
    forward slashes, so that it is the same on every machine."""
    path = Path(spec)
    try:
        path = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return path.as_posix()


@dataclass(frozen=True)
class Module:
    """A generated module: its source, and the IR nodes each line's statement makes."""

    source: str
    lines: dict[int, tuple[str, ...]]


def module_source(spec: str | os.PathLike, style: str = "structured") -> str:
    """The generated Python module of one spec."""
    return module(spec, style).source


def module(spec: str | os.PathLike, style: str = "structured") -> Module:
    """The generated module of one spec with its line map."""
    text, origins, graph = _unformatted(spec, style)
    source = formatted([text])[0]
    made_by = _made_by(graph)

    def nodes(key) -> tuple[str, ...]:
        # structured: an item's uid; flat: a node's name, or the nodes a call makes
        if isinstance(key, int):
            return tuple(made_by.get(key, ()))
        return key if isinstance(key, tuple) else (key,)

    lines = {line: nodes(key) for line, key in line_map(source, origins).items()}
    return Module(source, lines)


def _made_by(graph) -> dict[int, list[str]]:
    """Program item uid → the IR nodes it made: a layer item its layers, a block call or
    stage entry every layer of the blocks it called, nested ones included."""
    by_item: dict[int, list[str]] = {}
    in_block: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for node in graph.nodes:
        by_item.setdefault(node.item, []).append(node.name)
        if node.block is not None:
            in_block.setdefault(node.block, []).append(node.name)
    for instance in graph.blocks:
        children.setdefault(instance.parent, []).append(instance.prefix)

    def under(prefix: str) -> list[str]:
        names = list(in_block.get(prefix, ()))
        for child in children.get(prefix, ()):
            names += under(child)
        return names

    for instance in graph.blocks:
        by_item.setdefault(instance.item, []).extend(under(instance.prefix))
    return by_item


def _unformatted(spec: str | os.PathLike, style: str):
    return _generated(elaborate_file(spec), spec, style)


def _generated(program, spec: str | os.PathLike, style: str):
    graph = lower(program)
    text, origins = generate(program, graph, source=display_path(spec), style=style)
    return text, origins, graph


# Generated code is laid out by ruff, pinned in pyproject.toml, so that it is formatted
# exactly as `ruff format` wants it and byte-identical on every machine. Each module goes
# through ruff's standard input and output: no file is written, no temporary one can be
# left behind by an interrupt, and no cache appears in the working directory or the
# user's (--no-cache; --isolated reads no configuration there).
RUFF_ARGS = [
    "format",
    "--isolated",
    "--no-cache",
    "--quiet",
    "--line-length",
    "100",
    "--target-version",
    "py311",
]

# Imports a variant's module no longer uses, once it imports its base's functions.
TIDY_ARGS = [
    "check",
    "--isolated",
    "--no-cache",
    "--quiet",
    "--fix",
    "--exit-zero",
    "--select",
    "F401,I001",
    "--target-version",
    "py311",
]


def formatted(texts: list[str], tidy: bool = False) -> list[str]:
    """Format module texts with ruff (``tidy``: drop unused imports first), several
    modules at once."""
    if not texts:
        return []
    try:
        from ruff.__main__ import find_ruff_bin

        ruff = find_ruff_bin()
    except (ImportError, FileNotFoundError):
        raise UsageError("codegen needs ruff to lay out the code: pip install ruff") from None

    def one(text: str) -> str:
        if tidy:
            text = _ruff(ruff, TIDY_ARGS, text)
        return _ruff(ruff, RUFF_ARGS, text)

    if len(texts) == 1:
        return [one(texts[0])]
    with ThreadPoolExecutor(max_workers=min(4, len(texts))) as pool:
        return list(pool.map(one, texts))


def _ruff(ruff: str, args: list[str], text: str) -> str:
    proc = subprocess.run(
        [ruff, *args, "--stdin-filename", "module.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ruff could not format the generated code: {proc.stderr.strip()}")
    return proc.stdout


def discover(root: str | os.PathLike = "specs") -> list[str]:
    """Every spec under ``root``, in a stable order."""
    return sorted(p.as_posix() for p in Path(root).rglob("*.yaml"))


@dataclass(frozen=True)
class Drift:
    """A module that ``codegen --check`` finds out of date: ``missing``, ``stale`` or ``extra``."""

    path: Path
    why: str  # "missing", "stale" or "extra"


def plan(specs: list[str], out_dir: str, style: str) -> dict[Path, str]:
    """Generate every module in memory first, so that one bad spec writes nothing. In
    the structured style a variant generated beside its base imports the base's block
    functions (sharing.py)."""
    programs = {spec: elaborate_file(spec) for spec in specs}

    def base_of(spec: str) -> str | None:
        return programs[spec].resolved.base if spec in programs else None

    requested = list(specs)
    if style == "structured":
        # A variant's base whose module is already there is shared as if both were
        # generated now, so that one variant alone is written as the whole set writes it.
        given = {Path(s).resolve() for s in specs}
        for spec in requested:
            base = base_of(spec)
            while base is not None and Path(base).resolve() not in given:
                if not module_path(base, out_dir).exists():
                    break
                programs[base] = elaborate_file(base)
                specs, given = [*specs, base], given | {Path(base).resolve()}
                base = base_of(base)
    paths = [module_path(spec, out_dir) for spec in specs]
    texts = [_generated(programs[spec], spec, style)[0] for spec in specs]
    modules = dict(zip(paths, formatted(texts)))
    if style != "structured":
        return modules
    shared = share(specs, modules, base_of)
    changed = [p for p in paths if shared[p] != modules[p]]
    # the imports the shared functions alone used go; ruff sorts the new ones in
    for path, text in zip(changed, formatted([shared[p] for p in changed], tidy=True)):
        modules[path] = text
    return {p: modules[p] for p in paths[: len(requested)]}


def write(modules: dict[Path, str]) -> list[Path]:
    """Write the modules that changed (atomically); returns the paths written."""
    written = []
    for path, text in modules.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text, make_folders=True)
            written.append(path)
    return written


def check(modules: dict[Path, str], out_dir: str, *, extras: bool) -> list[Drift]:
    """Stale or missing modules, and (``extras``) modules no spec generates."""
    drift = []
    for path, text in modules.items():
        if not path.exists():
            drift.append(Drift(path, "missing"))
        elif not same_except_version(path.read_text(encoding="utf-8"), text):
            drift.append(Drift(path, "stale"))
    if extras and Path(out_dir).is_dir():
        expected = {p.resolve() for p in modules}
        for path in sorted(Path(out_dir).rglob("*.py")):
            if path.resolve() not in expected:
                drift.append(Drift(path, "extra"))
    return drift
