"""The command line: ``main(argv) -> exit code`` owns parsing and error reporting.

Exit codes: 0 ok, 1 invalid spec (or differences, for checks), 2 usage or I/O error.
Problems go to stderr as ``PATH:LINE:COL: error: MESSAGE``; no traceback unless
``--traceback``. The grammar is in ``parser``, the commands in ``commands``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback

from archspec import files, project
from archspec.backends.keras.quiet import enabled as quietly_importing_tensorflow
from archspec.cli.commands import COMMANDS
from archspec.cli.parser import build_parser
from archspec.diagnostics import (
    SpecError,
    UsageError,
    first_line,
    outcome_json,
    quoted,
    render,
)
from archspec.limits import ENVIRONMENT_PROBLEMS, LIMITS


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C: every ``finally`` and
    ``atomic_path`` cleans up as for an interrupt, and the exit code is 143."""


@contextlib.contextmanager
def _terminate_as_interrupt():
    """While a command runs, SIGTERM raises Terminated (only the main thread can set a
    handler; elsewhere, as in a test's thread, the default stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated), signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def report(problems, fmt: str) -> None:
    """Spec problems: ``PATH:LINE:COL: error: ...`` on stderr; with ``--format json`` a
    JSON list on stdout, with ``--format github`` also workflow annotations."""
    out, err = render(problems, fmt)
    sys.stdout.write(out)
    sys.stderr.write(err)


def _format_asked(argv: list[str]) -> str:
    """The ``--format`` value on a command line argparse may not be able to read."""
    for i, arg in enumerate(argv):
        if arg == "--format" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--format="):
            return arg.partition("=")[2]
    return "text"


def _fail(fmt: str, code: str, message: str, label: str = "error") -> None:
    """An outcome that is not a spec's problem: ``archspec: error: ...`` on stderr, or
    with ``--format json`` the same as JSON on stdout, as spec errors are."""
    if fmt == "json":
        sys.stdout.write(outcome_json(code, message))
    else:
        print(f"archspec: {label}: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command line (``sys.argv[1:]`` by default) and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    show_traceback = "--traceback" in argv
    fmt = _format_asked(argv)  # until the parser has read it (its own errors need it)
    saved_limits, saved_project = vars(LIMITS).copy(), vars(project.PROJECT).copy()
    try:
        args = build_parser().parse_args(argv)
        fmt = getattr(args, "format", "text")
        if ENVIRONMENT_PROBLEMS:
            raise UsageError(ENVIRONMENT_PROBLEMS[0])
        found = project.load(project.find())
        vars(project.PROJECT).update(vars(found))
        for name, value in found.limits.items():  # the project's, then the command line's
            try:
                LIMITS.set(str(name), value)
            except ValueError as exc:
                raise UsageError(f"{found.file}: [tool.archspec] limits: {exc}") from None
        for item in [*args.limit_before_command, *args.limit]:
            name, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"--limit expects NAME=N. Received: {quoted(item)}")
            try:
                LIMITS.set(name.strip(), value.strip())
            except ValueError as exc:
                raise UsageError(f"--limit: {exc}") from None
        files.new_run()
        quiet = contextlib.nullcontext() if args.verbose else quietly_importing_tensorflow()
        with _terminate_as_interrupt(), quiet:
            return COMMANDS[args.command](args)
    except SpecError as exc:
        if show_traceback:
            traceback.print_exc()
        report(exc.problems, fmt)
        return 1
    except UsageError as exc:
        if show_traceback:
            traceback.print_exc()
        _fail(fmt, "usage-error", str(exc))
        return 2
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # an output that cannot be written: disk full, permissions
        if show_traceback:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(fmt, "usage-error", f"{where}{exc.strerror or exc}")
        return 2
    except Exception as exc:  # a bug in archspec: say so plainly
        if show_traceback:
            traceback.print_exc()
        _fail(
            fmt,
            "internal-error",
            f"{type(exc).__name__}: {first_line(str(exc))} (rerun with --traceback)",
            "internal error",
        )
        return 3
    finally:
        # --limit and the project's defaults hold for this run only (main may run
        # in-process)
        vars(LIMITS).update(saved_limits)
        vars(project.PROJECT).update(saved_project)
