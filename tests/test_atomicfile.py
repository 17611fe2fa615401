"""Atomic writes whose target another program holds open (Windows): retried briefly, then
refused with an error that says so; never retried for a real permission error."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from licsync import atomicfile
from licsync.cli.output import OutputError, write_atomically
from portable import WINDOWS


def _held_open(winerror: int | None) -> PermissionError:
    exc = PermissionError(errno.EACCES, "Access is denied")
    exc.winerror = winerror  # type: ignore[attr-defined]
    return exc


def test_a_target_held_open_for_a_moment_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sharing violations (an antivirus scan), then the rename goes through."""
    real_replace = os.replace
    failures = [_held_open(32), _held_open(5)]

    def replace(source: str, target: str) -> None:
        if failures:
            raise failures.pop(0)
        real_replace(source, target)

    monkeypatch.setattr(atomicfile.os, "replace", replace)
    write_atomically(tmp_path / "plan.md", "new\n")
    assert (tmp_path / "plan.md").read_text(encoding="utf-8") == "new\n"
    assert not failures


def test_a_target_held_open_for_good_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still held open after the wait: the error says who holds it and what to do; the old
    file is kept and no temporary file is left."""
    (tmp_path / "plan.md").write_text("old\n", encoding="utf-8")

    def replace(source: str, target: str) -> None:
        raise _held_open(32)

    monkeypatch.setattr(atomicfile.os, "replace", replace)
    monkeypatch.setattr(atomicfile, "HELD_OPEN_SECONDS", 0.2)
    with pytest.raises(OutputError) as caught:
        write_atomically(tmp_path / "plan.md", "new\n")
    assert "another program holds it open" in str(caught.value)
    assert "close it and run again" in str(caught.value)
    assert (tmp_path / "plan.md").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md"]


def test_a_real_permission_error_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Windows sharing error code (POSIX, or another denial): raised at once."""
    calls = []

    def replace(source: str, target: str) -> None:
        calls.append(target)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomicfile.os, "replace", replace)
    with pytest.raises(OutputError, match="Permission denied"):
        write_atomically(tmp_path / "plan.md", "new\n")
    assert len(calls) == 1


@pytest.mark.skipif(not WINDOWS, reason="POSIX renames over a file that is open")
def test_windows_waits_for_a_reader_to_close_the_target(tmp_path: Path) -> None:
    """A real open handle on Windows (no FILE_SHARE_DELETE), closed a moment later."""
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")
    reader = target.open("rb")
    closer = threading.Timer(0.3, reader.close)
    closer.start()
    try:
        write_atomically(target, "new")
    finally:
        closer.join()
        reader.close()
    assert target.read_text(encoding="utf-8") == "new"


@pytest.mark.skipif(not WINDOWS, reason="POSIX renames over a file that is open")
def test_windows_refuses_a_target_held_open_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real handle kept open: refused with the clear error, the old content kept."""
    monkeypatch.setattr(atomicfile, "HELD_OPEN_SECONDS", 0.3)
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")
    with target.open("rb"), pytest.raises(OutputError, match="another program holds it open"):
        write_atomically(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
