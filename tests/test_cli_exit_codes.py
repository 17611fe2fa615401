"""Every exit code of the README's table, by running the real CLI: ``main(argv)`` in process
(through the same boundary as the console script) and ``python -m licsync`` in a subprocess.

| 0 | 1 | 2 | 3 | 64 | 70 | 130 |: success, a recognised error, changes (only with
``--detailed-exitcode``), blocked, a wrong command line, a bug, interrupted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import Licsync, Result, edit_file
from licsync.cli.exitcodes import ExitCode

REPO = Path(__file__).resolve().parent.parent


def _error_line(result: Result) -> str:
    """The boundary's one line (loader warnings and retry warnings may come before it)."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("licsync: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output


def test_the_table_is_the_one_the_readme_shows() -> None:
    """The codes, by name; the README lists exactly these."""
    assert {c.name: c.value for c in ExitCode} == {
        "OK": 0,
        "ERROR": 1,
        "CHANGES": 2,
        "BLOCKED": 3,
        "USAGE": 64,
        "BUG": 70,
        "INTERRUPTED": 130,
    }
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n")[1]
    assert [row.split("|")[1].strip() for row in table.splitlines()[2:]] == [
        "0",
        "1",
        "2",
        "3",
        "64",
        "70",
        "130",
    ]


# -- 0 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plan", "--help"], ["sim", "-h"]])
def test_help_and_version_exit_0(licsync: Licsync, args: list[str]) -> None:
    result = licsync(args)
    assert result.exit_code == 0, result.output
    assert result.stdout


def test_plan_with_changes_exits_0_without_detailed_exitcode(
    example: Path, licsync: Licsync
) -> None:
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 0, result.output
    assert "Plan: " in result.stdout


def test_validate_of_a_valid_tree_exits_0(example: Path, licsync: Licsync) -> None:
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 0, result.output


# -- 1 ------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nowhere"], None),
        (["plan", "nowhere"], "licsync: error: nowhere: no such file or directory"),
        (["plan", "licenses", "--site", "nosuch"], "no site named 'nosuch'"),
        (["plan", "licenses", "--denial-logs", "missing-logs"], "missing-logs"),
        (["plan", "licenses", "--out", "no-folder/plan.json"], "no-folder does not exist"),
        (["plan", "licenses", "--out", "licenses"], "cannot write licenses: it is a folder"),
        (["sim", "serve", "--snapshot", "missing.json"], "cannot read simulator snapshot"),
    ],
)
def test_recognised_errors_exit_1(
    example: Path, licsync: Licsync, args: list[str], message: str | None
) -> None:
    result = licsync(args)
    assert result.exit_code == 1, result.output
    if message is not None:
        assert message in _error_line(result)
    _no_traceback(result)


def test_out_onto_a_folder_writes_nothing_and_keeps_an_earlier_file(
    example: Path, licsync: Licsync
) -> None:
    """--out into a missing folder is refused before the site is read; a good --out is atomic."""
    assert licsync(["plan", "licenses", "--out", "plan.txt"]).exit_code == 0
    first = Path("plan.txt").read_text(encoding="utf-8")
    assert first.startswith("licsync plan for site demo")
    assert licsync(["plan", "licenses", "--out", "plan.txt"]).exit_code == 0
    assert Path("plan.txt").read_text(encoding="utf-8") == first
    assert sorted(p.name for p in Path().iterdir()) == ["licenses", "plan.txt"]  # no temp left


def test_unreachable_qrs_exits_1(example: Path, licsync: Licsync) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = licsync(["plan", "licenses", "--qrs-url", url])
    assert result.exit_code == 1
    assert _error_line(result).startswith("licsync: error: GET /qrs/")
    _no_traceback(result)


def test_port_in_use_exits_1(licsync: Licsync) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = licsync(["sim", "serve", "--users", "0", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"licsync: error: cannot listen on 127.0.0.1:{port}: ")
    _no_traceback(result)


def test_sim_certs_refusal_uses_the_one_message_style(tmp_path: Path, licsync: Licsync) -> None:
    assert licsync(["sim", "certs", str(tmp_path)]).exit_code == 0
    result = licsync(["sim", "certs", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("licsync: error: ")
    assert "--force" in result.stderr


# -- 2 ------------------------------------------------------------------------------------------


def test_detailed_exitcode_with_changes_exits_2(example: Path, licsync: Licsync) -> None:
    result = licsync(["plan", "licenses", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output


def test_detailed_exitcode_without_changes_exits_0(example: Path, licsync: Licsync) -> None:
    """A desired state that matches the site: no changes, so 0 even with --detailed-exitcode.

    Everything the demo plan would change is set to observe; observe turns changes into findings.
    """
    edit_file(
        example / "site.yaml",
        "    professional: authoritative\n    analyzer: additive\n",
        "    professional: observe\n    analyzer: observe\n",
    )
    result = licsync(["plan", "licenses", "--format", "json", "--detailed-exitcode"])
    assert result.exit_code == 0, result.output
    assert '"changes": []' in result.stdout


def test_nothing_but_changes_exits_2(example: Path, licsync: Licsync) -> None:
    """Usage errors, which click reports as 2, are 64 here: 2 means changes and only that."""
    assert licsync(["plan", "--no-such-option"]).exit_code == 64
    assert licsync(["plan", "licenses", "--format", "xml"]).exit_code == 64


# -- 3 ------------------------------------------------------------------------------------------


def test_blocked_plan_exits_3_and_still_prints(example: Path, licsync: Licsync) -> None:
    edit_file(example / "site.yaml", "max_reclaims: 10", "max_reclaims: 3")
    for args in (["plan", "licenses"], ["plan", "licenses", "--detailed-exitcode"]):
        result = licsync(args)
        assert result.exit_code == 3, result.output
        assert "BLOCKED by safety checks" in result.stdout
        assert result.stdout.splitlines()[-1].startswith("Checksum: sha256:")


# -- 64 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--bogus"], "No such option: --bogus"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["plan", "licenses", "--now", "yesterday"], "is not an ISO-8601 date-time"),
        (["plan", "licenses", "--now", "0001-01-01T00:00:00Z"], "outside the years 2000 to 2999"),
        (["plan", "licenses", "--now", "9999-12-31T23:59:59Z"], "outside the years 2000 to 2999"),
        (["plan", "licenses", "--qrs-url", "ftp://qlik"], "Invalid value for '--qrs-url'"),
        (["plan", "licenses", "--qrs-url", "http://qlik:99999"], "Port out of range"),
        (["validate", "--format", "xml"], "Invalid value for '--format'"),
        (["sim", "serve", "--port", "99999"], "Invalid value for '--port'"),
        (["sim", "serve", "--port", "-1"], "Invalid value for '--port'"),
        (["sim", "serve", "--users", "-1"], "Invalid value for '--users'"),
        (["sim", "serve", "--fault-rate", "3"], "Invalid value for '--fault-rate'"),
        (["sim", "serve", "--demo", "--snapshot", "x.json"], "give one"),
    ],
)
def test_wrong_command_line_exits_64(
    example: Path, licsync: Licsync, args: list[str], says: str
) -> None:
    """In click's style: the usage line, the hint, the error."""
    result = licsync(args)
    assert result.exit_code == 64, result.output
    assert says in result.stderr
    assert "Usage: licsync" in result.stderr
    assert "for help." in result.stderr
    _no_traceback(result)


def test_a_missing_command_prints_help_and_exits_64(licsync: Licsync) -> None:
    result = licsync([])
    assert result.exit_code == 64
    assert "Usage: licsync" in result.output


def test_a_plan_before_the_sane_range_never_reaches_date_arithmetic(
    example: Path, licsync: Licsync
) -> None:
    """The edges of the range plan normally (the denial look-back subtracts days from now)."""
    assert "lookback_days: 30" in (example / "site.yaml").read_text(encoding="utf-8")
    # 2999: every seat has been idle for centuries, more reclaims than the safety cap allows
    for now, blocked in (("2000-01-01T00:00:00Z", 0), ("2999-12-31T23:59:59Z", 3)):
        result = licsync(["plan", "licenses", "--now", now, "--format", "json"])
        assert result.exit_code == blocked, result.output


# -- 70 -----------------------------------------------------------------------------------------


def test_a_crash_says_it_is_a_bug_and_exits_70(
    example: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    from licsync.cli import site_session

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(site_session, "open_session", explode)
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 70
    assert result.stderr.startswith("licsync: error: unexpected RuntimeError: boom\n")
    assert "This is a bug in licsync" in result.stderr
    assert "--debug" in result.stderr
    _no_traceback(result)

    debug = licsync(["--debug", "plan", "licenses"])
    assert debug.exit_code == 70
    assert "Traceback (most recent call last)" in debug.stderr


# -- 130 ----------------------------------------------------------------------------------------


def test_ctrl_c_exits_130(example: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch) -> None:
    from licsync.cli import site_session

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(site_session, "open_session", interrupt)
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 130
    assert result.stderr == "licsync: interrupted\n"


# -- the console boundary -----------------------------------------------------------------------


def _python_m(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "licsync", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_python_dash_m_exits_with_main_s_code(example: Path) -> None:
    """The process's own status is the code: 2 for changes, 64 for a wrong command line."""
    changes = _python_m(["plan", "licenses", "--detailed-exitcode"], example.parent)
    assert changes.returncode == 2, changes.stderr
    assert changes.stdout.startswith("licsync plan for site demo")
    usage = _python_m(["plan", "--bogus"], example.parent)
    assert usage.returncode == 64
    assert "No such option: --bogus" in usage.stderr
    now = _python_m(["plan", "licenses", "--now", "0001-01-01T00:00:00Z"], example.parent)
    assert now.returncode == 64
    assert "Traceback" not in now.stderr


def test_python_dash_m_interrupted_exits_130(tmp_path: Path) -> None:
    """A real SIGINT while a command runs: 130 and one line, no traceback."""
    script = (
        "import signal, sys\n"
        # As from a terminal, even when the suite runs with SIGINT ignored (a background job).
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import licsync.cli.validate as v\n"
        "def interrupted(*a, **k):\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "v.check_directory = interrupted\n"
        "from licsync.cli import main\n"
        "sys.exit(main(['validate', '.']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "licsync: interrupted\n"
