"""Builders for desired and actual state values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence

from hypothesis import strategies as st

from clock import NOW
from licsync.actual import Actual, ActualAllocation, ActualRule, ActualUser, Capacity
from licsync.desired import Desired, DesiredAllocation, DesiredRule, DesiredType
from licsync.identity import AccessType, RuleContext, Source, user_key
from licsync.policy import IdlePolicy, Ownership, Policy, SafetyPolicy, UserAction
from licsync.site import Site

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER


def uid(text: str) -> str:
    """A stable GUID derived from text, so tests read well and ids stay deterministic."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def user(
    ident: str,
    *,
    groups: Sequence[str] = (),
    inactive: bool = False,
    removed: bool = False,
    blocked: bool = False,
    email: str | None = None,
    created_days: int = 400,
) -> ActualUser:
    directory, userid = ident.split("\\", 1)
    attributes: dict[str, tuple[str, ...]] = {}
    if groups:
        attributes["group"] = tuple(groups)
    if email:
        attributes["email"] = (email,)
    return ActualUser(
        id=uid(f"user:{ident.casefold()}"),
        directory=directory,
        userid=userid,
        name=userid,
        inactive=inactive,
        removed_externally=removed,
        blocked=blocked,
        attributes=attributes,
        created=NOW - dt.timedelta(days=created_days),
    )


def alloc(
    access_type: AccessType,
    ident: str,
    *,
    used_days: int | None = 1,
    created_days: int = 300,
    quarantined_days_left: int | None = None,
) -> ActualAllocation:
    directory, userid = ident.split("\\", 1)
    quarantined = quarantined_days_left is not None
    return ActualAllocation(
        id=uid(f"{access_type}:{ident.casefold()}"),
        access_type=access_type,
        user_id=uid(f"user:{ident.casefold()}"),
        directory=directory,
        userid=userid,
        last_used=None if used_days is None else NOW - dt.timedelta(days=used_days),
        created=NOW - dt.timedelta(days=created_days),
        quarantined=quarantined,
        quarantine_end=(
            NOW + dt.timedelta(days=quarantined_days_left) if quarantined_days_left else None
        ),
        modified_date="2026-01-01T00:00:00.000Z",
    )


def arule(
    access_type: AccessType,
    name: str,
    condition: str,
    *,
    context: RuleContext = RuleContext.HUB,
    disabled: bool = False,
    comment: str = "",
    half: str | None = None,
) -> ActualRule:
    return ActualRule(
        access_type=access_type,
        name=name,
        condition=condition,
        context=context,
        disabled=disabled,
        comment=comment,
        rule_id=None if half == "no-rule" else uid(f"rule:{name}"),
        group_id=None if half == "no-group" else uid(f"group:{name}"),
        rule_entity=None if half == "no-rule" else {"id": uid(f"rule:{name}"), "name": name},
    )


def actual(
    users: Iterable[ActualUser],
    allocations: Iterable[ActualAllocation] = (),
    rules: Iterable[ActualRule] = (),
    *,
    capacity: Mapping[AccessType, int] | None = None,
) -> Actual:
    user_map = {u.key: u for u in users}
    by_type: dict[AccessType, list[ActualAllocation]] = {t: [] for t in AccessType}
    for a in allocations:
        by_type[a.access_type].append(a)
    rule_map: dict[AccessType, list[ActualRule]] = {t: [] for t in AccessType}
    for r in rules:
        rule_map[r.access_type].append(r)
    totals = capacity or dict.fromkeys(AccessType, 1000)
    caps = {}
    for t in AccessType:
        quarantined = sum(1 for a in by_type[t] if a.quarantined)
        allocated = len(by_type[t]) - quarantined
        caps[t] = Capacity(
            enabled=True,
            total=totals[t],
            allocated=allocated,
            used=allocated,
            quarantined=quarantined,
            excess=0,
            available=totals[t] - allocated - quarantined,
        )
    return Actual(
        users=user_map,
        allocations={t: tuple(v) for t, v in by_type.items()},
        rules={t: tuple(v) for t, v in rule_map.items()},
        capacity=caps,
        build_version="14.0.0",
    )


def decl(ident: str, *, until: dt.date | None = None, line: int = 1) -> DesiredAllocation:
    directory, userid = ident.split("\\", 1)
    return DesiredAllocation(
        user=ident,
        key=user_key(directory, userid),
        until=until,
        source=Source("licenses/x.yaml", line, 13),
    )


def drule(
    name: str,
    condition: str,
    *,
    context: RuleContext = RuleContext.HUB,
    disabled: bool = False,
    comment: str = "",
) -> DesiredRule:
    return DesiredRule(
        name=name, condition=condition, context=context, disabled=disabled, comment=comment
    )


def policy(**overrides: object) -> Policy:
    """A policy; ``professional=``/``analyzer=`` set ownership, other keywords Policy fields."""
    ownership = dict.fromkeys(AccessType, Ownership.AUTHORITATIVE)
    for t in AccessType:
        value = overrides.pop(t.value, None)
        if value is not None:
            ownership[t] = Ownership(str(value))
    return dataclasses.replace(Policy(ownership=ownership), **overrides)  # type: ignore[arg-type]


def desired(
    *,
    pro: Sequence[DesiredAllocation] = (),
    ana: Sequence[DesiredAllocation] = (),
    pro_rules: Sequence[DesiredRule] = (),
    ana_rules: Sequence[DesiredRule] = (),
    site_policy: Policy | None = None,
) -> Desired:
    return Desired(
        site=Site(name="test", qrs_url="embedded"),
        types={
            PRO: DesiredType(allocations=tuple(pro), rules=tuple(pro_rules)),
            ANA: DesiredType(allocations=tuple(ana), rules=tuple(ana_rules)),
        },
        policy=site_policy or policy(),
    )


RANDOM_RULES = {
    "Sales": 'user.group = "Sales"',
    "Money": 'user.group = "Finance" or user.group like "Acc*"',
    "NotDev": '!(user.group = "Dev")',
    "Office": 'user.environment.ip like "10.*" and user.group = "Dev"',
}
"""Conditions for random sites: plain, with `like`, negated, one unknowable at plan time."""


def random_desired(draw: st.DrawFn, identities: Sequence[str]) -> Desired:
    """A random desired state over ``identities``: declarations (some with ``until``), rules of
    :data:`RANDOM_RULES` (some disabled, on one or both types) and a random policy with every
    ownership mode, no safety cap in the way."""
    until = st.sampled_from([None, None, dt.date(2026, 1, 1), dt.date(2027, 1, 1)])
    declared = {
        kind: [
            decl(i, until=draw(until))
            for i in draw(st.lists(st.sampled_from(list(identities)), unique=True))
        ]
        for kind in AccessType
    }
    names = draw(st.lists(st.sampled_from(sorted(RANDOM_RULES)), unique=True))
    declared_rules = [drule(n, RANDOM_RULES[n], disabled=draw(st.booleans())) for n in names]
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
    return desired(
        pro=declared[PRO],
        ana=declared[ANA],
        pro_rules=declared_rules if split else [],
        ana_rules=declared_rules,
        site_policy=pol,
    )
