"""Planner properties over random sites: determinism (convergence: test_plan_converges.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from builders import (
    ANA,
    PRO,
    RANDOM_RULES,
    actual,
    alloc,
    arule,
    random_desired,
    user,
)
from clock import NOW
from licsync.actual import Actual
from licsync.desired import Desired
from licsync.plan import execution_order, plan
from licsync.policy import Policy
from licsync.signals import Signals

POOL = [f"CORP\\u{i}" for i in range(12)] + ["INTERNAL\\sa_api"]
GROUPS = ["Sales", "Finance", "Dev"]
RULES = RANDOM_RULES


@st.composite
def sites(draw: st.DrawFn) -> tuple[Desired, Actual, Policy]:
    idents = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=len(POOL)))
    users = [
        user(
            ident,
            groups=draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=2)),
            inactive=draw(st.booleans()),
            removed=draw(st.booleans()),
            blocked=draw(st.booleans()),
        )
        for ident in idents
    ]
    allocations = []
    for ident in idents:
        for t in (PRO, ANA):
            kind = draw(st.sampled_from(["none", "none", "active", "quarantined"]))
            if kind == "active":
                used = draw(st.one_of(st.none(), st.integers(0, 400)))
                allocations.append(alloc(t, ident, used_days=used))
            elif kind == "quarantined":
                allocations.append(alloc(t, ident, used_days=3, quarantined_days_left=4))
    site_rules = [
        arule(t, n, draw(st.sampled_from([RULES[n], 'user.group = "X"'])))
        for t in (PRO, ANA)
        for n in draw(st.lists(st.sampled_from(sorted(RULES)), unique=True))
    ]
    d = random_desired(draw, POOL)
    return d, actual(users, allocations, site_rules), d.policy


@given(sites())
def test_same_inputs_same_plan_and_checksum(site: tuple[Desired, Actual, Policy]) -> None:
    """Planning twice from the same values gives equal plans and checksums."""
    d, a, _ = site
    first = plan(d, a, Signals(), NOW)
    second = plan(d, a, Signals(), NOW)
    assert first == second
    assert first.checksum == second.checksum


@given(sites())
def test_every_change_runs_after_what_it_depends_on(site: tuple[Desired, Actual, Policy]) -> None:
    """Each dependency is in the plan and in an earlier phase than its dependant; identities
    are unique within a plan."""
    d, a, _ = site
    made = plan(d, a, Signals(), NOW)
    assert len(made.ids()) == len(made.changes)
    position = {c.id: i for i, phase in enumerate(execution_order(made.changes)) for c in phase}
    for change in made.changes:
        if change.depends_on is not None:
            assert position[change.depends_on] < position[change.id]
