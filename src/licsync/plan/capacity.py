"""Counting a plan's changes against the licence's capacity and the policy's safety caps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from licsync.actual import Capacity
from licsync.identity import QUARANTINE, AccessType
from licsync.plan.changes import (
    Action,
    Allocate,
    Change,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Reclaim,
    Reinstate,
    UpdateRule,
)
from licsync.plan.context import Context
from licsync.plan.findings import Finding, FindingKind
from licsync.plan.safety import CapacityLine, Safety, SafetyCap, SafetyReason, TypeSafety
from licsync.severity import Severity


def capacity_line(
    ctx: Context, access_type: AccessType, changes: Sequence[Change]
) -> CapacityLine | None:
    """Seats of one access type before and after the changes, or None if QRS gave no numbers."""
    numbers: Capacity | None = ctx.actual.capacity.get(access_type)
    if numbers is None:
        return None
    needed = reclaimed = freed_now = reinstated = 0
    for change in changes:
        if change.access_type is not access_type:
            continue
        # Every type says what it does to the seats, so a new type cannot be left uncounted.
        match change:
            case Allocate():
                needed += 1
            case Reclaim():
                reclaimed += 1
                freed_now += 0 if change.quarantine else 1
            case Reinstate():
                reinstated += 1
            case CreateRule() | CompleteRule() | UpdateRule() | DeleteRule():
                pass  # a rule change moves no seat itself
            case _:
                assert_never(change)
    quarantined = reclaimed - freed_now
    used = numbers.total - numbers.available
    return CapacityLine(
        total=numbers.total,
        used=used,
        available=numbers.available,
        used_after=used + needed - freed_now,
        available_after=numbers.available + freed_now - needed,
        needed=needed,
        freed_now=freed_now,
        quarantined_by_plan=quarantined,
        allocated=numbers.allocated,
        quarantined=numbers.quarantined,
        allocated_after=numbers.allocated + needed + reinstated - reclaimed,
        quarantined_after=numbers.quarantined + quarantined - reinstated,
        unreadable=len(ctx.actual.unreadable_of(access_type)),
        licence=ctx.actual.licence.kind.value,
    )


def shortfall_finding(access_type: AccessType, line: CapacityLine) -> Finding:
    """The error finding when the plan allocates more seats than will be free."""
    return Finding(
        FindingKind.CAPACITY_SHORTFALL,
        access_type,
        "",
        f"{access_type}: the plan allocates {line.needed} but only "
        f"{line.available + line.freed_now} seats are free after reclaims that free seats now "
        f"({line.quarantined_by_plan} more reclaims quarantine their seat for "
        f"{QUARANTINE.days} days); "
        f"{line.shortfall} allocations will fail",
        severity=Severity.ERROR,
        data={
            "needed": line.needed,
            "available": line.available,
            "freed_now": line.freed_now,
            "shortfall": line.shortfall,
        },
    )


def count_safety(ctx: Context, changes: Sequence[Change]) -> Safety:
    """Count each type's reclaims against the policy's safety caps."""
    caps = ctx.policy.safety
    reasons: list[SafetyReason] = []
    per_type: dict[AccessType, TypeSafety] = {}
    for access_type in AccessType:
        reclaims = sum(
            1 for c in changes if c.access_type is access_type and c.action is Action.RECLAIM
        )
        allocations = len(ctx.active[access_type])
        share_limit = (
            int(caps.max_reclaim_share * allocations) if allocations >= caps.share_floor else None
        )
        per_type[access_type] = TypeSafety(
            reclaims=reclaims,
            allocations=allocations,
            max_reclaims=caps.max_reclaims,
            share_limit=share_limit,
        )
        if reclaims > caps.max_reclaims:
            reasons.append(
                SafetyReason(
                    access_type, SafetyCap.MAX_RECLAIMS, reclaims, caps.max_reclaims, allocations
                )
            )
        if share_limit is not None and reclaims > share_limit:
            reasons.append(
                SafetyReason(
                    access_type,
                    SafetyCap.MAX_RECLAIM_SHARE,
                    reclaims,
                    share_limit,
                    allocations,
                    share=caps.max_reclaim_share,
                    share_floor=caps.share_floor,
                )
            )
    return Safety(blocked=bool(reasons), reasons=tuple(reasons), per_type=per_type)
