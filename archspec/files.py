"""Every file archspec reads or writes goes through here.

Reading: ``read_bytes`` opens regular files only (a named pipe, a device or a socket is
refused at once, never waited on) and reads at most a limit, whatever the file claims.
Every file read as an input is noted, by identity (device and inode), for the run of
one command. ``-`` is standard input, read to the same limit.

Writing: ``atomic_path`` writes beside the target, then renames over it, so that a
failed or interrupted run leaves the old file intact and no temporary file behind; and
it refuses a target that is one of the run's inputs (the same file however it is
spelt: a symlink, ``./``, ``..``), a directory, or something that is not a regular file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from archspec.diagnostics import MissingFile, UsageError

# (st_dev, st_ino) → the path it was read as, for the command that is running
_INPUTS: dict[tuple[int, int], str] = {}

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class FileTooLarge(UsageError):
    """A file over the byte limit a reader gave; ``size`` is its size (or the bytes read
    before stopping, when the file grows as it is read)."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


def kind_of(mode: int) -> str:
    """'a directory', 'a named pipe', ... for a stat mode that is not a regular file."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def new_run() -> None:
    """Forget the inputs of the previous command (the command line calls this per run)."""
    _INPUTS.clear()


def note_input(path: str | os.PathLike, st: os.stat_result | None = None) -> None:
    """Record ``path`` as an input of this run, so that no output may replace it."""
    try:
        st = st or os.stat(path)
    except OSError:
        return
    _INPUTS.setdefault((st.st_dev, st.st_ino), str(path))


def cannot_read(path: str | os.PathLike, exc: OSError) -> UsageError:
    """The error for a file that could not be read: MissingFile (a FileNotFoundError
    too) when it is not there."""
    kind = MissingFile if isinstance(exc, FileNotFoundError) else UsageError
    return kind(f"{path}: cannot read: {exc.strerror or exc}")


def regular_file(path: str | os.PathLike, what: str = "a file") -> os.stat_result:
    """``stat`` of a path that must be a regular file (symlinks followed); a UsageError
    naming what it is otherwise."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise cannot_read(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: is {kind_of(st.st_mode)}, expected {what}")
    return st


def read_bytes(
    path: str | os.PathLike,
    limit: int,
    *,
    what: str = "a file",
    limit_name: str = "",
    register: bool = True,
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. The file is opened without
    blocking (a named pipe with no writer would otherwise wait for ever), checked to be a
    regular file, and read up to the limit even if it grows meanwhile. ``register``: note
    it as an input of this run."""
    if str(path) == STDIN:
        return _read_stdin(limit, limit_name)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise cannot_read(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path}: is {kind_of(st.st_mode)}, expected {what}")
        named = f" (limit {limit_name})" if limit_name else ""
        if st.st_size > limit:
            raise FileTooLarge(
                f"{path}: file is {st.st_size:,} bytes; the limit is {limit:,}{named}", st.st_size
            )
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise FileTooLarge(
                f"{path}: file grows past {limit:,} bytes as it is read{named}", total
            )
    except OSError as exc:
        raise cannot_read(path, exc) from None
    finally:
        os.close(fd)
    if register:
        note_input(path, st)
    return b"".join(chunks)


STDIN = "-"  # the path that reads standard input, as Unix tools have it


def _read_stdin(limit: int, limit_name: str) -> bytes:
    """Standard input, read to its end but never past ``limit`` bytes."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise UsageError("-: cannot read standard input")
    data = stream.read(limit + 1)
    if len(data) > limit:
        named = f" (limit {limit_name})" if limit_name else ""
        raise FileTooLarge(f"-: standard input is more than {limit:,} bytes{named}", len(data))
    return data


def check_output(target: str | os.PathLike, make_folders: bool = False) -> Path:
    """Refuse an output that would replace one of this run's inputs, a directory, or a
    file that is not a regular one, or whose folder is a file, or (unless
    ``make_folders``, for outputs that are folders of files) does not exist: a file
    output goes into a folder that is there, as ``cp`` and ``gcc -o`` have it, so that
    a typo in a path does not make folders. Returns the target."""
    target = Path(target)
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    if st is not None:
        source = _INPUTS.get((st.st_dev, st.st_ino))
        if source is not None:
            same = "" if os.path.normpath(source) == os.path.normpath(target) else f" ({source})"
            raise UsageError(
                f"{target}: refusing to write over an input of this command{same}; "
                "choose another output"
            )
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{target}: cannot write: it is {kind_of(st.st_mode)}")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{target}: cannot write: {parent} is a file, not a folder")
            break
        if not make_folders and parent == target.parent:
            raise UsageError(
                f"{target}: cannot write: there is no folder {parent} (create it first)"
            )
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "", make_folders: bool = False):
    """Yield a temporary path in the target's directory; rename it onto the target on
    success, delete it on failure (an interrupt included). ``make_folders``: create the
    folders above it (see check_output)."""
    target = check_output(target, make_folders)
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
        # mkstemp makes it owner-only; give it a normal file's mode
        os.chmod(tmp, 0o666 & ~_umask())
        check_output(target)  # still not an input (the write may have taken a while)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # name the target, not the temporary file
            raise OSError(exc.errno, f"cannot write: {exc.strerror or exc}", str(target)) from None
        raise


def check_output_folder(target: str | os.PathLike) -> Path:
    """Refuse a folder output (a SavedModel) that is a file, holds one of this run's
    inputs, or whose parent is missing (as ``check_output`` for a file). An existing
    folder is the caller's to accept or refuse. Returns the target."""
    target = Path(target)
    if not target.is_dir():
        if target.exists():  # a file, a pipe: check_output says which, and if an input
            check_output(target)
            raise UsageError(f"{target}: cannot write: it is a file; the output is a folder")
        return check_output(target)
    inside = os.path.realpath(target)
    for source in _INPUTS.values():
        if os.path.commonpath([inside, os.path.realpath(source)]) == inside:
            raise UsageError(
                f"{target}: refusing to replace a folder that holds an input of this command "
                f"({source}); choose another output"
            )
    return target


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike):
    """Yield a new empty folder beside the target; on success it replaces the target (an
    existing folder is moved aside first, then deleted), on failure it is deleted. The
    caller has checked the target (``check_output_folder``)."""
    import shutil

    target = check_output_folder(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it owner-only
        check_output_folder(target)
        if not target.is_dir():
            os.replace(tmp, target)
            return
        # a folder cannot be renamed over a full one: move the old one aside first, and
        # back if the new one cannot take its place
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old / target.name, target)
            os.rmdir(old)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, f"cannot write: {exc.strerror or exc}", str(target)) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | os.PathLike, text: str, make_folders: bool = False) -> None:
    """Write ``text`` (UTF-8, ``\n`` line ends) to ``target`` atomically."""
    with atomic_path(target, make_folders=make_folders) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def save_model(model, target: str | os.PathLike) -> None:
    """Save a Keras model to a ``.keras`` file atomically."""
    if not str(target).endswith(".keras"):
        raise UsageError(f"{target}: the output must be a .keras file")
    with atomic_path(target, suffix=".keras") as tmp:
        model.save(tmp)
