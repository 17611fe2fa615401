"""An audit log's change line is written straight to text: byte for byte what encoding the
record's dict with ``json`` wrote, for every kind of change, outcome and odd string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import ANA, PRO
from licsync.apply.audit import AUDIT_FORMAT_VERSION, AuditLog
from licsync.plan.changes import Allocate, Change, ChangeId, Reason, Reclaim, UserTarget
from licsync.results import Outcome, WriteResult
from test_render_applied_json import ODD


def _reference(line: str, log: AuditLog, change: Change, result: WriteResult) -> str:
    """The line as json wrote the record's dict, at the time the line says."""
    record = {
        "format_version": AUDIT_FORMAT_VERSION,
        "time": json.loads(line)["time"],
        "site": log.site,
        "run": log.run_id,
        "event": "change",
        "change": change.id.data(),
        "subject": change.subject,
        "outcome": result.outcome.value,
        "status": result.status,
        "message": result.message,
        "quarantine": change.quarantine if isinstance(change, Reclaim) else None,
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("odd", ODD)
def test_change_lines_are_written_as_json_writes_them(tmp_path: Path, odd: str) -> None:
    needed = ChangeId(Reclaim.action, PRO, odd, Reason.NOT_DECLARED)
    changes: list[Change] = [
        Allocate(PRO, odd, odd, UserTarget(odd, odd, odd), Reason.DECLARED, odd),
        Reclaim(ANA, odd, f"k{odd}", Reason.IDLE, odd, quarantine=True, needs=needed),
        Reclaim(PRO, odd, odd, Reason.NOT_DECLARED, odd),
    ]
    log = AuditLog.open(tmp_path / "audit.jsonl", odd)
    written = []
    for n, change in enumerate(changes):
        for outcome in Outcome:
            result = WriteResult(change.id, outcome, odd, status=None if n % 2 else 404 + n)
            log.change(change, result, flush=False)
            written.append((change, result))
    log.close()
    data = (tmp_path / "audit.jsonl").read_bytes()
    # The time of each line is read back from it; the rest must be what json wrote.
    lines = [f"{line}\n" for line in data.decode("utf-8").split("\n")[:-1]]  # not at U+2028
    assert len(lines) == len(written)
    expected = "".join(
        _reference(line, log, change, result)
        for line, (change, result) in zip(lines, written, strict=True)
    )
    assert data == expected.encode("utf-8", "backslashreplace")
