"""The corpus of broken and hostile inputs in tests/bad_specs/: every one gets a precise
error at its line and column (or runs cleanly, where that is the contract), fast, in
little memory, never a traceback, and touches nothing it should not.

A case is a file whose first lines are comments:

    # expect: LINE:COL: CODE: fragment       exit 1; stderr starts PATH:LINE:COL: error:
    # expect: FILE:LINE:COL: CODE: fragment  ... the error is in another file of the case
    # expect: usage: fragment                exit 2; stderr starts "archspec: error:"
    # expect: ok: fragment                   exit 0; the fragment is on stdout
    # expect: at: FILE: fragment             exit 1; stderr starts FILE: error: (a file
                                             without lines: HDF5 data)
    # command: diff                          the subcommand (default check) and any options
                                             before it; the case's path is its first argument
    # env: ARCHSPEC_LIMIT_MAX_LAYERS=2       environment variables for the run
    # args: --set classes=[1]                more arguments
    # writes: out/net.py                     files the command may write (ok cases); every
                                             .py among them must compile
    # make: fifo                             the case's path is made, not copied (below)

A file that cannot carry a comment (binary, not UTF-8, empty, made at run time) has a
sidecar ``NAME.expect``. ``# make:`` makes the case's path, or with ``:REL`` another path
of its folder, comma-separated: ``directory``, ``nothing`` (it does not exist), ``fifo``
(a named pipe nobody writes to), ``zero`` (a symlink to /dev/zero), ``symlink=TARGET``,
or the name of a function in tests/hostile_files.py that writes a hostile binary file. A
case that needs several files is a folder, run as ``FOLDER/spec.yaml``, or as
``FOLDER/NAME`` where the folder's ``case.expect`` holds the header with
``# path: NAME``. ``@@REPEAT(text,N)@@`` is expanded when a case is copied, so that
megabyte files are not committed (``\\,`` is a comma in the text).

Every case runs through the real command line (``python -m archspec``) in a process of
its own, two at a time, each in a folder of its own holding a copy of the case. Each
must exit as expected with nothing on stdout (but for ok cases); the first stderr line
names the expected place and every line is a ``PATH:LINE:COL: error:`` diagnostic; no
``Traceback``; under 3 s of CPU time (user + system: the machine running the tests may be
busy, and CPU time is what the input costs) and under 500 MB peak resident memory
(``wait4``'s ``ru_maxrss``, read by a small Python process that starts the command: Linux
carries the spawning process's peak over into the child's across fork and exec, and the
test process may hold TensorFlow by then). The process also runs under a 2 GB
address-space limit and is killed after 30 s, so that a regression fails the test
instead of the machine. And
the case fails if the command wrote any file into its folder beyond ``# writes:``,
changed or removed one of its inputs, left anything in its own TMPDIR, or wrote a
Python file that does not compile.

The code and the place are the contract (the fragment is a reminder for readers): the
``check`` cases also run in-process with ``--format json``, whose first error must have
the expected code, file, line and column. And they run in-process with PyYAML's
pure-Python parser, which archspec falls back on without libyaml: the same errors, at
the same places.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import hostile_files
import pytest

CORPUS = Path(__file__).resolve().parent / "bad_specs"
# The suite runs in two processes: on a two-core machine whose cores are hyperthreads, a
# case's CPU time grows by up to half while the other process computes (the heaviest case
# takes 1.5 s alone, 2.1 s so).
MAX_CPU_S = 3.0
MAX_RSS_MB = 500
KILL_AFTER_S = 30
_REPEAT = re.compile(r"@@REPEAT\((.*?),(\d+)\)@@")
_DIAGNOSTIC = re.compile(r"^\S.*?:\d+:\d+: error: ")
_HEADER_KEYS = ("expect", "args", "make", "command", "writes", "path", "env")
# Sets a 2 GB address-space limit, then runs archspec as `python -m archspec` would.
_BOOT = (
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    "sys.argv[0] = 'archspec'; runpy.run_module('archspec', run_name='__main__')"
)

# Starts the command given after the report path, waits for it and writes its exit code,
# CPU seconds and peak resident kilobytes there. Its own small peak is all the command
# inherits.
_MEASURE = (
    "import json, os, subprocess, sys; "
    "pid = subprocess.Popen(sys.argv[2:]).pid; "
    "_, status, usage = os.wait4(pid, 0); "
    "open(sys.argv[1], 'w').write(json.dumps("
    "[os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss]))"
)


@dataclass(frozen=True)
class Case:
    name: str  # the path given to archspec, relative to the corpus
    expect: str  # "LINE:COL", "FILE:LINE:COL", "usage" or "ok"
    fragment: str
    code: str = ""  # the diagnostic code of the first error (none for usage errors)
    args: tuple = ()
    make: str = ""  # what to make instead of copying (see the module's docstring)
    command: str = "check"
    writes: tuple = ()  # files the command may write, relative to its folder
    env: tuple = ()  # NAME=VALUE pairs

    @property
    def subcommand(self) -> str:
        return shlex.split(self.command)[-1]

    @property
    def top(self) -> str:
        """The corpus entry the case is: its file, or its folder."""
        return self.name.split("/")[0]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    wall_s: float
    cpu_s: float
    rss_mb: float
    touched: tuple = ()  # what the run wrote, changed or left that it should not have


def _header(text: str) -> dict:
    fields = {}
    for line in text.splitlines():
        match = re.match(r"#\s*(\w+):\s?(.*)$", line)
        if not match or match[1] not in _HEADER_KEYS:
            break
        fields[match[1]] = match[2]
    return fields


def _case(name: str, header: dict) -> Case:
    expect = header["expect"]
    extra = {
        "args": tuple(shlex.split(header.get("args", ""))),
        "make": header.get("make", ""),
        "command": header.get("command", "check"),
        "writes": tuple(header.get("writes", "").split()),
        "env": tuple(shlex.split(header.get("env", ""))),
    }
    for kind in ("usage", "ok"):
        if expect.startswith(f"{kind}:"):
            return Case(name, kind, expect[len(kind) + 1 :].strip(), **extra)
    if expect.startswith("at:"):
        file, _, fragment = expect[len("at:") :].strip().partition(": ")
        return Case(name, f"at:{file}", fragment.strip(), **extra)
    match = re.match(r"^((?:\S+?:)?\d+:\d+):\s*([a-z0-9]+(?:-[a-z0-9]+)+):\s*(.*)$", expect)
    assert match, f"{name}: '# expect:' needs [FILE:]LINE:COL: CODE: fragment, usage: or ok:"
    return Case(name, match[1], match[3], match[2], **extra)


def discover() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.iterdir()):
        if path.is_dir():
            sidecar = path / "case.expect"
            if sidecar.exists():
                header = _header(sidecar.read_text(encoding="utf-8"))
                cases.append(_case(f"{path.name}/{header['path']}", header))
            else:
                spec = path / "spec.yaml"
                cases.append(
                    _case(f"{path.name}/spec.yaml", _header(spec.read_text(encoding="utf-8")))
                )
        elif path.suffix == ".expect":
            cases.append(
                _case(path.name[: -len(".expect")], _header(path.read_text(encoding="utf-8")))
            )
        elif not (CORPUS / f"{path.name}.expect").exists():
            cases.append(_case(path.name, _header(path.read_text(encoding="utf-8"))))
    return cases


CASES = discover()


def _expand(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and b"@@REPEAT(" in path.read_bytes():
            text = path.read_text(encoding="utf-8")
            path.write_text(
                _REPEAT.sub(lambda m: m[1].replace("\\,", ",") * int(m[2]), text),
                encoding="utf-8",
            )


def _make(case: Case, folder: Path) -> None:
    """Make what the case's ``# make:`` names, in ``folder`` (the corpus's copy)."""
    for action in filter(None, (a.strip() for a in case.make.split(","))):
        what, _, where = action.partition(":")
        what, _, target = what.partition("=")
        path = folder / (Path(case.name).parent / where if where else case.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "directory":
            path.mkdir()
        elif what == "nothing":
            pass
        elif what == "fifo":
            os.mkfifo(path)
        elif what == "zero":
            path.symlink_to("/dev/zero")
        elif what == "symlink":
            path.symlink_to(target)
        else:
            getattr(hostile_files, what)(path)


def prepare(root: Path) -> Path:
    """Copy the whole corpus to ``root``, expanding @@REPEAT@@ and making what cases make
    (for the in-process runs)."""
    folder = root / "bad_specs"
    shutil.copytree(CORPUS, folder, symlinks=True)
    _expand(folder)
    for case in CASES:
        _make(case, folder)
    return folder


def stage(case: Case, folder: Path) -> None:
    """Fill the case's own folder with a copy of it (or what it makes)."""
    source = CORPUS / case.top
    if source.is_dir():
        shutil.copytree(source, folder / case.top, symlinks=True)
    elif source.exists() and not case.make:
        shutil.copy2(source, folder / case.top)
    _expand(folder)
    _make(case, folder)


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: its type and, for regular files, size and digest."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[path.relative_to(folder).as_posix()] = ("file", st.st_size, digest)
        else:
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "special"
            entries[path.relative_to(folder).as_posix()] = (kind,)
    return entries


def trespasses(case: Case, cwd: Path, before: dict, scratch: Path) -> list[str]:
    """What a run did that it must not: files written beyond ``# writes:`` (the folders
    above them count as written too), inputs changed or removed, a temporary file left,
    a written Python file that does not compile."""
    after = snapshot(cwd)
    allowed = set(case.writes)
    for written in case.writes:
        allowed |= {p.as_posix() for p in Path(written).parents if p.as_posix() != "."}
    found = [f"wrote {p}" for p in after if p not in before and p not in allowed]
    found += [f"changed {p}" for p in before if p in after and after[p] != before[p]]
    found += [f"removed {p}" for p in before if p not in after]
    found += [f"left {p.name} in its TMPDIR" for p in scratch.iterdir()]
    for written in case.writes:
        path = cwd / written
        if path.suffix == ".py" and path.is_file():
            try:
                compile(path.read_text(encoding="utf-8"), written, "exec")
            except SyntaxError as exc:
                found.append(f"wrote {written}, which does not compile: {exc}")
    return found


def run(case: Case, root: Path) -> Outcome:
    """Run one case in its own folder (``root/N/run``) with its own TMPDIR."""
    base = Path(tempfile.mkdtemp(dir=root))
    cwd, scratch = base / "run", base / "tmp"
    cwd.mkdir()
    scratch.mkdir()
    stage(case, cwd)
    before = snapshot(cwd)
    report = base / "usage.json"
    command = [sys.executable, "-c", _BOOT, *shlex.split(case.command), case.name, *case.args]
    command = [sys.executable, "-c", _MEASURE, str(report), *command]
    env = {**os.environ, "PYTHONPATH": str(CORPUS.parent.parent), "TMPDIR": str(scratch)}
    env.update(pair.partition("=")[::2] for pair in case.env)
    env.pop("ARCHSPEC_TRACEBACK", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=err, env=env, start_new_session=True
        )
        # The whole session: the measuring process and the command it started.
        killer = threading.Timer(KILL_AFTER_S, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        code, cpu_s, rss_kb = json.loads(report.read_text()) if report.exists() else (-9, 0, 0)
        out.seek(0)
        err.seek(0)
        return Outcome(
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            wall,
            cpu_s,
            rss_kb / 1024,  # kilobytes on Linux
            tuple(trespasses(case, cwd, before, scratch)),
        )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("corpus")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip([c.name for c in CASES], pool.map(lambda c: run(c, root), CASES)))
    slowest = sorted(results.items(), key=lambda kv: -kv[1].cpu_s)[:3]
    print(
        "\nbad specs: "
        + ", ".join(
            f"{name} {o.cpu_s:.2f} s CPU ({o.wall_s:.2f} s wall, {o.rss_mb:.0f} MB)"
            for name, o in slowest
        )
    )
    return results


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_spec(case: Case, outcomes):
    result = outcomes[case.name]
    lines = result.err.splitlines()
    assert "Traceback" not in result.err, result.err
    assert not result.touched, result.touched
    if case.expect == "ok":
        assert result.code == 0, result.err
        assert case.fragment in result.out, f"{case.fragment!r} not in: {result.out}"
    else:
        assert result.out == "", result.out
        assert lines, f"exit {result.code} and nothing on stderr"
    if case.expect == "usage":
        assert result.code == 2, result.err
        assert lines[0].startswith("archspec: error: "), lines[0]
    elif case.expect.startswith("at:"):
        assert result.code == 1, result.err
        where = f"{Path(case.name).parent.as_posix()}/{case.expect[3:]}".lstrip("./")
        assert lines[0].startswith(f"{where}: error: "), f"expected {where}, got: {lines[0]}"
    elif case.expect != "ok":
        # diff exits 1 for "different", so an invalid spec is its error 2
        assert result.code == (2 if case.subcommand == "diff" else 1), result.err
        if case.expect[0].isdigit():
            where = f"{case.name}:{case.expect}"
        else:  # in another file of the case's folder
            where = f"{Path(case.name).parent.as_posix()}/{case.expect}"
        assert lines[0].startswith(f"{where}: error: "), f"expected {where}, got: {lines[0]}"
        assert all(_DIAGNOSTIC.match(line) for line in lines), result.err
    if case.expect != "ok":
        assert case.fragment in result.err, f"{case.fragment!r} not in: {result.err}"
    assert result.cpu_s < MAX_CPU_S, f"{result.cpu_s:.2f} s of CPU"
    assert result.rss_mb < MAX_RSS_MB, f"{result.rss_mb:.0f} MB"


def test_the_peak_memory_is_the_commands_own(tmp_path):
    """A case's peak is measured in the command, not carried over from the test process,
    which in a full run may hold TensorFlow (a gigabyte) by the time the corpus runs."""
    ballast = bytearray(b"x" * (MAX_RSS_MB + 300) * 2**20)  # touched, so resident
    case = next(c for c in CASES if c.name == "yaml_tab_indent.yaml")
    result = run(case, tmp_path)
    del ballast
    assert result.code == 1, result.err
    assert 10 < result.rss_mb < MAX_RSS_MB, f"{result.rss_mb:.0f} MB"


def test_the_corpus_covers_the_issue():
    """At least 60 cases, and each kind the issue names."""
    names = {c.name for c in CASES}
    assert len(CASES) >= 60, len(CASES)
    for needed in (
        "yaml_",
        "schema_",
        "semantic_",
        "expr_",
        "set_",
        "extends_cycle",
        "extends_missing",
        "imports_cycle",
        "imports_missing",
        "hostile_billion_laughs",
        "hostile_deep_",
        "hostile_repeat_billion",
        "hostile_megabyte_string",
        "hostile_latin1",
        "yaml_tab_indent",
        "hostile_binary",
        "hostile_empty",
        "hostile_duplicate_keys",
        "hostile_directory",
    ):
        assert any(n.startswith(needed) for n in names), needed


# the cases of `archspec check` that fail
IN_PROCESS = [
    c
    for c in CASES
    if c.command == "check" and c.expect != "ok" and not c.expect.startswith("at:") and not c.env
]


def _place(case: Case, expect: str) -> tuple[str, int, int]:
    """(file, line, column) that an expectation names."""
    *file, line, col = expect.split(":")
    folder = Path(case.name).parent.as_posix()
    return (f"{folder}/{file[0]}" if file else case.name), int(line), int(col)


def test_codes_and_places(tmp_path, monkeypatch, capsys):
    """Each case's first error, as ``--format json`` gives it, has the expected code,
    file, line and column; every code is a registered one."""
    from archspec.cli.main import main
    from archspec.diagnostics import CODES

    monkeypatch.chdir(prepare(tmp_path))
    for case in IN_PROCESS:
        if case.expect == "usage":
            continue
        assert case.code in CODES, (case.name, case.code)
        assert main(["check", case.name, *case.args, "--format", "json"]) == 1, case.name
        first = json.loads(capsys.readouterr().out)["errors"][0]
        got = (first["code"], first["file"], first["line"], first["column"])
        assert got == (case.code, *_place(case, case.expect)), (case.name, first)


# Where PyYAML's pure-Python parser and libyaml disagree: the column of a bad escape
# (the backslash or the letter), and a lone surrogate escape (libyaml refuses it itself).
PURE_PYTHON_DIFFERS = {"yaml_bad_escape.yaml": "2:10", "hostile_surrogate_escape.yaml": "3:6"}


def test_the_pure_python_parser_gives_the_same_errors(tmp_path, monkeypatch, capsys):
    """Without libyaml (PyYAML built without it), the corpus gets the same errors at the
    same places: run in-process through archspec.cli.main with the pure-Python loader."""
    from archspec.cli.main import main
    from archspec.frontend import loader

    monkeypatch.setattr(loader, "_BoundedLoader", loader._PurePythonLoader)
    monkeypatch.chdir(prepare(tmp_path))
    for case in IN_PROCESS:
        code = main(["check", case.name, *case.args])
        err = capsys.readouterr().err
        if case.expect == "usage":
            assert code == 2, (case.name, err)
            continue
        expect = PURE_PYTHON_DIFFERS.get(case.name, case.expect)
        where = (
            f"{case.name}:{expect}"
            if expect[0].isdigit()
            else f"{Path(case.name).parent.as_posix()}/{expect}"
        )
        assert code == 1 and err.startswith(f"{where}: error: "), (case.name, err)
        assert case.name in PURE_PYTHON_DIFFERS or case.fragment in err, (case.name, err)


def test_the_runner_fails_a_case_that_trespasses(tmp_path):
    """The runner itself: a run that writes an undeclared file is flagged, as are a
    changed or removed input, a file left in TMPDIR and a written module that does not
    compile."""
    writes = Case("write_graph_ok.yaml", "ok", "wrote", command="graph", args=("-o", "x.dot"))
    assert run(writes, tmp_path).touched == ("wrote x.dot",)

    case = Case("spec.yaml", "ok", "", writes=("out/m.py",))
    cwd, scratch = tmp_path / "run", tmp_path / "tmp"
    (cwd / "out").mkdir(parents=True)
    scratch.mkdir()
    (cwd / "spec.yaml").write_text("name: A\n")
    (cwd / "lib.yaml").write_text("blocks: {}\n")
    before = snapshot(cwd)
    (cwd / "spec.yaml").write_text("name: B\n")
    (cwd / "lib.yaml").unlink()
    (cwd / "out" / "m.py").write_text("def f(:\n")
    (scratch / "archspec-codegen-1").mkdir()
    found = trespasses(case, cwd, before, scratch)
    assert found[:3] == [
        "changed spec.yaml",
        "removed lib.yaml",
        "left archspec-codegen-1 in its TMPDIR",
    ]
    assert found[3].startswith("wrote out/m.py, which does not compile")
