"""Licence semantics of the simulator: capacity, allocation, quarantine, reinstatement, rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clock import NOW
from inprocess import bare_client
from licsync.identity import AccessType
from licsync.sim import SimStore, Simulator
from licsync.sim.entities import USER
from licsync.timeutil import format_qrs_datetime

PRO = "/qrs/license/professionalaccesstype"
ANA = "/qrs/license/analyzeraccesstype"


@pytest.fixture
def sim_store() -> SimStore:
    """Five users, capacity 3 Professional and 10 Analyzer, clock frozen at NOW."""
    store = SimStore(NOW)
    for n in range(5):
        store.add_user("CORP", f"user{n}", name=f"User {n}", groups=["Sales"])
    store.set_capacity(AccessType.PROFESSIONAL, 3)
    store.set_capacity(AccessType.ANALYZER, 10)
    return store


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    """A client acting as ``CORP\\licadmin``."""
    with bare_client(sim, user="UserDirectory=CORP; UserId=licadmin") as c:
        yield c


def _user_ids(sim: Simulator) -> list[str]:
    _, users = sim.store.entities(USER)
    return [u["id"] for u in users]


def _overview(client: httpx.Client, key: str = "professionalAccess") -> dict[str, Any]:
    result: dict[str, Any] = client.get("/qrs/license/accesstypeoverview").json()[key]
    return result


def test_allocate_with_minimal_and_full_user(sim: Simulator, client: httpx.Client) -> None:
    """POST accepts ``{"user": {"id"}}`` and the fuller UserCondensed; answers 201 with the seat."""
    ids = _user_ids(sim)
    first = client.post(PRO, json={"user": {"id": ids[0]}})
    assert first.status_code == 201
    seat = first.json()
    assert seat["user"]["userId"] == "user0"
    assert seat["quarantined"] is False
    assert seat["lastUsed"] == "1753-01-01T00:00:00.000Z"
    assert seat["modifiedByUserName"] == "CORP\\licadmin"
    full = client.post(
        PRO, json={"user": {"id": ids[1], "userId": "USER1", "userDirectory": "corp"}}
    )
    assert full.status_code == 201
    assert client.get(f"{PRO}/count").json() == {"value": 2}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user": {}},
        {"user": {"id": "not-a-guid"}},
        {"user": {"id": "6d2b5c5e-0d3f-4c4e-9d51-5f2b6d8e9a10"}},
        [],
    ],
    ids=["no-user", "no-id", "bad-id", "unknown-user", "not-an-object"],
)
def test_allocation_bodies_refused(client: httpx.Client, body: Any) -> None:
    """An allocation that does not name an existing user is a 400 and creates nothing."""
    assert client.post(PRO, json=body).status_code == 400
    assert client.get(f"{PRO}/count").json() == {"value": 0}


def test_user_fields_contradicting_the_id_are_refused(sim: Simulator, client: httpx.Client) -> None:
    """``userId`` that does not belong to the ``id`` sent is a 400."""
    ids = _user_ids(sim)
    assert client.post(PRO, json={"user": {"id": ids[0], "userId": "user1"}}).status_code == 400


def test_one_allocation_per_user_and_type(sim: Simulator, client: httpx.Client) -> None:
    """A second seat of the same type is a 400; the other type is still possible."""
    ids = _user_ids(sim)
    assert client.post(PRO, json={"user": {"id": ids[0]}}).status_code == 201
    second = client.post(PRO, json={"user": {"id": ids[0]}})
    assert second.status_code == 400
    assert "already has" in second.text
    assert client.post(ANA, json={"user": {"id": ids[0]}}).status_code == 201


def test_capacity_exhaustion_creates_nothing(sim: Simulator, client: httpx.Client) -> None:
    """Past capacity a POST is a 400, and the overview is unchanged."""
    ids = _user_ids(sim)
    for user_id in ids[:3]:
        assert client.post(PRO, json={"user": {"id": user_id}}).status_code == 201
    before = _overview(client)
    assert before["available"] == 0
    refused = client.post(PRO, json={"user": {"id": ids[3]}})
    assert refused.status_code == 400
    assert client.get(f"{PRO}/count").json() == {"value": 3}
    assert _overview(client) == before


def test_many_is_all_or_nothing(sim: Simulator, client: httpx.Client) -> None:
    """``/many`` creates every seat or none: too many, or one bad item, fails the batch."""
    ids = _user_ids(sim)
    too_many = [{"user": {"id": i}} for i in ids[:4]]
    assert client.post(f"{PRO}/many", json=too_many).status_code == 400
    one_bad = [{"user": {"id": ids[0]}}, {"user": {"id": "6d2b5c5e-0d3f-4c4e-9d51-5f2b6d8e9a10"}}]
    assert client.post(f"{PRO}/many", json=one_bad).status_code == 400
    twice = [{"user": {"id": ids[0]}}, {"user": {"id": ids[0]}}]
    assert client.post(f"{PRO}/many", json=twice).status_code == 400
    assert client.get(f"{PRO}/count").json() == {"value": 0}
    fits = client.post(f"{PRO}/many", json=[{"user": {"id": i}} for i in ids[:3]])
    assert fits.status_code == 201
    assert [s["user"]["userId"] for s in fits.json()] == ["user0", "user1", "user2"]
    assert client.post(f"{PRO}/many", json={"user": {"id": ids[4]}}).status_code == 400


def test_deallocate_recently_used_quarantines(sim: Simulator, client: httpx.Client) -> None:
    """A seat used within 7 days is quarantined for 7 days and still counts against capacity."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0], last_used=NOW - dt.timedelta(days=6))
    assert client.delete(f"{PRO}/{seat['id']}").status_code == 204
    after = client.get(f"{PRO}/{seat['id']}").json()
    assert after["quarantined"] is True
    assert after["quarantineEnd"] == format_qrs_datetime(NOW + dt.timedelta(days=7))
    overview = _overview(client)
    assert (overview["allocated"], overview["quarantined"], overview["available"]) == (0, 1, 2)


def test_deallocate_idle_releases(sim: Simulator, client: httpx.Client) -> None:
    """A seat unused for 7 days or more, or never used, is released at once."""
    ids = _user_ids(sim)
    idle = sim.store.add_allocation("professional", ids[0], last_used=NOW - dt.timedelta(days=7))
    never = sim.store.add_allocation("professional", ids[1])
    for seat in (idle, never):
        assert client.delete(f"{PRO}/{seat['id']}").status_code == 204
        assert client.get(f"{PRO}/{seat['id']}").status_code == 404
    assert _overview(client)["available"] == 3


def test_deallocate_a_quarantined_seat_keeps_it(sim: Simulator, client: httpx.Client) -> None:
    """DELETE of a quarantined seat changes nothing (the documented simulator choice)."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation(
        "professional", ids[0], last_used=NOW, quarantined_until=NOW + dt.timedelta(days=3)
    )
    assert client.delete(f"{PRO}/{seat['id']}").status_code == 204
    seen = client.get(f"{PRO}/{seat['id']}").json()
    assert seen["quarantineEnd"] == format_qrs_datetime(NOW + dt.timedelta(days=3))
    assert client.post(PRO, json={"user": {"id": ids[0]}}).status_code == 400


def test_quarantine_ends_when_the_clock_moves(sim: Simulator, client: httpx.Client) -> None:
    """Licence maintenance releases a quarantined seat once ``quarantineEnd`` has passed."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0], last_used=NOW - dt.timedelta(hours=1))
    client.delete(f"{PRO}/{seat['id']}")
    sim.advance(dt.timedelta(days=7) - dt.timedelta(milliseconds=1))
    assert client.get(f"{PRO}/{seat['id']}").json()["quarantined"] is True
    client.post("/_sim/clock", json={"advance_seconds": 0.001})
    assert client.get(f"{PRO}/{seat['id']}").status_code == 404
    assert _overview(client)["available"] == 3
    assert client.post(PRO, json={"user": {"id": ids[0]}}).status_code == 201


def test_reinstate_with_put(sim: Simulator, client: httpx.Client) -> None:
    """PUT of the seat as read with ``quarantined: false`` reinstates it."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0], last_used=NOW - dt.timedelta(days=1))
    client.delete(f"{PRO}/{seat['id']}")
    read = client.get(f"{PRO}/{seat['id']}").json()
    response = client.put(f"{PRO}/{seat['id']}", json={**read, "quarantined": False})
    assert response.status_code == 200
    body = response.json()
    assert body["quarantined"] is False
    assert body["quarantineEnd"] == "1753-01-01T00:00:00.000Z"
    assert body["modifiedDate"] > read["modifiedDate"]
    overview = _overview(client)
    assert (overview["allocated"], overview["quarantined"]) == (1, 0)
    sim.advance(dt.timedelta(days=8))
    assert client.get(f"{PRO}/{seat['id']}").status_code == 200


def test_put_cannot_quarantine_or_move_a_seat(sim: Simulator, client: httpx.Client) -> None:
    """Quarantining by PUT or giving the seat to another user is a 400."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0])
    assert client.put(f"{PRO}/{seat['id']}", json={**seat, "quarantined": True}).status_code == 400
    moved = {**seat, "user": {"id": ids[1]}}
    assert client.put(f"{PRO}/{seat['id']}", json=moved).status_code == 400


@pytest.mark.parametrize(
    "path", ["/qrs/user/{user}", f"{PRO}/{{seat}}", "/qrs/license/professionalaccessgroup/{group}"]
)
def test_put_needs_current_modified_date(sim: Simulator, client: httpx.Client, path: str) -> None:
    """A PUT with a missing or stale ``modifiedDate`` is 409; with the current one, 200."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0])
    group = sim.store.add_group_only("professional", "G")
    url = path.format(user=ids[0], seat=seat["id"], group=group["id"])
    read = client.get(url).json()
    missing = {k: v for k, v in read.items() if k != "modifiedDate"}
    assert client.put(url, json=missing).status_code == 409
    older = {**read, "modifiedDate": "2020-01-01T00:00:00.000Z"}
    assert client.put(url, json=older).status_code == 409
    first = client.put(url, json=read)
    assert first.status_code == 200
    assert first.json()["modifiedDate"] > read["modifiedDate"]
    assert first.json()["modifiedByUserName"] == "CORP\\licadmin"
    assert client.put(url, json=read).status_code == 409  # the first read is stale now
    assert client.put(url, json=first.json()).status_code == 200


def test_put_id_must_match_the_url(sim: Simulator, client: httpx.Client) -> None:
    """The body's ``id`` is required and must be the URL's."""
    ids = _user_ids(sim)
    read = client.get(f"/qrs/user/{ids[0]}").json()
    assert client.put(f"/qrs/user/{ids[0]}", json={**read, "id": ids[1]}).status_code == 400
    no_id = {k: v for k, v in read.items() if k != "id"}
    assert client.put(f"/qrs/user/{ids[0]}", json=no_id).status_code == 400


def test_user_put_is_an_implicit_update(sim: Simulator, client: httpx.Client) -> None:
    """Fields omitted from a user PUT take their defaults; the seats see the new name."""
    ids = _user_ids(sim)
    sim.store.add_allocation("professional", ids[0])
    read = client.get(f"/qrs/user/{ids[0]}").json()
    trimmed = {k: read[k] for k in ("id", "modifiedDate", "userId", "userDirectory")}
    updated = client.put(
        f"/qrs/user/{ids[0]}", json={**trimmed, "name": "Renamed", "inactive": True}
    ).json()
    assert updated["attributes"] == []
    assert updated["inactive"] is True
    seats = client.get(f"{PRO}/full").json()
    assert seats[0]["user"]["name"] == "Renamed"


def test_delete_user_keeps_quarantined_seats(sim: Simulator, client: httpx.Client) -> None:
    """Deleting a user drops its seats except quarantined ones, which name the deleted user."""
    ids = _user_ids(sim)
    quarantined = sim.store.add_allocation(
        "professional", ids[0], last_used=NOW, quarantined_until=NOW + dt.timedelta(days=2)
    )
    plain = sim.store.add_allocation("analyzer", ids[0], last_used=NOW)
    assert client.delete(f"/qrs/user/{ids[0]}").status_code == 204
    assert client.get(f"/qrs/user/{ids[0]}").status_code == 404
    assert client.get(f"{ANA}/{plain['id']}").status_code == 404
    kept = client.get(f"{PRO}/{quarantined['id']}").json()
    assert kept["user"] is None
    assert (kept["deletedUserDirectory"], kept["deletedUserId"]) == ("CORP", "user0")
    assert _overview(client)["quarantined"] == 1


def _rule(resource_filter: str, **extra: Any) -> dict[str, Any]:
    return {
        "category": "License",
        "type": "Custom",
        "name": "Sales get Professional",
        "rule": '((user.group="Sales"))',
        "resourceFilter": resource_filter,
        "actions": 1,
        "ruleContext": 1,
        **extra,
    }


def test_licence_rule_needs_an_existing_group_of_its_type(client: httpx.Client) -> None:
    """A License rule must name an existing access group of the matching type."""
    group = client.post("/qrs/license/professionalaccessgroup", json={"name": "Sales"}).json()
    analyzer = client.post("/qrs/license/analyzeraccessgroup", json={"name": "Sales"}).json()
    good = client.post(
        "/qrs/systemrule", json=_rule(f"License.ProfessionalAccessGroup_{group['id']}")
    )
    assert good.status_code == 201
    assert good.json()["ruleContext"] == 1
    for wrong in (
        "License.ProfessionalAccessGroup_6d2b5c5e-0d3f-4c4e-9d51-5f2b6d8e9a10",
        f"License.ProfessionalAccessGroup_{analyzer['id']}",
        f"License.AnalyzerAccessGroup_{group['id']}",
        "License.ProfessionalAccessGroup_*",
        "App_*",
    ):
        assert client.post("/qrs/systemrule", json=_rule(wrong)).status_code == 400, wrong
    security = _rule("App_*", category="Security")
    assert client.post("/qrs/systemrule", json=security).status_code == 201


@pytest.mark.parametrize("missing", ["name", "resourceFilter", "actions"])
def test_system_rule_required_fields(client: httpx.Client, missing: str) -> None:
    """``name``, ``resourceFilter`` and ``actions`` are required (spec), else 400."""
    group = client.post("/qrs/license/professionalaccessgroup", json={"name": "Sales"}).json()
    body = _rule(f"License.ProfessionalAccessGroup_{group['id']}")
    del body[missing]
    assert client.post("/qrs/systemrule", json=body).status_code == 400
    assert client.post("/qrs/systemrule", json={**_rule("x"), "ruleContext": 7}).status_code == 400


def test_rule_builder_and_half_created_rule(sim: Simulator, client: httpx.Client) -> None:
    """``add_rule`` makes a group and its rule; ``add_group_only`` a group without one."""
    group, rule = sim.store.add_rule("analyzer", "Finance", '((user.group="Finance"))', comment="c")
    sim.store.add_group_only("professional", "Orphan")
    rules = client.get("/qrs/systemrule/full", params={"filter": "category eq 'License'"}).json()
    assert [r["resourceFilter"] for r in rules] == [f"License.AnalyzerAccessGroup_{group['id']}"]
    assert rules[0]["id"] == rule["id"]
    assert client.get("/qrs/license/professionalaccessgroup").json()[0]["name"] == "Orphan"
    assert client.delete(f"/qrs/license/analyzeraccessgroup/{group['id']}").status_code == 204
    assert client.get(f"/qrs/systemrule/{rule['id']}").status_code == 200  # orphaned, not cascaded


def test_selection_bulk_deallocate(sim: Simulator, client: httpx.Client) -> None:
    """A selection by filter, then DELETE on it, deallocates each seat with quarantine rules."""
    ids = _user_ids(sim)
    recent = sim.store.add_allocation("analyzer", ids[0], last_used=NOW - dt.timedelta(days=2))
    idle = sim.store.add_allocation("analyzer", ids[1], last_used=NOW - dt.timedelta(days=40))
    untouched = sim.store.add_allocation("analyzer", ids[2], last_used=NOW - dt.timedelta(days=50))
    response = client.post(
        "/qrs/selection/license/analyzeraccesstype",
        params={"filter": "user.userId eq 'user0' or user.userId eq 'user1'"},
    )
    assert response.status_code == 201
    selection = response.json()
    assert {i["objectID"] for i in selection["items"]} == {recent["id"], idle["id"]}
    base = f"/qrs/selection/{selection['id']}/license/analyzeraccesstype"
    assert client.get(f"{base}/count").json() == {"value": 2}
    assert len(client.get(f"{base}/full").json()) == 2
    assert client.get(f"/qrs/selection/{selection['id']}").json()["id"] == selection["id"]
    assert client.delete(base).status_code == 204
    assert client.get(f"{ANA}/{recent['id']}").json()["quarantined"] is True
    assert client.get(f"{ANA}/{idle['id']}").status_code == 404
    assert client.get(f"{ANA}/{untouched['id']}").json()["quarantined"] is False
    assert client.delete(f"/qrs/selection/{selection['id']}").status_code == 204
    assert client.delete(f"/qrs/selection/{selection['id']}").status_code == 404


def test_filters_on_allocations(sim: Simulator, client: httpx.Client) -> None:
    """Date filters on ``lastUsed`` and paths into the embedded user work on seats."""
    ids = _user_ids(sim)
    sim.store.add_allocation("analyzer", ids[0], last_used=NOW - dt.timedelta(days=2))
    sim.store.add_allocation("analyzer", ids[1], last_used=NOW - dt.timedelta(days=100))
    sim.store.add_allocation("analyzer", ids[2])
    month_ago = format_qrs_datetime(NOW - dt.timedelta(days=32))
    old = client.get(
        f"{ANA}/full",
        params={"filter": f"lastUsed le '{month_ago}'", "orderby": "user.userId"},
    )
    assert [s["user"]["userId"] for s in old.json()] == ["user1", "user2"]
    mine = client.get(f"{ANA}/count", params={"filter": "user.userId eq 'USER0'"})
    assert mine.json() == {"value": 1}


def test_record_use_sets_last_used(sim: Simulator, client: httpx.Client) -> None:
    """The builder's ``record_use`` simulates a login: ``lastUsed`` moves to now."""
    ids = _user_ids(sim)
    seat = sim.store.add_allocation("professional", ids[0])
    sim.store.record_use("professional", ids[0])
    assert client.get(f"{PRO}/{seat['id']}").json()["lastUsed"] == format_qrs_datetime(NOW)


@pytest.mark.parametrize(
    "clauses",
    [
        pytest.param("id eq {a} or id eq {missing} or id eq {b}", id="ids-looked-up"),
        pytest.param("(id eq {a} or ID eq {B}) or id eq {a}", id="ids-nested-upper-repeated"),
        pytest.param("id eq {a} or user.userId eq 'user1'", id="mixed-scanned"),
    ],
)
def test_selection_by_ids_selects_what_the_filter_says(
    sim: Simulator, client: httpx.Client, clauses: str
) -> None:
    """A selection of ``id eq`` clauses (looked up by id) holds what a scan would: the seats
    that exist, each once, and no seat a clause does not name."""
    ids = _user_ids(sim)
    a = sim.store.add_allocation("analyzer", ids[0])
    b = sim.store.add_allocation("analyzer", ids[1])
    sim.store.add_allocation("analyzer", ids[2])
    missing = "0b0b0b0b-0000-4000-8000-000000000000"
    text = clauses.format(a=a["id"], b=b["id"], B=b["id"].upper(), missing=missing)
    response = client.post("/qrs/selection/license/analyzeraccesstype", params={"filter": text})
    assert response.status_code == 201
    selected = [i["objectID"] for i in response.json()["items"]]
    assert sorted(selected) == sorted([a["id"], b["id"]])
