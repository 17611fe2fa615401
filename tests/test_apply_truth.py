"""A two-step rule write under faults: apply settles it by the rule's real state and reports
what the site shows (the repros of issue 19), over the real simulator with faults injected
through ``POST /_sim/faults``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync, edit_file
from clock import DEMO_NOW_ARG
from inprocess import bare_client, in_process_simulator
from licsync.identity import AccessType
from licsync.sim import Simulator
from licsync.sim.demo import demo_organisation
from licsync.sim.entities import GROUP, SYSTEMRULE
from licsync.sim.faults import FaultPlan

PRO = AccessType.PROFESSIONAL
PROBE = '  rules:\n    - name: Probe rule R\n      condition: user.name = "nobody"\n'


@pytest.fixture
def settled(example: Path, licsync: Licsync) -> Iterator[Simulator]:
    """The demo served, already applied once: its plan is empty."""
    with in_process_simulator(demo_organisation()) as sim:
        first = licsync(_args(sim, "--auto-approve"))
        assert first.exit_code == 0, first.output
        yield sim


def _args(sim: Simulator, *more: str) -> list[str]:
    return ["apply", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG, *more]


def _plan(licsync: Licsync, sim: Simulator, out: Path) -> None:
    result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                      "--format", "json", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output


def _faults(sim: Simulator, *steps: tuple[str, str, int]) -> None:
    """The next requests fail as scripted, set as a user would: ``POST /_sim/faults``."""
    body = {"fail_next": [{"method": m, "kind": k, "count": n} for m, k, n in steps]}
    with bare_client(sim) as http:
        answer = http.post("/_sim/faults", json=body)
    assert answer.status_code < 300, answer.text


def _apply(licsync: Licsync, sim: Simulator, plan: Path) -> tuple[int, dict[str, Any]]:
    result = licsync(_args(sim, "--plan", str(plan), "--format", "json"))
    return result.exit_code, json.loads(result.stdout)


def _status(report: dict[str, Any], kind: str) -> tuple[str, str]:
    (item,) = [i for i in report["items"] if i["id"]["kind"] == kind]
    return item["status"], item["message"]


def _probe(sim: Simulator) -> tuple[list[str], list[dict[str, Any]]]:
    """The probe rule's access groups (ids) and License system rules as the site holds them."""
    groups = [g["id"] for g in sim.store.entities(GROUP[PRO])[1] if g["name"] == "Probe rule R"]
    rules = [r for r in sim.store.entities(SYSTEMRULE)[1] if r["name"] == "Probe rule R"]
    return groups, rules


def _whole(sim: Simulator) -> bool:
    groups, rules = _probe(sim)
    return (
        len(groups) == 1
        and len(rules) == 1
        and rules[0]["resourceFilter"].endswith(f"AccessGroup_{groups[0]}")
    )


def _with_probe(example: Path) -> None:
    edit_file(example / "professional.yaml", "  rules: []\n", PROBE)


def test_the_repro_a_lost_answer_to_the_group_post_completes_the_rule(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    """The issue's repro: the access group's POST goes through but its answer is lost. The
    run reads the site, finds the group, creates the rule and says so; it never says applied
    for half a rule."""
    _with_probe(example)
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("POST", "drop-after", 1))
    code, report = _apply(licsync, settled, plan)
    assert code == 0, report
    status, message = _status(report, "create-rule")
    assert status == "completed"
    assert "re-read" in message
    assert _whole(settled)
    assert report["after"]["summary"]["changes"] == 0


def test_a_lost_answer_to_the_rule_post_is_read_back_not_sent_twice(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    _with_probe(example)
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("POST", "pass", 1), ("POST", "drop-after", 1))
    code, report = _apply(licsync, settled, plan)
    assert code == 0, report
    assert _status(report, "create-rule")[0] == "completed"
    assert _whole(settled)


def test_a_refused_rule_post_is_finished_in_the_same_run(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    """The system rule's POST fails twice in the writer: the item is partly done; the settle
    re-reads, sends the completion the fresh plan makes, and reports it completed."""
    _with_probe(example)
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("POST", "pass", 1), ("POST", "500", 2))
    code, report = _apply(licsync, settled, plan)
    assert code == 0, report
    status, message = _status(report, "create-rule")
    assert status == "completed"
    assert "complete-rule" in message
    assert _whole(settled)


def test_a_rule_left_half_made_is_partial_and_the_reviewed_plan_finishes_it(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    """Every try of the system rule fails: the report says what is on the site and what is
    left (exit 1, never applied); the same reviewed plan, run again, completes it (its
    create-rule covers the complete-rule it turned into)."""
    _with_probe(example)
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("POST", "pass", 1), ("POST", "500", 20))
    code, report = _apply(licsync, settled, plan)
    assert code == 1, report
    status, message = _status(report, "create-rule")
    assert status == "partial"
    assert "without its system rule" in message
    groups, rules = _probe(settled)
    assert len(groups) == 1
    assert not rules
    settled.set_faults(FaultPlan())
    code, again = _apply(licsync, settled, plan)
    assert code == 0, again
    assert [i["id"]["kind"] for i in again["items"]] == ["complete-rule"]
    assert again["items"][0]["status"] == "applied"
    assert _whole(settled)
    assert again["after"]["summary"]["changes"] == 0


def test_a_delete_whose_group_stays_is_finished_not_reported_applied(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    """The system rule is deleted, the access group's DELETE fails: the run re-reads and
    deletes the group; when it cannot, the item is partial and says the group stays."""
    _with_probe(example)
    assert licsync(_args(settled, "--auto-approve")).exit_code == 0
    edit_file(example / "professional.yaml", PROBE, "  rules: []\n")
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("DELETE", "pass", 1), ("DELETE", "500", 20))
    code, report = _apply(licsync, settled, plan)
    assert code == 1, report
    status, message = _status(report, "delete-rule")
    assert status == "partial"
    assert "stays" in message
    groups, rules = _probe(settled)
    assert len(groups) == 1
    assert not rules
    settled.set_faults(FaultPlan())
    _plan(licsync, settled, tmp_path / "again.json")
    result = licsync(_args(settled, "--auto-approve", "--format", "json"))
    # No plan proposes deleting a group alone: the orphan is a finding, the site holds it.
    assert result.exit_code == 0, result.output


def test_a_delete_whose_group_delete_fails_once_is_completed(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    _with_probe(example)
    assert licsync(_args(settled, "--auto-approve")).exit_code == 0
    edit_file(example / "professional.yaml", PROBE, "  rules: []\n")
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    _faults(settled, ("DELETE", "pass", 1), ("DELETE", "drop-after", 1))
    code, report = _apply(licsync, settled, plan)
    assert code == 0, report
    status, _ = _status(report, "delete-rule")
    assert status == "completed"
    assert _probe(settled) == ([], [])


def test_faults_endpoint_takes_a_pass_step(settled: Simulator) -> None:
    """``pass`` lets a request through in a scripted sequence."""
    _faults(settled, ("GET", "pass", 1), ("GET", "500", 1))
    with bare_client(settled) as http:
        assert http.get("/qrs/about").status_code == 200
        assert http.get("/qrs/about").status_code == 500
        assert http.get("/qrs/about").status_code == 200


def test_a_reviewed_plan_without_its_safety_verdict_is_refused(
    example: Path, licsync: Licsync, settled: Simulator, tmp_path: Path
) -> None:
    """A plan whose ``safety`` key was removed cannot say it was not blocked: refused as a
    hand-edited plan is (exit 1), nothing written."""
    _with_probe(example)
    plan = tmp_path / "plan.json"
    _plan(licsync, settled, plan)
    data = json.loads(plan.read_text(encoding="utf-8"))
    del data["safety"]
    plan.write_text(json.dumps(data), encoding="utf-8")
    settled.reset_counts()
    result = licsync(_args(settled, "--plan", str(plan)))
    assert result.exit_code == 1, result.output
    assert "safety.blocked: missing" in result.stderr
    assert settled.request_counts() == {}
