"""One apply converges: the real writes, against the simulator over sockets, on random sites.

For every ownership mode (drawn per access type), a random site is built in the simulator, read
over HTTP, planned, executed through :class:`~licsync.apply.writer.QrsWriter` and read again: the
second plan has no changes, and a site that already matches plans none to begin with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import RANDOM_RULES, decl, desired, policy, random_desired
from clock import NOW
from inprocess import in_process_simulator
from licsync.apply.execute import execute
from licsync.apply.writer import Outcome, QrsWriter
from licsync.desired import Desired
from licsync.identity import AccessType
from licsync.plan import Plan, plan
from licsync.qrs import QrsClient, read_actual
from licsync.signals import Signals
from licsync.sim import SimStore

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
POOL = [f"u{i}" for i in range(8)]
GROUPS = ["Sales", "Finance", "Dev"]
RULES = RANDOM_RULES


@dataclass(frozen=True)
class SitePerson:
    userid: str
    groups: tuple[str, ...]
    inactive: bool
    removed: bool
    blocked: bool


@dataclass(frozen=True)
class SiteSeat:
    access_type: AccessType
    userid: str
    used_days: int | None  # None: never used
    quarantined_days_left: int | None


@dataclass(frozen=True)
class SiteRule:
    access_type: AccessType
    name: str
    condition: str
    half: str | None  # None, "no-rule" (group only) or "no-group" (orphaned system rule)


@dataclass(frozen=True)
class Scenario:
    people: tuple[SitePerson, ...]
    seats: tuple[SiteSeat, ...]
    rules: tuple[SiteRule, ...]
    desired: Desired

    def store(self) -> SimStore:
        """The site in a fresh simulator store, clock frozen at NOW."""
        store = SimStore(NOW)
        for kind in AccessType:
            store.set_capacity(kind, 40)
        store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
        ids: dict[str, str] = {}
        for person in self.people:
            made = store.add_user(
                "CORP",
                person.userid,
                groups=person.groups,
                inactive=person.inactive,
                removed_externally=person.removed,
                blacklisted=person.blocked,
                created=NOW - dt.timedelta(days=400),
            )
            ids[person.userid] = made["id"]
        for seat in self.seats:
            left, used = seat.quarantined_days_left, seat.used_days
            store.add_allocation(
                seat.access_type,
                ids[seat.userid],
                created=NOW - dt.timedelta(days=300),
                last_used=None if used is None else NOW - dt.timedelta(days=used),
                quarantined_until=None if left is None else NOW + dt.timedelta(days=left),
            )
        for rule in self.rules:
            if rule.half == "no-rule":
                store.add_group_only(rule.access_type, rule.name)
                continue
            group, _ = store.add_rule(rule.access_type, rule.name, rule.condition)
            if rule.half == "no-group":
                store.delete_group(rule.access_type, group["id"])
        return store


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    userids = draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1))
    people = tuple(
        SitePerson(
            userid,
            tuple(draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=2))),
            inactive=draw(st.booleans()),
            removed=draw(st.booleans()),
            blocked=draw(st.booleans()),
        )
        for userid in userids
    )
    seats = []
    for userid in userids:
        for kind in AccessType:
            state = draw(st.sampled_from(["none", "none", "active", "quarantined"]))
            if state == "active":
                used = draw(st.sampled_from([None, 1, 30, 200]))
                seats.append(SiteSeat(kind, userid, used, None))
            elif state == "quarantined":
                seats.append(SiteSeat(kind, userid, 3, 4))
    rules = tuple(
        SiteRule(
            kind,
            name,
            draw(st.sampled_from([RULES[name], 'user.group = "X"'])),
            draw(st.sampled_from([None, None, "no-rule", "no-group"])),
        )
        for kind in AccessType
        for name in draw(st.lists(st.sampled_from(sorted(RULES)), unique=True, max_size=3))
    )
    wanted = random_desired(draw, [f"CORP\\{u}" for u in POOL])
    return Scenario(people, tuple(seats), rules, wanted)


def _plan(client: QrsClient, wanted: Desired) -> Plan:
    return plan(wanted, read_actual(client).actual, Signals(), NOW)


@pytest.mark.slow
# each example plans, applies through the simulator and plans again: half the profile's count
@settings(max_examples=max(3, settings.default.max_examples // 2))
@given(scenarios())
def test_one_apply_leaves_an_empty_plan(scenario: Scenario) -> None:
    """Plan, execute every change with the real writes, re-read: nothing is left to do."""
    with (
        in_process_simulator(scenario.store()) as sim,
        QrsClient(sim.url) as client,
    ):
        first = _plan(client, scenario.desired)
        results = execute(first.changes, QrsWriter(client))
        assert len(results) == len(first.changes)
        failed = [(str(r.change), r.outcome, r.message) for r in results if not r.ok]
        assert failed == []
        second = _plan(client, scenario.desired)
        assert [str(c.id) for c in second.changes] == []
        # Nothing was duplicated: one pair per declared rule name at most.
        for kind in AccessType:
            names = [r.name.casefold() for r in read_actual(client).actual.rules_of(kind)]
            declared = {r.name.casefold() for r in scenario.desired.of(kind).rules}
            assert all(names.count(n) <= 1 for n in declared), names


def test_a_failed_professional_allocation_keeps_the_analyzer_seat() -> None:
    """The redundant analyzer seat is reclaimed only if the professional allocation succeeded."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 0)  # the professional allocation will be refused: no seat
    store.set_capacity(ANA, 5)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    person = store.add_user("CORP", "ana")
    store.add_allocation(ANA, person["id"], last_used=NOW - dt.timedelta(days=30))
    wanted = desired(pro=[decl("CORP\\ana")], site_policy=policy(analyzer="authoritative"))
    with in_process_simulator(store) as sim, QrsClient(sim.url) as client:
        first = _plan(client, wanted)
        actions = sorted((c.action.value, c.access_type.value) for c in first.changes)
        assert actions == [("allocate", "professional"), ("reclaim", "analyzer")]
        results = {r.change: r for r in execute(first.changes, QrsWriter(client))}
        outcomes = sorted((k.kind.value, r.outcome) for k, r in results.items())
        assert outcomes == [("allocate", Outcome.FAILED), ("reclaim", Outcome.SKIPPED)]
        reclaim = next(r for k, r in results.items() if k.kind.value == "reclaim")
        assert reclaim.message.startswith("not attempted")
        seats = read_actual(client).actual.allocations_of(ANA)
        assert [s.key for s in seats] == ["corp\\ana"]
