"""Observe mode: an access type's changes said as findings instead of made."""

from __future__ import annotations

from licsync.plan.changes import Change
from licsync.plan.context import Context
from licsync.plan.findings import Finding, FindingKind
from licsync.policy import Ownership
from licsync.severity import Severity


def apply_observe_mode(ctx: Context, changes: list[Change]) -> tuple[list[Change], list[Finding]]:
    """Keep the changes of types not in observe mode; say the others as findings."""
    kept: list[Change] = []
    observed: list[Finding] = []
    for change in changes:
        if ctx.ownership(change.access_type) is not Ownership.OBSERVE:
            kept.append(change)
            continue
        observed.append(
            Finding(
                FindingKind.OBSERVE_ONLY,
                change.access_type,
                change.subject,
                f"would {change.action.value.replace('-', ' ')} {change.subject} "
                f"({change.reason.label}); {change.access_type} is in observe mode",
                severity=Severity.INFO,
                data={"action": change.action.value, "reason": change.reason.value},
            )
        )
    return kept, observed
