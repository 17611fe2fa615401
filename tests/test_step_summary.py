"""``$GITHUB_STEP_SUMMARY``: the plan a job commented, the reviewed plan it fetched, and what an
apply did, shown on the run's page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import Licsync
from github_standin import GitHubStandIn
from licsync.forge.summary import MAX_SUMMARY, append_step_summary


def test_the_commented_plan_is_in_the_step_summary(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = licsync(["ci", "comment", "--forge", "github", "--pr", "7", str(plan_file)])
    assert result.exit_code == 0, result.output
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n<!-- licsync:plan site=demo checksum=sha256:")
    (comment,) = github.comments_on(7)
    assert comment["body"] in text


def test_an_apply_is_summarised_from_its_audit_log(
    licsync: Licsync, example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = tmp_path / "audit.jsonl"
    applied = licsync(["apply", str(example), "--auto-approve", "--audit-log", str(audit)])
    assert applied.exit_code == 0, applied.output
    out = licsync(["ci", "summary", "--site", "demo", str(audit)])
    assert out.exit_code == 0, out.output
    changes = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    applied_count = sum(1 for r in changes if r.get("outcome") == "applied")
    assert f"**{applied_count} applied" in out.stdout
    assert "| outcome | change | subject | message |" in out.stdout
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    quiet = licsync(["ci", "summary", "--site", "demo", str(audit)])
    assert quiet.stdout == ""
    assert "### licsync apply: site demo" in summary.read_text(encoding="utf-8")


def test_a_hostile_audit_line_is_escaped_and_garbage_skipped(tmp_path: Path) -> None:
    from licsync.forge.summary import audit_summary

    lines = [
        "not json",
        json.dumps(
            {
                "event": "change",
                "outcome": "failed",
                "change": {"kind": "allocate"},
                "subject": "CORP\\a|b`c",
                "message": "<img src=x> @team #1 !2",
            }
        ),
    ]
    text = audit_summary(lines, site="demo")
    assert "**1 failed**" in text
    assert "<img" not in text
    assert "@\u2060team" in text


def test_an_oversized_summary_is_cut_and_no_variable_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "s.md"
    assert append_step_summary({}, "x") is False
    assert append_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, "é" * MAX_SUMMARY)
    data = target.read_bytes()
    assert len(data) < 1024 * 1024
    assert data.decode("utf-8").endswith("step summary)\n\n")
