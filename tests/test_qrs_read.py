"""Reading the whole actual state from the simulator: exact, in a constant number of requests."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Iterator

import pytest

from clock import NOW
from inprocess import in_process_simulator
from licsync.errors import QrsServerError
from licsync.identity import AccessType, RuleContext, user_key
from licsync.qrs import QrsClient, RetryPolicy, fetch_actual, read_actual
from licsync.qrs.read import actual_requests
from licsync.sim import SimStore, Simulator
from licsync.sim.entities import ALLOCATION, USER
from licsync.timeutil import parse_qrs_datetime

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER


@pytest.fixture
def sim_store() -> SimStore:
    """A hand-made organisation with every case the reader must handle."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 4)
    store.set_capacity(ANA, 6)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    jdoe = store.add_user(
        "CORP",
        "JDoe",
        name="Jane Doe",
        groups=["Sales", "EMEA"],
        email="jane@corp.example.com",
        custom_properties={"CostCenter": "CC-1"},
        tags=["keepAllocation"],
    )
    idle = store.add_user("CORP", "idle", inactive=True)
    store.add_user("CORP", "gone", removed_externally=True)
    store.add_user("CORP", "blocked", blacklisted=True)
    leaver = store.add_user("CORP", "leaver")
    store.add_allocation(PRO, jdoe["id"], last_used=NOW - dt.timedelta(days=2))
    store.add_allocation(ANA, idle["id"])
    store.add_allocation(ANA, leaver["id"], last_used=NOW - dt.timedelta(days=1))
    # The leaver's seat is quarantined on reclaim, then the user is deleted: the seat stays.
    (seat,) = [s for s in store.entities(ALLOCATION[ANA])[1] if s["user"]["id"] == leaver["id"]]
    store.deallocate(ANA, seat["id"], "INTERNAL\\sa_api")
    store.delete_user(leaver["id"])
    store.add_rule(PRO, "Sales pros", '((user.group="Sales"))', context=RuleContext.HUB)
    store.add_rule(ANA, "Everyone", 'user.userDirectory="CORP"', disabled=True, comment="all")
    store.add_group_only(PRO, "Half made")
    orphan_group, _ = store.add_rule(ANA, "Orphan", 'user.name="x"')
    store.delete_group(ANA, orphan_group["id"])
    store.add_system_rule("Not a licence rule", "true", "App_*")
    return store


@pytest.fixture
def client(sim: Simulator) -> Iterator[QrsClient]:
    """A read-only client."""
    with QrsClient(sim.url, read_only=True) as qrs:
        yield qrs


def test_users_as_the_simulator_holds_them(client: QrsClient, sim: Simulator) -> None:
    """Every user, keyed case-insensitively, with flags, groups, properties and tags."""
    actual = fetch_actual(client)
    assert sorted(actual.users) == [
        "corp\\blocked",
        "corp\\gone",
        "corp\\idle",
        "corp\\jdoe",
        "internal\\sa_api",
    ]
    jdoe = actual.users["corp\\jdoe"]
    assert (jdoe.directory, jdoe.userid, jdoe.name) == ("CORP", "JDoe", "Jane Doe")
    assert jdoe.groups == ("Sales", "EMEA")
    assert jdoe.attributes["email"] == ("jane@corp.example.com",)
    assert dict(jdoe.custom_properties) == {"costcenter": ("CC-1",)}
    assert jdoe.tags == ("keepAllocation",)
    assert jdoe.created == NOW
    assert actual.users["corp\\idle"].inactive
    assert actual.users["corp\\gone"].removed_externally
    assert actual.users["corp\\blocked"].blocked
    assert actual.users["internal\\sa_api"].roles == ("RootAdmin",)
    assert sim.request_counts() == {"GET": 9}


def test_allocations_including_a_deleted_users_seat(client: QrsClient) -> None:
    """Allocations carry lastUsed (None when never), quarantine, and deleted users' names."""
    actual = fetch_actual(client)
    (pro,) = actual.allocations_of(PRO)
    assert pro.key == "corp\\jdoe"
    assert pro.last_used == NOW - dt.timedelta(days=2)
    by_key = {a.key: a for a in actual.allocations_of(ANA)}
    assert sorted(by_key) == ["corp\\idle", "corp\\leaver"]
    assert by_key["corp\\idle"].last_used is None
    assert by_key["corp\\idle"].quarantined is False
    deleted = by_key["corp\\leaver"]
    assert deleted.user_id is None
    assert deleted.quarantined is True
    assert deleted.quarantine_end == NOW + dt.timedelta(days=7)
    assert parse_qrs_datetime(deleted.modified_date) is not None


def test_rules_paired_half_created_and_orphaned(client: QrsClient) -> None:
    """Rules pair with groups; a lone group and a groupless rule both appear; others skipped."""
    actual = fetch_actual(client)
    pro = {r.name: r for r in actual.rules_of(PRO)}
    ana = {r.name: r for r in actual.rules_of(ANA)}
    assert sorted(pro) == ["Half made", "Sales pros"]
    assert sorted(ana) == ["Everyone", "Orphan"]
    sales = pro["Sales pros"]
    assert (sales.condition, sales.context, sales.actions) == (
        '((user.group="Sales"))',
        RuleContext.HUB,
        1,
    )
    assert sales.half_created is False
    assert sales.rule_entity is not None
    assert sales.rule_entity["resourceFilter"].endswith(sales.group_id or "missing")
    assert (pro["Half made"].rule_id, pro["Half made"].condition) == (None, "")
    assert ana["Everyone"].disabled is True
    assert ana["Everyone"].comment == "all"
    assert (ana["Orphan"].group_id, ana["Orphan"].half_created) == (None, True)


def test_capacity_from_the_overview(client: QrsClient, sim: Simulator) -> None:
    """Capacity is the overview's numbers for each type."""
    actual = fetch_actual(client)
    overview = sim.store.overview()
    for kind, field in ((PRO, "professionalAccess"), (ANA, "analyzerAccess")):
        block = overview[field]
        capacity = actual.capacity[kind]
        assert (capacity.total, capacity.allocated, capacity.quarantined) == (
            block["total"],
            block["allocated"],
            block["quarantined"],
        )
        assert capacity.available == block["available"]
    assert actual.capacity[ANA].quarantined == 1
    assert actual.build_version == "38.22.0.0"


@pytest.mark.parametrize("size", [50, 500])
def test_constant_request_count_and_exact_state(size: int) -> None:
    """50 or 500 people: nine GETs, and every stored user and seat comes back as stored."""
    with in_process_simulator(users=size, seed=3, now=NOW) as sim, QrsClient(sim.url) as qrs:
        sim.reset_counts()
        actual = fetch_actual(qrs)
        assert sim.request_counts() == {"GET": len(actual_requests())}
        assert len(actual_requests()) == 9
        _, users = sim.store.entities(USER)
        assert len(actual.users) == len(users) == sim.store.count(USER)
        for stored in users:
            got = actual.users[user_key(stored["userDirectory"], stored["userId"])]
            assert got.id == stored["id"]
            assert got.inactive == stored["inactive"]
            assert got.blocked == stored["blacklisted"]
            groups = tuple(
                a["attributeValue"] for a in stored["attributes"] if a["attributeType"] == "Group"
            )
            assert got.groups == groups
        for kind in AccessType:
            _, seats = sim.store.entities(ALLOCATION[kind])
            assert sorted(a.id for a in actual.allocations_of(kind)) == sorted(
                s["id"] for s in seats
            )
            assert actual.rules_of(kind)


def test_read_timing_and_gc_restored(client: QrsClient) -> None:
    """read_actual says where the time went, and leaves the garbage collector as it found it."""
    assert gc.isenabled()
    result = read_actual(client)
    assert result.timing.requests == 9
    assert set(result.timing.endpoints) == {path for path, _ in actual_requests()}
    assert all(t.size > 0 for t in result.timing.endpoints.values())
    assert result.timing.total >= result.timing.assemble >= 0
    assert gc.isenabled()


def test_a_large_read_is_frozen_out_of_the_collector(
    client: QrsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From FREEZE_FROM_USERS users the read's objects are frozen (gc.freeze); below, not."""
    gc.unfreeze()
    try:
        read_actual(client)
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr("licsync.qrs.read.FREEZE_FROM_USERS", 1)
        result = read_actual(client)
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()
        assert result.actual.users
    finally:
        gc.unfreeze()


def test_failed_read_raises_and_restores_gc(sim: Simulator) -> None:
    """A read that keeps failing raises its QrsError; the collector is enabled again."""
    sim.fail_next("GET", "500", count=100)
    with (
        QrsClient(sim.url, retry=RetryPolicy(attempts=1)) as qrs,
        pytest.raises(QrsServerError),
    ):
        read_actual(qrs)
    assert gc.isenabled()


def test_third_party_log_lines_carry_no_query(
    client: QrsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx's request log lines are scrubbed of the query (xrfkey, filters)."""
    with caplog.at_level(logging.DEBUG):
        fetch_actual(client)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert any("HTTP Request: GET" in line for line in lines)
    assert not [line for line in lines if "xrfkey" in line.lower()]


def test_a_re_read_reusing_users_and_version_asks_for_the_rest_only(
    client: QrsClient, sim: Simulator
) -> None:
    """apply's re-read: the users and the build version of a read a moment ago, every licence
    entity read afresh (a reclaim in between shows), neither /qrs/user/full nor /qrs/about."""
    first = fetch_actual(client)
    (seat,) = first.allocations[PRO]
    sim.store.deallocate(PRO, seat.id, "INTERNAL\\sa_api")
    sim.reset_counts()
    again = read_actual(client, users=first.users, build_version=first.build_version).actual
    assert sim.request_counts() == {"GET": len(actual_requests()) - 2}
    assert again.users is first.users
    assert again.build_version == first.build_version
    assert [a.quarantined for a in again.allocations[PRO]] == [True]
    assert again.rules == first.rules
    assert again.capacity != first.capacity
