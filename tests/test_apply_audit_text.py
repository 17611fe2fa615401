"""An audit log's change line is written straight to text: byte for byte what encoding the
record's dict with ``json`` wrote, for every kind of change, outcome and odd string."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from builders import ANA, PRO
from licsync.apply import audit
from licsync.apply.audit import AUDIT_FORMAT_VERSION, AuditLog
from licsync.plan.changes import Allocate, Change, ChangeId, Reason, Reclaim, UserTarget
from licsync.render.linetext import change_id_text, own_id_text
from licsync.results import Outcome, WriteResult
from test_render_applied_json import ODD, _changes


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


def test_change_ids_are_written_from_the_change_as_from_its_id() -> None:
    """``own_id_text`` writes a change's id from its fields, without building the ChangeId."""
    for odd in ODD:
        for change in _changes(odd):
            assert own_id_text(change) == change_id_text(change.id)
            assert json.loads(own_id_text(change)) == change.id.data()


@pytest.mark.parametrize(
    "millisecond",
    [0, 1, 999, 1_000, 59_999, 951_782_400_000, 1_765_150_452_170, 4_102_444_799_999],
)
def test_the_time_is_written_as_datetime_writes_it(millisecond: int) -> None:
    """A millisecond since the epoch, as ``datetime.now(UTC).isoformat`` writes that instant."""
    seconds, rest = divmod(millisecond, 1_000)
    reference = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=rest * 1_000)
    expected = reference.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert audit._time_text(millisecond) == expected


def test_each_line_has_the_time_it_was_written(tmp_path: Path) -> None:
    """The time text is reused within a millisecond only: each line's time lies between the
    clock read before it was recorded and after, to the millisecond."""
    change = _changes("x")[0]
    log = AuditLog.open(tmp_path / "audit.jsonl", "s")
    spans = []
    for _ in range(50):
        before = dt.datetime.now(dt.UTC)
        before = before.replace(microsecond=before.microsecond // 1_000 * 1_000)
        log.change(change, WriteResult(change.id, Outcome.APPLIED), flush=False)
        spans.append((before, dt.datetime.now(dt.UTC)))
        time.sleep(0.0003)
    log.close()
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    for line, (before, after) in zip(lines, spans, strict=True):
        written = dt.datetime.fromisoformat(json.loads(line)["time"].replace("Z", "+00:00"))
        assert before <= written <= after


def test_a_new_site_or_run_id_is_written_from_the_next_line(tmp_path: Path) -> None:
    change = _changes("x")[0]
    log = AuditLog.open(tmp_path / "audit.jsonl", "one")
    result = WriteResult(change.id, Outcome.APPLIED)
    log.change(change, result)
    first = log.run_id
    log.run_id = "run-two"
    log.change(change, result)
    log.site = "two"
    log.change(change, result)
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["site"], r["run"]) for r in lines] == [
        ("one", first),
        ("one", "run-two"),
        ("two", "run-two"),
    ]
