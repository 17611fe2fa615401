"""Renderers: golden files of the demo plan, the JSON schema, Markdown's size limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import jsonschema
import pytest

from builders import PRO, actual, alloc, desired, policy, user
from clock import NOW
from licsync.plan import Plan, plan
from licsync.policy import SafetyPolicy
from licsync.render import MAX_COMMENT, render_json, render_markdown, render_text
from licsync.schemas import PLAN_SCHEMA, load_schema
from licsync.session import SessionRequest, open_session
from licsync.signals import Signals

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LICSYNC_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def demo_plan() -> Plan:
    """The plan of the repository's example site against the embedded demo organisation."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)  # relative paths, as a user types them, keep the golden files portable
        with open_session(SessionRequest(directory=Path("licenses"))) as session:
            return session.plan().plan


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs; if the change is intended, rerun with LICSYNC_UPDATE_GOLDEN=1"
    )


def test_text_golden(demo_plan: Plan) -> None:
    """The terminal rendering of the demo plan is stable (no colour codes without a terminal)."""
    text = render_text(demo_plan)
    assert "\x1b[" not in text
    _golden("demo-plan.txt", text)


def test_text_colour_only_when_asked(demo_plan: Plan) -> None:
    """Colour is added on request and carries no information the words lack."""
    coloured = render_text(demo_plan, color=True)
    assert "\x1b[" in coloured
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text(demo_plan)


def test_json_golden_and_schema(demo_plan: Plan) -> None:
    """The JSON plan is stable and valid against schema/plan.schema.json."""
    text = render_json(demo_plan)
    data = json.loads(text)
    validator = jsonschema.Draft202012Validator(
        load_schema(PLAN_SCHEMA), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert list(validator.iter_errors(data)) == []
    assert data["checksum"] == demo_plan.checksum
    data["licsync_version"] = "VERSION"  # a release must not churn the golden file
    _golden("demo-plan.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def test_markdown_golden(demo_plan: Plan) -> None:
    """The pull-request comment of the demo plan is stable and starts with its marker."""
    text = render_markdown(demo_plan)
    assert text.startswith(f"<!-- licsync:plan site=demo checksum={demo_plan.checksum} -->\n")
    _golden("demo-plan.md", text)


def _huge_plan(n: int) -> Plan:
    users = [user(f"CORP\\someone.with.a.rather.long.name{i:05d}") for i in range(n)]
    state = actual(users, [alloc(PRO, u.display, used_days=30) for u in users])
    pol = policy(safety=SafetyPolicy(max_reclaims=10, max_reclaim_share=0.1, share_floor=5))
    return plan(desired(site_policy=pol), state, Signals(), NOW)


def test_markdown_stays_under_github_limit() -> None:
    """A plan too big for one comment is cut to fit, says how much it left out, and keeps the
    summary, the capacity table and the safety verdict."""
    big = _huge_plan(3000)
    assert len(render_text(big)) > MAX_COMMENT
    text = render_markdown(big)
    assert len(text) <= MAX_COMMENT
    assert "Blocked by safety checks" in text
    assert "| professional | authoritative |" in text
    assert "rows left out to stay under GitHub's comment limit" in text
    assert "--format json" in text


def test_markdown_folds_long_lists() -> None:
    """More than twenty rows of a type fold into <details>."""
    text = render_markdown(_huge_plan(30))
    assert "<details><summary>10 more</summary>" in text


def test_markdown_escapes_table_breakers() -> None:
    """Pipes, angle brackets and backslashes in names cannot break the table or inject HTML:
    names sit in code spans (literal text), free text is escaped."""
    odd = "CORP\\a|b<script>"
    state = actual([user(odd)], [alloc(PRO, odd, used_days=30)])
    result = plan(desired(), state, Signals(), NOW)
    text = render_markdown(result)
    row = next(line for line in text.splitlines() if "a¦b" in line)
    assert "| `CORP\\a¦b<script>` |" in row
    assert row.count("|") == 6
    assert "&lt;script&gt;" not in text.replace(row, "") or "<script>" not in text.replace(row, "")


def test_renderers_do_not_depend_on_the_clock(demo_plan: Plan) -> None:
    """Rendering twice gives identical output (nothing reads the time while rendering)."""
    later = dataclasses.replace(demo_plan)
    assert render_text(later) == render_text(demo_plan)
    assert render_markdown(later) == render_markdown(demo_plan)
    assert demo_plan.now == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
