"""Planner properties over random sites: determinism (convergence: test_plan_converges.py)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import (
    ANA,
    NOW,
    PRO,
    actual,
    alloc,
    arule,
    decl,
    desired,
    drule,
    policy,
    user,
)
from licsync.actual import Actual
from licsync.desired import Desired
from licsync.plan import plan
from licsync.policy import IdlePolicy, Ownership, Policy, SafetyPolicy, UserAction
from licsync.signals import Signals

POOL = [f"CORP\\u{i}" for i in range(12)] + ["INTERNAL\\sa_api"]
GROUPS = ["Sales", "Finance", "Dev"]
RULES = {
    "Sales": 'user.group = "Sales"',
    "Money": 'user.group = "Finance" or user.group like "Acc*"',
    "NotDev": '!(user.group = "Dev")',
    "Office": 'user.environment.ip like "10.*" and user.group = "Dev"',
}


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
    until = st.one_of(st.none(), st.sampled_from([dt.date(2026, 1, 1), dt.date(2027, 1, 1)]))
    declared_pro = [
        decl(i, until=draw(until)) for i in draw(st.lists(st.sampled_from(POOL), unique=True))
    ]
    declared_ana = [
        decl(i, until=draw(until)) for i in draw(st.lists(st.sampled_from(POOL), unique=True))
    ]
    rule_names = draw(st.lists(st.sampled_from(sorted(RULES)), unique=True))
    declared_rules = [drule(n, RULES[n], disabled=draw(st.booleans())) for n in rule_names]
    site_rules = [
        arule(t, n, draw(st.sampled_from([RULES[n], 'user.group = "X"'])))
        for t in (PRO, ANA)
        for n in draw(st.lists(st.sampled_from(sorted(RULES)), unique=True))
    ]
    action = st.sampled_from(list(UserAction))
    pol = policy(
        professional=draw(st.sampled_from(list(Ownership))).value,
        analyzer=draw(st.sampled_from(list(Ownership))).value,
        inactive=draw(action),
        removed_externally=draw(action),
        blocked=draw(action),
        idle=IdlePolicy(days=90, action=draw(action)),
        protected=draw(st.sampled_from([(), ("INTERNAL\\*",), ("corp\\u1",)])),
        safety=SafetyPolicy(max_reclaims=1000, max_reclaim_share=1.0, share_floor=0),
    )
    split = draw(st.booleans())
    d = desired(
        pro=declared_pro,
        ana=declared_ana,
        pro_rules=declared_rules if split else [],
        ana_rules=declared_rules,
        site_policy=pol,
    )
    return d, actual(users, allocations, site_rules), pol


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites())
def test_same_inputs_same_plan_and_checksum(site: tuple[Desired, Actual, Policy]) -> None:
    """Planning twice from the same values gives equal plans and checksums."""
    d, a, _ = site
    first = plan(d, a, Signals(), NOW)
    second = plan(d, a, Signals(), NOW)
    assert first == second
    assert first.checksum == second.checksum
