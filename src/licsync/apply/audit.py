"""The audit log: one JSON line per attempt, appended and flushed as it happens (the lines of
results known together, e.g. one bulk request's, in one write).

A run writes a ``start`` record (who, what approval, which plan), one ``change`` record per
change as its result is known, and an ``end`` record with the totals; a run that dies leaves
every line it wrote before, so a human can tell exactly what was attempted and what is unknown.
Records are described by ``schema/audit.schema.json``. Nothing secret is ever written: the
records hold names, ids, outcomes and QRS's own messages, never credentials or headers.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from licsync.apply.report import Approval
from licsync.errors import UsageError
from licsync.plan.changes import Change, Reclaim
from licsync.results import WriteResult

__all__ = ["AUDIT_FORMAT_VERSION", "Approval", "AuditLog", "actor_from_environment"]

AUDIT_FORMAT_VERSION = "1.0"

# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False)

_CI_VARIABLES = {
    "commit": "GITHUB_SHA",
    "ref": "GITHUB_REF",
    "actor": "GITHUB_ACTOR",
    "repository": "GITHUB_REPOSITORY",
    "workflow": "GITHUB_WORKFLOW",
}


def actor_from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Who is applying: the CI's variables when present (GitHub Actions), else user and host."""
    if env.get("GITHUB_ACTIONS") == "true":
        actor = {name: env[var] for name, var in _CI_VARIABLES.items() if env.get(var)}
        ref = env.get("GITHUB_REF", "")
        if ref.startswith("refs/pull/"):
            actor["pull_request"] = ref.split("/")[2]
        server, repo, run = (
            env.get(v) for v in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
        )
        if server and repo and run:
            actor["run_url"] = f"{server}/{repo}/actions/runs/{run}"
        return {"kind": "ci", **actor}
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
    """

    path: Path
    site: str
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _handle: IO[str] | None = None
    _outcomes: Counter[str] = field(default_factory=Counter)
    _pending: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path, site: str) -> AuditLog:
        """Open ``path`` for appending.

        Raises:
            UsageError: the file or its folder cannot be written.
        """
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = target.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"audit log {target}: cannot write: {exc.strerror}") from None
        return cls(path=target, site=site, _handle=handle)

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
        self._outcomes[result.outcome.value] += 1
        self._write(
            {
                "event": "change",
                "change": change.id.data(),
                "subject": change.subject,
                "outcome": result.outcome.value,
                "status": result.status,
                "message": result.message,
                "quarantine": change.quarantine if isinstance(change, Reclaim) else None,
            },
            flush=flush,
        )

    def end(self, *, interrupted: bool = False, remaining: int | None = None) -> None:
        self._write(
            {
                "event": "end",
                "totals": dict(sorted(self._outcomes.items())),
                "interrupted": interrupted,
                "remaining_changes": remaining,
            }
        )

    def flush(self) -> None:
        """Push the lines written so far to the file."""
        if self._handle is not None:
            if self._pending:
                self._handle.write("".join(self._pending))
                self._pending.clear()
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None

    def _write(self, record: dict[str, Any], *, flush: bool = True) -> None:
        if self._handle is None:
            msg = "the audit log is closed"
            raise RuntimeError(msg)
        line = {
            "format_version": AUDIT_FORMAT_VERSION,
            "time": dt.datetime.now(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "site": self.site,
            "run": self.run_id,
            **record,
        }
        self._pending.append(_ENCODER.encode(line) + "\n")
        if flush:
            self.flush()
