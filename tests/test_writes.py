"""Nothing half-written: ``build -o`` and ``codegen`` write through a temporary file
renamed over the target, so that a failure (a spec error, a full disk, an interrupted
save) leaves the old file as it was and no temporary file behind, with exit 1 or 2."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

BAD = "name: M\ninput: {shape: [8, 8, 3]}\nlayers: [flaten]\n"


def _disk_full_halfway(monkeypatch, folder: Path):
    """Path.write_text in ``folder`` writes half its text, then fails as a full disk does."""
    real = Path.write_text

    def half(self, text, *args, **kwargs):
        if folder not in self.parents:
            return real(self, text, *args, **kwargs)
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half)


def test_codegen_disk_full_keeps_the_old_module(tmp_path, cli, monkeypatch):
    out = tmp_path / "out"
    assert cli("codegen", "specs/resnet50.yaml", "-o", str(out)).code == 0
    target = out / "resnet50.py"
    target.write_text("old\n")
    _disk_full_halfway(monkeypatch, out)
    result = cli("codegen", "specs/resnet50.yaml", "-o", str(out))
    monkeypatch.undo()
    assert result.code == 2, result.err
    assert result.err == f"archspec: error: {target}: cannot write: No space left on device\n"
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["resnet50.py"]


def test_codegen_spec_error_keeps_the_old_module(tmp_path, cli, write):
    out = tmp_path / "out"
    assert cli("codegen", "specs/resnet50.yaml", "-o", str(out)).code == 0
    target = out / "resnet50.py"
    target.write_text("old\n")
    bad = write(BAD, "bad.yaml")
    result = cli("codegen", "specs/resnet50.yaml", bad, "-o", str(out))
    assert result.code == 1 and "unknown layer or block kind 'flaten'" in result.err
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["resnet50.py"]


def test_codegen_output_under_a_file_is_an_io_error(tmp_path, cli):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    result = cli("codegen", "specs/resnet50.yaml", "-o", str(blocker / "out"))
    assert result.code == 2 and result.err.startswith("archspec: error: "), result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_schema_interrupted_leaves_nothing(tmp_path, cli, monkeypatch):
    def interrupted(self, text, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    result = cli("schema", "-o", str(tmp_path))
    monkeypatch.undo()
    assert result.code == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.keras
def test_build_spec_error_writes_nothing(tmp_path, cli, write):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    result = cli("build", write(BAD), "-o", str(target))
    assert result.code == 1 and result.out == ""
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "spec.yaml"]


@pytest.mark.keras
def test_build_failed_save_keeps_the_old_model(tmp_path, cli, write, monkeypatch):
    import keras

    spec = write("name: M\ninput: {shape: [8, 8, 3]}\nlayers: [flatten, {dense: 2}]\n")
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")

    def crash_halfway(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", crash_halfway)
    result = cli("build", spec, "-o", str(target))
    assert result.code == 2, result.err
    assert (
        result.err.splitlines()[-1]
        == f"archspec: error: {target}: cannot write: No space left on device"
    )
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "spec.yaml"]
    monkeypatch.undo()
    assert cli("build", spec, "-o", str(target)).code == 0
    assert keras.models.load_model(target).count_params() == 8 * 8 * 3 * 2 + 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "spec.yaml"]


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_codegen_killed_at_any_moment_leaves_no_temporary_file(tmp_path, signal_name):
    """A real process, signalled at several moments of generating and writing the zoo:
    it exits 143 (SIGTERM) or 130 (SIGINT), or 0 if it had finished; what it wrote is
    whole modules only, nothing is left in its TMPDIR, its folder or the working
    directory (no ``.ruff_cache``), and the specs are as they were."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    specs = sorted(str(p) for p in (ROOT / "specs" / "keras").glob("*.yaml"))
    before = {p: Path(p).read_bytes() for p in specs}
    codes = set()
    for i, delay in enumerate((0.4, 0.8, 1.2, 1.6, 2.0, 2.5)):
        scratch, cwd = tmp_path / f"tmp{i}", tmp_path / f"cwd{i}"
        scratch.mkdir()
        cwd.mkdir()
        env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "archspec", "codegen", *specs, "-o", "out"],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        proc.send_signal(getattr(signal, signal_name))
        _, err = proc.communicate(timeout=60)
        codes.add(proc.returncode)
        assert proc.returncode in (0, 143 if signal_name == "SIGTERM" else 130), err
        assert b"Traceback" not in err, err
        assert list(scratch.iterdir()) == []
        left = sorted(p.relative_to(cwd).as_posix() for p in cwd.rglob("*") if p.is_file())
        assert all(p.startswith("out/") and p.endswith(".py") for p in left), left
        assert not [p for p in left if Path(p).name.startswith(".")], left
        for path in left:
            compile((cwd / path).read_text(encoding="utf-8"), path, "exec")
    assert codes != {0}, "every run finished before its signal; signal sooner"
    assert {p: Path(p).read_bytes() for p in specs} == before
