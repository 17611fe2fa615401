"""A reviewed JSON plan: its checksum recomputed from the file, its ids matched to a fresh plan."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from builders import ANA, PRO, actual, alloc, arule, decl, desired, drule, policy, user
from clock import NOW
from licsync.apply.reviewed import ReviewedPlan, load_reviewed, match
from licsync.errors import UsageError
from licsync.plan import Plan, plan
from licsync.render import render_json
from licsync.signals import Signals

GOLDEN = Path(__file__).parent / "golden" / "demo-plan.json"


def _site_plan(**overrides: object) -> Plan:
    """A plan with one change of every kind but complete (users, rules, a dependency)."""
    users = [user(f"CORP\\{n}") for n in ("ann", "bob", "cid", "dan")]
    state = actual(
        users,
        [alloc(PRO, "CORP\\bob"), alloc(ANA, "CORP\\cid"), alloc(ANA, "CORP\\ann")],
        [arule(ANA, "Old", 'user.group = "Old"'), arule(PRO, "Drift", 'user.group = "A"')],
    )
    wanted = desired(
        pro=[decl("CORP\\ann"), decl("CORP\\dan")],
        pro_rules=[drule("Drift", 'user.group = "B"'), drule("New", 'user.group = "N"')],
        site_policy=policy(professional="authoritative", analyzer="authoritative"),
    )
    if overrides:
        wanted = dataclasses.replace(wanted, **overrides)  # type: ignore[arg-type]
    return plan(wanted, state, Signals(), NOW)


def _write(tmp_path: Path, data: object, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_checksum_is_recomputed_from_the_file(tmp_path: Path) -> None:
    """A plan as written loads; its ids are the plan's, in order, and its checksum verifies."""
    made = _site_plan()
    path = tmp_path / "plan.json"
    path.write_text(render_json(made), encoding="utf-8")
    reviewed = load_reviewed(path)
    assert reviewed.checksum == made.checksum
    assert reviewed.site == "test"
    assert reviewed.ids == tuple(c.id for c in made.changes)
    kinds = {i.kind.value for i in reviewed.ids}
    assert {"allocate", "reclaim", "create-rule", "update-rule", "delete-rule"} <= kinds


def test_the_demo_golden_plan_verifies() -> None:
    """The JSON the README shows is a valid reviewed plan."""
    reviewed = load_reviewed(GOLDEN)
    assert reviewed.site == "demo"
    assert len(reviewed.ids) == len(json.loads(GOLDEN.read_text(encoding="utf-8"))["changes"])


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: d["changes"].pop(0), id="a-change-removed"),
        pytest.param(lambda d: d["changes"].append(d["changes"][0]), id="a-change-doubled"),
        pytest.param(
            lambda d: d["changes"][0]["id"].update(subject="corp\\someone"), id="subject-swapped"
        ),
        pytest.param(
            lambda d: next(c for c in d["changes"] if c["kind"] == "rule")["diff"][0].update(
                desired="true"
            ),
            id="rule-text-edited",
        ),
        pytest.param(lambda d: d.update(site="prod"), id="site-renamed"),
    ],
)
def test_a_hand_edited_plan_is_refused(tmp_path: Path, edit: object) -> None:
    """Any change to what the checksum covers is caught, naming the file."""
    data = json.loads(render_json(_site_plan()))
    edit(data)  # type: ignore[operator]
    path = _write(tmp_path, data)
    with pytest.raises(UsageError, match=r"plan\.json: ") as caught:
        load_reviewed(path)
    assert "edited" in str(caught.value) or "twice" in str(caught.value)


def test_display_values_may_change_without_breaking_the_checksum(tmp_path: Path) -> None:
    """Details ("idle 143 days") are not decisions: editing them is not a change of the plan."""
    data = json.loads(render_json(_site_plan()))
    data["changes"][0]["detail"] = "something else"
    assert load_reviewed(_write(tmp_path, data)).checksum == data["checksum"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not JSON"),
        ("[]", "expected an object"),
        ('{"format_version": "2.0"}', "reads 1.x plans"),
        ('{"format_version": "1.0", "site": "x", "checksum": "c", "changes": [{}]}', "1.0"),
        ('{"format_version": "1.1", "site": "x", "checksum": "c"}', "changes: missing"),
        (
            '{"format_version": "1.1", "site": "x", "checksum": "c", "changes": '
            '[{"id": {"kind": "explode", "access_type": "analyzer", "subject": "s", '
            '"reason": "idle"}}]}',
            r"changes\[0\]\.id",
        ),
    ],
)
def test_broken_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_reviewed(path)


def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_reviewed(tmp_path / "nope.json")
    with pytest.raises(UsageError, match="not a regular file"):
        load_reviewed(tmp_path)


def test_match_applies_only_what_was_reviewed_and_is_still_needed(tmp_path: Path) -> None:
    """Reviewed and still planned: approved; reviewed, no longer planned: skipped; new: not
    reviewed (never applied)."""
    reviewed_plan = _site_plan()
    path = tmp_path / "plan.json"
    path.write_text(render_json(reviewed_plan), encoding="utf-8")
    reviewed = load_reviewed(path)
    gone = next(c for c in reviewed_plan.changes if c.action.value == "delete-rule")
    # The fresh plan: the deleted rule is gone already, and one user more is declared.
    state = actual(
        [user(f"CORP\\{n}") for n in ("ann", "bob", "cid", "dan", "eve")],
        [alloc(PRO, "CORP\\bob"), alloc(ANA, "CORP\\cid"), alloc(ANA, "CORP\\ann")],
        [arule(PRO, "Drift", 'user.group = "A"')],
    )
    wanted = desired(
        pro=[decl("CORP\\ann"), decl("CORP\\dan"), decl("CORP\\eve")],
        pro_rules=[drule("Drift", 'user.group = "B"'), drule("New", 'user.group = "N"')],
        site_policy=policy(professional="authoritative", analyzer="authoritative"),
    )
    fresh = plan(wanted, state, Signals(), NOW)
    result = match(reviewed, fresh)
    assert result.no_longer_needed == (gone.id,)
    assert [c.id.subject for c in result.not_reviewed] == ["corp\\eve"]
    assert {c.id for c in result.approved} == set(reviewed.ids) - {gone.id}


def test_a_dependant_without_its_dependency_is_not_approved() -> None:
    """A redundant analyzer seat is approved only together with the professional allocation."""
    state = actual([user("CORP\\ann")], [alloc(ANA, "CORP\\ann")])
    wanted = desired(pro=[decl("CORP\\ann")], site_policy=policy(analyzer="authoritative"))
    fresh = plan(wanted, state, Signals(), NOW)
    reclaim = next(c for c in fresh.changes if c.depends_on is not None)
    only_the_reclaim = ReviewedPlan("p.json", "test", fresh.checksum, (reclaim.id,), "1.1")
    result = match(only_the_reclaim, fresh)
    assert result.approved == ()
    assert reclaim in result.not_reviewed
    both = dataclasses.replace(only_the_reclaim, ids=tuple(c.id for c in fresh.changes))
    assert set(match(both, fresh).approved) == set(fresh.changes)
