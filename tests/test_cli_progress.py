"""The progress line: on a terminal only, and gone when the step ends."""

from __future__ import annotations

import io
from pathlib import Path

from cli_runner import Licsync
from licsync.cli.progress import Progress


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
