"""Users denied access: read from Qlik's licence logs or a License Monitor CSV export.

A user who authenticated but holds no licence is refused an access pass; the Qlik Repository
Service records that as a ``UsageDenied`` row of ``<MACHINE>_License_Repository.txt``. These users
are the candidates for an allocation (the "review users denied access" step of Qlik's monthly
licence maintenance). :func:`read_denials` turns the configured sources into one
:class:`DenialReport` of plain values; it reads files and nothing else (no clock: the caller
compares :attr:`SourceReport.newest_entry` with its own ``now``).

**Licence logs** (``kind: logs``; format in :mod:`licsync.signals.licenselog`). Verified against
the real April 2018 sample (``shared/samples/qlik-logs``, ``shared/reference/qrs-api.md`` §8.2):

- A denial is a row with ``Operation == UsageDenied``. The denied identity is ``UserName``
  (``DIRECTORY\\userid``) and ``UserId`` (the QRS user GUID); ``ServiceUser`` is the account the
  Qlik service runs as, not the user.
- The ``Message`` reads ``No available access type, SessionID: <guid>, Hostname: "<address>"``.
  In the sample, 100 of 108 denials are the service account ``DOMAIN\\qvservice`` from ``::1``:
  the monitoring apps' own REST connections through the local proxy, not a person needing a
  licence. Such rows (a service account from a loopback address) are excluded and counted per
  account. A service account is one whose ``UserName`` equals the row's ``ServiceUser``, or
  matches a configured pattern (case-insensitive ``fnmatch`` on ``DIRECTORY\\userid``, such as
  ``INTERNAL\\*``). Loopback means ``127.0.0.0/8``, ``::1`` and IPv4-mapped ``::ffff:127.x.x.x``
  (the sample shows ``::1``; the others are the same thing spelled differently). A person denied
  from a loopback address (an admin browsing on the server) is still counted.
- Folder layouts: the live node folder (``.../Repository/Trace/<MACHINE>_License_Repository.txt``)
  and the ArchivedLogs share (``<node FQDN>/Repository/Trace/<MACHINE>_License_Repository_
  <YYYY-MM-DDTHH.mm.ss>Z.log``), documented on help.qlik.com ("Naming", new log file format) and
  seen in the log-collector output the sample comes from. Files are found recursively by name,
  case-insensitively: ``*_License_Repository.txt`` and ``*_License_Repository_*.log``.
- Log4net gives every row a GUID ``Id``; a denial whose ``Id`` was already counted (the same
  archived file copied to two places) is counted once.

**License Monitor CSV** (``kind: csv``). The Denied Access table of the License Monitor's User
Detail sheet can be exported, but its exact columns are not public (UNVERIFIED; Qlik documents
only that the object "will show a list of users who have been denied access"). Accepted, by
header name (case, spaces and underscores ignored):

- UTF-8, with or without a byte-order mark; comma, semicolon or TAB delimiter, chosen as the
  one under which the header names a user column (Excel's ``sep=;`` first line is honoured);
  standard CSV quoting.
- The user: ``User``, ``UserName``, ``User Name`` or ``Denied user`` holding
  ``DIRECTORY\\userid``; or ``UserDirectory`` and ``UserId`` columns.
- Optional count: ``Count``, ``Denials``, ``Denied count`` or ``# Denials`` (default 1 a row).
- Optional times: ``Timestamp`` or ``Date`` (one per row), ``First denied``, ``Last denied``.
  ISO 8601 or the log format; a time without offset is taken as UTC (ASSUMPTION: the export
  shows server-local time, so it may be off by the server's offset, immaterial for a look-back
  of days). Rows without any time cannot be filtered by ``since`` and are kept; such a user's
  ``first``/``last`` is None.
- No host is exported, so service-account exclusion does not apply to CSV rows.

**What is counted.** Denials at or after ``since`` (excluded loopback denials too), merged over
all sources into one entry per user, keyed by :func:`licsync.identity.user_key` (case-insensitive)
and spelled as first seen; files are read oldest first (archived ``.log`` files in name order,
which is roll-over time order, then the live ``.txt``). Freshness is the newest row of any
operation, per source. A file named by two sources counts once. Malformed lines and rows (wrong
field count, bad timestamp, bad user, bad count, a line over
:data:`~licsync.signals.licenselog.MAX_LINE`) are skipped and counted, not fatal: a live log
may end in a half-written line. A well-formed time outside the years 2000 to 2999 is an error
naming ``file:line``: no real log holds one, and it would overflow date arithmetic later.
Whole-source problems raise :class:`licsync.errors.SignalError` naming the file (and, for a
configured source, the YAML line naming it); an export of which no row is readable is one of
them, and so is a FIFO or device where a file should be.

**Assumptions** (UNVERIFIED, beyond the one sample): that the monitoring apps' REST connections
always authenticate as the service account (in the sample every one of the 100 noise denials has
``UserName == ServiceUser``); that the License Monitor's Denied Access object is built from these
same ``UsageDenied`` rows (``shared/reference/qrs-api.md`` §8.3), which is why a site should
configure one kind: logs and an export of the same period count the same denials twice.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import fnmatch
import io
import ipaddress
import logging
import os
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from licsync.errors import SignalError
from licsync.identity import split_user, user_key
from licsync.policy import DenialSource, DenialSourceKind
from licsync.safefile import file_identity, read_regular
from licsync.signals.licenselog import (
    NEWEST_YEAR,
    OLDEST_YEAR,
    excerpt_columns,
    scan_license_log,
)
from licsync.signals.model import Denial, DenialReport, SourceReport
from licsync.timeutil import require_aware

__all__ = [
    "Denial",
    "DenialReport",
    "SourceReport",
    "discover_license_logs",
    "is_loopback",
    "read_denials",
]

_log = logging.getLogger(__name__)

_LOG_NAME_PATTERNS = ("*_license_repository.txt", "*_license_repository_*.log")
_DENIED = "UsageDenied"
_REQUIRED_LOG_COLUMNS = ("Timestamp", "ServiceUser", "Message", "Operation", "UserName")
# Denials quote the address with double quotes, UsageGranted rows with single ones.
_HOST = re.compile(r"""Hostname: ["']([^"']*)["']""")


class _Tally:
    """Running totals for one user while sources are read."""

    __slots__ = ("count", "first", "id_stamp", "last", "user", "user_id")

    def __init__(self, user: str) -> None:
        self.user = user
        self.user_id: str | None = None
        self.id_stamp: dt.datetime | None = None
        self.count = 0
        self.first: dt.datetime | None = None
        self.last: dt.datetime | None = None

    def add(self, count: int, first: dt.datetime | None, last: dt.datetime | None) -> None:
        self.count += count
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last


class _ServiceAccounts:
    """Decides whether a ``UserName`` is a service account, memoised per distinct pair."""

    def __init__(self, patterns: Sequence[str]) -> None:
        translated = [fnmatch.translate(p.casefold()) for p in patterns]
        self._pattern = re.compile("|".join(translated)) if translated else None
        self._cache: dict[tuple[str, str], bool] = {}

    def __call__(self, user_name: str, service_user: str) -> bool:
        answer = self._cache.get((user_name, service_user))
        if answer is None:
            folded = user_name.casefold()
            answer = folded == service_user.casefold() or (
                self._pattern is not None and self._pattern.match(folded) is not None
            )
            self._cache[(user_name, service_user)] = answer
        return answer


_loopback_cache: dict[str, bool] = {}


def is_loopback(host: str) -> bool:
    """Whether an address as the log writes it (``::1``, ``::ffff:127.0.0.1``) is loopback."""
    answer = _loopback_cache.get(host)
    if answer is None:
        try:
            address = ipaddress.ip_address(host.strip().strip("[]"))
        except ValueError:
            answer = False  # a host name, or nothing: not provably local
        else:
            mapped = getattr(address, "ipv4_mapped", None)
            answer = address.is_loopback or (mapped is not None and mapped.is_loopback)
        if len(_loopback_cache) < 65536:  # bounded: hosts come from untrusted files
            _loopback_cache[host] = answer
    return answer


def discover_license_logs(path: Path) -> tuple[Path, ...]:
    """The licence log files at ``path``: the file itself, or those found under the folder.

    Within each folder archived ``.log`` files come first in name order (their names end in the
    UTC roll-over time, so name order is time order), then the live ``.txt``; folders are
    visited in name order. The same folder always gives the same order.

    Raises:
        SignalError: ``path`` does not exist, or a folder under it cannot be listed.
    """
    if not path.exists():
        msg = f"{path}: no such file or folder"
        raise SignalError(msg)
    if not path.is_dir():
        return (path,)

    def fail(exc: OSError) -> None:
        msg = f"{exc.filename}: cannot list folder: {exc.strerror or exc}"
        raise SignalError(msg) from exc

    found: list[tuple[str, int, str, Path]] = []
    # Symlinked folders are followed (an ArchivedLogs share is often a link), each real folder
    # once, so a link back up cannot loop.
    visited: set[Hashable] = set()
    for folder, subfolders, names in os.walk(path, onerror=fail, followlinks=True):
        try:
            identity = file_identity(folder, os.stat(folder))
        except OSError as exc:
            fail(exc)
        if identity in visited:
            subfolders.clear()
            continue
        visited.add(identity)
        subfolders.sort()
        relative = Path(folder).relative_to(path).as_posix()
        for name in names:
            folded = name.casefold()
            if fnmatch.fnmatchcase(folded, _LOG_NAME_PATTERNS[1]):
                found.append((relative, 0, name, Path(folder, name)))
            elif fnmatch.fnmatchcase(folded, _LOG_NAME_PATTERNS[0]):
                found.append((relative, 1, name, Path(folder, name)))
    found.sort()
    return tuple(entry[3] for entry in found)


def read_denials(
    sources: Sequence[DenialSource],
    *,
    root: Path,
    since: dt.datetime,
    service_accounts: Sequence[str] = (),
) -> DenialReport:
    """Read every source and merge the users denied access at or after ``since``.

    ``DenialSource.path`` is relative to ``root`` unless absolute. ``service_accounts`` are
    ``fnmatch`` patterns on ``DIRECTORY\\userid`` (as in ``Policy.service_accounts``).

    Raises:
        SignalError: a source is missing, unreadable, not UTF-8, of an unknown kind, holds no
            licence log, or has a header without the needed columns.
        ValueError: ``since`` is naive (a programming error).
    """
    require_aware(since)
    reader = _Reader(since=since, service=_ServiceAccounts(service_accounts))
    reports = tuple(reader.read_source(source, root) for source in sources)
    denials = tuple(
        Denial(
            user=t.user,
            key=key,
            user_id=t.user_id,
            count=t.count,
            first=t.first.astimezone(dt.UTC) if t.first else None,
            last=t.last.astimezone(dt.UTC) if t.last else None,
        )
        for key, t in sorted(reader.tallies.items())
    )
    excluded = {reader.excluded_names[key]: count for key, count in sorted(reader.excluded.items())}
    return DenialReport(since=since, denials=denials, excluded=excluded, sources=reports)


@dataclass
class _Reader:
    """Mutable state of one :func:`read_denials` call (never escapes it)."""

    since: dt.datetime
    service: _ServiceAccounts
    tallies: dict[str, _Tally] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    excluded_names: dict[str, str] = field(default_factory=dict)
    files: dict[Path, _FileSummary] = field(default_factory=dict)  # by resolved path
    seen_ids: set[str] = field(default_factory=set)
    keys: dict[str, str | None] = field(default_factory=dict)
    duplicates: int = 0  # in the file being read
    unusable: int = 0  # in the file being read: denials without a usable user name

    def read_source(self, source: DenialSource, root: Path) -> SourceReport:
        given = Path(source.path)
        path = given if given.is_absolute() else root / given
        if source.kind == DenialSourceKind.LOGS:
            return self._read_logs(source, path)
        if source.kind == DenialSourceKind.CSV:
            return self._read_csv(source, path)
        msg = f"{source.path}: unknown denial source kind {source.kind!r} (expected logs or csv)"
        raise SignalError(_at_source(source, msg))

    def _key(self, user_name: str) -> str | None:
        """The user key of ``DIRECTORY\\userid``, or None when malformed; memoised."""
        try:
            return self.keys[user_name]
        except KeyError:
            parts = split_user(user_name)
            key = user_key(*parts) if parts else None
            self.keys[user_name] = key
            return key

    def _tally(self, key: str, user: str) -> _Tally:
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally(user)
        return tally

    def _read_logs(self, source: DenialSource, path: Path) -> SourceReport:
        if not path.exists():
            # Checked here, not only in discovery, to name the source as configured.
            msg = f"{source.path}: no such file or folder"
            raise SignalError(_at_source(source, msg))
        files = discover_license_logs(path)
        if not files:
            msg = (
                f"{source.path}: no licence log found under this folder "
                "(looked for *_License_Repository.txt and *_License_Repository_*.log)"
            )
            raise SignalError(_at_source(source, msg))
        summaries = []
        for file in files:
            resolved = file.resolve()
            summary = self.files.get(resolved)
            if summary is None:
                summary = self.files[resolved] = self._scan(file, _display(source.path, path, file))
            else:
                # Named by an earlier source too: its denials are counted once, but it is still
                # this source's data, so its size and freshness are reported here as well.
                _log.info("%s was already read for another denial source", file)
            summaries.append(summary)
        return _source_report(source, DenialSourceKind.LOGS, summaries)

    def _scan(self, file: Path, name: str) -> _FileSummary:
        self.duplicates = self.unusable = 0
        scan = scan_license_log(
            file,
            name=name,
            column="Operation",
            value=_DENIED,
            consume=self._denial_consumer,
            required=_REQUIRED_LOG_COLUMNS,
        )
        _log.debug("%s: %s rows, %s denials", name, scan.rows, scan.matched)
        return _FileSummary(
            rows=scan.rows,
            skipped=scan.skipped + self.unusable,
            duplicates=self.duplicates,
            newest=scan.newest,
        )

    def _denial_consumer(
        self, index: Mapping[str, int]
    ) -> Callable[[dt.datetime, list[str]], None]:
        """The function each ``UsageDenied`` row of one file goes to, given its header.

        A closure over local names: it runs once per denial, tens of thousands of times for a
        million-line log.
        """
        user_at, svc_at, msg_at = index["UserName"], index["ServiceUser"], index["Message"]
        uid_at, id_at = index.get("UserId"), index.get("Id")
        since, seen_ids, keys, tallies = self.since, self.seen_ids, self.keys, self.tallies
        service = self.service

        # `since` restated in each row offset: see parse_log_timestamp on why it is faster.
        since_in: dict[dt.tzinfo | None, dt.datetime] = {}

        def denial(stamp: dt.datetime, fields: list[str]) -> None:
            bound = since_in.get(stamp.tzinfo)
            if bound is None:
                bound = since_in[stamp.tzinfo] = since.astimezone(stamp.tzinfo)
            if stamp < bound:
                return
            if id_at is not None:
                row_id = fields[id_at]
                if row_id:
                    if row_id in seen_ids:
                        self.duplicates += 1
                        return
                    seen_ids.add(row_id)
            user_name = fields[user_at]
            key = keys[user_name] if user_name in keys else self._key(user_name)
            if key is None:
                self.unusable += 1  # a denial without a usable DIRECTORY\userid
                return
            if service(user_name, fields[svc_at]):
                host = _HOST.search(fields[msg_at])
                if host is not None and is_loopback(host.group(1)):
                    self.excluded[key] = self.excluded.get(key, 0) + 1
                    self.excluded_names.setdefault(key, user_name)
                    return
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally(user_name)
            tally.count += 1
            if tally.first is None or stamp < tally.first:
                tally.first = stamp
            if tally.last is None or stamp > tally.last:
                tally.last = stamp
            user_id = fields[uid_at] if uid_at is not None else ""
            if user_id and (tally.id_stamp is None or stamp >= tally.id_stamp):
                tally.user_id, tally.id_stamp = user_id, stamp

        return denial

    def _read_csv(self, source: DenialSource, path: Path) -> SourceReport:
        if not path.exists():
            msg = f"{source.path}: no such file or folder"
            raise SignalError(_at_source(source, msg))
        if path.is_dir():
            msg = f"{source.path}: is a folder; a csv denial source names one exported file"
            raise SignalError(_at_source(source, msg))
        resolved = path.resolve()
        summary = self.files.get(resolved)
        if summary is None:
            summary = self.files[resolved] = self._read_export(path, source.path)
        return _source_report(source, DenialSourceKind.CSV, [summary])

    def _read_export(self, path: Path, name: str) -> _FileSummary:
        table = _parse_csv(_read_bytes(path, name), name)
        rows = skipped = 0
        newest: dt.datetime | None = None
        for line, record in table.records():
            rows += 1
            parsed = table.parse(record)
            if parsed is None:
                skipped += 1
                continue
            user, count, first, last = parsed
            for stamp in (first, last):
                if stamp is not None and not OLDEST_YEAR <= stamp.year < NEWEST_YEAR:
                    msg = (
                        f"{name}:{line}: time {stamp.isoformat()} is outside the years "
                        f"{OLDEST_YEAR} to {NEWEST_YEAR - 1}: no export holds such a time"
                    )
                    raise SignalError(msg)
            key = self._key(user)
            if key is None:
                skipped += 1
                continue
            for stamp in (first, last):
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
            if last is not None and last < self.since:
                continue
            self._tally(key, user).add(count, first, last)
        if rows and skipped == rows:
            msg = (
                f"{name}: none of the {rows} rows could be read "
                f"(columns: {excerpt_columns(table.header)}); check the user, count and time "
                "values"
            )
            raise SignalError(msg)
        return _FileSummary(rows=rows, skipped=skipped, duplicates=0, newest=newest)


@dataclass(frozen=True, slots=True)
class _FileSummary:
    """What reading one file found, kept for any later source naming the same file."""

    rows: int
    skipped: int
    duplicates: int
    newest: dt.datetime | None


def _source_report(
    source: DenialSource, kind: DenialSourceKind, files: Sequence[_FileSummary]
) -> SourceReport:
    stamps = [f.newest for f in files if f.newest is not None]
    return SourceReport(
        path=source.path,
        kind=kind,
        files=len(files),
        rows=sum(f.rows for f in files),
        skipped=sum(f.skipped for f in files),
        duplicates=sum(f.duplicates for f in files),
        newest_entry=max(stamps).astimezone(dt.UTC) if stamps else None,
    )


def _at_source(source: DenialSource, message: str) -> str:
    """A message about a source as a whole, led by where the YAML names it (file:line:col:
    field), so the fix starts at the right line."""
    if source.source is None:
        return message
    field = f" {source.field}:" if source.field else ""
    return f"{source.source}:{field} {message}"


def _display(configured: str, path: Path, file: Path) -> str:
    """A file's name for messages: the configured source path, extended into the folder."""
    if file == path:
        return configured
    return str(Path(configured) / file.relative_to(path))


#: The largest export read: far above any License Monitor table, far below a memory problem.
MAX_CSV_BYTES = 256 << 20


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return read_regular(path, limit=MAX_CSV_BYTES)
    except OSError as exc:
        msg = f"{name}: cannot read: {exc.strerror or exc}"
        raise SignalError(msg) from exc


# --- License Monitor CSV -------------------------------------------------------------------

_USER_NAMES = ("user", "username", "denieduser")
_COUNT_NAMES = ("count", "denials", "deniedcount", "#denials")
_ONE_TIME_NAMES = ("timestamp", "date")
_EXPECTED = "a user column (User, UserName, User Name or Denied user, or UserDirectory and UserId)"


def _normal(name: str) -> str:
    """Header names compare without case, spaces or underscores: ``User Name`` = ``user_name``."""
    return re.sub(r"[\s_]+", "", name).casefold()


@dataclass(frozen=True, slots=True)
class _CsvTable:
    """A decoded export and where its columns are (positions; None when absent)."""

    name: str
    text: str
    delimiter: str
    header: tuple[str, ...]
    user: tuple[int, ...]  # (user,) or (directory, userid); () when no user column
    count: int | None
    first: int | None
    last: int | None
    line_offset: int = 0  # lines before the header (Excel's sep= line)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """The data rows with the line each ends on, blank ones left out.

        Raises:
            SignalError: the text is not CSV the ``csv`` module can read (a field over its size
                limit, say), naming the line.
        """
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        try:
            next(reader, None)  # the header
            for record in reader:
                if any(value.strip() for value in record):
                    yield self.line_offset + reader.line_num, record
        except csv.Error as exc:
            msg = f"{self.name}: not readable as CSV on line {reader.line_num}: {exc}"
            raise SignalError(msg) from exc

    def parse(
        self, record: list[str]
    ) -> tuple[str, int, dt.datetime | None, dt.datetime | None] | None:
        """(user, count, first, last) of a row, or None when the row is malformed."""
        if len(record) != len(self.header):
            return None
        user = "\\".join(record[at].strip() for at in self.user)
        count = 1
        if self.count is not None:
            parsed_count = _csv_count(record[self.count])
            if parsed_count is None:
                return None
            count = parsed_count
        try:
            first = _csv_time(record[self.first]) if self.first is not None else None
            last = _csv_time(record[self.last]) if self.last is not None else None
        except ValueError:
            return None
        return user, count, first or last, last or first


_MAX_COUNT = 1_000_000_000


def _csv_count(text: str) -> int | None:
    value = text.strip()
    if not value:
        return 1
    try:
        number = float(value)
    except ValueError:
        return None
    if not 0 <= number <= _MAX_COUNT or not number.is_integer():
        return None  # negative, fractional, nan, inf, or no count a real site could reach
    return int(number)


def _csv_time(text: str) -> dt.datetime | None:
    value = text.strip()
    if not value:
        return None
    stamp = dt.datetime.fromisoformat(value)
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.UTC)


def _parse_csv(data: bytes, name: str) -> _CsvTable:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = f"{name}: not UTF-8 text (it starts with a UTF-16 byte-order mark); save it as UTF-8"
        raise SignalError(msg)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, at) + 1
        msg = f"{name}: not UTF-8 text (byte 0x{data[at]:02x} on line {line})"
        raise SignalError(msg) from exc
    first_line = text.split("\n", 1)[0].strip()
    if not first_line:
        msg = f"{name}: empty file, expected a header line naming the columns"
        raise SignalError(msg)
    # Excel writes "sep=;" as a first line when told which delimiter to use.
    if first_line.casefold().startswith("sep=") and len(first_line) == 5:
        rest = text.split("\n", 1)[1] if "\n" in text else ""
        return dataclasses.replace(_locate(name, rest, first_line[4]), line_offset=1)

    widest: tuple[str, ...] = ()
    for delimiter in (",", ";", "\t"):
        table = _locate(name, text, delimiter, strict=False)
        if table.user:
            return table
        if len(table.header) > len(widest):
            widest = table.header
    raise _unknown_layout(name, widest)


def _locate(name: str, text: str, delimiter: str, *, strict: bool = True) -> _CsvTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = tuple(value.strip() for value in next(reader, []))
    except csv.Error as exc:
        msg = f"{name}: not readable as CSV on line {reader.line_num}: {exc}"
        raise SignalError(msg) from exc
    positions: dict[str, int] = {}
    for position, column in enumerate(header):
        positions.setdefault(_normal(column), position)

    def first_of(names: Sequence[str]) -> int | None:
        return next((positions[n] for n in names if n in positions), None)

    single = first_of(_USER_NAMES)
    directory, userid = positions.get("userdirectory"), positions.get("userid")
    user: tuple[int, ...] = ()
    if single is not None:
        user = (single,)
    elif directory is not None and userid is not None:
        user = (directory, userid)
    elif strict:
        raise _unknown_layout(name, header)
    one_time = first_of(_ONE_TIME_NAMES)
    first = positions.get("firstdenied", one_time)
    last = positions.get("lastdenied", one_time)
    return _CsvTable(
        name=name,
        text=text,
        delimiter=delimiter,
        header=header,
        user=user,
        count=first_of(_COUNT_NAMES),
        first=first,
        last=last,
    )


def _unknown_layout(name: str, header: Sequence[str]) -> SignalError:
    seen = excerpt_columns(header)
    return SignalError(
        f"{name}: not a License Monitor denied-access export: expected {_EXPECTED}; "
        f"columns seen: {seen}"
    )
