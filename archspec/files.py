"""Atomic file output: write beside the target, then rename over it.

A failed or interrupted run leaves the old file intact and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from archspec.diagnostics import UsageError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ""):
    """Yield a temporary path in the target's directory; rename it onto the target on
    success, delete it on failure."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=target.parent
        )
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(
            tmp, 0o666 & ~_umask()
        )  # mkstemp makes it owner-only; give it a normal file's mode
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # name the target, not the temporary file
            raise OSError(exc.errno, f"cannot write: {exc.strerror or exc}", str(target)) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def save_model(model, target: str | os.PathLike) -> None:
    if not str(target).endswith(".keras"):
        raise UsageError(f"{target}: the output must be a .keras file")
    with atomic_path(target, suffix=".keras") as tmp:
        model.save(tmp)
