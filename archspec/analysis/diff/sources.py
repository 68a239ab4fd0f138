"""What ``archspec diff`` compares, opened as graphs: a spec (optionally as it was at a git
revision), a generated module (``.py``), or a saved model (``.keras``, ``.h5``).

Specs are lowered without TensorFlow; modules and saved models go through
``from_keras``, which imports Keras only then.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

from archspec.analysis.diff.model import Side, spec_side
from archspec.core.ir import Graph
from archspec.diagnostics import SpecError, UsageError
from archspec.frontend.resolve import Reader, ResolvedSpec
from archspec.limits import LIMITS


def open_side(source, params: dict | None = None, *, rev: str | None = None) -> Side:
    """One side of a diff: a path (spec, ``.py``, ``.keras``), a resolved spec, a graph,
    or a ``keras.Model``. ``params`` override the spec's params, or are passed to a
    module's model function; ``rev`` reads a spec and its imports at a git revision."""
    from archspec.backends.keras.read import SAVED_SUFFIXES

    if isinstance(source, Side):
        return source
    if isinstance(source, Graph):
        return spec_side(source)
    if isinstance(source, ResolvedSpec):
        return _lowered(source, source.path)
    if hasattr(source, "layers") and hasattr(source, "get_config"):  # a keras.Model
        from archspec.backends.keras.read import from_model

        graph, weights = from_model(source)
        return Side(graph, f"<model {graph.model_name}>", "keras", weights)
    path = os.fspath(source)
    suffix = Path(path).suffix.lower()
    if rev is not None and (suffix == ".py" or suffix in SAVED_SUFFIXES):
        raise UsageError(
            f"{path}: --against compares a spec with its version at a revision; this is not a spec"
        )
    if suffix in SAVED_SUFFIXES:
        if params:
            raise UsageError(
                f"{path}: a saved model has no params to set (--set-a and --set-b set one side only)"
            )
        from archspec.backends.keras.read import load_saved

        graph, weights = load_saved(path)
        return Side(graph, path, "keras", weights)
    if suffix == ".py":
        from archspec.backends.keras.read import load_module

        graph, weights = load_module(path, params)
        return Side(graph, path, "module", weights)
    from archspec.frontend.resolve import load

    if rev is None:
        return _lowered(load(path, params), path)
    try:
        resolved = load(path, params, read=git_reader(rev, path))
    except SpecError as exc:
        raise SpecError(
            replace(p, message=f"{p.message} (in revision {rev})") for p in exc.problems
        ) from None
    return _lowered(resolved, f"{path}@{rev}")


def _lowered(resolved: ResolvedSpec, label: str) -> Side:
    from archspec.core.lowering import lower

    return spec_side(lower(resolved), label)


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(f"--against needs git: {exc.strerror or exc}") from None


def git_reader(rev: str, spec: str | os.PathLike) -> Reader:
    """A ``read`` function for ``resolve.load`` that reads files as they are at ``rev`` in
    the git repository that holds ``spec``. Files outside that repository (the shipped
    block libraries of an installed archspec) are read from disk."""
    folder = str(Path(spec).resolve().parent)
    if not Path(folder).is_dir():
        raise UsageError(f"{spec}: cannot read: no such directory {folder}")
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top.returncode != 0:
        raise UsageError(f"{spec}: --against {rev}: not inside a git repository")
    root = Path(top.stdout.decode().strip()).resolve()
    commit = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], str(root)
    )
    if commit.returncode != 0 or rev.startswith("-"):
        raise UsageError(f"--against {rev}: unknown revision in {root}")
    sha = commit.stdout.decode().strip()

    def read(path: str) -> str:
        from archspec.frontend.loader import read_text

        full = Path(path).resolve()
        try:
            relative = full.relative_to(root).as_posix()
        except ValueError:
            return read_text(path)
        blob = _git(["cat-file", "blob", f"{sha}:{relative}"], str(root))
        if blob.returncode != 0:
            raise UsageError(f"{path}: not in revision {rev} ({sha[:12]})")
        if len(blob.stdout) > LIMITS.max_file_bytes:
            raise UsageError(
                f"{path}@{rev}: file is {len(blob.stdout):,} bytes; the limit is "
                f"{LIMITS.max_file_bytes:,} (limit max_file_bytes)"
            )
        try:
            return blob.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{path}@{rev}: not UTF-8 text") from None

    return read


def diff(
    a,
    b=None,
    *,
    against: str | None = None,
    params: dict | None = None,
    params_a: dict | None = None,
    params_b: dict | None = None,
):
    """Compare two models; see ``archspec.diff``."""
    from archspec.analysis.diff.match import compare

    if (b is None) == (against is None):
        raise UsageError(
            "diff compares two models (A and B), or a spec with a git revision (--against REV)"
        )
    pa = {**(params or {}), **(params_a or {})}
    pb = {**(params or {}), **(params_b or {})}
    if against is not None:
        return compare(open_side(a, pa, rev=against), open_side(a, pb))
    return compare(open_side(a, pa), open_side(b, pb))
