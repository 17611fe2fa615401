"""Hostile and broken licence logs and CSV exports: bounded, located, refused, never a hang."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from licsync.errors import SignalError
from licsync.policy import DenialSource
from licsync.signals.denials import DenialReport, read_denials
from licsync.signals.licenselog import COLUMNS, MAX_LINE, usage_denied, write_license_log
from portable import needs_symlinks, posix_only
from timelimit import watchdog

CET = dt.timezone(dt.timedelta(hours=1))
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
S = os.sep  # messages name files with the system's separator
LIVE = "QLIKSERVER1_License_Repository.txt"


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, tzinfo=CET)


def read(root: Path, kind: str, path: str) -> DenialReport:
    return read_denials([DenialSource(kind, path)], root=root, since=LONG_AGO)


def error(root: Path, kind: str, path: str) -> str:
    with pytest.raises(SignalError) as caught, watchdog():
        read(root, kind, path)
    return str(caught.value)


def live_log(folder: Path, *users: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LIVE
    write_license_log(path, [usage_denied(at(day + 1), user) for day, user in enumerate(users)])
    return path


def denial_line(stamp: str, user: str) -> bytes:
    fields = dict.fromkeys(COLUMNS, "")
    fields.update(
        {
            "Sequence#": "9",
            "Timestamp": stamp,
            "Operation": "UsageDenied",
            "UserName": user,
            "ServiceUser": "DOMAIN\\qvservice",
            "Message": 'No available access type, SessionID: x, Hostname: "::ffff:10.0.0.1"',
        }
    )
    return "\t".join(fields[name] for name in COLUMNS).encode() + b"\r\n"


# --- line length ------------------------------------------------------------------------------


def test_an_overlong_line_is_skipped_counted_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 3 MB line (100 MB once took 43 s) is skipped and counted, with a warning naming its
    line; the denials around it are read."""
    path = live_log(tmp_path / "logs", "CORP\\anna")
    with path.open("ab") as stream:
        stream.write(b"x" * (3 * MAX_LINE) + b"UsageDenied\r\n")
        stream.write(denial_line("20240305T090000.000+0100", "CORP\\bert"))
    with caplog.at_level(logging.WARNING, logger="licsync"):
        report = read(tmp_path, "logs", "logs")
    assert {d.user: d.count for d in report.denials} == {"CORP\\anna": 1, "CORP\\bert": 1}
    [source] = report.sources
    assert (source.rows, source.skipped) == (3, 1)
    assert f"logs{S}{LIVE}:3: line longer than 1,048,576 bytes skipped" in caplog.text


def test_an_overlong_last_line_is_skipped_too(tmp_path: Path) -> None:
    """A file ending in an overlong, unterminated line: counted as one skipped row."""
    path = live_log(tmp_path / "logs", "CORP\\anna")
    with path.open("ab") as stream:
        stream.write(b"y" * (2 * MAX_LINE))
    report = read(tmp_path, "logs", "logs")
    [source] = report.sources
    assert (source.rows, source.skipped) == (2, 1)
    assert source.newest_entry == at(1).astimezone(dt.UTC)


def test_an_overlong_header_is_refused_briefly(tmp_path: Path) -> None:
    """A first line of megabytes is no header: the error says so and quotes none of it."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / LIVE).write_bytes(b"Timestamp\t" + b"z" * (2 * MAX_LINE) + b"\r\n")
    message = error(tmp_path, "logs", "logs")
    assert message == (
        f"logs{S}{LIVE}: the first line is longer than 1,048,576 bytes, so it is no header naming "
        "columns: not a licence log"
    )


def test_a_header_error_quotes_at_most_200_characters(tmp_path: Path) -> None:
    """A header of 5,000 long column names is quoted by its first few (52 MB once went to
    stderr)."""
    (tmp_path / "logs").mkdir()
    header = "\t".join(f"Column{i:05d}" + "w" * 100 for i in range(5_000))
    (tmp_path / "logs" / LIVE).write_text(header + "\r\n", encoding="utf-8")
    message = error(tmp_path, "logs", "logs")
    assert message.startswith(f"logs{S}{LIVE}: header lacks column(s) Timestamp, Operation, ")
    seen = message.split("columns seen: ", 1)[1]
    assert len(seen) <= 230
    assert seen.endswith(" more)")


def test_a_csv_header_error_quotes_at_most_200_characters(tmp_path: Path) -> None:
    """The same for a CSV export that is not one."""
    (tmp_path / "denied.csv").write_text(",".join("c" * 300 for _ in range(50)) + "\n")
    message = error(tmp_path, "csv", "denied.csv")
    assert len(message) < 500
    assert "columns seen: " in message


# --- FIFOs and devices -----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_a_log_is_refused(tmp_path: Path) -> None:
    """A FIFO in the log folder or as the CSV export is an error at once, not a hang."""
    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "logs" / LIVE)
    os.mkfifo(tmp_path / "denied.csv")
    assert error(tmp_path, "logs", "logs") == (
        f"logs{S}{LIVE}: cannot read: it is a FIFO (named pipe), not a regular file"
    )
    assert error(tmp_path, "csv", "denied.csv") == (
        "denied.csv: cannot read: it is a FIFO (named pipe), not a regular file"
    )


@posix_only("no /dev/zero (Windows names devices NUL, CON)")
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_device_is_refused(tmp_path: Path) -> None:
    """/dev/zero as a log file or an export is never read."""
    assert error(tmp_path, "logs", "/dev/zero") == (
        "/dev/zero: cannot read: it is a character device, not a regular file"
    )
    (tmp_path / "denied.csv").symlink_to("/dev/zero")
    assert "it is a character device, not a regular file" in error(tmp_path, "csv", "denied.csv")


def test_an_export_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    """A (sparse) 300 MB export is refused by its size."""
    with (tmp_path / "denied.csv").open("wb") as stream:
        stream.truncate(300 << 20)
    assert error(tmp_path, "csv", "denied.csv") == (
        "denied.csv: cannot read: it is over 268,435,456 bytes (314,572,800), far larger than "
        "expected"
    )


# --- timestamps and counts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp", ["99991231T235959.999-2359", "00010101T000000.000+2359", "19991231T235959.999+0000"]
)
def test_a_denial_out_of_range_is_an_error_naming_its_line(tmp_path: Path, stamp: str) -> None:
    """Year 9999 (which crashed plan converting to UTC) and year 1 are errors at file:line."""
    path = live_log(tmp_path / "logs", "CORP\\anna", "CORP\\bert")
    with path.open("ab") as stream:
        stream.write(denial_line(stamp, "CORP\\carl"))
        for day in range(5, 40):  # the bad row is far from the end: found as a denial
            stream.write(denial_line(f"202404{day % 28 + 1:02d}T090000.000+0100", "CORP\\dora"))
    assert error(tmp_path, "logs", "logs") == (
        f"logs{S}{LIVE}:4: timestamp {stamp!r} is outside the years 2000 to 2999: no licence log "
        "holds such a time (is the server clock, or the file, broken?)"
    )


def test_a_last_row_out_of_range_is_an_error_naming_its_line(tmp_path: Path) -> None:
    """A maintenance row at the end (which decides freshness) out of range: its line named."""
    path = live_log(tmp_path / "logs", "CORP\\anna")
    with path.open("ab") as stream:
        stream.write(b"\t".join([b"7", b"99990101T000000.000+0000", *[b""] * 14]) + b"\r\n")
    assert error(tmp_path, "logs", "logs") == (
        f"logs{S}{LIVE}:3: timestamp '99990101T000000.000+0000' is outside the years 2000 to "
        "2999: no licence log holds such a time (is the server clock, or the file, broken?)"
    )


def test_a_csv_time_out_of_range_is_an_error_naming_its_line(tmp_path: Path) -> None:
    """The same for an export, with Excel's sep= line counted."""
    (tmp_path / "denied.csv").write_text(
        "sep=;\nUser;Count;Last denied\nCORP\\anna;2;2024-03-01T09:00:00Z\n"
        "CORP\\bert;1;9999-12-31T23:59:59-23:59\n",
        encoding="utf-8",
    )
    assert error(tmp_path, "csv", "denied.csv") == (
        "denied.csv:4: time 9999-12-31T23:59:59-23:59 is outside the years 2000 to 2999: no "
        "export holds such a time"
    )


@pytest.mark.parametrize("count", ["nan", "inf", "1e400", "9" * 5000, "-1", "2.5"])
def test_a_csv_count_no_site_could_reach_is_a_skipped_row(tmp_path: Path, count: str) -> None:
    """Counts that are not whole, finite and plausible are malformed rows, not numbers."""
    (tmp_path / "denied.csv").write_text(
        f"User,Count\nCORP\\anna,2\nCORP\\bert,{count}\n", encoding="utf-8"
    )
    report = read(tmp_path, "csv", "denied.csv")
    assert {d.user: d.count for d in report.denials} == {"CORP\\anna": 2}
    assert report.sources[0].skipped == 1


# --- folders ------------------------------------------------------------------------------------


@needs_symlinks
def test_a_symlinked_log_folder_is_read_and_a_loop_ends(tmp_path: Path) -> None:
    """An archive folder that is a symlink is read (it was skipped); a link back up is not
    walked twice."""
    live_log(tmp_path / "store" / "node2", "CORP\\bert")
    root = tmp_path / "logs"
    live_log(root / "node1", "CORP\\anna")
    (root / "node2").symlink_to(tmp_path / "store" / "node2")
    (root / "node1" / "up").symlink_to("..")
    with watchdog():
        report = read(tmp_path, "logs", "logs")
    assert {d.user for d in report.denials} == {"CORP\\anna", "CORP\\bert"}
    assert report.sources[0].files == 2


def test_the_real_sample_with_an_overlong_line_appended(sample_logs: Path, tmp_path: Path) -> None:
    """The real April 2018 log, with a runaway line appended, still gives its one person."""
    source = sample_logs / "Repository" / "Trace" / "QLIKSERVER1_License_Repository.txt"
    target = tmp_path / "Trace" / source.name
    target.parent.mkdir()
    shutil.copyfile(source, target)
    with target.open("ab") as stream:
        stream.write(b"UsageDenied\t" * (MAX_LINE // 6) + b"\r\n")
    report = read(tmp_path, "logs", "Trace")
    assert [d.user for d in report.denials] == ["DOMAIN\\administrator"]
    assert report.sources[0].skipped == 1


# --- where errors point -------------------------------------------------------------------------


def test_a_missing_csv_source_points_at_its_own_line(example: Path, licsync: Licsync) -> None:
    """A CSV source that does not exist is blamed on its line of site.yaml, not the site's."""
    edit_file(example / "site.yaml", "- logs: demo-logs", "- csv: nothere.csv")
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 1, result.output
    assert (
        f"licsync: error: licenses{S}site.yaml:89:14: policy.denials.sources[0].csv: "
        f"licenses{S}nothere.csv: no such file or folder"
    ) in result.stderr
