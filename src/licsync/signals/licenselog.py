"""The Qlik Sense licence log format: ``<MACHINE>_License_Repository.txt`` and its archives.

The Qlik Repository Service writes one licence log per node, ``Repository\\Trace`` under
``%ProgramData%\\Qlik\\Sense\\Log``. This module knows the bytes of that file; what a denial is
lives in :mod:`licsync.signals.denials`.

Verified by reading the bytes of a real file (Qlik Sense April 2018, version 12.16.2, QRS
20.4.2.0, as its ``AboutSystemInfo_*.json`` says; public CC0
sample ``BjarniPeturFridjonsson/Qlik-SupportTools`` ``QlikSenseLogCollectorOutput.zip``, entry
``Log/Repository/Trace/QLIKSERVER1_License_Repository.txt``; see ``shared/reference/qrs-api.md``
§8.2):

- UTF-8 with a byte-order mark, CRLF line endings, TAB-separated, no quoting.
- The first line is the header; it names the 16 columns of :data:`COLUMNS`, in that order.
- Timestamps look like ``20190201T080842.468+0100``: local time with its UTC offset. Qlik
  documents the format as ISO 8601 ``YYYYMMDDThhmmss.fffK`` (help.qlik.com, "Common fields" of
  the trace logs).
- Rows are appended in time order: in the sample both ``Timestamp`` and ``Sequence#`` ascend on
  every line (checked with ``sort -c``). Qlik documents that ``Sequence#`` wraps or restarts, so
  the sequence number is never used for ordering here.
- Denial rows have an empty ``AccessTypeId``/``AccessType``; maintenance rows leave the trailing
  user columns empty but still carry all 16 fields.
- An archived log ends with a trailer line ``Signature:<TAB><40 hex digits>`` (line 159 of the
  same zip's ``QLIKSERVER1_License_Repository_2019-02-01T03.39.00Z.log``): part of the format,
  not a row, never counted as a malformed line (:data:`TRAILER`).

Documented by Qlik (help.qlik.com "Naming" of the new log file format, November 2019): the live
file ``<MachineName>_<LogType>_<Service>.txt`` is renamed on roll-over to
``<MachineName>_<LogType>_<Service>_<YYYY-MM-DDTHH.mm.ss>Z.log`` and moved to the ArchivedLogs
share, so an archived ``.log`` has the same content layout as the live ``.txt``.

Assumptions (UNVERIFIED):

- Column layouts change between releases (the Trace "common fields" page lists optional
  ``Exception``/``StackTrace`` columns), so readers locate columns by header name only.
- The ``Checksum`` algorithm is not public. :func:`write_license_log` fills it with a SHA-1 of the
  row (salted with the file name), which looks like the real 40-hex value; nothing here ever
  verifies one.
- Messages never contain a TAB or a line break (nothing in the sample does); a line that splits
  into the wrong number of fields is treated as malformed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from licsync.errors import SignalError
from licsync.safefile import open_regular

__all__ = [
    "COLUMNS",
    "MAX_LINE",
    "NEWEST_YEAR",
    "OLDEST_YEAR",
    "LicenseLogRow",
    "LogScan",
    "excerpt",
    "excerpt_columns",
    "format_log_timestamp",
    "parse_log_timestamp",
    "scan_license_log",
    "usage_denied",
    "write_license_log",
]

_log = logging.getLogger(__name__)

#: The header of the real April 2018 file, in order.
COLUMNS: tuple[str, ...] = (
    "Sequence#",
    "Timestamp",
    "Level",
    "Hostname",
    "Logger",
    "Thread",
    "Id",
    "ServiceUser",
    "Message",
    "ProxySessionId",
    "AccessTypeId",
    "AccessType",
    "Operation",
    "UserName",
    "UserId",
    "Checksum",
)

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# How many well-formed lines at the end of a file decide its newest entry. Rows are appended in
# time order, but threads writing concurrently may land a few milliseconds out of order, so the
# maximum of a handful of final lines is taken rather than the very last one.
TRAILER = re.compile(rb"\ASignature:\t[0-9A-Fa-f]{40}\r?\Z")
"""An archived log's last line: its signature (a SHA-1, 40 hex digits), not a row."""

_TAIL_LINES = 32
# Give up looking for well-formed final lines after this many, so a file of garbage costs little.
_TAIL_LIMIT = 1024
# Read size: small enough to stay in the CPU cache while a block is checked, counted and
# searched, and below glibc's 128 KiB mmap threshold so the blocks and their temporaries are
# recycled heap memory. At 1 MiB every block was a fresh mapping: 237,000 page faults and 2.2x
# the time for a million lines (64 KiB: no faults).
_BLOCK = 64 << 10

# Loggers of the real sample, by operation (the writer picks one when the row names none).
_LOGGERS = {
    "UsageDenied": "License.Repository.Repository.Core.Resource.RequestAccessTypeResource",
    "UsageGranted": "License.Repository.Repository.Core.Resource.RequestAccessTypeResource",
    "Add": "License.Repository.Repository.Core.Repository.ProfessionalAccessTypeRepository",
    "Update": "License.Repository.Repository.Core.Repository.ProfessionalAccessTypeRepository",
}
_MAINTENANCE_LOGGER = "License.Repository.Repository.Core.Licensing.LicenseMaintenance"


OLDEST_YEAR = 2000
NEWEST_YEAR = 3000
"""Log times are accepted from 2000 up to (not including) 3000: Qlik Sense first shipped in 2014,
and the same range bounds ``--now``. Beyond it lie datetime's limits, where converting a time
to UTC or subtracting days overflows (a year-9999 row once crashed plan)."""

#: The longest line read: real rows are well under 1 KB. A longer one is skipped and counted,
#: so one 100 MB line costs a pass over its bytes, not memory or a quadratic copy.
MAX_LINE = 1 << 20


def _out_of_range(name: str, line: int, text: str) -> SignalError:
    """The error for a well-formed timestamp outside the years licsync accepts."""
    return SignalError(
        f"{name}:{line}: timestamp {excerpt(text, 40)!r} is outside the years {OLDEST_YEAR} to "
        f"{NEWEST_YEAR - 1}: no licence log holds such a time (is the server clock, or the "
        "file, broken?)"
    )


def parse_log_timestamp(text: str) -> dt.datetime:
    """Parse a log timestamp such as ``20190201T080842.468+0100`` into an aware datetime.

    The offset written in the file is kept. Python 3.11's ``fromisoformat`` reads the ISO 8601
    basic format Qlik writes (and the extended one too). Every result with the same offset
    shares one ``tzinfo`` object: comparing two datetimes whose ``tzinfo`` is the same object
    skips the offset arithmetic (measured 14 ns instead of 230 ns), and readers compare every
    denial several times.

    Raises:
        ValueError: not an ISO 8601 date-time, or one without a UTC offset.
    """
    value = dt.datetime.fromisoformat(text)
    zone = value.tzinfo
    if zone is None:
        msg = f"timestamp {text!r} has no UTC offset"
        raise ValueError(msg)
    shared = _zones.get(zone)
    if shared is None:
        if len(_zones) < 1024:  # bounded: offsets come from untrusted files
            _zones[zone] = zone
        return value
    return value.replace(tzinfo=shared)


_zones: dict[dt.tzinfo, dt.tzinfo] = {}


def format_log_timestamp(value: dt.datetime) -> str:
    """Format an aware datetime as the log does, in its own offset: ``20190201T080842.468+0100``.

    Raises:
        ValueError: ``value`` is naive, or its UTC offset has seconds.
    """
    # Rows come in time order, so most share their minute with the previous one: caching the
    # minute and its offset halves the cost (0.7 us instead of 1.6 us), which shows when the
    # benchmark generator writes a million rows. ``fold`` is in the key because a DST
    # fall-back repeats a local minute with another offset.
    key = (value.year, value.month, value.day, value.hour, value.minute, value.fold, value.tzinfo)
    cached = _minutes.get(key)
    if cached is None:
        cached = _minute_prefix(value)
        if len(_minutes) >= 4096:
            _minutes.clear()
        _minutes[key] = cached
    prefix, offset = cached
    return f"{prefix}{value.second:02d}.{value.microsecond // 1000:03d}{offset}"


_minutes: dict[tuple[object, ...], tuple[str, str]] = {}


def _minute_prefix(value: dt.datetime) -> tuple[str, str]:
    offset = value.utcoffset()
    if offset is None:
        msg = f"naive datetime {value.isoformat()} where an aware one is required"
        raise ValueError(msg)
    seconds = int(offset.total_seconds())
    if seconds % 60:
        msg = f"cannot write {value.isoformat()} in the log format"
        raise ValueError(msg)
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    prefix = f"{value.year:04d}{value.month:02d}{value.day:02d}T{value.hour:02d}{value.minute:02d}"
    return prefix, f"{sign}{hours:02d}{minutes:02d}"


class LicenseLogRow(NamedTuple):
    """One row for :func:`write_license_log`; empty strings are written as empty fields.

    A named tuple rather than a frozen dataclass: the benchmark generator builds a million of
    them, and a 14-field frozen dataclass costs ten times more to construct.

    Attributes:
        timestamp: aware; written in its own UTC offset.
        logger: "" picks the logger the real file uses for ``operation``.
        thread, id: "" derives a plausible value from the row (deterministically).
        sequence: None numbers rows 1, 2, 3, ... in the order written.
    """

    timestamp: dt.datetime
    operation: str = ""
    user_name: str = ""
    user_id: str = ""
    message: str = ""
    service_user: str = "DOMAIN\\qvservice"
    proxy_session_id: str = ""
    access_type_id: str = ""
    access_type: str = ""
    level: str = "INFO"
    logger: str = ""
    thread: str = ""
    id: str = ""
    sequence: int | None = None


def _guid(hex32: str) -> str:
    """A version-4-shaped GUID from 32 hex digits (log4net writes random v4 GUIDs)."""
    h = hex32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def usage_denied(
    timestamp: dt.datetime,
    user_name: str,
    *,
    user_id: str = "",
    host: str = "::ffff:10.0.0.1",
    service_user: str = "DOMAIN\\qvservice",
    session_id: str = "",
) -> LicenseLogRow:
    """A ``UsageDenied`` row shaped like the real ones (message, session id, empty access type).

    ``session_id`` "" derives a GUID from the timestamp and user, so output stays deterministic.
    """
    sid = session_id or _guid(_sha1(f"{timestamp.isoformat()}|{user_name}"))
    return LicenseLogRow(
        timestamp=timestamp,
        operation="UsageDenied",
        user_name=user_name,
        user_id=user_id,
        message=f'No available access type, SessionID: {sid}, Hostname: "{host}"',
        service_user=service_user,
        proxy_session_id=sid,
    )


_THREADS = tuple(str(n) for n in range(10, 90))  # thread ids like the sample's 13..88


def write_license_log(
    path: Path | str,
    rows: Iterable[LicenseLogRow],
    *,
    machine: str = "QLIKSERVER1",
    bom: bool = True,
    crlf: bool = True,
    columns: Sequence[str] = COLUMNS,
    signed: bool = False,
) -> int:
    """Write a licence log in the real file's format; return the number of rows written.

    ``signed`` ends the file with the trailer an archived ``.log`` carries (``Signature:<TAB>``
    and a SHA-1 of what precedes it).

    ``machine`` fills the ``Hostname`` column. ``columns`` defaults to the 16 real columns; tests
    pass a reordered list, or one with extra names (written empty), to exercise readers. The
    ``Checksum`` (algorithm not public) is a SHA-1 of the row salted with the file name and the
    machine, and a missing ``Id`` is a GUID made from it: the same call writes the same bytes,
    and the same rows written to two files get different ids. About 4 s of CPU per million
    rows (the benchmark generator's budget is a few seconds).

    Raises:
        ValueError: a naive timestamp.
        OSError: the file cannot be written.
    """
    target = Path(path)
    eol = "\r\n" if crlf else "\n"
    salt = f"{machine}|{target.name}|"
    custom = tuple(columns) != COLUMNS
    count = 0
    chunk: list[str] = ["\t".join(columns)]
    with target.open("wb") as out:
        if bom:
            out.write(_BOM)
        for row in rows:
            (
                timestamp,
                operation,
                user_name,
                user_id,
                message,
                service_user,
                proxy_session_id,
                access_type_id,
                access_type,
                level,
                logger,
                thread,
                row_id,
                sequence,
            ) = row
            count += 1
            seq = count if sequence is None else sequence
            head = (
                f"{seq}\t{format_log_timestamp(timestamp)}\t{level}\t{machine}\t"
                f"{logger or _LOGGERS.get(operation, _MAINTENANCE_LOGGER)}\t"
                f"{thread or _THREADS[seq % 80]}\t"
            )
            tail = (
                f"\t{service_user}\t{message}\t{proxy_session_id}\t{access_type_id}\t"
                f"{access_type}\t{operation}\t{user_name}\t{user_id}"
            )
            digest = _sha1(f"{salt}{head}{tail}")
            line = f"{head}{row_id or _guid(digest[8:])}{tail}\t{digest}"
            chunk.append(_reorder(line, columns) if custom else line)
            if len(chunk) >= 8192:
                out.write((eol.join(chunk) + eol).encode())
                chunk.clear()
        if chunk:
            out.write((eol.join(chunk) + eol).encode())
        if signed:
            out.write(f"Signature:\t{_sha1(f'{salt}{count}')}{eol}".encode())
    _log.debug("wrote %s rows to %s", count, target)
    return count


def _reorder(line: str, columns: Sequence[str]) -> str:
    """A line of the 16 real columns rearranged under ``columns`` (unknown names empty)."""
    by_name = dict(zip(COLUMNS, line.split("\t"), strict=True))
    return "\t".join(by_name.get(name, "") for name in columns)


@dataclass(frozen=True, slots=True)
class LogScan:
    """What one pass over a licence log found.

    Attributes:
        columns: the header's column names, in file order.
        index: column name -> position (the first, should a name repeat).
        rows: lines after the header, a truncated last line included, an archive's signature
            trailer not. Blank lines (Qlik writes none) count too: telling them apart would
            cost another pass over the bytes.
        skipped: malformed lines met: a wrong number of fields, a bad timestamp, or broken
            UTF-8 in a truncated last line. Only candidate lines and the final lines are parsed,
            so a malformed line elsewhere, which could not change the result, is not counted.
        newest: the newest timestamp among the file's final well-formed lines, any operation.
        matched: rows handed over to the function ``consume`` returned.
    """

    columns: tuple[str, ...]
    index: Mapping[str, int]
    rows: int
    skipped: int
    newest: dt.datetime | None
    matched: int


def scan_license_log(
    path: Path,
    *,
    name: str,
    column: str,
    value: str,
    consume: Callable[[Mapping[str, int]], Callable[[dt.datetime, list[str]], object]],
    required: Iterable[str] = (),
    block_size: int = _BLOCK,
) -> LogScan:
    """Find the rows of a licence log whose ``column`` equals ``value``, without parsing the rest.

    Once the header is read, ``consume(index)`` is called with the column positions (name ->
    position) and returns the function each well-formed matching row is then handed to, in file
    order, as ``(timestamp, fields)``: the timestamp aware in the file's offset, the fields in
    header order (the list is the callee's). Rows are handed over rather than collected so
    memory stays flat however large the file: a million-line log holds tens of thousands.

    Most rows of a busy site are not what is searched for, so the bytes are searched for
    ``value`` and only lines containing it are decoded and split. The file is read in blocks of
    whole lines and each block is checked, counted and searched while it is in the CPU cache;
    the newest entry comes from the final lines, since rows are appended in time order. ``name``
    is how the file is named in error messages; ``block_size`` is the read size (tests make it
    tiny so lines straddle blocks).

    Raises:
        SignalError: unreadable, not UTF-8, no header, or the header lacks ``Timestamp``,
            ``column`` or a ``required`` column.
    """
    try:
        with open_regular(path) as stream:
            scanner = _Scanner(
                stream,
                name=name,
                column=column,
                value=value,
                consume=consume,
                block_size=block_size,
            )
            return scanner.run(required)
    except OSError as exc:
        msg = f"{name}: cannot read: {exc.strerror or exc}"
        raise SignalError(msg) from exc


class _Scanner:
    """One scan of one file; see :func:`scan_license_log`."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        name: str,
        column: str,
        value: str,
        consume: Callable[[Mapping[str, int]], Callable[[dt.datetime, list[str]], object]],
        block_size: int,
        max_line: int = MAX_LINE,
    ) -> None:
        self.stream = stream
        self.block_size = max(1, block_size)
        self.consume = consume
        self.on_match: Callable[[dt.datetime, list[str]], object] = _ignore
        self.matched = 0
        self.name = name
        self.column = column
        self.value = value
        self.needle = value.encode()
        self.rows = 0
        self.skipped_at: set[int] = set()  # file offsets of malformed lines, counted once
        self.width = 0
        self.ts_at = 0
        self.col_at = 0
        self.max_line = max_line
        self.overlong = 0  # lines longer than max_line met
        self.piece_rows = 0  # rows before the piece _lines is searching (for line numbers)
        self.trailer = False  # the file ends with an archive's signature line

    def run(self, required: Iterable[str]) -> LogScan:
        block, header_end = self._read_header()
        start = len(_BOM) if block.startswith(_BOM) else 0
        columns, index = self._header(block[start:header_end], required)

        # Lines never straddle the pieces handed to _lines: each block is cut after its last
        # line break, and the part after it (one partial line) is completed with the head of
        # the next block, so the big block itself is never copied.
        base = 0  # file offset of block[0]
        low = header_end + 1  # where this block's unread lines start
        carry = bytearray()  # a partial line, completed by the next block
        carry_at = 0  # file offset of the carried line
        overlong = False  # inside a line longer than max_line: its bytes are dropped
        recent: list[tuple[bytes, int, int, int]] = []  # last two pieces, for the newest entry
        while True:
            if carry or overlong:
                first_break = block.find(b"\n")
                if first_break < 0:
                    low = len(block)
                    if not overlong and len(carry) + len(block) > self.max_line:
                        overlong = True  # from here on the line costs nothing more
                        carry.clear()
                    if not overlong:
                        carry += block  # a line longer than a block: rare, keep collecting
                elif overlong:
                    self._overlong(carry_at)
                    overlong = False
                    low = first_break + 1
                else:
                    joined = bytes(carry) + block[: first_break + 1]
                    self._lines(joined, 0, len(joined), carry_at)
                    recent = [*recent[-1:], (joined, 0, len(joined), carry_at)]
                    carry.clear()
                    low = first_break + 1
            cut = block.rfind(b"\n") + 1
            if cut > low:
                self._lines(block, low, cut, base)
                recent = [*recent[-1:], (block, low, cut, base)]
            if not carry and not overlong and max(cut, low) < len(block):
                carry += block[max(cut, low) :]
                carry_at = base + max(cut, low)
            base += len(block)
            block = self.stream.read(self.block_size)
            if not block:
                break
            low = 0
        tail = bytes(carry)
        if overlong:
            self._overlong(carry_at)
        elif tail.strip(b"\r"):
            self.rows += 1
            if self.needle in tail:
                self.piece_rows = self.rows - 1
                self._candidate(tail, 0, len(tail), carry_at, 0)
        newest = self._newest(recent, tail if not overlong else b"", carry_at)
        return LogScan(
            columns=columns,
            index=index,
            rows=self.rows - (1 if self.trailer else 0),
            skipped=len(self.skipped_at),
            newest=newest,
            matched=self.matched,
        )

    def _read_header(self) -> tuple[bytes, int]:
        """The first block(s), through the header's line break, and where that break is."""
        # The whole header line comes first, so a byte-order mark is seen even when a block is
        # shorter than the mark.
        block = self.stream.read(self.block_size)
        header_end = block.find(b"\n")
        while header_end < 0 and len(block) <= self.max_line:
            more = self.stream.read(self.block_size)
            if not more:
                header_end = len(block)
                break
            searched = len(block)
            block += more
            header_end = block.find(b"\n", searched)
        if header_end < 0 or header_end > self.max_line:
            msg = (
                f"{self.name}: the first line is longer than {self.max_line:,} bytes, so it is no "
                "header naming columns: not a licence log"
            )
            raise SignalError(msg)
        if block.startswith(_UTF16_BOMS):
            msg = f"{self.name}: not UTF-8 text (it starts with a UTF-16 byte-order mark); "
            raise SignalError(msg + "save it as UTF-8")
        return block, header_end

    def _overlong(self, offset: int) -> None:
        """Skip (and count, and say) a line longer than ``max_line``: never a Qlik row."""
        line = self.rows + 2  # the header is line 1
        self.rows += 1  # neither its line break nor its tail was in a piece handed to _lines
        self.skipped_at.add(offset)
        self.overlong += 1
        if self.overlong == 1:
            _log.warning(
                "%s:%s: line longer than %s bytes skipped (a licence log row is well under 1 KB)",
                self.name,
                line,
                f"{self.max_line:,}",
            )

    def _header(
        self, raw: bytes, required: Iterable[str]
    ) -> tuple[tuple[str, ...], dict[str, int]]:
        try:
            header = raw.decode().removesuffix("\r")
        except UnicodeDecodeError as exc:
            msg = f"{self.name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line 1)"
            raise SignalError(msg) from exc
        if not header.strip():
            msg = f"{self.name}: empty file, expected a header line naming the columns"
            raise SignalError(msg)
        columns = tuple(part.strip() for part in header.split("\t"))
        index: dict[str, int] = {}
        for position, col in enumerate(columns):
            index.setdefault(col, position)
        wanted = dict.fromkeys(["Timestamp", self.column, *required])
        missing = [col for col in wanted if col not in index]
        if missing:
            msg = (
                f"{self.name}: header lacks column(s) {', '.join(missing)}; "
                f"columns seen: {excerpt_columns(columns)}"
            )
            raise SignalError(msg)
        self.width = len(columns)
        self.ts_at = index["Timestamp"]
        self.col_at = index[self.column]
        self.on_match = self.consume(index)
        return columns, index

    def _lines(self, block: bytes, low: int, cut: int, base: int) -> None:
        """Check, count and search the complete lines ``block[low:cut]``."""
        # isascii() runs at memory speed and holds for almost every real block; only a block
        # with non-ASCII bytes (a name like "Jörg", or the BOM) is decoded, to validate it.
        if not block.isascii():
            try:
                block[low:cut].decode()
            except UnicodeDecodeError as exc:
                bad = low + exc.start
                line = 1 + self.rows + block.count(b"\n", low, bad) + 1
                msg = f"{self.name}: not UTF-8 text (byte 0x{block[bad]:02x} on line {line})"
                raise SignalError(msg) from exc
        self.piece_rows = self.rows
        self.rows += _count_breaks(block, low, cut)
        needle = self.needle
        pos = block.find(needle, low, cut)
        while pos >= 0:
            line_start = block.rfind(b"\n", low, pos) + 1 or low
            line_end = block.find(b"\n", pos, cut)
            self._candidate(block, line_start, line_end, base + line_start, low)
            pos = block.find(needle, line_end, cut)

    def _line_number(self, block: bytes, low: int, line_start: int) -> int:
        """The 1-based line of ``block[line_start:]`` (slow: only for an error message)."""
        return self.piece_rows + block.count(b"\n", low, line_start) + 2

    def _candidate(
        self, block: bytes, line_start: int, line_end: int, offset: int, low: int
    ) -> None:
        # _split inlined: this runs once per denial, a million-line file has tens of thousands.
        try:
            fields = block[line_start:line_end].decode().removesuffix("\r").split("\t")
        except UnicodeDecodeError:
            self.skipped_at.add(offset)  # only possible in a truncated last line
            return
        if len(fields) != self.width:
            self.skipped_at.add(offset)
        elif fields[self.col_at] == self.value:
            try:
                stamp = parse_log_timestamp(fields[self.ts_at])
            except ValueError:
                self.skipped_at.add(offset)
            else:
                if not OLDEST_YEAR <= stamp.year < NEWEST_YEAR:
                    line = self._line_number(block, low, line_start)
                    raise _out_of_range(self.name, line, fields[self.ts_at])
                self.matched += 1
                self.on_match(stamp, fields)

    def _newest(
        self, recent: list[tuple[bytes, int, int, int]], tail: bytes, tail_at: int
    ) -> dt.datetime | None:
        """The newest timestamp among the final well-formed lines (rows are in time order)."""
        if recent:
            at = recent[0][3] + recent[0][1]
            buf = b"".join(block[low:cut] for block, low, cut, _ in recent) + tail
        else:
            at, buf = tail_at, tail
        newest: dt.datetime | None = None
        good = seen = 0
        number = self.rows + 1  # of the last line: the header is line 1
        end = len(buf) - 1 if buf.endswith(b"\n") else len(buf)
        while end >= 0 and good < _TAIL_LINES and seen < _TAIL_LIMIT:
            newline = buf.rfind(b"\n", 0, end)
            line = buf[newline + 1 : end]
            if not seen and TRAILER.match(line):
                self.trailer = True  # the archive's signature, the file's last line: not a row
            elif line.strip(b"\r"):
                seen += 1
                fields = _split(line, self.width)
                stamp: dt.datetime | None = None
                if fields is not None:
                    try:
                        stamp = parse_log_timestamp(fields[self.ts_at])
                    except ValueError:
                        stamp = None
                    else:
                        if not OLDEST_YEAR <= stamp.year < NEWEST_YEAR:
                            raise _out_of_range(self.name, number, fields[self.ts_at])
                if stamp is None:
                    self.skipped_at.add(at + newline + 1)
                else:
                    good += 1
                    if newest is None or stamp > newest:
                        newest = stamp
            end = newline
            number -= 1
        return newest


def excerpt(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters of ``text`` from an untrusted file, for a message (once, a
    52 MB header line went to stderr whole)."""
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"


def excerpt_columns(columns: Sequence[str], limit: int = 200) -> str:
    """The column names of a header, as many as fit in ``limit`` characters (each cut short
    too), and how many more there are."""
    shown: list[str] = []
    used = 0
    for name in columns:
        name = excerpt(name, 40)  # noqa: PLW2901 - the shortened name replaces the long one
        if used + len(name) + 2 > limit:
            break
        shown.append(name)
        used += len(name) + 2
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f", ... ({more} more)" if more else "") if columns else "none"


def _ignore(stamp: dt.datetime, fields: list[str]) -> None:
    """Placeholder until the header is read (no row is matched before that)."""


def _split(line: bytes, width: int) -> list[str] | None:
    """The fields of one line, or None when it is malformed (width or encoding)."""
    try:
        text = line.decode()
    except UnicodeDecodeError:
        return None  # only possible in an unvalidated, truncated last line
    fields = text.removesuffix("\r").split("\t")
    return fields if len(fields) == width else None


def _count_breaks(block: bytes, low: int, cut: int) -> int:
    """The number of line breaks in ``block[low:cut]``.

    ``bytes.count`` of one byte is a plain byte-at-a-time loop in CPython 3.11, while deleting
    that byte goes through ``memchr`` and ``memcpy``: measured 7x faster on a 1 MiB block.
    """
    piece = block if low == 0 and cut == len(block) else block[low:cut]
    return len(piece) - len(piece.replace(b"\n", b""))
