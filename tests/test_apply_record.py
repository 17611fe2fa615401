"""The audit log is the record, and every way an apply can be stopped ends with one: a path
that is no place for a log is refused before anything is sent; a log that fails mid-run stops
the writes, keeps its last line whole and the run reports every item; SIGTERM, SIGHUP and
Ctrl-Break end a run as Ctrl-C does. Signals and resource limits act on a real child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync
from clock import DEMO_NOW_ARG
from inprocess import in_process_simulator
from licsync.sim import Simulator, start_simulator
from licsync.sim.demo import demo_organisation
from licsync.sim.faults import FaultPlan
from portable import WINE_NO_CONSOLE, needs_symlinks, wine_gap

WRITES = ("POST", "PUT", "DELETE")
POSIX = os.name != "nt"


@pytest.fixture
def demo() -> Iterator[Simulator]:
    with in_process_simulator(demo_organisation()) as running:
        yield running


@pytest.fixture
def served_demo() -> Iterator[Simulator]:
    """The demo over loopback, for a ``licsync`` in a process of its own."""
    with start_simulator(demo_organisation()) as running:
        yield running


def _writes(sim: Simulator) -> int:
    counts = sim.request_counts()
    return sum(counts.get(method, 0) for method in WRITES)


def _args(sim: Simulator, *more: str) -> list[str]:
    return [
        "apply",
        "licenses",
        "--qrs-url",
        sim.url,
        "--now",
        DEMO_NOW_ARG,
        "--auto-approve",
        *more,
    ]


# -- refused before anything is sent -----------------------------------------------------------


def _refused(licsync: Licsync, sim: Simulator, target: Path, words: str) -> None:
    result = licsync(_args(sim, "--audit-log", str(target)))
    assert result.exit_code == 1, result.output
    assert "audit log" in result.stderr
    assert words in result.stderr
    assert _writes(sim) == 0


def test_a_folder_is_refused(example: Path, licsync: Licsync, demo: Simulator) -> None:
    folder = example.parent / "logs"
    folder.mkdir()
    _refused(licsync, demo, folder, "a folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    fifo = example.parent / "audit.jsonl"
    os.mkfifo(fifo)
    _refused(licsync, demo, fifo, "FIFO")


_DEVICES = ["NUL"] if os.name == "nt" else ["/dev/full", "/dev/null"]


@pytest.mark.skipif(os.name != "nt" and not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("device", _DEVICES)
def test_a_device_is_refused(example: Path, licsync: Licsync, demo: Simulator, device: str) -> None:
    _refused(licsync, demo, Path(device), "device")


@pytest.mark.skipif(not POSIX or not Path("/dev/stdout").exists(), reason="no /dev/stdout")
def test_dev_stdout_is_refused(example: Path, licsync: Licsync, demo: Simulator) -> None:
    _refused(licsync, demo, Path("/dev/stdout"), "symbolic link")


def _symlink(link: Path, target: Path, *, folder: bool) -> None:
    link.symlink_to(target, target_is_directory=folder)


@needs_symlinks
def test_a_symlinked_log_is_refused_and_its_target_untouched(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """The default log, committed as a link to the key file: never appended to."""
    key = example.parent / "client_key.pem"
    key.write_text("SECRET KEY\n", encoding="utf-8")
    folder = example.parent / ".licsync" / "audit"
    folder.mkdir(parents=True)
    _symlink(folder / "demo.jsonl", key, folder=False)
    result = licsync(_args(demo))
    assert result.exit_code == 1, result.output
    assert "symbolic link" in result.stderr
    assert key.read_text(encoding="utf-8") == "SECRET KEY\n"
    assert _writes(demo) == 0


@needs_symlinks
def test_a_symlinked_folder_in_the_path_is_refused(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    elsewhere = example.parent / "elsewhere"
    elsewhere.mkdir()
    _symlink(example.parent / "logs", elsewhere, folder=True)
    _refused(licsync, demo, example.parent / "logs" / "audit.jsonl", "symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_an_unwritable_place_is_refused(example: Path, licsync: Licsync, demo: Simulator) -> None:
    (example.parent / "file").write_text("x", encoding="utf-8")
    _refused(licsync, demo, example.parent / "file" / "audit.jsonl", "not a folder")


# -- a child process, as CI and a user run it ------------------------------------------------


def _child(
    sim: Simulator, cwd: Path, *more: str, limit: int | None = None
) -> subprocess.Popen[str]:
    """``licsync apply`` in a process of its own (its own process group on Windows, so that
    Ctrl-Break reaches it and not the test)."""
    argv = [sys.executable, "-m", "licsync", *_args(sim, "--format", "json", *more)]
    kwargs: dict[str, Any] = {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    elif limit is not None:
        kwargs["preexec_fn"] = lambda: _limit_file_size(limit)
        # CPython does not check the length of a bytecode file it writes: under the limit it
        # would leave truncated ones behind for every later process to fail on (EOFError).
        kwargs["env"] = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        **kwargs,
    )


def _limit_file_size(limit: int) -> None:
    """A full disk, for this process only: no file may grow past ``limit`` bytes."""
    import resource  # POSIX only

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert text == "" or text.endswith("\n"), "the last line is cut"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
@pytest.mark.skipif(not POSIX, reason="RLIMIT_FSIZE is POSIX")
def test_a_log_that_fills_up_stops_the_writes_and_every_item_is_reported(
    example: Path, served_demo: Simulator
) -> None:
    """The disk fills after a few lines: the lines written are whole, nothing is sent after
    the failure, every item is still in the report with its status, exit 1."""
    audit = example.parent / "audit.jsonl"
    child = _child(served_demo, example.parent, "--audit-log", str(audit), "--concurrency", "1",
                   limit=1800)  # fmt: skip
    out, err = child.communicate(timeout=120)
    assert child.returncode == 1, err
    report = json.loads(out)
    assert "audit log" in (report["audit_error"] or "")
    assert "STOPPED" not in out  # JSON: the field says it
    records = _lines(audit)
    assert records[0]["event"] == "start"
    changes = [r for r in records if r["event"] == "change"]
    statuses = [i["status"] for i in report["items"]]
    assert len(statuses) >= len(changes)
    skipped = [i for i in report["items"] if i["status"] == "skipped"]
    assert skipped, "nothing more was sent after the log failed"
    assert all("audit log" in i["message"] for i in skipped)
    assert _writes(served_demo) > 0


def _wait_for(predicate: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _stop(child: subprocess.Popen[str], name: str) -> None:
    if os.name == "nt":
        child.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
    else:
        child.send_signal(getattr(signal, name))


_EXPECTED = {"SIGTERM": 143, "SIGHUP": 129, "SIGINT": 130}


@pytest.mark.slow
@wine_gap(WINE_NO_CONSOLE)
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_while_writing_ends_with_a_report_and_an_end_record(
    example: Path, served_demo: Simulator, name: str
) -> None:
    """Mid-write, the signal stops the run: the changes in flight are unknown (or done, for
    Ctrl-C, which lets them finish), the rest skipped, a report, an end record, 128 + signal."""
    if os.name == "nt" and name != "SIGINT":
        pytest.skip("Windows has Ctrl-Break, tested as SIGINT's stand-in")
    audit = example.parent / "audit.jsonl"
    served_demo.set_faults(FaultPlan(latency_ms=400))
    child = _child(served_demo, example.parent, "--audit-log", str(audit), "--concurrency", "1")
    _wait_for(lambda: _writes(served_demo) > 0, "the first write")
    _stop(child, name)
    out, err = child.communicate(timeout=60)
    expected = 130 if os.name == "nt" else _EXPECTED[name]
    assert child.returncode == expected, err
    report = json.loads(out)
    assert report["interrupted"] is True
    statuses = {i["status"] for i in report["items"]}
    assert "skipped" in statuses
    if name != "SIGINT":
        assert "unknown" in statuses
    records = _lines(audit)
    assert records[-1]["event"] == "end"
    assert records[-1]["interrupted"] is True


@pytest.mark.slow
@wine_gap(WINE_NO_CONSOLE)
def test_ctrl_c_while_reading_stops_at_once_and_sends_nothing(
    example: Path, served_demo: Simulator
) -> None:
    """Interrupted while the site is read: it stops there (no 48 'skipped'), exit 130."""
    served_demo.set_faults(FaultPlan(latency_ms=1500))
    audit = example.parent / "audit.jsonl"
    child = _child(served_demo, example.parent, "--audit-log", str(audit))
    _wait_for(lambda: served_demo.request_counts().get("GET", 0) > 0, "the first read")
    _stop(child, "SIGINT")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "nothing was sent" in err
    assert out == ""
    assert _writes(served_demo) == 0
    assert not [r for r in _lines(audit) if r["event"] == "change"]
