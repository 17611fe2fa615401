"""The audit log: one JSON line per attempt, appended and flushed as it happens (the lines of
results known together, e.g. one bulk request's, in one write).

A run writes a ``start`` record (who, what approval, which plan), one ``change`` record per
change as its result is known, and an ``end`` record with the totals; a run that dies leaves
every line it wrote before, so a human can tell exactly what was attempted and what is unknown.
Records are described by ``schema/audit.schema.json``. Nothing secret is ever written: the
records hold names, ids, outcomes and QRS's own messages, never credentials or headers.

The log is the record of what was done, so it is opened and checked before anything is sent:
a FIFO (opening one would block while holding the site lock), a device (``/dev/full``,
``/dev/null``, ``/dev/stdout``), a folder, a symbolic link anywhere in the path (a committed
``audit.jsonl`` linking to the key file must not be appended to) or a place that cannot be
written is refused. A write or ``fsync`` that fails later is not raised into the run: the log
cuts itself back to its last whole line, records nothing more, and tells ``apply`` (through
``on_failure``) to send nothing more; ``error`` says why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import socket
import stat
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from licsync.apply.report import Approval
from licsync.cienv import ci_actor
from licsync.errors import UsageError
from licsync.plan.changes import Change, Reclaim
from licsync.render.linetext import ENUM_TEXT, escape, int_text, own_id_text
from licsync.results import Outcome, WriteResult
from licsync.safefile import describe_mode

__all__ = ["AUDIT_FORMAT_VERSION", "Approval", "AuditLog", "actor_from_environment"]

AUDIT_FORMAT_VERSION = "1.0"

# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False)
_JSON_TEXT = {True: "true", False: "false", None: "null"}
_LINE_START = f'{{"format_version": {escape(AUDIT_FORMAT_VERSION)}, "time": "'
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def actor_from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Who is applying: the CI's own variables (GitHub Actions, GitLab CI/CD, Azure Pipelines;
    :mod:`licsync.cienv`), else user and host."""
    actor = ci_actor(env)
    if actor is not None:
        return actor
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return {"kind": "local", "user": user, "host": socket.gethostname()}


@dataclass
class AuditLog:
    """An open audit log for one run. Use as a context manager, or call :meth:`close`.

    Attributes:
        path: the file appended to (created with its folder when missing).
        site: the site applied to.
        run_id: a fresh id tying the run's records together.
        error: why the log could not be written (None while it can).
        on_failure: called once, when a write or ``fsync`` fails.
    """

    path: Path
    site: str
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    error: str | None = None
    on_failure: Callable[[], None] | None = None
    _fd: int | None = None
    _outcomes: Counter[Outcome] = field(default_factory=Counter)
    _pending: list[str] = field(default_factory=list)
    # The text of the last millisecond a line was written in, and of the site and run (see
    # _write_fields): the lines of one batch mostly share both.
    _millisecond: int = field(default=-1, init=False, repr=False)
    _time_text: str = field(default="", init=False, repr=False)
    _site_run: tuple[str, str, str] = field(default=("", "", ""), init=False, repr=False)

    @classmethod
    def open(cls, path: str | Path, site: str) -> AuditLog:
        """Open ``path`` for appending, after checking what it is (see the module doc).

        Raises:
            UsageError: the path is not a place for an audit log, or cannot be written.
        """
        target = Path(path)
        return cls(path=target, site=site, _fd=_open_append(target))

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(
        self, approval: Approval, *, actor: Mapping[str, str], changes: int, dry_run: bool
    ) -> None:
        self._write(
            {
                "event": "start",
                "actor": dict(actor),
                "approval": {
                    "mode": approval.mode,
                    "checksum": approval.checksum,
                    "plan_file": approval.plan_file,
                },
                "force_reason": approval.force_reason,
                "changes": changes,
                "dry_run": dry_run,
            }
        )

    def change(self, change: Change, result: WriteResult, *, flush: bool = True) -> None:
        """One change's attempt and outcome, flushed unless ``flush`` is False: the results of
        one bulk request are known together, so their lines go out in one write (then
        :meth:`flush`) instead of one system call each."""
        self._outcomes[result.outcome] += 1
        # Written straight to text: encoding a dict per line with json was most of the time
        # the main thread spent on each result (10,000 lines of a big run).
        status = result.status
        quarantine = change.quarantine if isinstance(change, Reclaim) else None
        self._write_fields(
            f'"event": "change", "change": {own_id_text(change)}, '
            f'"subject": {escape(change.subject)}, "outcome": {ENUM_TEXT[result.outcome]}, '
            f'"status": {"null" if status is None else int_text(status)}, '
            f'"message": {escape(result.message)}, "quarantine": {_JSON_TEXT[quarantine]}',
            flush=flush,
        )

    def end(self, *, interrupted: bool = False, remaining: int | None = None) -> None:
        self._write(
            {
                "event": "end",
                "totals": {o.value: n for o, n in sorted(self._outcomes.items())},
                "interrupted": interrupted,
                "remaining_changes": remaining,
            }
        )

    def flush(self) -> None:
        """Append the lines recorded so far, whole or not at all."""
        if self._fd is None or not self._pending:
            self._pending.clear()
            return
        # backslashreplace: a value from the environment that is not UTF-8 (a lone
        # surrogate) is kept visibly instead of failing the record.
        data = "".join(self._pending).encode("utf-8", "backslashreplace")
        self._pending.clear()
        try:
            before = os.fstat(self._fd).st_size
        except OSError as exc:
            self._fail(exc)
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                if written <= 0:  # pragma: no cover - a regular file never writes nothing
                    raise OSError(0, "the file took no more bytes")
                view = view[written:]
        except OSError as exc:
            # A line cut short would be a record nobody can read: cut it away.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, before)
            self._fail(exc)

    def close(self) -> None:
        """Flush, ``fsync`` and close; a failure is kept in :attr:`error`, not raised."""
        if self._fd is None:
            return
        self.flush()
        fd, self._fd = self._fd, None
        try:
            if self.error is None:
                os.fsync(fd)
        except OSError as exc:
            self._fd = fd
            self._fail(exc)
            self._fd = None
        finally:
            os.close(fd)

    def _fail(self, exc: OSError) -> None:
        if self.error is not None:
            return
        why = exc.strerror or str(exc)
        self.error = f"audit log {self.path}: cannot write: {why}"
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.on_failure is not None:
            self.on_failure()

    def _write(self, record: dict[str, Any], *, flush: bool = True) -> None:
        # The record's own pairs: its JSON text without the braces (it is never empty).
        self._write_fields(_ENCODER.encode(record)[1:-1], flush=flush)

    def _write_fields(self, fields: str, *, flush: bool) -> None:
        """One line: the common fields, then ``fields`` (a record's ``"key": value`` pairs as
        JSON text), as json writes ``{**common, **record}``."""
        if self._fd is None:
            if self.error is not None:
                return  # it failed: the run was told, and nothing more can be recorded
            msg = "the audit log is closed"
            raise RuntimeError(msg)
        # The time is the system clock's millisecond, written as
        # dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds") writes it (now() floors
        # the same clock to the microsecond), made once per millisecond: making it took a third
        # of each line's time, and a batch's lines are written within a few milliseconds.
        millisecond = time.time_ns() // 1_000_000
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            self._time_text = _time_text(millisecond)
        site_run = self._site_run
        if site_run[0] is not self.site or site_run[1] is not self.run_id:
            site_run = self._site_run = (
                self.site,
                self.run_id,
                f'", "site": {escape(self.site)}, "run": {escape(self.run_id)}, ',
            )
        self._pending.append(f"{_LINE_START}{self._time_text}{site_run[2]}{fields}}}\n")
        if flush:
            self.flush()


def _time_text(millisecond: int) -> str:
    """The instant ``millisecond`` ms after the epoch, e.g. ``2026-12-07T23:14:12.170Z``.

    Digits, '-', ':', 'T', '.' and 'Z' only: nothing json would escape. Integer arithmetic from
    the epoch (as POSIX time counts, no leap seconds), so no float rounds a millisecond away.
    """
    instant = _EPOCH + dt.timedelta(milliseconds=millisecond)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _open_append(target: Path) -> int:
    """A descriptor appending to ``target``, a regular file reached without a symbolic link.

    Missing folders are made one at a time, each checked, so that none is followed through a
    link; the file is opened with ``O_NOFOLLOW`` and ``O_NONBLOCK`` where the system has them
    (a FIFO swapped in after the check then fails instead of blocking) and its type checked
    on the descriptor.
    """
    shown = str(target)

    def refuse(why: str) -> UsageError:
        return UsageError(f"audit log {shown}: {why}; give --audit-log a regular file")

    absolute = Path(os.path.abspath(target))
    try:
        for folder in reversed(absolute.parents):
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                os.mkdir(folder)
                mode = os.lstat(folder).st_mode
            if stat.S_ISLNK(mode) or _is_junction(folder):
                raise refuse(f"{folder} is a symbolic link; the audit log never follows one")
            if not stat.S_ISDIR(mode):
                raise refuse(f"{folder} is {describe_mode(mode)}, not a folder")
        try:
            existing: os.stat_result | None = os.lstat(absolute)
        except FileNotFoundError:
            existing = None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise refuse(f"it is {describe_mode(existing.st_mode)}, not a regular file")
        flags = (
            os.O_WRONLY
            | os.O_APPEND
            | os.O_CREAT
            | getattr(os, "O_NOFOLLOW", 0)
            | getattr(os, "O_NONBLOCK", 0)
            | getattr(os, "O_CLOEXEC", 0)
            | getattr(os, "O_BINARY", 0)
        )
        fd = os.open(absolute, flags, 0o644)
    except UsageError:
        raise
    except OSError as exc:
        raise refuse(f"cannot write: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise refuse(f"it is {describe_mode(opened.st_mode)}, not a regular file")
        if (
            existing is not None
            and os.name != "nt"
            and ((opened.st_dev, opened.st_ino) != (existing.st_dev, existing.st_ino))
        ):
            raise refuse("it was replaced while being opened")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_junction(folder: Path) -> bool:
    """A Windows junction (a link ``lstat`` does not call one before Python 3.12)."""
    check = getattr(os.path, "isjunction", None)
    return bool(check(folder)) if check is not None else False
