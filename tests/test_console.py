"""Output never fails on encoding (``licsync.cli.console``): redirected output is UTF-8 with
``\\n`` line ends whatever the code page or ``PYTHONIOENCODING``; a terminal keeps its encoding
and escapes what it cannot show; messages name files as the user wrote them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from licsync.cli.console import utf8_streams
from portable import WINDOWS


def _licsync(args: list[str], cwd: Path, encoding: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": encoding}
    env.pop("PYTHONUTF8", None)
    return subprocess.run(
        [sys.executable, "-X", "utf8=0", "-m", "licsync", *args],
        capture_output=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=180,
    )


@pytest.mark.parametrize("encoding", ["cp1252", "ascii", "cp850"])
def test_markdown_plan_on_a_legacy_code_page_is_utf8(example: Path, encoding: str) -> None:
    """The Markdown plan's emoji through a cp1252 (or ASCII) stdout: exit 0, UTF-8 bytes, the
    same bytes as JSON-equal runs, LF line ends (a pipe, as CI reads it)."""
    done = _licsync(["plan", "licenses", "--format", "markdown"], example.parent, encoding)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    text = done.stdout.decode("utf-8")  # strict: it must be UTF-8
    assert "\u2796" in text  # the reclaim mark
    assert b"\r\n" not in done.stdout
    warning = done.stderr.decode("utf-8")
    assert os.path.join("licenses", "professional.yaml") + ":21:14: warning" in warning


def test_json_plan_is_the_same_whatever_the_code_page(example: Path) -> None:
    """``--format json`` through cp1252 and through UTF-8: byte for byte the same."""
    args = ["plan", "licenses", "--format", "json"]
    legacy = _licsync(args, example.parent, "cp1252")
    utf8 = _licsync(args, example.parent, "utf-8")
    assert legacy.returncode == utf8.returncode == 0
    assert legacy.stdout == utf8.stdout
    assert json.loads(legacy.stdout)["site"] == "demo"


def test_a_non_ascii_file_name_in_an_error_on_a_legacy_code_page(example: Path) -> None:
    """An invalid file whose name cp1252 cannot carry: exit 1, its name in UTF-8 on stderr,
    written as the user's path spells it."""
    bad = example / "команда-Ω.yaml"
    bad.write_text("professional:\n  allocations: 7\n", encoding="utf-8")
    done = _licsync(["validate", "licenses"], example.parent, "cp1252")
    assert done.returncode == 1
    stderr = done.stderr.decode("utf-8")
    assert "Traceback" not in stderr
    assert os.path.join("licenses", "команда-Ω.yaml") in stderr + done.stdout.decode("utf-8")


def test_plan_out_file_is_utf8_with_lf(example: Path) -> None:
    """``--out`` writes UTF-8 (the locale's code page does not matter) with LF line ends."""
    done = _licsync(
        ["plan", "licenses", "--format", "markdown", "--out", "plan.md"], example.parent, "cp1252"
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    data = (example.parent / "plan.md").read_bytes()
    assert "\u2796" in data.decode("utf-8")
    assert b"\r\n" not in data


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_keeps_its_encoding_and_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cp1252 terminal: what it can show as cp1252, the rest escaped, nothing raised."""
    raw = _Terminal()
    terminal = io.TextIOWrapper(raw, encoding="cp1252", errors="strict")
    monkeypatch.setattr(sys, "stdout", terminal)
    utf8_streams()
    sys.stdout.write("José \u2796\n")
    sys.stdout.flush()
    assert raw.getvalue().replace(b"\r\n", b"\n") == "José \\u2796\n".encode("cp1252")


def test_a_redirected_stream_becomes_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a terminal (a file): UTF-8, LF, whatever it was opened with."""
    raw = io.BytesIO()
    redirected = io.TextIOWrapper(raw, encoding="cp1252", errors="strict", newline="\r\n")
    monkeypatch.setattr(sys, "stderr", redirected)
    utf8_streams()
    sys.stderr.write("Ω \u2796\n")
    sys.stderr.flush()
    assert raw.getvalue() == "Ω \u2796\n".encode()


@pytest.mark.skipif(not WINDOWS, reason="the Windows code page of a redirected stdout")
def test_windows_python_without_utf8_mode_would_use_a_code_page() -> None:
    """Sanity: the child's default stdout encoding is not UTF-8 without licsync's fix (so the
    tests above test something on Windows)."""
    done = subprocess.run(
        [sys.executable, "-X", "utf8=0", "-c", "import sys; print(sys.stdout.encoding)"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k not in {"PYTHONIOENCODING", "PYTHONUTF8"}},
    )
    assert done.stdout.strip().lower() not in {"utf-8", "utf8"}
