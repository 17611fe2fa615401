"""Users denied access, read from licence logs: the real sample, layouts, filters and errors."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from licsync.errors import SignalError
from licsync.policy import DenialSource
from licsync.signals.denials import (
    Denial,
    DenialReport,
    SourceReport,
    discover_license_logs,
    is_loopback,
    read_denials,
)
from licsync.signals.licenselog import COLUMNS, LicenseLogRow, usage_denied, write_license_log
from portable import needs_symlinks

CET = dt.timezone(dt.timedelta(hours=1))
UTC = dt.UTC
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=UTC)
ADMIN_GUID = "c85d8ce4-b05e-467c-9810-e1a339318819"
QVSERVICE_GUID = "56b9d8aa-d3b4-4124-b00b-3f9210f27a38"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, second, tzinfo=CET)


def logs(*paths: str) -> list[DenialSource]:
    return [DenialSource("logs", p) for p in paths]


def write(
    path: Path,
    rows: Iterable[LicenseLogRow],
    *,
    machine: str = "QLIKSERVER1",
    bom: bool = True,
    crlf: bool = True,
    columns: tuple[str, ...] = COLUMNS,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_license_log(path, rows, machine=machine, bom=bom, crlf=crlf, columns=columns)
    return path


def read(
    root: Path, *paths: str, since: dt.datetime = LONG_AGO, accounts: tuple[str, ...] = ()
) -> DenialReport:
    return read_denials(logs(*paths), root=root, since=since, service_accounts=accounts)


def counts(report: DenialReport) -> dict[str, int]:
    return {d.user: d.count for d in report.denials}


def error(root: Path, sources: list[DenialSource]) -> str:
    with pytest.raises(SignalError) as caught:
        read_denials(sources, root=root, since=LONG_AGO)
    return str(caught.value)


# --- the real sample (Qlik Sense April 2018) ---------------------------------------------


def test_real_sample_the_only_person_denied_is_the_administrator(
    sample_logs: Path, tmp_path: Path
) -> None:
    """8 denials of DOMAIN\\administrator; 100 loopback denials of DOMAIN\\qvservice excluded."""
    report = read_denials(
        logs(str(sample_logs)), root=tmp_path, since=LONG_AGO, service_accounts=("INTERNAL\\*",)
    )
    assert report.denials == (
        Denial(
            user="DOMAIN\\administrator",
            key="domain\\administrator",
            user_id=ADMIN_GUID,
            count=8,
            first=dt.datetime(2019, 2, 1, 7, 8, 42, 468000, tzinfo=UTC),
            last=dt.datetime(2019, 2, 1, 7, 20, 48, 749000, tzinfo=UTC),
        ),
    )
    assert report.excluded == {"DOMAIN\\qvservice": 100}
    assert report.sources == (
        SourceReport(
            path=str(sample_logs),
            kind="logs",
            files=1,
            rows=149,
            skipped=0,
            duplicates=0,
            newest_entry=dt.datetime(2019, 2, 1, 12, 59, 30, 561000, tzinfo=UTC),
        ),
    )


def test_real_sample_since_is_inclusive(sample_logs: Path, tmp_path: Path) -> None:
    """A look-back starting exactly at a denial counts that denial."""
    since = dt.datetime(2019, 2, 1, 8, 19, 49, 493000, tzinfo=CET)
    report = read(tmp_path, str(sample_logs), since=since)
    (admin,) = report.denials
    assert (admin.count, admin.first) == (6, since)
    assert report.excluded == {"DOMAIN\\qvservice": 60}


def test_real_sample_after_its_last_row_is_empty_but_fresh(
    sample_logs: Path, tmp_path: Path
) -> None:
    """With nothing in the window the report is empty, and the newest entry is still reported."""
    report = read(tmp_path, str(sample_logs), since=dt.datetime(2019, 2, 2, tzinfo=UTC))
    assert (report.denials, report.excluded) == ((), {})
    assert report.sources[0].newest_entry == dt.datetime(2019, 2, 1, 12, 59, 30, 561000, tzinfo=UTC)


def test_real_sample_live_file_as_a_single_file_source(sample_logs: Path, tmp_path: Path) -> None:
    """A logs source may name one file; it is read whatever its name."""
    path = sample_logs / "Repository" / "Trace" / "QLIKSERVER1_License_Repository.txt"
    report = read(tmp_path, str(path))
    assert counts(report) == {"DOMAIN\\administrator": 8}
    assert report.sources[0].files == 1


def test_real_audit_log_is_not_a_licence_log(sample_logs: Path, tmp_path: Path) -> None:
    """The AuditSecurity log (same denials, other layout) is refused with the columns it has."""
    path = sample_logs / "Repository" / "Audit" / "QLIKSERVER1_AuditSecurity_Repository.txt"
    assert error(tmp_path, logs(str(path))) == (
        f"{path}: header lacks column(s) Operation, ServiceUser, UserName; columns seen: "
        "Sequence#, ProductVersion, Timestamp, Hostname, Id, Description, ProxySessionId, "
        "ProxyPackageId, RequestSequenceId, UserDirectory, UserId, ObjectId, ObjectName, "
        "SecurityClass, ClientHostAddress, ... (7 more)"
    )


# --- folder layouts ---------------------------------------------------------------------------


def archived_logs(root: Path) -> Path:
    """An ArchivedLogs share: two nodes, archived and live files, and files to be ignored."""
    share = root / "ArchivedLogs"
    node1 = share / "node1.corp.local" / "Repository" / "Trace"
    node2 = share / "node2.corp.local" / "Repository" / "Trace"
    write(
        node1 / "NODE1_License_Repository_2024-03-01T03.00.00Z.log",
        [usage_denied(at(1, 1), "CORP\\alice")],
    )
    write(
        node1 / "NODE1_License_Repository_2024-03-02T03.00.00Z.log",
        [usage_denied(at(1, 9), "CORP\\alice"), usage_denied(at(1, 10), "CORP\\bob")],
        bom=False,
        crlf=False,
    )
    write(node1 / "NODE1_License_Repository.txt", [LicenseLogRow(at(2, 8))], machine="NODE1")
    write(
        node2 / "node2_license_repository.TXT",
        [usage_denied(at(2, 7), "corp\\ALICE"), LicenseLogRow(at(3, 6))],
        machine="NODE2",
    )
    # Not licence logs: other log types, a backup copy, a stray file.
    write(
        node1.parent / "Audit" / "NODE1_AuditSecurity_Repository.txt",
        [usage_denied(at(1, 1), "CORP\\x")],
    )
    write(node1 / "NODE1_License_Repository.txt.bak", [usage_denied(at(1, 1), "CORP\\y")])
    (share / "notes.log").write_text("not a log\n", encoding="utf-8")
    return share


def test_archived_logs_share_with_several_nodes(tmp_path: Path) -> None:
    """All licence logs of all nodes are read, archived and live; other files are ignored."""
    archived_logs(tmp_path)
    report = read(tmp_path, "ArchivedLogs")
    assert counts(report) == {"CORP\\alice": 3, "CORP\\bob": 1}
    alice = report.denials[0]
    assert (alice.first, alice.last) == (at(1, 1), at(2, 7))
    (source,) = report.sources
    assert (source.path, source.files, source.rows, source.skipped) == ("ArchivedLogs", 4, 6, 0)
    assert source.newest_entry == at(3, 6).astimezone(UTC)


def test_discovery_order_is_deterministic(tmp_path: Path) -> None:
    """Folders in name order; in each, archived files oldest first, then the live file."""
    share = archived_logs(tmp_path)
    found = [p.relative_to(share).as_posix() for p in discover_license_logs(share)]
    assert found == [
        "node1.corp.local/Repository/Trace/NODE1_License_Repository_2024-03-01T03.00.00Z.log",
        "node1.corp.local/Repository/Trace/NODE1_License_Repository_2024-03-02T03.00.00Z.log",
        "node1.corp.local/Repository/Trace/NODE1_License_Repository.txt",
        "node2.corp.local/Repository/Trace/node2_license_repository.TXT",
    ]


def test_live_node_layout(tmp_path: Path) -> None:
    """A node's Log folder: only Repository/Trace/*_License_Repository.txt is read."""
    log = tmp_path / "Log"
    write(
        log / "Repository" / "Trace" / "QS1_License_Repository.txt",
        [usage_denied(at(1, 1), "CORP\\a")],
    )
    write(log / "Proxy" / "Trace" / "QS1_Audit_Proxy.txt", [usage_denied(at(1, 1), "CORP\\b")])
    assert counts(read(tmp_path, "Log")) == {"CORP\\a": 1}


@pytest.mark.parametrize(
    ("bom", "crlf"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_bom_and_line_ends_do_not_matter(tmp_path: Path, bom: bool, crlf: bool) -> None:
    """With or without BOM, CRLF or LF: the same denials and freshness."""
    rows = [
        usage_denied(at(1, 8), "CORP\\a"),
        usage_denied(at(1, 9), "CORP\\a"),
        LicenseLogRow(at(1, 10)),
    ]
    write(tmp_path / "X_License_Repository.txt", rows, bom=bom, crlf=crlf)
    report = read(tmp_path, "X_License_Repository.txt")
    assert counts(report) == {"CORP\\a": 2}
    assert report.sources[0].newest_entry == at(1, 10)


def test_reordered_and_extra_columns(tmp_path: Path) -> None:
    """Columns are found by header name: reordered, with extra Exception/StackTrace columns."""
    columns = ("Checksum", "UserName", "Exception", *reversed(COLUMNS[:13]), "StackTrace", "UserId")
    rows = [
        usage_denied(at(1, 8), "CORP\\a", user_id="guid-a"),
        usage_denied(at(1, 9), "DOMAIN\\svc", host="::1"),
    ]
    write(tmp_path / "X_License_Repository.txt", rows, columns=columns)
    rows2 = [r._replace(service_user="DOMAIN\\svc") for r in rows]
    write(tmp_path / "Y_License_Repository.txt", rows2, columns=columns)
    report = read(tmp_path, "X_License_Repository.txt")
    assert [(d.user, d.user_id, d.count) for d in report.denials] == [
        ("CORP\\a", "guid-a", 1),
        ("DOMAIN\\svc", None, 1),
    ]
    assert read(tmp_path, "Y_License_Repository.txt").excluded == {"DOMAIN\\svc": 1}


def test_optional_columns_may_be_missing(tmp_path: Path) -> None:
    """Without UserId and Id the user GUID is unknown and copies cannot be recognised."""
    columns = ("Timestamp", "ServiceUser", "Message", "Operation", "UserName")
    write(
        tmp_path / "a" / "X_License_Repository.txt",
        [usage_denied(at(1, 8), "CORP\\a", user_id="g")],
        columns=columns,
    )
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    report = read(tmp_path, "a", "b")
    assert report.denials == (Denial("CORP\\a", "corp\\a", None, 2, at(1, 8), at(1, 8)),)
    assert [s.duplicates for s in report.sources] == [0, 0]


# --- what counts -------------------------------------------------------------------------------


def test_lookback_filters_denials_and_exclusions(tmp_path: Path) -> None:
    """Only denials at or after `since` count, excluded loopback ones included."""
    rows = [
        usage_denied(at(1, 8), "CORP\\old"),
        usage_denied(at(1, 8), "DOMAIN\\qvservice", host="::1"),
        usage_denied(at(5, 8), "CORP\\new"),
        usage_denied(at(5, 9), "DOMAIN\\qvservice", host="::1"),
        usage_denied(at(5, 10), "CORP\\new"),
    ]
    write(tmp_path / "X_License_Repository.txt", rows)
    report = read(tmp_path, "X_License_Repository.txt", since=at(5, 8).astimezone(UTC))
    assert report.denials == (Denial("CORP\\new", "corp\\new", None, 2, at(5, 8), at(5, 10)),)
    assert report.excluded == {"DOMAIN\\qvservice": 1}
    assert report.since == at(5, 8)


def test_users_merge_case_insensitively_keeping_the_first_spelling(tmp_path: Path) -> None:
    """CORP\\Alice and corp\\ALICE are one user, shown as first seen."""
    rows = [
        usage_denied(at(1, 8), "CORP\\Alice"),
        usage_denied(at(1, 9), "corp\\ALICE"),
        usage_denied(at(1, 7), "Corp\\alice"),
    ]
    write(tmp_path / "X_License_Repository.txt", rows)
    report = read(tmp_path, "X_License_Repository.txt")
    assert report.denials == (Denial("CORP\\Alice", "corp\\alice", None, 3, at(1, 7), at(1, 9)),)


def test_several_sources_merge_into_one_report(tmp_path: Path) -> None:
    """Two sources: counts add up, first/last span both, one SourceReport each in order."""
    write(
        tmp_path / "n1" / "A_License_Repository.txt",
        [usage_denied(at(1, 8), "CORP\\a"), LicenseLogRow(at(4, 1))],
    )
    write(
        tmp_path / "n2" / "B_License_Repository.txt",
        [usage_denied(at(2, 8), "corp\\A"), usage_denied(at(2, 9), "CORP\\b")],
    )
    report = read(tmp_path, "n2", "n1")
    assert [(d.user, d.count, d.first, d.last) for d in report.denials] == [
        ("corp\\A", 2, at(1, 8), at(2, 8)),
        ("CORP\\b", 1, at(2, 9), at(2, 9)),
    ]
    assert [(s.path, s.files, s.rows, s.newest_entry) for s in report.sources] == [
        ("n2", 1, 2, at(2, 9)),
        ("n1", 1, 2, at(4, 1)),
    ]


def test_a_person_denied_from_loopback_is_still_counted(tmp_path: Path) -> None:
    """An admin browsing on the server (::1) is a person, not the service account."""
    write(
        tmp_path / "X_License_Repository.txt", [usage_denied(at(1, 8), "CORP\\admin", host="::1")]
    )
    report = read(tmp_path, "X_License_Repository.txt")
    assert (counts(report), report.excluded) == ({"CORP\\admin": 1}, {})


def test_the_service_account_from_a_remote_host_is_counted(tmp_path: Path) -> None:
    """The service account denied from another machine is not the monitoring apps: counted."""
    write(
        tmp_path / "X_License_Repository.txt",
        [usage_denied(at(1, 8), "DOMAIN\\qvservice", host="::ffff:10.1.1.1")],
    )
    report = read(tmp_path, "X_License_Repository.txt")
    assert (counts(report), report.excluded) == ({"DOMAIN\\qvservice": 1}, {})


def test_service_account_is_recognised_case_insensitively(tmp_path: Path) -> None:
    """UserName equal to ServiceUser in another case is the service account."""
    write(
        tmp_path / "X_License_Repository.txt",
        [usage_denied(at(1, 8), "domain\\QVSERVICE", host="127.0.0.1")],
    )
    assert read(tmp_path, "X_License_Repository.txt").excluded == {"domain\\QVSERVICE": 1}


def test_configured_service_account_patterns(tmp_path: Path) -> None:
    """Accounts matching a pattern (fnmatch, any case) are service accounts too."""
    rows = [
        usage_denied(at(1, 8), "INTERNAL\\sa_repository", host="::ffff:127.0.0.1"),
        usage_denied(at(1, 9), "CORP\\svc-monitor", host="::1"),
        usage_denied(at(1, 10), "CORP\\person", host="::1"),
    ]
    write(tmp_path / "X_License_Repository.txt", rows)
    without = read(tmp_path, "X_License_Repository.txt")
    assert (len(without.denials), without.excluded) == (3, {})
    with_patterns = read(
        tmp_path, "X_License_Repository.txt", accounts=("INTERNAL\\*", "corp\\SVC-*")
    )
    assert counts(with_patterns) == {"CORP\\person": 1}
    assert with_patterns.excluded == {"CORP\\svc-monitor": 1, "INTERNAL\\sa_repository": 1}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("::1", True),
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::ffff:172.16.16.100", False),
        ("10.0.0.1", False),
        ("fe80::1", False),
        ("qlikserver1", False),
        ("", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    """Loopback in all its spellings; other addresses and names are not."""
    assert is_loopback(host) is loopback


def test_a_denial_without_a_host_is_not_excluded(tmp_path: Path) -> None:
    """A service-account denial whose message names no host cannot be proven local: counted."""
    row = usage_denied(at(1, 8), "DOMAIN\\qvservice")._replace(message="No available access type")
    write(tmp_path / "X_License_Repository.txt", [row])
    assert counts(read(tmp_path, "X_License_Repository.txt")) == {"DOMAIN\\qvservice": 1}


def test_user_guid_comes_from_the_latest_denial(tmp_path: Path) -> None:
    """A user deleted and re-created in QRS is reported with the GUID of the latest denial."""
    rows = [
        usage_denied(at(1, 8), "CORP\\a", user_id="old-guid"),
        usage_denied(at(1, 9), "CORP\\a", user_id="new-guid"),
        usage_denied(at(1, 10), "CORP\\a"),
    ]
    write(tmp_path / "X_License_Repository.txt", rows)
    assert read(tmp_path, "X_License_Repository.txt").denials[0].user_id == "new-guid"


def test_copies_of_a_file_are_counted_once(tmp_path: Path) -> None:
    """The same archived file in two places: rows with an already counted Id are duplicates."""
    write(
        tmp_path / "share" / "n1" / "X_License_Repository_2024-03-01T00.00.00Z.log",
        [usage_denied(at(1, 8), "CORP\\a")],
    )
    shutil.copytree(tmp_path / "share" / "n1", tmp_path / "share" / "backup")
    report = read(tmp_path, "share")
    assert counts(report) == {"CORP\\a": 1}
    assert (report.sources[0].files, report.sources[0].duplicates) == (2, 1)


def test_a_file_named_by_two_sources_is_counted_once(tmp_path: Path) -> None:
    """Overlapping sources (a folder and a file in it): denials once, freshness for both."""
    write(tmp_path / "logs" / "X_License_Repository.txt", [usage_denied(at(1, 8), "CORP\\a")])
    report = read(tmp_path, "logs", "logs/X_License_Repository.txt")
    assert counts(report) == {"CORP\\a": 1}
    assert [(s.files, s.rows, s.duplicates, s.newest_entry) for s in report.sources] == [
        (1, 1, 0, at(1, 8)),
        (1, 1, 0, at(1, 8)),
    ]


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    """Wrong field count, bad timestamp and an unusable user name are skipped, not fatal."""
    path = write(
        tmp_path / "X_License_Repository.txt",
        [
            usage_denied(at(1, 8), "CORP\\good"),
            usage_denied(at(1, 9), "no-directory"),
            usage_denied(at(1, 10), " CORP\\padded"),
        ],
        crlf=False,
    )
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    bad_time = lines[1].replace("20240301T080000.000+0100", "2024-13-01T08:00")
    path.write_text("\n".join([*lines, bad_time, lines[1] + "\tsurplus"]) + "\n", encoding="utf-8")
    report = read(tmp_path, "X_License_Repository.txt")
    assert counts(report) == {"CORP\\good": 1}
    assert (report.sources[0].rows, report.sources[0].skipped) == (5, 4)


def test_a_truncated_last_line_of_a_live_file(tmp_path: Path) -> None:
    """A live file being written ends mid-line: that line is skipped, the rest is read."""
    path = write(
        tmp_path / "X_License_Repository.txt",
        [usage_denied(at(1, 8), "CORP\\a"), LicenseLogRow(at(1, 9))],
    )
    data = path.read_bytes()
    path.write_bytes(data + data.splitlines(keepends=True)[1][:120])
    report = read(tmp_path, "X_License_Repository.txt")
    assert counts(report) == {"CORP\\a": 1}
    (source,) = report.sources
    assert (source.rows, source.skipped, source.newest_entry) == (3, 1, at(1, 9))


def test_newest_entry_is_any_operation_in_utc(tmp_path: Path) -> None:
    """Freshness comes from the last row whatever it is, reported in UTC like all times."""
    write(
        tmp_path / "X_License_Repository.txt",
        [usage_denied(at(1, 8), "CORP\\a"), LicenseLogRow(at(2, 23, 30))],
    )
    report = read(tmp_path, "X_License_Repository.txt")
    newest = report.sources[0].newest_entry
    assert newest == dt.datetime(2024, 3, 2, 22, 30, tzinfo=UTC)
    assert newest is not None
    assert newest.tzinfo is UTC
    first = report.denials[0].first
    assert first is not None
    assert first.tzinfo is UTC


def test_no_sources_is_an_empty_report(tmp_path: Path) -> None:
    """Nothing configured, nothing read."""
    assert read_denials([], root=tmp_path, since=LONG_AGO) == DenialReport(since=LONG_AGO)


def test_relative_and_absolute_source_paths(tmp_path: Path) -> None:
    """Relative paths resolve against root; absolute paths are used as they are."""
    write(
        tmp_path / "site" / "logs" / "X_License_Repository.txt", [usage_denied(at(1, 8), "CORP\\a")]
    )
    absolute = str(tmp_path / "site" / "logs")
    assert counts(read(tmp_path / "site", "logs")) == counts(read(tmp_path / "elsewhere", absolute))


# --- errors ------------------------------------------------------------------------------------


def test_error_missing_folder(tmp_path: Path) -> None:
    """A source that does not exist is named as configured."""
    assert error(tmp_path, logs("nowhere/logs")) == "nowhere/logs: no such file or folder"


def test_error_folder_without_licence_logs(tmp_path: Path) -> None:
    """A folder holding no licence log is most likely the wrong folder."""
    write(tmp_path / "Log" / "Proxy" / "Trace" / "QS1_Audit_Proxy.txt", [])
    assert error(tmp_path, logs("Log")) == (
        "Log: no licence log found under this folder "
        "(looked for *_License_Repository.txt and *_License_Repository_*.log)"
    )


def test_error_unknown_kind(tmp_path: Path) -> None:
    """Only logs and csv are known kinds."""
    assert error(tmp_path, [DenialSource("json", "x.json")]) == (
        "x.json: unknown denial source kind 'json' (expected logs or csv)"
    )


@needs_symlinks
def test_error_unreadable_file(tmp_path: Path) -> None:
    """A file that cannot be opened (here a dangling link) is named with the reason."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "X_License_Repository.txt").symlink_to(tmp_path / "missing")
    assert error(tmp_path, logs("logs")) == (
        "logs/X_License_Repository.txt: cannot read: No such file or directory"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_error_file_without_read_permission(tmp_path: Path) -> None:
    """A file the process may not read is named with the reason."""
    path = write(tmp_path / "X_License_Repository.txt", [])
    path.chmod(0)
    try:
        assert error(tmp_path, logs("X_License_Repository.txt")) == (
            "X_License_Repository.txt: cannot read: Permission denied"
        )
    finally:
        path.chmod(0o600)


def test_error_not_utf8(tmp_path: Path) -> None:
    """A log saved in a legacy code page is refused, naming file and line."""
    path = write(
        tmp_path / "logs" / "X_License_Repository.txt", [usage_denied(at(1, 8), "CORP\\jörg")]
    )
    path.write_bytes(path.read_bytes().replace("ö".encode(), b"\xf6"))
    assert error(tmp_path, logs("logs")) == (
        f"logs{os.sep}X_License_Repository.txt: not UTF-8 text (byte 0xf6 on line 2)"
    )


def test_error_header_lacks_columns(tmp_path: Path) -> None:
    """A header without Operation or UserName cannot hold denials."""
    columns = ("Sequence#", "Timestamp", "ServiceUser", "Message", "Checksum")
    write(
        tmp_path / "logs" / "X_License_Repository.txt", [LicenseLogRow(at(1, 8))], columns=columns
    )
    assert error(tmp_path, logs("logs")) == (
        f"logs{os.sep}X_License_Repository.txt: header lacks column(s) Operation, UserName; "
        "columns seen: Sequence#, Timestamp, ServiceUser, Message, Checksum"
    )


def test_error_empty_file(tmp_path: Path) -> None:
    """A zero-byte licence log has no header."""
    (tmp_path / "X_License_Repository.txt").write_bytes(b"")
    assert error(tmp_path, logs("X_License_Repository.txt")) == (
        "X_License_Repository.txt: empty file, expected a header line naming the columns"
    )


def test_naive_since_is_a_programming_error(tmp_path: Path) -> None:
    """`since` must be aware: the caller owns the clock and its zone."""
    with pytest.raises(ValueError, match="naive datetime"):
        read_denials([], root=tmp_path, since=dt.datetime(2024, 1, 1))
