"""The planner's instants compared rather than subtracted: the same answers at every boundary.

The planner compares a seat's last use with instants computed once per plan (idle since, within
the quarantine week, the idle-age buckets) instead of subtracting per seat. These tests pin the
boundaries, to the microsecond and across time zones, against the subtraction they replace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch

import pytest

from builders import PRO, actual, alloc, decl, desired, policy, user
from clock import NOW
from licsync.actual import ActualAllocation
from licsync.identity import AccessType
from licsync.plan import AllocationChange, FindingKind, Plan, Reason, plan
from licsync.plan.context import protection_finder
from licsync.plan.idleages import IDLE_BUCKETS, idle_ages
from licsync.policy import IdlePolicy, Protection, ProtectionKind, UserAction
from licsync.signals import Signals

BOB = "CORP\\bob"
EAST = dt.timezone(dt.timedelta(hours=5, minutes=30))
US = dt.timedelta(microseconds=1)


def _ages_by_subtraction(seats: list[ActualAllocation], now: dt.datetime) -> tuple[int, ...]:
    """The buckets as the planner first counted them: a subtraction and a scan per seat."""
    bounded = [bound for _, bound in IDLE_BUCKETS if bound is not None]
    counts = [0] * len(IDLE_BUCKETS)
    for seat in seats:
        if seat.last_used is None:
            counts[-1] += 1
            continue
        days = max(0, (now - seat.last_used).days)
        at = next((i for i, bound in enumerate(bounded) if days <= bound), len(bounded))
        counts[at] += 1
    return tuple(counts)


def _around(days: int) -> list[dt.timedelta]:
    whole = dt.timedelta(days=days)
    return [whole - US, whole, whole + US]


def _used(delta: dt.timedelta, *, zone: dt.tzinfo = dt.UTC) -> ActualAllocation:
    return dataclasses.replace(alloc(PRO, BOB), last_used=(NOW - delta).astimezone(zone))


@pytest.mark.parametrize("zone", [dt.UTC, EAST])
def test_idle_ages_buckets_every_boundary_as_subtraction_did(zone: dt.tzinfo) -> None:
    bounds = [bound for _, bound in IDLE_BUCKETS if bound is not None]
    deltas = [-dt.timedelta(days=2), dt.timedelta(0)]
    deltas += [d for bound in bounds for d in (*_around(bound), *_around(bound + 1))]
    for delta in deltas:
        seat = _used(delta, zone=zone)
        got = idle_ages(actual([user(BOB)], [seat]), NOW)[AccessType.PROFESSIONAL]
        assert got == _ages_by_subtraction([seat], NOW), delta


def _plan_of(seat: ActualAllocation, *, declared: bool) -> Plan:
    # Additive: an undeclared seat is reclaimed for being idle, not for being undeclared.
    site_policy = policy(
        professional="additive", idle=IdlePolicy(days=90, action=UserAction.RECLAIM)
    )
    d = desired(pro=[decl(BOB)] if declared else [], site_policy=site_policy)
    return plan(d, actual([user(BOB)], [seat]), Signals(), NOW)


@pytest.mark.parametrize("zone", [dt.UTC, EAST])
@pytest.mark.parametrize("delta", _around(91))
def test_idle_boundary_is_more_than_the_policys_days(delta: dt.timedelta, zone: dt.tzinfo) -> None:
    """Idle when ``(now - last used).days`` exceeds the policy's 90 days: 91 whole days."""
    seat = _used(delta, zone=zone)
    idle = delta >= dt.timedelta(days=91)
    kinds = [f.kind for f in _plan_of(seat, declared=True).findings]
    assert (FindingKind.DECLARED_USER_IDLE in kinds) is idle
    reasons = [c.reason for c in _plan_of(seat, declared=False).changes]
    assert reasons == ([Reason.IDLE] if idle else [])


@pytest.mark.parametrize("zone", [dt.UTC, EAST])
@pytest.mark.parametrize("delta", _around(7))
def test_quarantine_boundary_is_within_seven_days(delta: dt.timedelta, zone: dt.tzinfo) -> None:
    seat = _used(delta, zone=zone)
    [change] = plan(desired(), actual([user(BOB)], [seat]), Signals(), NOW).changes
    assert isinstance(change, AllocationChange)
    assert change.quarantine is (delta < dt.timedelta(days=7))


@pytest.mark.parametrize(
    "pattern", ["corp\\*", "corp\\b?b", "corp\\[a-c]ob", "corp\\[!b]ob", "*\\bob", "x*", "*"]
)
def test_user_protection_matches_as_fnmatchcase(pattern: str) -> None:
    keys = ["corp\\bob", "corp\\aob", "corp\\", "x\\bob", "corp\\bob\\x", "corp\\bo"]
    find = protection_finder([Protection(ProtectionKind.USER, pattern)], {})
    for key in keys:
        assert (find(key) is not None) is fnmatch.fnmatchcase(key, pattern.casefold()), key
