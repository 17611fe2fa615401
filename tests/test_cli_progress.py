"""The progress line: on a terminal only, and gone when the step ends."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runner import Licsync
from licsync.cli.progress import Progress
from licsync.cli.sim import _with_progress
from licsync.cli.site_session import echo_warnings
from licsync.errors import Problem
from licsync.severity import Severity


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_line_and_then_a_clean_line() -> None:
    """tick() writes the line in place; the end blanks it with spaces and a carriage return."""
    terminal = _Terminal()
    with Progress("reading", terminal, first_after=3600) as progress:
        assert progress.active
        progress.tick()
    written = terminal.getvalue()
    assert written.startswith("\rlicsync: reading... 0 s")
    assert written.endswith("\r")
    assert written.split("\r")[-2].strip() == ""


def test_not_a_terminal_gets_nothing() -> None:
    """Captured output and CI logs are not terminals: nothing is written."""
    stream = io.StringIO()
    with Progress("reading", stream, first_after=0) as progress:
        assert not progress.active
    assert stream.getvalue() == ""


def test_plan_output_has_no_progress_when_captured(example: Path, licsync: Licsync) -> None:
    """A plan under test (stderr captured) prints no progress line."""
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    assert "planning..." not in result.stderr


def test_warnings_clear_the_line_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning printed while the line shows starts on a clean line, not inside it."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with Progress("loading", terminal, first_after=3600) as progress:
        progress.tick()
        echo_warnings([Problem("f.yaml", 1, 1, "users", "a warning", Severity.WARNING)])
    written = terminal.getvalue()
    before, after = written.split("f.yaml:1:1", 1)
    assert before.endswith("\r")  # the line was blanked before the warning
    assert "licsync: loading..." not in after.split("\n", 1)[0]


def test_a_slow_simulator_start_shows_the_line_then_clears_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``sim serve`` building a big site: the line after a second, gone before serving."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    @contextlib.contextmanager
    def slow() -> Iterator[str]:
        time.sleep(1.6)  # longer than the second before the line shows
        yield "served"

    with _with_progress("building the simulated site", slow) as served:  # type: ignore[arg-type]
        assert served == "served"
        shown = terminal.getvalue()
    assert "licsync: building the simulated site... 1 s" in shown
    assert shown.endswith("\r")
