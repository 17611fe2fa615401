"""The audit log: JSON lines valid against schema/audit.schema.json, flushed per record."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from builders import ANA, actual, alloc, desired, policy, user
from clock import NOW
from licsync.apply.audit import Approval, AuditLog, actor_from_environment
from licsync.apply.writer import Outcome, WriteResult
from licsync.errors import UsageError
from licsync.plan import plan
from licsync.schemas import AUDIT_SCHEMA, load_schema
from licsync.signals import Signals


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_run_writes_start_changes_and_end(tmp_path: Path) -> None:
    """Each record validates; a change record is readable before the log is closed."""
    state = actual([user("CORP\\ann")], [alloc(ANA, "CORP\\ann", used_days=2)])
    made = plan(desired(site_policy=policy(analyzer="authoritative")), state, Signals(), NOW)
    (change,) = made.changes
    path = tmp_path / "logs" / "audit.jsonl"
    with AuditLog.open(path, "test") as log:
        log.start(
            Approval("checksum", checksum=made.checksum, force_reason="ticket LIC-9"),
            actor=actor_from_environment({}),
            changes=1,
            dry_run=False,
        )
        log.change(change, WriteResult(change.id, Outcome.FAILED, "400: no", status=400))
        assert len(_records(path)) == 2  # flushed per record, before close
        log.end(remaining=1)
    records = _records(path)
    validator = jsonschema.Draft202012Validator(load_schema(AUDIT_SCHEMA))
    for record in records:
        assert list(validator.iter_errors(record)) == [], record
    assert [r["event"] for r in records] == ["start", "change", "end"]
    assert len({r["run"] for r in records}) == 1
    assert records[1]["quarantine"] is True
    assert records[1]["change"] == change.id.data()
    assert records[2]["totals"] == {"failed": 1}


def test_ci_actor_names_commit_pull_request_and_run() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": "abc123",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REPOSITORY": "org/licences",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "7",
        "GITHUB_TOKEN": "ghs_secret",
    }
    actor = actor_from_environment(env)
    assert actor["pull_request"] == "42"
    assert actor["run_url"] == "https://github.example/org/licences/actions/runs/7"
    assert "ghs_secret" not in json.dumps(actor)


def test_an_unwritable_log_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="audit log"):
        AuditLog.open(tmp_path / "file" / "audit.jsonl", "test")
