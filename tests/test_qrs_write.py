"""Writes against the simulator: allocate, reclaim, licence rules, reinstate; nothing retried."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from licsync.actual import Actual, ActualAllocation, ActualUser
from licsync.desired import DesiredRule
from licsync.errors import QrsBadRequest, QrsConflict, QrsServerError
from licsync.identity import AccessType, RuleContext
from licsync.qrs import (
    QrsClient,
    allocate,
    allocate_many,
    create_rule,
    delete_rule,
    fetch_actual,
    reclaim,
    reclaim_many,
    reinstate_quarantined_allocation,
    update_rule,
)
from licsync.sim import SimStore, Simulator, start_simulator

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
PEOPLE = [f"user{i}" for i in range(8)]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Eight people, room for six Professional seats, two seats held (one recently used)."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 6)
    store.set_capacity(ANA, 6)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    for userid in PEOPLE:
        store.add_user("CORP", userid)
    recent = store.add_user("CORP", "recent")
    stale = store.add_user("CORP", "stale")
    store.add_allocation(ANA, recent["id"], last_used=NOW - dt.timedelta(days=1))
    store.add_allocation(ANA, stale["id"], last_used=NOW - dt.timedelta(days=60))
    store.add_rule(PRO, "Sales pros", '((user.group="Sales"))')
    with start_simulator(store) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> Iterator[QrsClient]:
    """A writing client that never sleeps."""
    with QrsClient(sim.url, sleep=lambda _: None) as qrs:
        yield qrs


def people(actual: Actual, *userids: str) -> list[ActualUser]:
    """The users named, as read."""
    return [actual.users[f"corp\\{u}"] for u in userids]


def seat_of(actual: Actual, kind: AccessType, userid: str) -> ActualAllocation | None:
    """The allocation of ``CORP\\userid`` of ``kind``, or None."""
    return next((a for a in actual.allocations_of(kind) if a.key == f"corp\\{userid}"), None)


def test_allocate_one(client: QrsClient, sim: Simulator) -> None:
    """One POST allocates a seat; the result carries its id."""
    (user,) = people(fetch_actual(client), "user0")
    sim.reset_counts()
    result = allocate(client, user, PRO)
    assert sim.request_counts() == {"POST": 1}
    assert result.ok
    assert result.user == "CORP\\user0"
    seat = seat_of(fetch_actual(client), PRO, "user0")
    assert seat is not None
    assert seat.id == result.allocation_id


def test_allocate_beyond_capacity_is_a_bad_request(client: QrsClient) -> None:
    """Seven seats of six: the seventh is refused with 400 and the reason."""
    actual = fetch_actual(client)
    for user in people(actual, *PEOPLE[:6]):
        allocate(client, user, PRO)
    with pytest.raises(QrsBadRequest, match="No professional access available"):
        allocate(client, people(actual, "user6")[0], PRO)


def test_allocate_many_in_chunks(client: QrsClient, sim: Simulator) -> None:
    """Five users in chunks of two: three POSTs to .../many, every user reported with its id."""
    actual = fetch_actual(client)
    users = people(actual, *PEOPLE[:5])
    sim.reset_counts()
    results = allocate_many(client, users, PRO, chunk_size=2)
    assert sim.request_counts() == {"POST": 3}
    assert [r.user for r in results] == [f"CORP\\{u}" for u in PEOPLE[:5]]
    assert all(r.ok for r in results)
    after = fetch_actual(client)
    for result, userid in zip(results, PEOPLE[:5], strict=True):
        seat = seat_of(after, PRO, userid)
        assert seat is not None
        assert seat.id == result.allocation_id


def test_allocate_many_reports_a_failed_chunk_per_user(client: QrsClient) -> None:
    """A chunk QRS refuses fails as a whole; each of its users carries the error; others succeed."""
    actual = fetch_actual(client)
    allocate(client, people(actual, "user2")[0], PRO)
    users = people(actual, "user0", "user1", "user2", "user3", "user4")
    results = allocate_many(client, users, PRO, chunk_size=2)
    assert [r.ok for r in results] == [True, True, False, False, True]
    assert isinstance(results[2].error, QrsBadRequest)
    assert results[2].error is results[3].error
    after = fetch_actual(client)
    assert seat_of(after, PRO, "user3") is None
    assert seat_of(after, PRO, "user4") is not None


def test_reclaim_one_quarantines_or_releases(client: QrsClient, sim: Simulator) -> None:
    """A recently used seat is quarantined, an idle one released; reclaiming again is 'absent'."""
    actual = fetch_actual(client)
    recent = seat_of(actual, ANA, "recent")
    stale = seat_of(actual, ANA, "stale")
    assert recent is not None
    assert stale is not None
    sim.reset_counts()
    assert reclaim(client, recent).ok
    assert reclaim(client, stale).ok
    assert sim.request_counts() == {"DELETE": 2}
    after = fetch_actual(client)
    quarantined = seat_of(after, ANA, "recent")
    assert quarantined is not None
    assert quarantined.quarantined
    assert seat_of(after, ANA, "stale") is None
    again = reclaim(client, stale)
    assert (again.ok, again.absent) == (True, True)


def test_reclaim_many_through_selections(client: QrsClient, sim: Simulator) -> None:
    """Per chunk: POST a selection, DELETE its seats, DELETE the selection; gone seats 'absent'."""
    actual = fetch_actual(client)
    allocate_many(client, people(actual, *PEOPLE[:5]), PRO)
    seats = list(fetch_actual(client).allocations_of(PRO))
    assert len(seats) == 5
    reclaim(client, seats[0])
    sim.reset_counts()
    results = reclaim_many(client, seats, chunk_size=2)
    assert sim.request_counts() == {"POST": 3, "DELETE": 6}
    assert [r.allocation_id for r in results] == [s.id for s in seats]
    assert all(r.ok for r in results)
    assert [r.absent for r in results] == [True, False, False, False, False]
    assert fetch_actual(client).allocations_of(PRO) == ()


def test_reclaim_many_cleans_up_the_selection_after_a_failure(
    client: QrsClient, sim: Simulator
) -> None:
    """When the bulk DELETE fails the selection is still deleted; every seat reports the error."""
    seats = list(fetch_actual(client).allocations_of(ANA))
    sim.reset_counts()
    sim.fail_next("DELETE", "503", count=1)
    results = reclaim_many(client, seats)
    assert sim.request_counts() == {"POST": 1, "DELETE": 2}
    assert [r.ok for r in results] == [False, False]
    assert all(isinstance(r.error, QrsServerError) for r in results)
    assert len(fetch_actual(client).allocations_of(ANA)) == 2


def test_create_rule_makes_group_and_rule(client: QrsClient, sim: Simulator) -> None:
    """Two POSTs: the access group, then the License system rule naming it."""
    desired = DesiredRule(
        name="Analysts",
        condition='((user.group="Analysts"))',
        context=RuleContext.BOTH,
        disabled=True,
        comment="made by licsync",
    )
    sim.reset_counts()
    result = create_rule(client, ANA, desired)
    assert sim.request_counts() == {"POST": 2}
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert (rule.rule_id, rule.group_id) == (result.rule_id, result.group_id)
    assert (rule.name, rule.condition, rule.context, rule.disabled, rule.comment) == (
        "Analysts",
        '((user.group="Analysts"))',
        RuleContext.BOTH,
        True,
        "made by licsync",
    )
    assert rule.actions == 1
    assert rule.rule_entity is not None
    assert rule.rule_entity["category"] == "License"
    assert rule.rule_entity["resourceFilter"] == f"License.AnalyzerAccessGroup_{result.group_id}"


def test_create_rule_actions_are_configurable(client: QrsClient) -> None:
    """The UNVERIFIED actions value can be set (15, as in Qlik's doc example)."""
    create_rule(client, ANA, DesiredRule(name="Fifteen", condition="true"), actions=15)
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert rule.actions == 15


def test_create_rule_failing_second_post_leaves_a_half_created_rule(client: QrsClient) -> None:
    """The rule POST fails (condition too long): the error says the group stays; plan sees it."""
    desired = DesiredRule(name="Too long", condition="x" * 3000)
    with pytest.raises(QrsBadRequest, match="half-created") as caught:
        create_rule(client, ANA, desired)
    assert "stays without its rule" in str(caught.value)
    (half,) = fetch_actual(client).rules_of(ANA)
    assert (half.name, half.rule_id, half.half_created) == ("Too long", None, True)


def test_update_rule_puts_the_entity_as_read(client: QrsClient) -> None:
    """The PUT carries the changed fields and the original modifiedDate."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    desired = DesiredRule(
        name="Sales pros", condition='((user.group="Sales EMEA"))', context=RuleContext.QMC
    )
    result = update_rule(client, rule, desired)
    (after,) = fetch_actual(client).rules_of(PRO)
    assert (after.condition, after.context, after.group_id) == (
        '((user.group="Sales EMEA"))',
        RuleContext.QMC,
        rule.group_id,
    )
    assert result.rule_entity is not None
    assert after.rule_entity is not None
    assert result.rule_entity["modifiedDate"] == after.rule_entity["modifiedDate"]


def test_stale_rule_update_is_a_conflict(client: QrsClient) -> None:
    """Updating from a stale read: 409 surfaces as QrsConflict asking to re-run plan."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    update_rule(client, rule, DesiredRule(name="Sales pros", condition="first"))
    with pytest.raises(QrsConflict, match="re-run plan") as caught:
        update_rule(client, rule, DesiredRule(name="Sales pros", condition="second"))
    assert caught.value.status == 409
    (after,) = fetch_actual(client).rules_of(PRO)
    assert after.condition == "first"


def test_update_of_a_half_created_rule_is_refused(client: QrsClient, sim: Simulator) -> None:
    """A rule without its system rule cannot be updated (delete and create it instead)."""
    sim.store.add_group_only(ANA, "Lonely")
    (lonely,) = fetch_actual(client).rules_of(ANA)
    with pytest.raises(ValueError, match="half-created"):
        update_rule(client, lonely, DesiredRule(name="Lonely", condition="true"))


def test_delete_rule_removes_both_halves_and_converges(client: QrsClient, sim: Simulator) -> None:
    """The rule goes, then its group; deleting what is already gone counts as done."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.reset_counts()
    result = delete_rule(client, rule)
    assert sim.request_counts() == {"DELETE": 2}
    assert result.action == "deleted"
    assert fetch_actual(client).rules_of(PRO) == ()
    assert delete_rule(client, rule).action == "deleted"


def test_delete_half_created_and_orphaned_rules(client: QrsClient, sim: Simulator) -> None:
    """A lone group and a groupless rule are deleted by the half they have."""
    sim.store.add_group_only(ANA, "Lonely")
    group, _ = sim.store.add_rule(ANA, "Orphan", "true")
    sim.store.delete_group(ANA, group["id"])
    for rule in fetch_actual(client).rules_of(ANA):
        delete_rule(client, rule)
    assert fetch_actual(client).rules_of(ANA) == ()


def test_reinstate_a_quarantined_seat(client: QrsClient, sim: Simulator) -> None:
    """GET the seat, PUT it back with quarantined false: it is the user's again."""
    recent = seat_of(fetch_actual(client), ANA, "recent")
    assert recent is not None
    reclaim(client, recent)
    quarantined = seat_of(fetch_actual(client), ANA, "recent")
    assert quarantined is not None
    assert quarantined.quarantined
    sim.reset_counts()
    result = reinstate_quarantined_allocation(client, quarantined)
    assert sim.request_counts() == {"GET": 1, "PUT": 1}
    assert result.quarantined is False
    after = seat_of(fetch_actual(client), ANA, "recent")
    assert after is not None
    assert (after.id, after.quarantined) == (quarantined.id, False)


def test_reinstate_from_a_stale_read_is_a_conflict(client: QrsClient) -> None:
    """Reinstating with the modifiedDate of an older read is a QrsConflict."""
    recent = seat_of(fetch_actual(client), ANA, "recent")
    assert recent is not None
    reclaim(client, recent)
    with pytest.raises(QrsConflict):
        reinstate_quarantined_allocation(client, recent)


def test_chunk_size_must_be_positive(client: QrsClient) -> None:
    """A chunk size below 1 is a programming error."""
    with pytest.raises(ValueError, match="chunk size"):
        allocate_many(client, [], PRO, chunk_size=0)
