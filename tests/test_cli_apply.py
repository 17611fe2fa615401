"""``licsync apply`` as a user runs it, against the simulator over loopback sockets."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cli_runner import Licsync, edit_file
from clock import DEMO_NOW_ARG
from conftest import REPO
from inprocess import in_process_simulator
from licsync.apply.lock import lock_path, site_lock, state_directory
from licsync.apply.writer import QrsWriter
from licsync.identity import AccessType
from licsync.results import Outcome
from licsync.sim import Simulator
from licsync.sim.demo import DEMO_NOW, demo_organisation
from licsync.sim.entities import ALLOCATION, GROUP, SYSTEMRULE
from licsync.sim.faults import FaultPlan
from portable import interrupt_self

APPLY_SCHEMA = json.loads((REPO / "schema" / "apply.schema.json").read_text(encoding="utf-8"))
AUDIT_SCHEMA = json.loads((REPO / "schema" / "audit.schema.json").read_text(encoding="utf-8"))
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def demo() -> Iterator[Simulator]:
    """The demo organisation served over loopback (its clock is the demo's)."""
    with in_process_simulator(demo_organisation()) as running:
        yield running


def _args(sim: Simulator, *more: str) -> list[str]:
    return ["apply", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG, *more]


def _plan_json(licsync: Licsync, sim: Simulator, out: Path, *, code: int = 0) -> dict[str, Any]:
    result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                      "--format", "json", "--out", str(out)])  # fmt: skip
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _report(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    jsonschema.validate(data, APPLY_SCHEMA)
    return data


def _statuses(report: dict[str, Any]) -> Counter[str]:
    return Counter(item["status"] for item in report["items"])


def _writes(sim: Simulator) -> int:
    counts = sim.request_counts()
    return sum(counts.get(method, 0) for method in WRITES)


def _audit(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        jsonschema.validate(record, AUDIT_SCHEMA)
    return records


def _raise_caps(example: Path) -> None:
    edit_file(example / "site.yaml", "max_reclaims: 10 ", "max_reclaims: 1000 ")


# -- the demo, as a new user meets it ---------------------------------------------------------


def test_embedded_demo_applies_and_then_has_nothing_left(example: Path, licsync: Licsync) -> None:
    result = licsync(["apply", "licenses", "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert "licsync apply to site demo" in result.stdout
    assert ": applied" in result.stdout
    assert "After apply: nothing left to do" in result.stdout
    records = _audit(Path(".licsync/audit/demo.jsonl"))
    assert next(r["event"] for r in records) == "start"
    assert records[-1]["event"] == "end"
    changes = [r for r in records if r["event"] == "change"]
    assert len(changes) == records[0]["changes"] > 0
    assert records[-1]["remaining_changes"] == 0
    # The default audit folder ignores itself: a new repository shows nothing untracked.
    assert Path(".licsync/.gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_json_report_follows_its_schema(example: Path, licsync: Licsync) -> None:
    result = licsync(["apply", "licenses", "--auto-approve", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    assert report["failed"] is False
    assert report["after"]["summary"]["changes"] == 0
    assert set(_statuses(report)) == {"applied"}
    assert report["approval"]["mode"] == "auto"


def test_reviewed_plan_applies_exactly_what_the_plan_showed(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    reviewed = _plan_json(licsync, demo, tmp_path / "p.json")
    demo.reset_counts()
    result = licsync([*_args(demo, "--plan", str(tmp_path / "p.json"), "--format", "json")])
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    applied = sorted(json.dumps(i["id"], sort_keys=True) for i in report["items"])
    planned = sorted(json.dumps(c["id"], sort_keys=True) for c in reviewed["changes"])
    assert applied == planned
    assert set(_statuses(report)) == {"applied"}
    assert report["approval"]["checksum"] == reviewed["checksum"]


# -- approval -----------------------------------------------------------------------------------


def test_a_change_since_the_review_is_not_applied_and_is_reported(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    """Between plan and apply someone allocates a seat in the QMC (new: not reviewed) and
    reclaims one the plan would have reclaimed (no longer needed)."""
    reviewed = _plan_json(licsync, demo, tmp_path / "p.json")
    reclaims = [c for c in reviewed["changes"] if c["action"] == "reclaim"]
    fixed = reclaims[0]
    store = demo.store
    store.deallocate(AccessType(fixed["access_type"]), fixed["allocation_id"], "CORP\\qmc-admin")
    stranger = store.add_user("CORP", "newcomer")
    store.add_allocation(AccessType.PROFESSIONAL, stranger["id"], last_used=DEMO_NOW)

    result = licsync(
        _args(demo, "--plan", str(tmp_path / "p.json"), "--format", "json", "--detailed-exitcode")
    )
    assert result.exit_code == 2, result.output
    report = _report(result.stdout)
    statuses = _statuses(report)
    assert statuses["not-reviewed"] == 1
    assert statuses["no-longer-needed"] == 1
    assert statuses["applied"] == len(reviewed["changes"]) - 1
    (new,) = [i for i in report["items"] if i["status"] == "not-reviewed"]
    assert new["id"]["subject"] == "corp\\newcomer"
    # The newcomer's seat is still there: not reviewed means not applied.
    _, seats = store.entities(ALLOCATION[AccessType.PROFESSIONAL])
    assert any(s["user"] and s["user"]["id"] == stranger["id"] for s in seats)


def test_a_hand_edited_plan_is_refused_and_nothing_is_written(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    plan = _plan_json(licsync, demo, tmp_path / "p.json")
    plan["changes"] = plan["changes"][1:]  # quietly drop a change after review
    (tmp_path / "p.json").write_text(json.dumps(plan), encoding="utf-8")
    demo.reset_counts()
    result = licsync(_args(demo, "--plan", str(tmp_path / "p.json")))
    assert result.exit_code == 1
    assert "checksum does not match" in result.stderr
    assert demo.request_counts() == {} or _writes(demo) == 0


def test_a_plan_for_another_site_is_refused(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    _plan_json(licsync, demo, tmp_path / "p.json")
    edit_file(example / "site.yaml", "name: demo", "name: production")
    demo.reset_counts()
    result = licsync(_args(demo, "--plan", str(tmp_path / "p.json")))
    assert result.exit_code == 1
    assert "for site 'demo', not 'production'" in result.stderr
    assert _writes(demo) == 0


def test_checksum_mismatch_exits_3_and_shows_the_plan_now(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    result = licsync(_args(demo, "--checksum", "sha256:" + "0" * 64))
    assert result.exit_code == 3
    assert "not the approved sha256:000" in result.stderr
    assert "The plan now makes" in result.stderr
    assert _writes(demo) == 0


def test_checksum_match_applies(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    plan = _plan_json(licsync, demo, tmp_path / "p.json")
    result = licsync(_args(demo, "--checksum", plan["checksum"]))
    assert result.exit_code == 0, result.output
    assert "nothing left to do" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one approval"),
        (
            ["--auto-approve", "--checksum", "sha256:" + "a" * 64],
            "given: --checksum, --auto-approve",
        ),
        (["--auto-approve", "--force"], "--force needs --reason"),
        (["--auto-approve", "--force", "--reason", "  "], "--force needs --reason"),
        (["--auto-approve", "--reason", "why"], "--reason is only for --force"),
        (["--checksum", "abc"], "expected sha256: and 64 hex digits"),
        (["--auto-approve", "--concurrency", "0"], "--concurrency"),
        (["--auto-approve", "--max-requests-per-second", "0"], "--max-requests-per-second"),
    ],
)
def test_wrong_command_lines_exit_64(
    example: Path, licsync: Licsync, args: list[str], message: str
) -> None:
    result = licsync(["apply", "licenses", *args])
    assert result.exit_code == 64, result.output
    assert message in result.stderr
    assert not Path(".licsync").exists()


# -- safety ---------------------------------------------------------------------------------


def test_a_safety_block_exits_3_unless_forced_with_a_reason(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    edit_file(example / "site.yaml", "max_reclaims: 10 ", "max_reclaims: 1 ")
    blocked = licsync(_args(demo, "--auto-approve"))
    assert blocked.exit_code == 3
    assert "blocked by safety checks" in blocked.stderr
    assert "--force" in blocked.stderr
    assert _writes(demo) == 0
    forced = licsync(
        _args(demo, "--auto-approve", "--force", "--reason", "LIC-42 year-end clean-up")
    )
    assert forced.exit_code == 0, forced.output
    assert "FORCED past the safety checks: LIC-42 year-end clean-up" in forced.stdout
    (start, *_) = _audit(Path(".licsync/audit/demo.jsonl"))
    assert start["force_reason"] == "LIC-42 year-end clean-up"


# -- executing -------------------------------------------------------------------------------


def test_dry_run_lists_the_requests_and_sends_none(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    demo.reset_counts()
    result = licsync(_args(demo, "--auto-approve", "--dry-run", "--format", "json"))
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    assert report["dry_run"] is True
    assert report["requests"], "a dry run lists the requests it would send"
    assert {r["method"] for r in report["requests"]} <= {"POST", "PUT", "DELETE", "GET"}
    assert _writes(demo) == 0
    assert not Path(".licsync").exists(), "a dry run writes no audit log"
    text = licsync(_args(demo, "--auto-approve", "--dry-run"))
    assert "DRY RUN: nothing was sent" in text.stdout
    assert "Requests (" in text.stdout


def test_allocations_beyond_the_free_seats_fail_without_a_request(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """Capacity is used up between plan and apply: the allocation fails, saying so; the rest
    is applied and the exit code is 1."""
    demo.store.set_capacity(AccessType.PROFESSIONAL, 1)
    result = licsync(
        _args(demo, "--auto-approve", "--force", "--reason", "test", "--format", "json")
    )
    assert result.exit_code == 1, result.output
    report = _report(result.stdout)
    failed = [i for i in report["items"] if i["status"] == "failed"]
    assert failed
    assert all("no professional seat is free" in i["message"] for i in failed)
    assert all(i["attempts"] == 0 for i in failed)
    assert _statuses(report)["applied"] > 0
    # The fresh plan's numbers left no room: the seats were read again after the reclaims.
    assert _overview_reads(demo) == 3


def test_allocations_the_planned_numbers_leave_room_for_need_no_second_read(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """The fresh plan's overview shows a free seat for every allocation: the grant phase does
    not read it again (the reclaims before it only free seats), and the allocations are made."""
    demo.reset_counts()
    result = licsync(
        _args(demo, "--auto-approve", "--force", "--reason", "test", "--format", "json")
    )
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    allocations = [i for i in report["items"] if i["change"]["action"] == "allocate"]
    assert allocations
    assert {i["status"] for i in allocations} == {"applied"}
    assert _overview_reads(demo) == 2, "the fresh plan's read and the re-plan's, none between"


def _overview_reads(sim: Simulator) -> int:
    return sim.route_counts().get("GET /qrs/license/accesstypeoverview", 0)


def test_injected_faults_converge_within_three_runs(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """20% of requests answer 5xx, 429 or drop the connection: within three runs that write,
    the site is as desired, nothing outside the plan was reclaimed, nothing was allocated
    twice, and every attempt has an audit line."""
    store = demo_organisation()
    with in_process_simulator(store) as sim:
        before = _plan_json(licsync, sim, tmp_path / "before.json")
        planned_reclaims = {
            c["allocation_id"] for c in before["changes"] if c["action"] == "reclaim"
        }
        held_before = _allocation_ids(sim)
        sim.set_faults(FaultPlan.uniform(0.2, seed=7))
        exits, reported = [], 0
        # A run whose reads fail for good (a read is tried three times) sends nothing and has
        # nothing to audit; three runs that get as far as writing must converge.
        for _ in range(6):
            result = licsync(_args(sim, "--auto-approve", "--format", "json"))
            exits.append(result.exit_code)
            if result.stdout.strip():
                reported += 1
            else:
                assert result.exit_code == 1, result.output
                assert "licsync: error: GET /qrs/" in result.stderr, result.stderr
            if exits[-1] == 0 or reported == 3:
                break
        sim.set_faults(FaultPlan())
        assert exits[-1] == 0, exits
        after = _plan_json(licsync, sim, tmp_path / "after.json")
        assert after["changes"] == []
        gone = held_before - _allocation_ids(sim)
        assert gone <= planned_reclaims, "a seat outside the plan was reclaimed"
        for kind in AccessType:
            holders = [s["user"]["id"] for s in sim.store.entities(ALLOCATION[kind])[1]
                       if s.get("user") and not s.get("quarantined")]  # fmt: skip
            assert len(holders) == len(set(holders)), "a user was allocated twice"
    records = _audit(Path(".licsync/audit/demo.jsonl"))
    starts = [r for r in records if r["event"] == "start"]
    ends = [r for r in records if r["event"] == "end"]
    assert len(starts) == len(ends) == reported
    assert all(r["outcome"] in set(Outcome) for r in records if r["event"] == "change")


def _allocation_ids(sim: Simulator) -> set[str]:
    return {s["id"] for kind in AccessType for s in sim.store.entities(ALLOCATION[kind])[1]}


def test_a_rule_left_half_created_is_completed_by_the_next_run(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """A run created the access group, then died before the system rule: the next run
    completes the pair instead of creating a second group."""
    edit_file(
        example / "professional.yaml",
        "  rules: []\n",
        '  rules:\n    - name: Break-glass\n      condition: user.name = "nobody"\n',
    )
    pro_groups = GROUP[AccessType.PROFESSIONAL]
    first = licsync(_args(demo, "--auto-approve"))
    assert first.exit_code == 0, first.output
    groups = len(demo.store.entities(pro_groups)[1])
    (rule,) = [r for r in demo.store.entities(SYSTEMRULE)[1] if r["name"] == "Break-glass"]
    demo.store.delete_system_rule(rule["id"])  # the crash: the group stays, the rule is gone
    second = licsync(_args(demo, "--auto-approve", "--format", "json"))
    assert second.exit_code == 0, second.output
    report = _report(second.stdout)
    assert [i["id"]["kind"] for i in report["items"]] == ["complete-rule"]
    names = [g["name"] for g in demo.store.entities(pro_groups)[1]]
    assert names.count("Break-glass") == 1
    assert len(names) == groups
    assert report["after"]["summary"]["changes"] == 0


def test_reclaimed_seats_stay_quarantined_until_the_clock_passes_seven_days(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    result = licsync(_args(demo, "--auto-approve", "--format", "json"))
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    quarantined = [i for i in report["items"] if i["quarantine_until"] is not None]
    assert quarantined, "the demo has a recently used seat to reclaim"
    seats = demo.store.entities(ALLOCATION[AccessType.PROFESSIONAL])[1]
    assert any(s.get("quarantined") for s in seats)
    before = demo.store.overview()["professionalAccess"]["available"]
    demo.advance(dt.timedelta(days=8))
    seats = demo.store.entities(ALLOCATION[AccessType.PROFESSIONAL])[1]
    assert not any(s.get("quarantined") for s in seats)
    assert demo.store.overview()["professionalAccess"]["available"] == before + len(quarantined)


# -- one apply per site, interrupts -----------------------------------------------------------


def test_a_second_apply_of_the_same_site_is_refused_naming_the_holder(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    path = lock_path(state_directory(os.environ), "demo", demo.url)
    with site_lock(path, site="demo", timeout=0):
        result = licsync(_args(demo, "--auto-approve", "--lock-timeout", "0.2"))
    assert result.exit_code == 1
    assert "site 'demo' is being applied by" in result.stderr
    assert f"process {os.getpid()}" in result.stderr
    # The wait is not silent: it names the holder before it begins.
    (waiting,) = [line for line in result.stderr.splitlines() if "waiting" in line]
    assert waiting.startswith("licsync: waiting up to 0.2 s for the lock of site demo held by ")
    assert f"(process {os.getpid()}, since " in waiting
    assert _writes(demo) == 0
    again = licsync(_args(demo, "--auto-approve"))
    assert again.exit_code == 0, again.output


def _interrupt_on_first_write(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """SIGINT ``times`` times as the first write is about to be sent (from the worker thread,
    as a Ctrl-C arrives while requests are in flight), then let it go on slowly."""
    sent = threading.Event()
    original = QrsWriter._send

    def send(self: QrsWriter, request: Any, dry_answer: Any) -> Any:
        if not sent.is_set():
            sent.set()
            for _ in range(times):
                interrupt_self()
                time.sleep(0.3)  # the main thread handles each before the next
        return original(self, request, dry_answer)

    monkeypatch.setattr(QrsWriter, "_send", send)


def test_ctrl_c_finishes_what_is_in_flight_and_exits_130(
    example: Path, licsync: Licsync, demo: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first SIGINT stops new work; what is in flight finishes; exit 130 with an audit end
    record saying interrupted; a second run converges."""
    _interrupt_on_first_write(monkeypatch, 1)
    result = licsync(_args(demo, "--auto-approve", "--concurrency", "1", "--format", "json"))
    assert result.exit_code == 130, result.output
    report = _report(result.stdout)
    assert report["interrupted"] is True
    statuses = _statuses(report)
    assert statuses["skipped"] > 0
    assert statuses["applied"] >= 1, "the batch in flight finished"
    end = _audit(Path(".licsync/audit/demo.jsonl"))[-1]
    assert end["event"] == "end"
    assert end["interrupted"] is True
    monkeypatch.undo()
    again = licsync(_args(demo, "--auto-approve"))
    assert again.exit_code == 0, again.output
    assert "nothing left to do" in again.stdout


def test_a_second_ctrl_c_aborts_and_records_what_was_in_flight(
    example: Path, licsync: Licsync, demo: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_on_first_write(monkeypatch, 2)
    result = licsync(_args(demo, "--auto-approve", "--concurrency", "2"))
    assert result.exit_code == 130, result.output
    records = _audit(Path(".licsync/audit/demo.jsonl"))
    assert records[-1]["event"] == "end"
    assert records[-1]["interrupted"] is True
    assert any(
        r["event"] == "change" and r["outcome"] == "unknown" and "in flight" in r["message"]
        for r in records
    )


def test_a_failed_professional_allocation_keeps_the_analyzer_seat(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """The analyzer seat of a user moving to professional is reclaimed only once professional
    is theirs: with no professional seat free it stays, and the run exits 1."""
    edit_file(
        example / "professional.yaml",
        "  rules: []\n",
        "    - user: CORP\\mover\n      ticket: LIC-200\n\n  rules: []\n",
    )
    mover = demo.store.add_user("CORP", "mover")
    demo.store.add_allocation(
        AccessType.ANALYZER, mover["id"], last_used=DEMO_NOW - dt.timedelta(days=2)
    )
    # The demo's reclaims free three professional seats at once (a fourth goes to quarantine);
    # leave room for one allocation after them: Ivan's, first in the plan's order.
    overview = demo.store.overview()["professionalAccess"]
    demo.store.set_capacity(AccessType.PROFESSIONAL, overview["total"] - overview["available"] - 2)
    result = licsync(
        _args(demo, "--auto-approve", "--force", "--reason", "test", "--format", "json")
    )
    assert result.exit_code == 1, result.output
    report = _report(result.stdout)
    by_subject = {(i["id"]["kind"], i["id"]["subject"]): i for i in report["items"]}
    assert by_subject["allocate", "corp\\mover"]["status"] == "failed"
    reclaim = by_subject["reclaim", "corp\\mover"]
    assert reclaim["status"] == "skipped"
    assert reclaim["message"].startswith("not attempted")
    seats = demo.store.entities(ALLOCATION[AccessType.ANALYZER])[1]
    assert any(s.get("user") and s["user"]["id"] == mover["id"] for s in seats)


def test_the_policy_names_where_the_audit_log_goes(example: Path, licsync: Licsync) -> None:
    edit_file(example / "site.yaml", "policy:\n", "policy:\n  audit_log: ../audit/demo.jsonl\n")
    assert licsync(["validate", "licenses"]).exit_code == 0
    result = licsync(["apply", "licenses", "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert not Path(".licsync").exists()
    records = _audit(example.parent / "audit" / "demo.jsonl")
    assert records[-1]["event"] == "end"
    chosen = licsync(["apply", "licenses", "--auto-approve", "--audit-log", "mine.jsonl"])
    assert chosen.exit_code == 0, chosen.output
    events = [r["event"] for r in _audit(Path("mine.jsonl"))]  # the embedded site is new each run
    assert (events[0], events[-1]) == ("start", "end")


def test_names_from_qrs_cannot_forge_lines_or_drive_the_terminal(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """A user id QRS holds with a newline and an ANSI sequence in it is shown escaped."""
    _raise_caps(example)
    evil = demo.store.add_user("CORP", "mallory\nAfter apply: nothing left to do.\x1b[2J")
    demo.store.add_allocation(
        AccessType.PROFESSIONAL, evil["id"], last_used=DEMO_NOW - dt.timedelta(days=30)
    )
    result = licsync(_args(demo, "--auto-approve"))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    forged = [line for line in result.stdout.splitlines() if line.startswith("After apply")]
    assert len(forged) == 1
    assert "mallory\\nAfter apply" in result.stdout


def test_a_throttled_write_waits_as_asked_then_goes_again(
    example: Path, licsync: Licsync, demo: Simulator, retry_waits: list[float]
) -> None:
    """A 429 on a write is not blindly resent: apply waits the Retry-After, re-reads, and sends
    what is still needed once more."""
    demo.set_faults(FaultPlan(retry_after_s=3))
    demo.fail_next("POST", "429")
    result = licsync(_args(demo, "--auto-approve", "--format", "json"))
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    assert set(_statuses(report)) == {"applied"}
    assert max(i["attempts"] for i in report["items"]) == 2
    assert 3.0 in retry_waits
    assert report["after"]["summary"]["changes"] == 0


def test_every_allocation_goes_through_the_qmc_route(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """Counted from the simulator's request log: allocations and reinstatements go through a
    selection of users and the QMC's POST on it, each selection deleted; no /many, no POST
    straight to an access type."""
    demo.reset_counts()
    result = licsync(_args(demo, "--auto-approve", "--format", "json"))
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    granted = [i for i in report["items"] if i["id"]["kind"] in ("allocate", "reinstate")]
    assert granted
    assert all(i["status"] == "applied" for i in granted)
    routes = demo.route_counts()
    qmc = {k: n for k, n in routes.items() if "/user/license/" in k}
    assert set(qmc) <= {
        "POST /qrs/selection/{id}/user/license/professionalaccesstype",
        "POST /qrs/selection/{id}/user/license/analyzeraccesstype",
    }
    assert sum(qmc.values()) >= 1
    straight = [k for k in routes if k.startswith("POST /qrs/license/") and "accesstype" in k]
    assert straight == [], straight
    assert routes["POST /qrs/selection"] == routes["DELETE /qrs/selection/{id}"]
    assert demo.store.selections() == []
