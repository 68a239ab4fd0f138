"""The corpus of broken and hostile specs in tests/bad_specs/: every one gets a precise
error at its line and column, fast, in little memory, and never a traceback.

A case is a file whose first lines are comments:

    # expect: LINE:COL: CODE: fragment       exit 1; stderr starts PATH:LINE:COL: error:
    # expect: FILE:LINE:COL: CODE: fragment  ... the error is in another file of the case
    # expect: usage: fragment                exit 2; stderr starts "archspec: error:"
    # args: --set classes=[1]             more arguments for `archspec check`

A file that cannot carry a comment (binary, not UTF-8, empty) has a sidecar
``NAME.expect``; a sidecar alone, with ``# make: directory`` or ``# make: nothing``,
is a case whose path is a directory or does not exist. A case that needs several files
(extends, imports) is a folder, run as ``FOLDER/spec.yaml``. ``@@REPEAT(text,N)@@`` is
expanded when the corpus is copied, so that megabyte files are not committed
(``\\,`` is a comma in the text).

Every case runs through the real command line (``python -m archspec check``) in a
process of its own, two at a time, from a copy of the corpus. Each must exit 1 (2 for
I/O and usage errors) with nothing on stdout; the first stderr line names the expected
place and every line is a ``PATH:LINE:COL: error:`` diagnostic; no ``Traceback``; under
2 s of CPU time (user + system: the machine running the tests may be busy, and CPU time
is what the input costs) and under 500 MB peak resident memory (``wait4``'s
``ru_maxrss``). The process also runs under a 2 GB address-space limit and is killed
after 30 s, so that a regression fails the test instead of the machine.

The code and the place are the contract (the fragment is a reminder for readers): the
corpus also runs in-process with ``--format json``, whose first error must have the
expected code, file, line and column. And it runs in-process with PyYAML's pure-Python
parser, which archspec falls back on without libyaml: the same errors, at the same
places.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "bad_specs"
MAX_CPU_S = 2.0
MAX_RSS_MB = 500
KILL_AFTER_S = 30
_REPEAT = re.compile(r"@@REPEAT\((.*?),(\d+)\)@@")
_DIAGNOSTIC = re.compile(r"^\S.*?:\d+:\d+: error: ")
# Sets a 2 GB address-space limit, then runs archspec as `python -m archspec` would.
_BOOT = (
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    "sys.argv[0] = 'archspec'; runpy.run_module('archspec', run_name='__main__')"
)


@dataclass(frozen=True)
class Case:
    name: str  # the path given to archspec check, relative to the corpus
    expect: str  # "LINE:COL", "FILE:LINE:COL" or "usage"
    fragment: str
    code: str = ""  # the diagnostic code of the first error (none for usage errors)
    args: tuple = ()
    make: str = ""  # "directory" or "nothing" for cases that are not files


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    wall_s: float
    cpu_s: float
    rss_mb: float


def _header(text: str) -> dict:
    fields = {}
    for line in text.splitlines():
        match = re.match(r"#\s*(expect|args|make):\s?(.*)$", line)
        if not match:
            break
        fields[match[1]] = match[2]
    return fields


def _case(name: str, header: dict) -> Case:
    expect = header["expect"]
    if expect.startswith("usage:"):
        where, fragment = "usage", expect[len("usage:") :].strip()
    else:
        match = re.match(r"^((?:\S+?:)?\d+:\d+):\s*([a-z0-9]+(?:-[a-z0-9]+)+):\s*(.*)$", expect)
        assert match, (
            f"{name}: '# expect:' needs [FILE:]LINE:COL: CODE: fragment, or usage: fragment"
        )
        where, code, fragment = match[1], match[2], match[3]
        return Case(
            name,
            where,
            fragment,
            code,
            tuple(shlex.split(header.get("args", ""))),
            header.get("make", ""),
        )
    return Case(
        name,
        where,
        fragment,
        "",
        tuple(shlex.split(header.get("args", ""))),
        header.get("make", ""),
    )


def discover() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.iterdir()):
        if path.is_dir():
            spec = path / "spec.yaml"
            cases.append(_case(f"{path.name}/spec.yaml", _header(spec.read_text(encoding="utf-8"))))
        elif path.suffix == ".expect":
            cases.append(
                _case(path.name[: -len(".expect")], _header(path.read_text(encoding="utf-8")))
            )
        elif not (CORPUS / f"{path.name}.expect").exists():
            cases.append(_case(path.name, _header(path.read_text(encoding="utf-8"))))
    return cases


CASES = discover()


def prepare(root: Path) -> Path:
    """Copy the corpus to ``root``, expanding @@REPEAT@@ and making the non-file cases."""
    folder = root / "bad_specs"
    shutil.copytree(CORPUS, folder)
    for path in folder.rglob("*.yaml"):
        if path.is_file() and b"@@REPEAT(" in path.read_bytes():
            text = path.read_text(encoding="utf-8")
            path.write_text(
                _REPEAT.sub(lambda m: m[1].replace("\\,", ",") * int(m[2]), text), encoding="utf-8"
            )
    for case in CASES:
        if case.make == "directory":
            (folder / case.name).mkdir()
    return folder


def run(case: Case, cwd: Path) -> Outcome:
    command = [sys.executable, "-c", _BOOT, "check", case.name, *case.args]
    env = {**os.environ, "PYTHONPATH": str(CORPUS.parent.parent)}
    env.pop("ARCHSPEC_TRACEBACK", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, env=env)
        killer = threading.Timer(KILL_AFTER_S, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Outcome(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,  # kilobytes on Linux
        )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    cwd = prepare(tmp_path_factory.mktemp("corpus"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip([c.name for c in CASES], pool.map(lambda c: run(c, cwd), CASES)))
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
    assert result.out == "", result.out
    assert lines, f"exit {result.code} and nothing on stderr"
    if case.expect == "usage":
        assert result.code == 2, result.err
        assert lines[0].startswith("archspec: error: "), lines[0]
    else:
        assert result.code == 1, result.err
        if case.expect[0].isdigit():
            where = f"{case.name}:{case.expect}"
        else:  # in another file of the case's folder
            where = f"{Path(case.name).parent.as_posix()}/{case.expect}"
        assert lines[0].startswith(f"{where}: error: "), f"expected {where}, got: {lines[0]}"
        assert all(_DIAGNOSTIC.match(line) for line in lines), result.err
    assert case.fragment in result.err, f"{case.fragment!r} not in: {result.err}"
    assert result.cpu_s < MAX_CPU_S, f"{result.cpu_s:.2f} s of CPU"
    assert result.rss_mb < MAX_RSS_MB, f"{result.rss_mb:.0f} MB"


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
    for case in CASES:
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
    for case in CASES:
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
