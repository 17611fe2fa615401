"""The licence log format: timestamps, the writer, and the block-wise scan."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from licsync.errors import SignalError
from licsync.signals.licenselog import (
    COLUMNS,
    LicenseLogRow,
    LogScan,
    format_log_timestamp,
    parse_log_timestamp,
    scan_license_log,
    usage_denied,
    write_license_log,
)

CET = dt.timezone(dt.timedelta(hours=1))
DATA = Path(__file__).parent / "data" / "logs"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
REAL_HEADER = (
    "Sequence#\tTimestamp\tLevel\tHostname\tLogger\tThread\tId\tServiceUser\tMessage\t"
    "ProxySessionId\tAccessTypeId\tAccessType\tOperation\tUserName\tUserId\tChecksum"
)


def at(hour: int, minute: int, second: int = 0, ms: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, 1, hour, minute, second, ms * 1000, tzinfo=CET)


def sample_rows() -> list[LicenseLogRow]:
    return [
        LicenseLogRow(at(8, 0), message="Starting license and access usage maintenance"),
        usage_denied(
            at(8, 1, 2, 345), "CORP\\alice", user_id="c85d8ce4-b05e-467c-9810-e1a339318819"
        ),
        LicenseLogRow(at(8, 2), operation="Update", user_name="CORP\\bob", message="Last used"),
        usage_denied(at(8, 3), "DOMAIN\\qvservice", host="::1"),
        LicenseLogRow(at(8, 4), message="License maintenance completed"),
    ]


Found = list[tuple[dt.datetime, list[str]]]


def collector(
    found: Found,
) -> Callable[[Mapping[str, int]], Callable[[dt.datetime, list[str]], None]]:
    """A ``consume`` for scan_license_log that appends every match to ``found``."""

    def consume(index: Mapping[str, int]) -> Callable[[dt.datetime, list[str]], None]:
        return lambda stamp, fields: found.append((stamp, fields))

    return consume


def scan(
    path: Path, *, block_size: int = 64 << 10, required: tuple[str, ...] = ()
) -> tuple[LogScan, Found]:
    found: Found = []
    result = scan_license_log(
        path,
        name=path.name,
        column="Operation",
        value="UsageDenied",
        consume=collector(found),
        required=required,
        block_size=block_size,
    )
    return result, found


def test_parse_log_timestamp_keeps_the_written_offset() -> None:
    """The real format parses to an aware datetime in the file's own offset."""
    value = parse_log_timestamp("20190201T080842.468+0100")
    assert value == dt.datetime(2019, 2, 1, 8, 8, 42, 468000, tzinfo=CET)
    assert value.utcoffset() == dt.timedelta(hours=1)


@pytest.mark.parametrize("text", ["20190201T080842.468", "yesterday", "", "2019-02-01"])
def test_parse_log_timestamp_refuses_naive_or_garbage(text: str) -> None:
    """A timestamp without an offset, or not a timestamp, raises ValueError."""
    with pytest.raises(ValueError, match=r"."):
        parse_log_timestamp(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2019, 2, 1, 8, 8, 42, 468000, tzinfo=CET), "20190201T080842.468+0100"),
        (dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), "20241231T235959.999+0000"),
        (
            dt.datetime(
                2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))
            ),
            "20240102T030405.000-0530",
        ),
    ],
)
def test_format_log_timestamp_writes_the_real_format(value: dt.datetime, text: str) -> None:
    """Formatting gives the log's basic ISO 8601 form in the value's offset, and parses back."""
    assert format_log_timestamp(value) == text
    assert parse_log_timestamp(text) == value.replace(microsecond=value.microsecond // 1000 * 1000)


def test_format_log_timestamp_tells_dst_fold_apart() -> None:
    """The repeated hour of a DST fall-back is written with each of its two offsets."""
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        zone = zoneinfo.ZoneInfo("America/New_York")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this system")
    first = dt.datetime(2024, 11, 3, 1, 30, tzinfo=zone)
    assert format_log_timestamp(first) == "20241103T013000.000-0400"
    assert format_log_timestamp(first.replace(fold=1)) == "20241103T013000.000-0500"


def test_format_log_timestamp_refuses_naive() -> None:
    """A naive datetime is a programming error."""
    with pytest.raises(ValueError, match="naive datetime"):
        format_log_timestamp(dt.datetime(2024, 1, 1))


def test_writer_reproduces_the_real_layout(tmp_path: Path) -> None:
    """BOM, the 16-column header, CRLF, 16 fields a row, GUID ids and 40-hex checksums."""
    path = tmp_path / "QLIKSERVER1_License_Repository.txt"
    assert write_license_log(path, sample_rows(), machine="QlikServer1") == 5
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf" + REAL_HEADER.encode() + b"\r\n")
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == data.count(b"\n") == 6
    lines = data[3:].decode().split("\r\n")[1:-1]
    for number, line in enumerate(lines, start=1):
        fields = dict(zip(COLUMNS, line.split("\t"), strict=True))
        assert fields["Sequence#"] == str(number)
        assert fields["Hostname"] == "QlikServer1"
        assert GUID.match(fields["Id"])
        assert HEX40.match(fields["Checksum"])
    denial = dict(zip(COLUMNS, lines[1].split("\t"), strict=True))
    assert denial["Timestamp"] == "20240301T080102.345+0100"
    assert denial["Operation"] == "UsageDenied"
    assert denial["AccessType"] == denial["AccessTypeId"] == ""
    assert (
        denial["Logger"] == "License.Repository.Repository.Core.Resource.RequestAccessTypeResource"
    )
    assert denial["Message"] == (
        f"No available access type, SessionID: {denial['ProxySessionId']}, "
        'Hostname: "::ffff:10.0.0.1"'
    )


def test_writer_without_bom_and_with_lf(tmp_path: Path) -> None:
    """bom=False and crlf=False write plain UTF-8 with LF line ends."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows(), bom=False, crlf=False)
    data = path.read_bytes()
    assert data.startswith(REAL_HEADER.encode() + b"\n")
    assert b"\r" not in data
    assert data.count(b"\n") == 6


def test_writer_is_deterministic_and_ids_differ_between_files(tmp_path: Path) -> None:
    """The same call writes the same bytes; the same rows in another file get other ids."""
    first = tmp_path / "one" / "A_License_Repository.txt"
    again = tmp_path / "two" / "A_License_Repository.txt"
    other = tmp_path / "one" / "B_License_Repository.txt"
    for path in (first, again, other):
        path.parent.mkdir(exist_ok=True)
        write_license_log(path, sample_rows())
    assert first.read_bytes() == again.read_bytes()
    ids = {line.split(b"\t")[6] for line in first.read_bytes().splitlines()[1:]}
    other_ids = {line.split(b"\t")[6] for line in other.read_bytes().splitlines()[1:]}
    assert len(ids) == len(other_ids) == 5
    assert not ids & other_ids


def test_writer_output_matches_the_committed_golden_file(tmp_path: Path) -> None:
    """The writer still produces the bytes of tests/data/logs/golden byte for byte."""
    golden = DATA / "golden" / "QLIKSERVER1_License_Repository.txt"
    path = tmp_path / golden.name
    write_license_log(path, sample_rows(), machine="QlikServer1")
    assert path.read_bytes() == golden.read_bytes()


def test_writer_keeps_given_ids_sequence_and_thread(tmp_path: Path) -> None:
    """Explicit Id, Sequence# and Thread are written as given."""
    path = tmp_path / "X_License_Repository.txt"
    row = LicenseLogRow(at(9, 0), id="my-id", sequence=158, thread="57", logger="L", level="WARN")
    write_license_log(path, [row])
    fields = path.read_bytes().decode("utf-8-sig").splitlines()[1].split("\t")
    assert fields[:7] == [
        "158",
        "20240301T090000.000+0100",
        "WARN",
        "QLIKSERVER1",
        "L",
        "57",
        "my-id",
    ]


def test_writer_custom_columns_reorders_and_leaves_unknown_empty(tmp_path: Path) -> None:
    """A custom column list writes that header, each value under its name, unknown names empty."""
    path = tmp_path / "X_License_Repository.txt"
    columns = ("UserName", "Exception", "Operation", "Timestamp", "Checksum", "Message")
    write_license_log(path, [usage_denied(at(9, 0), "CORP\\a", host="::1")], columns=columns)
    header, line = path.read_bytes().decode("utf-8-sig").splitlines()
    assert header == "\t".join(columns)
    fields = line.split("\t")
    assert fields[:4] == ["CORP\\a", "", "UsageDenied", "20240301T090000.000+0100"]
    assert HEX40.match(fields[4])
    assert fields[5].endswith('Hostname: "::1"')


def test_writer_refuses_naive_timestamps(tmp_path: Path) -> None:
    """A naive row timestamp raises ValueError rather than writing a time without offset."""
    with pytest.raises(ValueError, match="naive datetime"):
        write_license_log(tmp_path / "x.txt", [LicenseLogRow(dt.datetime(2024, 1, 1))])


def test_scan_finds_denials_rows_and_newest(tmp_path: Path) -> None:
    """The scan hands over each denial in order and reports rows and the newest entry."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows())
    result, found = scan(path)
    assert result.columns == COLUMNS
    assert (result.rows, result.skipped, result.matched) == (5, 0, 2)
    assert result.newest == at(8, 4)
    assert [(stamp, fields[13]) for stamp, fields in found] == [
        (at(8, 1, 2, 345), "CORP\\alice"),
        (at(8, 3), "DOMAIN\\qvservice"),
    ]


@pytest.mark.parametrize("block_size", [1, 2, 7, 100, 333, 4096])
def test_scan_gives_the_same_answer_whatever_the_block_size(
    tmp_path: Path, block_size: int
) -> None:
    """Lines straddling read blocks (down to one byte a block) are found exactly once."""
    path = tmp_path / "X_License_Repository.txt"
    rows = [
        usage_denied(at(10, i // 60, i % 60), f"CORP\\u{i % 7}")
        if i % 3 == 0
        else LicenseLogRow(at(10, i // 60, i % 60))
        for i in range(120)
    ]
    write_license_log(path, rows)
    with path.open("ab") as out:
        out.write(b"121\t20240301T110000.000+0100\tINFO\tX\tL\t1\tid\tsvc\tcut off her")
    expected, expected_found = scan(path)
    result, found = scan(path, block_size=block_size)
    assert result == expected
    assert found == expected_found
    assert (result.rows, result.skipped, result.matched) == (121, 1, 40)


def test_scan_handles_a_line_longer_than_a_block(tmp_path: Path) -> None:
    """A denial whose line is many blocks long is still read whole."""
    path = tmp_path / "X_License_Repository.txt"
    long_message = "x" * 5000
    rows = [
        LicenseLogRow(at(9, 0)),
        usage_denied(at(9, 1), "CORP\\long")._replace(message=long_message),
    ]
    write_license_log(path, rows)
    result, found = scan(path, block_size=64)
    assert (result.rows, result.matched) == (2, 1)
    assert found[0][1][8] == long_message


def test_scan_skips_and_counts_a_truncated_last_line(tmp_path: Path) -> None:
    """A half-written final line is skipped and counted; the newest entry is the last whole one."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows())
    with path.open("ab") as out:
        out.write(b"6\t20240301T090000.000+0100\tINFO\tQLIKSERVER1\tLicense.Repo")
    result, _ = scan(path)
    assert (result.rows, result.skipped, result.newest) == (6, 1, at(8, 4))


def test_scan_skips_a_denial_cut_short(tmp_path: Path) -> None:
    """A final denial line cut before its last fields is malformed, not a denial."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows()[:2])
    data = path.read_bytes()
    path.write_bytes(data + data.splitlines(keepends=True)[2][:-60])
    result, found = scan(path)
    assert (result.rows, result.skipped, result.matched, len(found)) == (3, 1, 1, 1)


def test_scan_tolerates_a_character_cut_in_half_at_the_end(tmp_path: Path) -> None:
    """Broken UTF-8 in an unterminated last line is a malformed line, not a non-UTF-8 file."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows())
    with path.open("ab") as out:
        out.write("6\t20240301T090000.000+0100\tINFO\tX\tL\t1\tid\tDOMAIN\\jö".encode()[:-1])
    result, _ = scan(path)
    assert (result.rows, result.skipped) == (6, 1)


def test_scan_reads_non_ascii_names(tmp_path: Path) -> None:
    """UTF-8 names beyond ASCII are read (the file is validated, not refused)."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, [LicenseLogRow(at(9, 0)), usage_denied(at(9, 1), "CORP\\jörg.müller")])
    _, found = scan(path, block_size=50)
    assert [fields[13] for _, fields in found] == ["CORP\\jörg.müller"]


def test_scan_ignores_the_value_outside_its_column(tmp_path: Path) -> None:
    """A row mentioning UsageDenied in its message but with another operation is no match."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(
        path, [LicenseLogRow(at(9, 0), operation="Update", message="was UsageDenied before")]
    )
    result, found = scan(path)
    assert (result.matched, result.skipped, found) == (0, 0, [])


def test_scan_skips_denials_with_a_bad_timestamp_or_width(tmp_path: Path) -> None:
    """Denial lines with an unreadable timestamp or a wrong field count are skipped and counted."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows(), crlf=False)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    fields = lines[2].split("\t")
    bad_time = "\t".join([*fields[:1], "01/03/2024 08:01", *fields[2:]])
    extra_field = lines[2] + "\textra"
    path.write_text("\n".join([*lines, bad_time, extra_field, lines[5]]) + "\n", encoding="utf-8")
    result, found = scan(path)
    assert (result.rows, result.skipped, result.matched, len(found)) == (8, 2, 2, 2)


def test_scan_newest_is_the_maximum_of_the_final_lines(tmp_path: Path) -> None:
    """Final rows a little out of order (concurrent threads) still give the newest time."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(
        path, [LicenseLogRow(at(9, 0)), LicenseLogRow(at(9, 5)), LicenseLogRow(at(9, 4, 59))]
    )
    assert scan(path)[0].newest == at(9, 5)


def test_scan_of_a_header_only_file(tmp_path: Path) -> None:
    """A fresh log with just its header has no rows and no newest entry."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, [])
    assert scan(path)[0] == LogScan(
        COLUMNS, dict(zip(COLUMNS, range(16), strict=True)), 0, 0, None, 0
    )
    path.write_bytes(REAL_HEADER.encode())  # not even a line break
    assert scan(path)[0].rows == 0


def test_scan_counts_blank_lines_as_rows(tmp_path: Path) -> None:
    """Blank lines are rows (documented: telling them apart costs a pass) but never malformed."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows())
    path.write_bytes(path.read_bytes() + b"\r\n\r\n")
    result, _ = scan(path)
    assert (result.rows, result.skipped, result.newest) == (7, 0, at(8, 4))


def test_scan_error_on_an_empty_file(tmp_path: Path) -> None:
    """An empty file (or a BOM alone) has no header."""
    path = tmp_path / "X_License_Repository.txt"
    for content in (b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"):
        path.write_bytes(content)
        with pytest.raises(SignalError) as caught:
            scan(path)
        assert str(caught.value) == (
            "X_License_Repository.txt: empty file, expected a header line naming the columns"
        )


def test_scan_error_on_missing_columns(tmp_path: Path) -> None:
    """A header without the needed columns names them and the columns it has."""
    path = tmp_path / "X_License_Repository.txt"
    path.write_bytes(b"Sequence#\tTimestamp\tMessage\r\n1\t20240301T090000.000+0100\thello\r\n")
    with pytest.raises(SignalError) as caught:
        scan(path, required=("UserName", "Message"))
    assert str(caught.value) == (
        "X_License_Repository.txt: header lacks column(s) Operation, UserName; "
        "columns seen: Sequence#, Timestamp, Message"
    )


def test_scan_error_on_non_utf8_names_the_line(tmp_path: Path) -> None:
    """A Latin-1 byte in a complete line makes the file non-UTF-8, with its line number."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows())
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b"CORP\\bob", b"CORP\\b\xf6b")
    path.write_bytes(b"\r\n".join(lines))
    for block_size in (16, 64 << 10):
        with pytest.raises(SignalError) as caught:
            scan(path, block_size=block_size)
        assert str(caught.value) == "X_License_Repository.txt: not UTF-8 text (byte 0xf6 on line 4)"


def test_scan_error_on_a_non_utf8_header(tmp_path: Path) -> None:
    """A header that is not UTF-8 is reported on line 1."""
    path = tmp_path / "X_License_Repository.txt"
    path.write_bytes(b"Sequence#\tTime\xa7stamp\r\n")
    with pytest.raises(SignalError) as caught:
        scan(path)
    assert str(caught.value) == "X_License_Repository.txt: not UTF-8 text (byte 0xa7 on line 1)"


def test_scan_error_on_utf16(tmp_path: Path) -> None:
    """A UTF-16 file (what some Windows tools save) is refused with a hint."""
    path = tmp_path / "X_License_Repository.txt"
    path.write_bytes(("\ufeff" + REAL_HEADER + "\r\n").encode("utf-16-le"))
    with pytest.raises(SignalError) as caught:
        scan(path)
    assert str(caught.value) == (
        "X_License_Repository.txt: not UTF-8 text (it starts with a UTF-16 byte-order mark); "
        "save it as UTF-8"
    )


def test_scan_error_on_an_unreadable_file(tmp_path: Path) -> None:
    """A file that cannot be opened is a SignalError naming it, not an OSError."""
    with pytest.raises(SignalError) as caught:
        scan(tmp_path / "gone_License_Repository.txt")
    assert (
        str(caught.value) == "gone_License_Repository.txt: cannot read: No such file or directory"
    )


@pytest.mark.parametrize("crlf", [True, False])
@pytest.mark.parametrize("block_size", [7, 1 << 16])
def test_an_archived_log_s_signature_trailer_is_part_of_the_format(
    tmp_path: Path, crlf: bool, block_size: int
) -> None:
    """``Signature:<TAB><sha1>`` ends an archived log: not a row, not a malformed line; the
    newest entry is the last row's."""
    path = tmp_path / "X_License_Repository_2024-03-01T09.00.00Z.log"
    write_license_log(path, sample_rows(), crlf=crlf, signed=True)
    assert re.search(rb"\nSignature:\t[0-9a-f]{40}\r?\n\Z", path.read_bytes())
    result, found = scan(path, block_size=block_size)
    assert (result.rows, result.skipped, result.matched) == (5, 0, 2)
    assert result.newest == at(8, 4)
    assert len(found) == 2


def test_a_signature_without_its_final_line_break_is_a_trailer_too(tmp_path: Path) -> None:
    path = tmp_path / "X_License_Repository_2024-03-01T09.00.00Z.log"
    write_license_log(path, sample_rows(), signed=True)
    path.write_bytes(path.read_bytes().removesuffix(b"\r\n"))
    result, _ = scan(path)
    assert (result.rows, result.skipped) == (5, 0)


def test_a_signature_line_elsewhere_is_still_malformed(tmp_path: Path) -> None:
    """Only the last line is the trailer: a signature in the middle is a malformed line."""
    path = tmp_path / "X_License_Repository.txt"
    write_license_log(path, sample_rows(), signed=True)
    with path.open("ab") as out:
        out.write(path.read_bytes().splitlines(keepends=True)[-2])
    result, _ = scan(path)
    assert result.skipped == 1
