"""The simulator answers in live servers' shapes or the spec's, and licsync plans the same."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cli_runner import Licsync
from clock import DEMO_NOW_ARG
from inprocess import bare_client, in_process_simulator
from licsync.identity import AccessType
from licsync.sim.demo import DEMO_NOW, demo_organisation
from licsync.sim.entities import ALLOCATION, make_allocation, qrs_time
from licsync.sim.listing import LIVE_NEVER, ShapeStyle


def _plan(licsync: Licsync, shapes: ShapeStyle, out: Path) -> tuple[dict[str, Any], list[Any]]:
    store = demo_organisation()
    when = qrs_time(DEMO_NOW)
    seat = make_allocation(
        ALLOCATION[AccessType.ANALYZER],
        "0b5e55ed-0000-4000-8000-000000000001",  # a deleted user's seat, kept in quarantine
        None,
        created=when,
        modified=when,
        by="CORP\\admin",
        last_used=when,
        quarantined=True,
        quarantine_end=qrs_time(DEMO_NOW + dt.timedelta(days=3)),
        deleted_user=("CORP", "left.company"),
    )
    store.insert_allocation(AccessType.ANALYZER, seat)
    with in_process_simulator(store, shapes=shapes) as sim:
        result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                          "--format", "json", "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        with bare_client(sim) as http:
            seats = http.get("/qrs/license/analyzeraccesstype/full").json()
    plan: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return plan, seats


def test_a_plan_against_live_shapes_equals_the_plan_against_spec_shapes(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """1753-01-01 for "never" and "" deleted-user fields plan exactly as 0001-01-01 and null."""
    live, live_seats = _plan(licsync, "live", tmp_path / "live.json")
    spec, spec_seats = _plan(licsync, "spec", tmp_path / "spec.json")
    assert any(s["quarantineEnd"] == LIVE_NEVER for s in live_seats)
    assert any(s["deletedUserId"] == "" for s in live_seats)
    assert not any(s["quarantineEnd"] == LIVE_NEVER for s in spec_seats)
    assert any(s["user"] is not None and s["deletedUserId"] is None for s in spec_seats)
    assert live["changes"]
    assert live == spec


def test_paths_are_case_insensitive(example: Path) -> None:
    """The QMC writes /qrs/Selection/.../User/License/...; other clients lower case."""
    with in_process_simulator(demo_organisation()) as sim, bare_client(sim) as http:
        users = http.get("/qrs/User", params={"filter": "userId eq 'ivan.petrov'"}).json()
        items = [{"type": "user", "objectID": users[0]["id"]}]
        made = http.post("/qrs/Selection", json={"items": items})
        assert made.status_code == 201
        selection = made.json()["id"]
        given = http.post(f"/QRS/selection/{selection}/USER/license/ProfessionalAccessType",
                          json={"quarantined": "false"})  # fmt: skip
        assert given.status_code == 201
        assert [s["user"]["userId"] for s in given.json()] == ["ivan.petrov"]
        assert http.delete(f"/qrs/SELECTION/{selection}").status_code == 204
        assert sim.store.selections() == []


def test_the_qmc_route_refuses_the_whole_request_with_broken_rules(example: Path) -> None:
    """A second seat in the selection: 400 <BrokenRules>, and nobody else got one."""
    with in_process_simulator(demo_organisation()) as sim, bare_client(sim) as http:
        ivan = http.get("/qrs/user", params={"filter": "userId eq 'ivan.petrov'"}).json()[0]
        holder = http.get("/qrs/license/professionalaccesstype/full").json()[0]["user"]
        before = len(http.get("/qrs/license/professionalaccesstype").json())
        items = [{"type": "User", "objectID": u["id"]} for u in (ivan, holder)]
        selection = http.post("/qrs/selection", json={"items": items}).json()["id"]
        refused = http.post(f"/qrs/selection/{selection}/user/license/professionalaccesstype",
                            json={"quarantined": "false"})  # fmt: skip
        assert (refused.status_code, refused.text) == (400, "<BrokenRules>")
        assert len(http.get("/qrs/license/professionalaccesstype").json()) == before
