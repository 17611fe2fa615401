"""Observe mode: an access type's changes said as findings instead of made."""

from __future__ import annotations

from licsync.identity import AccessType
from licsync.plan.changes import Action, Change, Reason
from licsync.plan.context import Context
from licsync.plan.findings import Finding, FindingKind, new_finding
from licsync.policy import Ownership
from licsync.severity import Severity

# Per member, looked up once here rather than per change: an observed type can have thousands.
_CODES = {m: m.value for m in (*Action, *Reason)}
_WORDS = {action: action.value.replace("-", " ") for action in Action}
_LABELS = {reason: reason.label for reason in Reason}


def apply_observe_mode(ctx: Context, changes: list[Change]) -> tuple[list[Change], list[Finding]]:
    """Keep the changes of types not in observe mode; say the others as findings."""
    observing = {t for t in AccessType if ctx.ownership(t) is Ownership.OBSERVE}
    kept: list[Change] = []
    said: list[Finding] = []
    for change in changes:
        if change.access_type in observing:
            said.append(observed(change.access_type, change.action, change.subject, change.reason))
        else:
            kept.append(change)
    return kept, said


def observed(access_type: AccessType, action: Action, subject: str, reason: Reason) -> Finding:
    """The finding that says a change of an observed type instead of making it."""
    return new_finding(
        FindingKind.OBSERVE_ONLY,
        access_type,
        subject,
        f"would {_WORDS[action]} {subject} ({_LABELS[reason]}); {access_type} is in observe mode",
        Severity.INFO,
        {"action": _CODES[action], "reason": _CODES[reason]},
        False,  # stale
    )
