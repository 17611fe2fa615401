"""Users denied access, read from a License Monitor "Denied Access" CSV export."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from licsync.errors import SignalError
from licsync.policy import DenialSource
from licsync.signals.denials import Denial, DenialReport, SourceReport, read_denials
from licsync.signals.licenselog import usage_denied, write_license_log
from portable import needs_symlinks

UTC = dt.UTC
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=UTC)
EXPECTED = "a user column (User, UserName, User Name or Denied user, or UserDirectory and UserId)"


def utc(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def export(tmp_path: Path, text: str, *, bom: bool = False, name: str = "denied.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def read(tmp_path: Path, name: str = "denied.csv", since: dt.datetime = LONG_AGO) -> DenialReport:
    return read_denials([DenialSource("csv", name)], root=tmp_path, since=since)


def error(tmp_path: Path, name: str = "denied.csv") -> str:
    with pytest.raises(SignalError) as caught:
        read(tmp_path, name)
    return str(caught.value)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_delimiters_bom_and_line_ends(tmp_path: Path, delimiter: str, bom: bool, eol: str) -> None:
    """Comma, semicolon or TAB, with or without BOM, CRLF or LF: the same result."""
    rows = [
        ["User", "Count", "Last denied"],
        ["CORP\\alice", "3", "2024-03-02 10:00:00"],
        ["CORP\\bob", "1", "2024-03-01T08:30:00+01:00"],
    ]
    export(tmp_path, eol.join(delimiter.join(row) for row in rows) + eol, bom=bom)
    report = read(tmp_path)
    assert report.denials == (
        Denial("CORP\\alice", "corp\\alice", None, 3, utc(2, 10), utc(2, 10)),
        Denial("CORP\\bob", "corp\\bob", None, 1, utc(1, 7, 30), utc(1, 7, 30)),
    )
    assert report.sources == (
        SourceReport("denied.csv", "csv", files=1, rows=2, skipped=0, newest_entry=utc(2, 10)),
    )


@pytest.mark.parametrize(
    ("user", "count", "first", "last"),
    [
        ("UserName", "Denials", "First denied", "Last denied"),
        ("User Name", "Denied count", "first_denied", "LAST DENIED"),
        ("Denied user", "# Denials", "First Denied", "Last Denied"),
    ],
)
def test_accepted_header_spellings(
    tmp_path: Path, user: str, count: str, first: str, last: str
) -> None:
    """Each documented column name is recognised, in any case, spaces or underscores."""
    export(tmp_path, f"{user},{count},{first},{last}\nCORP\\a,4,2024-03-01,2024-03-05\n")
    assert read(tmp_path).denials == (Denial("CORP\\a", "corp\\a", None, 4, utc(1), utc(5)),)


def test_user_directory_and_user_id_columns(tmp_path: Path) -> None:
    """UserDirectory and UserId columns make up DIRECTORY\\userid."""
    export(
        tmp_path,
        "UserDirectory;UserId;Timestamp\n"
        "CORP;alice;2024-03-01 09:00\n"
        "CORP;alice;2024-03-03 09:00\n",
    )
    assert read(tmp_path).denials == (
        Denial("CORP\\alice", "corp\\alice", None, 2, utc(1, 9), utc(3, 9)),
    )


def test_rows_without_count_count_once_and_merge_case_insensitively(tmp_path: Path) -> None:
    """Without a count column each row is one denial; users merge without regard to case."""
    export(
        tmp_path,
        "User,Date\nCORP\\Alice,2024-03-02\ncorp\\ALICE,2024-03-01\nCORP\\bob,2024-03-01\n",
    )
    assert [(d.user, d.count, d.first) for d in read(tmp_path).denials] == [
        ("CORP\\Alice", 2, utc(1)),
        ("CORP\\bob", 1, utc(1)),
    ]


def test_export_without_times(tmp_path: Path) -> None:
    """Without time columns rows are always kept, times are None, freshness is unknown."""
    export(tmp_path, "User,Count\nCORP\\a,2\n")
    report = read(tmp_path, since=utc(20))
    assert report.denials == (Denial("CORP\\a", "corp\\a", None, 2, None, None),)
    assert report.sources[0].newest_entry is None


def test_lookback_filters_on_the_last_denial(tmp_path: Path) -> None:
    """A row counts when its last denial is at or after `since`."""
    export(
        tmp_path,
        "User,Count,First denied,Last denied\n"
        "CORP\\old,5,2024-02-01,2024-02-20\n"
        "CORP\\spanning,5,2024-02-01,2024-03-01\n"
        "CORP\\blank,1,,\n",
    )
    report = read(tmp_path, since=utc(1))
    assert [(d.user, d.count, d.first, d.last) for d in report.denials] == [
        ("CORP\\blank", 1, None, None),
        ("CORP\\spanning", 5, dt.datetime(2024, 2, 1, tzinfo=UTC), utc(1)),
    ]
    assert report.sources[0].newest_entry == utc(1)


def test_time_formats(tmp_path: Path) -> None:
    """ISO 8601 with or without offset (then UTC) and the log's own format are read."""
    export(
        tmp_path,
        "User,Timestamp\n"
        "CORP\\a,2024-03-01T10:00:00+02:00\n"
        "CORP\\b,2024-03-01 10:00\n"
        "CORP\\c,20240301T100000.000+0100\n"
        "CORP\\d,2024-03-01\n",
    )
    assert [d.last for d in read(tmp_path).denials] == [utc(1, 8), utc(1, 10), utc(1, 9), utc(1)]


def test_quoted_fields(tmp_path: Path) -> None:
    """Standard CSV quoting: a delimiter inside quotes is data."""
    export(tmp_path, 'User,Count\n"CORP\\smith, john",1\n')
    assert [(d.user, d.count) for d in read(tmp_path).denials] == [("CORP\\smith, john", 1)]


def test_excel_sep_line(tmp_path: Path) -> None:
    """Excel's "sep=;" first line names the delimiter."""
    export(tmp_path, "sep=;\r\nUser;Count\r\nCORP\\a;2\r\n", bom=True)
    assert [(d.user, d.count) for d in read(tmp_path).denials] == [("CORP\\a", 2)]


def test_malformed_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    """Bad count, bad time, bad user and a wrong field count are skipped; blank lines ignored."""
    export(
        tmp_path,
        "User,Count,Last denied\n"
        "CORP\\good,2,2024-03-01\n"
        "CORP\\x,two,2024-03-01\n"
        "CORP\\y,-1,2024-03-01\n"
        "CORP\\z,1.5,2024-03-01\n"
        "CORP\\w,1,01/03/2024\n"
        "nodirectory,1,2024-03-01\n"
        "CORP\\v,1\n"
        "\n"
        ",,\n",
    )
    report = read(tmp_path)
    assert [(d.user, d.count) for d in report.denials] == [("CORP\\good", 2)]
    assert (report.sources[0].rows, report.sources[0].skipped) == (7, 6)


def test_header_only_export(tmp_path: Path) -> None:
    """An export with no rows is valid and empty."""
    export(tmp_path, "User,Count\n")
    report = read(tmp_path)
    assert (report.denials, report.sources[0].rows) == ((), 0)


@needs_symlinks
def test_the_same_export_named_twice_is_counted_once(tmp_path: Path) -> None:
    """Two sources naming one export: its rows count once, both report its freshness."""
    export(tmp_path, "User,Count,Last denied\nCORP\\a,2,2024-03-01\n")
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "link.csv").symlink_to(tmp_path / "denied.csv")
    report = read_denials(
        [DenialSource("csv", "denied.csv"), DenialSource("csv", "again/link.csv")],
        root=tmp_path,
        since=LONG_AGO,
    )
    assert [(d.user, d.count) for d in report.denials] == [("CORP\\a", 2)]
    assert [(s.path, s.rows, s.newest_entry) for s in report.sources] == [
        ("denied.csv", 1, utc(1)),
        ("again/link.csv", 1, utc(1)),
    ]


def test_csv_and_logs_merge(tmp_path: Path) -> None:
    """A CSV source and a log source merge into one entry per user."""
    export(tmp_path, "User,Count,Last denied\nCORP\\a,2,2024-03-01\n")
    write_license_log(
        tmp_path / "X_License_Repository.txt", [usage_denied(utc(4), "corp\\A", user_id="g")]
    )
    report = read_denials(
        [DenialSource("csv", "denied.csv"), DenialSource("logs", "X_License_Repository.txt")],
        root=tmp_path,
        since=LONG_AGO,
    )
    assert report.denials == (Denial("CORP\\a", "corp\\a", "g", 3, utc(1), utc(4)),)
    assert [s.kind for s in report.sources] == ["csv", "logs"]


def test_error_unknown_layout_names_the_columns(tmp_path: Path) -> None:
    """An export without a user column is refused, listing what it has."""
    export(tmp_path, "Name;Count\nAlice;1\n")
    assert error(tmp_path) == (
        f"denied.csv: not a License Monitor denied-access export: expected {EXPECTED}; "
        "columns seen: Name, Count"
    )


def test_error_userid_without_directory(tmp_path: Path) -> None:
    """UserId alone does not name a user (no directory)."""
    export(tmp_path, "UserId\tCount\nalice\t1\n")
    assert error(tmp_path) == (
        f"denied.csv: not a License Monitor denied-access export: expected {EXPECTED}; "
        "columns seen: UserId, Count"
    )


def test_error_sep_line_with_unknown_layout(tmp_path: Path) -> None:
    """A "sep=" line fixes the delimiter, so the header is judged under it alone."""
    export(tmp_path, "sep=|\nUser,Count\n")
    assert error(tmp_path) == (
        f"denied.csv: not a License Monitor denied-access export: expected {EXPECTED}; "
        "columns seen: User,Count"
    )


def test_error_no_row_readable(tmp_path: Path) -> None:
    """When every row is malformed the export is refused rather than read as empty."""
    export(tmp_path, "User,Last denied\nCORP\\a,01/03/2024\nCORP\\b,02/03/2024\n")
    assert error(tmp_path) == (
        "denied.csv: none of the 2 rows could be read (columns: User, Last denied); "
        "check the user, count and time values"
    )


def test_error_empty_file(tmp_path: Path) -> None:
    """An empty export (or a BOM alone) has no header."""
    export(tmp_path, "", bom=True)
    assert error(tmp_path) == "denied.csv: empty file, expected a header line naming the columns"


def test_error_not_utf8(tmp_path: Path) -> None:
    """An export in a legacy code page is refused, naming the line."""
    (tmp_path / "denied.csv").write_bytes(b"User,Count\r\nCORP\\j\xf6rg,1\r\n")
    assert error(tmp_path) == "denied.csv: not UTF-8 text (byte 0xf6 on line 2)"


def test_error_not_utf8_after_a_bom(tmp_path: Path) -> None:
    """The reported byte is the bad one even when a BOM precedes it."""
    (tmp_path / "denied.csv").write_bytes(b"\xef\xbb\xbfUser\xff,Count\r\n")
    assert error(tmp_path) == "denied.csv: not UTF-8 text (byte 0xff on line 1)"


def test_error_utf16(tmp_path: Path) -> None:
    """Excel's "Unicode text" (UTF-16) is refused with a hint."""
    (tmp_path / "denied.csv").write_bytes("\ufeffUser\tCount\r\n".encode("utf-16-le"))
    assert error(tmp_path) == (
        "denied.csv: not UTF-8 text (it starts with a UTF-16 byte-order mark); save it as UTF-8"
    )


def test_error_field_over_the_csv_limit(tmp_path: Path) -> None:
    """A runaway quoted field is a CSV error with its line, not a traceback."""
    export(tmp_path, 'User,Count\nCORP\\a,1\n"' + "x" * 200_000 + "\n")
    assert error(tmp_path) == (
        "denied.csv: not readable as CSV on line 3: field larger than field limit (131072)"
    )


def test_error_missing_file(tmp_path: Path) -> None:
    """A missing export is named as configured."""
    assert error(tmp_path, "exports/denied.csv") == "exports/denied.csv: no such file or folder"


def test_error_folder_given(tmp_path: Path) -> None:
    """A csv source names one file, not a folder."""
    (tmp_path / "exports").mkdir()
    assert error(tmp_path, "exports") == (
        "exports: is a folder; a csv denial source names one exported file"
    )


def test_error_dangling_link(tmp_path: Path) -> None:
    """A link to a deleted export is a missing file."""
    (tmp_path / "denied.csv").symlink_to(tmp_path / "gone.csv")
    assert error(tmp_path) == "denied.csv: no such file or folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_error_unreadable_file(tmp_path: Path) -> None:
    """An export the process may not read is named with the reason."""
    path = export(tmp_path, "User\n")
    path.chmod(0)
    try:
        assert error(tmp_path) == "denied.csv: cannot read: Permission denied"
    finally:
        path.chmod(0o600)
