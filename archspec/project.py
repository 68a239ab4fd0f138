"""A project's defaults for the command line: ``[tool.archspec]`` in its pyproject.toml.

```toml
[tool.archspec]
naming = "caffe"          # the naming preset of specs that name none
specs = "models"          # where `archspec codegen` finds specs (default specs/)
generated = "src/gen"     # where it writes modules (default generated/)
limits = {max_layers = 500_000}
```

The command line reads the nearest pyproject.toml from the working directory up, once
per run; what a command line says (``-o``, spec paths, ``--limit``) and what a spec says
(its own ``naming``) win over it. Folders are relative to the pyproject.toml. The API
reads no project file: a library call means what it says.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from archspec.diagnostics import UsageError, did_you_mean, quoted
from archspec.files import read_bytes
from archspec.limits import LIMITS


@dataclass
class Project:
    """The defaults in force for one command line run."""

    naming: str | None = None
    specs: str = "specs"
    generated: str = "generated"
    limits: dict = field(default_factory=dict)
    file: str | None = None  # the pyproject.toml they came from


# What the command that is running uses; the command line sets it per run.
PROJECT = Project()
_KEYS = {"naming": str, "specs": str, "generated": str, "limits": dict}


def find(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(path: Path | None) -> Project:
    """The ``[tool.archspec]`` table of ``path`` as a Project (defaults when there is
    none); a usage error for an unknown key or a value of the wrong type."""
    if path is None:
        return Project()
    try:
        data = tomllib.loads(read_bytes(path, LIMITS.max_file_bytes).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("archspec")
    if table is None:
        return Project()
    where = f"{path}: [tool.archspec]"
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table")
    for key, value in table.items():
        if key not in _KEYS:
            raise UsageError(f"{where}: unknown key {quoted(key)}{did_you_mean(key, _KEYS)}")
        if not isinstance(value, _KEYS[key]):
            raise UsageError(
                f"{where}: {key} must be a {_KEYS[key].__name__}. Received: {quoted(repr(value))}"
            )
    folder = path.parent
    project = Project(file=str(path), naming=table.get("naming"), limits=table.get("limits", {}))
    for key in ("specs", "generated"):
        if key in table:
            setattr(project, key, _relative(folder / table[key]))
        else:
            setattr(project, key, _relative(folder / getattr(project, key)))
    return project


def _relative(path: Path) -> str:
    """A project folder as the working directory reaches it (``specs``, ``../specs``)."""
    return Path(os.path.relpath(path.resolve())).as_posix()
