"""Findings as a person reads them: counts by kind first, one line per subject and cause, the
detail bounded and chosen with ``--findings``; every finding stays in the JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import REPO
from licsync.identity import AccessType
from licsync.plan import Finding, Plan
from licsync.plan.findings import FindingKind
from licsync.render import render_json, render_markdown, render_text
from licsync.render.findings import DEFAULT_PER_KIND, FindingsShown
from licsync.session import SessionRequest, open_session
from licsync.severity import Severity


@pytest.fixture(scope="module")
def flooded() -> Plan:
    """The demo plan with 230 idle seats (each user idle in both types) and 62 flagged users:
    the first plan after a dump."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        with open_session(SessionRequest(directory=Path("licenses"))) as session:
            plan = session.plan().plan
    idle = [
        Finding(FindingKind.IDLE_ALLOCATION, kind, f"CORP\\idle{n:03}",
                f"CORP\\idle{n:03}'s {kind.value} seat sits idle", Severity.INFO)
        for n in range(230) for kind in AccessType
    ]  # fmt: skip
    flagged = [
        Finding(FindingKind.FLAGGED_USER, AccessType.PROFESSIONAL, f"CORP\\gone{n:02}",
                f"CORP\\gone{n:02} is inactive", Severity.WARNING)
        for n in range(62)
    ]  # fmt: skip
    return dataclasses.replace(plan, findings=(*plan.findings, *flagged, *idle))


def test_counts_come_first_and_each_kind_is_bounded(flooded: Plan) -> None:
    """The counts of every kind before any line; at most the default bound per kind; the
    changes before the findings; no subject twice for one kind."""
    text = render_text(flooded)
    findings = text[text.index("Findings (") :]
    head = findings.split("\n  ! ", 1)[0]
    assert "230 idle-allocation" in head
    assert "62 flagged-user" in head
    assert text.index("reclaim: user inactive") < text.index("Findings (")
    assert f"idle-allocation (230, {DEFAULT_PER_KIND} shown)" in findings
    idle_lines = [
        line for line in findings.splitlines() if "'s professional seat sits idle" in line
    ]
    assert len(idle_lines) == DEFAULT_PER_KIND
    assert all(line.endswith("(also analyzer)") for line in idle_lines)
    assert "--findings all" in findings
    assert len(text.splitlines()) < 120
    subjects = [line.split("'s ")[0].strip() for line in idle_lines]
    assert len(subjects) == len(set(subjects))


def test_findings_all_none_and_kinds(flooded: Plan) -> None:
    """all lists every line; none only the counts; kinds list those in full, count the rest."""
    every = render_text(flooded, findings=FindingsShown.parse("all"))
    assert sum("'s professional seat sits idle" in line for line in every.splitlines()) == 230
    nothing = render_text(flooded, findings=FindingsShown.parse("none"))
    assert "sits idle" not in nothing
    assert "230 idle-allocation" in nothing
    some = render_text(flooded, findings=FindingsShown.parse("flagged-user, denied-user"))
    assert sum(" is inactive" in line for line in some.splitlines()) == 62
    assert "sits idle" not in some
    assert "lena.berg was denied" in some
    markdown = render_markdown(flooded, findings=FindingsShown.parse("none"))
    assert "230 `idle-allocation`" in markdown
    assert "sits idle" not in markdown
    # The JSON plan holds every finding whatever is listed.
    assert len(json.loads(render_json(flooded))["findings"]) == len(flooded.findings)
    with pytest.raises(ValueError, match="not a findings kind"):
        FindingsShown.parse("idle")
