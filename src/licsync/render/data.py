"""The plan as JSON-ready data: the machine contract (``schema/plan.schema.json``).

Every renderer reads the plan through here or through the same Plan values, so the text, the
Markdown and the JSON never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, assert_never

from licsync import __version__
from licsync.actual import LicenceKind
from licsync.identity import QUARANTINE, AccessType
from licsync.plan import (
    FORMAT_VERSION,
    Action,
    Allocate,
    AllocationChange,
    CapacityLine,
    Change,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Finding,
    Plan,
    Reclaim,
    Reinstate,
    RuleChange,
    UpdateRule,
    UserTarget,
)
from licsync.plan.idleages import IDLE_BUCKETS
from licsync.timeutil import format_instant

__all__ = [
    "QMC_TERMS",
    "action_phrase",
    "capacity_now",
    "capacity_words",
    "change_data",
    "finding_data",
    "instant",
    "plan_data",
    "quarantine_note",
    "quarantined_reclaims",
    "summary",
]


QMC_TERMS = (
    "QMC terms: a reclaim is the QMC's Deallocate; capacity counts as the QMC's License usage "
    "does (quarantined seats still count)."
)
"""Said once, where an admin first meets licsync's words: the code says reclaim/licence."""


def instant(value: dt.datetime) -> str:
    """An instant as output shows it: UTC to the second, ``Z`` (no microseconds)."""
    return format_instant(value)


def capacity_words(plan: Plan, access_type: AccessType) -> str:
    """The QMC's numbers now and after the plan, or why there are none."""
    line = plan.capacity.get(access_type)
    if line is None:
        return (
            f"unknown: QRS's access type overview does not report {access_type.value} access "
            "(check the licence in the QMC)"
        )
    return (
        f"{capacity_now(line)}; after the plan "
        f"{line.allocated_after} allocated + {line.quarantined_after} in quarantine, "
        f"{line.available_after} available; {licence_words(line)}{unreadable_words(line)}"
    )


def licence_words(line: CapacityLine) -> str:
    """Which licence, and what that means for reclaimed seats."""
    kind = _licence_kind(line.licence)
    if kind is LicenceKind.KEY:
        return "signed licence key (a reclaimed seat is free at once)"
    if kind is LicenceKind.SERIAL:
        days = QUARANTINE.days
        return f"serial and control number (a seat used in the last {days} days is quarantined)"
    return "licence kind unknown (quarantine assumed)"


def unreadable_words(line: CapacityLine) -> str:
    """Seats licsync could not read, if any."""
    if not line.unreadable:
        return ""
    return (
        f"; {line.unreadable} seat{'s' if line.unreadable != 1 else ''} could not be read "
        "(counted as taken)"
    )


def _licence_kind(value: str) -> LicenceKind:
    try:
        return LicenceKind(value)
    except ValueError:
        return LicenceKind.UNKNOWN


def capacity_now(line: CapacityLine) -> str:
    """The QMC's numbers as the site holds them now."""
    return (
        f"{line.allocated} allocated + {line.quarantined} in quarantine (still counted) of "
        f"{line.total} total, {line.available} available"
    )


def plan_data(plan: Plan, *, lazy: bool = False) -> dict[str, Any]:
    """Everything the text rendering shows, plus identifiers and the checksum.

    With ``lazy``, the changes and findings are ``map`` objects (for
    :func:`licsync.render.jsontext.dumps_indented`, which makes them one at a time) instead of
    lists: tens of thousands of dicts need not all exist at once.
    """
    changes: Any = map(change_data, plan.changes)
    findings: Any = map(finding_data, plan.findings)
    if not lazy:
        changes, findings = list(changes), list(findings)
    return {
        "format_version": FORMAT_VERSION,
        "licsync_version": __version__,
        "site": plan.site,
        "now": instant(plan.now),
        "qrs_build_version": plan.build_version,
        "checksum": plan.checksum,
        "summary": summary(plan),
        "ownership": {t.value: plan.ownership[t].value for t in AccessType if t in plan.ownership},
        "capacity_missing": [t.value for t in AccessType if t not in plan.capacity],
        "idle_ages": {
            "buckets": [label for label, _ in IDLE_BUCKETS],
            "seats": {t.value: list(counts) for t, counts in plan.idle_ages.items()},
        },
        "capacity": {
            t.value: {
                "total": line.total,
                "used": line.used,
                "available": line.available,
                "used_after": line.used_after,
                "available_after": line.available_after,
                "needed": line.needed,
                "freed_now": line.freed_now,
                "quarantined_by_plan": line.quarantined_by_plan,
                "shortfall": line.shortfall,
                "allocated": line.allocated,
                "quarantined": line.quarantined,
                "allocated_after": line.allocated_after,
                "quarantined_after": line.quarantined_after,
                "unreadable": line.unreadable,
                "licence": line.licence,
            }
            for t, line in plan.capacity.items()
        },
        "safety": {
            "blocked": plan.safety.blocked,
            "reasons": [r.message for r in plan.safety.reasons],
            "exceeded": [
                {
                    "access_type": r.access_type.value,
                    "cap": r.cap.value,
                    "reclaims": r.reclaims,
                    "limit": r.limit,
                    "allocations": r.allocations,
                    "message": r.message,
                }
                for r in plan.safety.reasons
            ],
            "per_type": {
                t.value: {
                    "reclaims": s.reclaims,
                    "allocations": s.allocations,
                    "max_reclaims": s.max_reclaims,
                    "share_limit": s.share_limit,
                }
                for t, s in plan.safety.per_type.items()
            },
        },
        "changes": changes,
        "findings": findings,
    }


def summary(plan: Plan) -> dict[str, Any]:
    """Counts per action, quarantined reclaims, findings by severity, and the verdict."""
    counts = plan.counts()
    quarantined = quarantined_reclaims(plan)
    severities = {"error": 0, "warning": 0, "info": 0}
    for finding in plan.findings:
        severities[finding.severity] = severities.get(finding.severity, 0) + 1
    return {
        "changes": len(plan.changes),
        "actions": counts,
        "reclaims_quarantined": quarantined,
        "findings": len(plan.findings),
        "findings_by_severity": severities,
        "blocked": plan.safety.blocked,
    }


def quarantined_reclaims(plan: Plan) -> int:
    """Reclaims whose seat QRS keeps in quarantine for 7 days instead of freeing it."""
    return sum(1 for c in plan.changes if isinstance(c, Reclaim) and c.quarantine)


def quarantine_note(plan: Plan) -> str:
    """`` (2 reclaimed seats stay quarantined for 7 days)``, or "" when none do."""
    quarantined = quarantined_reclaims(plan)
    if not quarantined:
        return ""
    seats = "seat stays" if quarantined == 1 else "seats stay"
    return f" ({quarantined} reclaimed {seats} quarantined for {QUARANTINE.days} days)"


def change_data(change: Change) -> dict[str, Any]:
    """One change as JSON-ready data: its identity, what it depends on, and what its write needs.

    ``kind`` stays ``allocation`` / ``rule`` (format 1.0); ``action`` names the type of change.
    """
    depends_on = change.depends_on
    common: dict[str, Any] = {
        "id": change.id.data(),
        "action": change.action.value,
        "access_type": change.access_type.value,
        "reason": change.reason.value,
        "reason_label": change.reason.label,
        "detail": change.detail,
        "source": str(change.source) if change.source is not None else None,
        "phase": int(change.phase),
        "depends_on": depends_on.data() if depends_on is not None else None,
    }
    match change:
        case Allocate() | Reinstate() | Reclaim():
            return {
                "kind": "allocation",
                "user": change.user,
                "key": change.key,
                **common,
                **_allocation_fields(change),
            }
        case CreateRule() | CompleteRule() | UpdateRule() | DeleteRule():
            return {"kind": "rule", "name": change.name, **common, **_rule_fields(change)}
        case _:
            assert_never(change)


def _allocation_fields(change: AllocationChange) -> dict[str, Any]:
    match change:
        case Reclaim():
            return {
                "user_id": change.user_id,
                "allocation_id": change.allocation_id,
                "modified_date": change.modified_date,
                "quarantine": change.quarantine,
                "last_used": _instant(change.last_used),
                "covered_by": list(change.covered_by),
            }
        case Allocate():
            return _target_fields(change.target)
        case Reinstate():
            fields = _target_fields(change.target)
            fields.update(
                allocation_id=change.allocation_id,
                modified_date=change.modified_date,
                quarantine_end=_instant(change.quarantine_end),
                last_used=_instant(change.last_used),
            )
            return fields
        case _:
            assert_never(change)


def _target_fields(target: UserTarget) -> dict[str, Any]:
    return {
        "user_id": target.id,
        "user_directory": target.directory,
        "user_userid": target.userid,
        "allocation_id": None,
        "quarantine": False,
        "last_used": None,
        "covered_by": [],
    }


def _rule_fields(change: RuleChange) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "diff": [{"field": d.field, "actual": d.actual, "desired": d.desired} for d in change.diff],
        "rule_id": None,
        "group_id": None,
    }
    match change:
        case CreateRule():
            pass  # nothing on the site yet
        case CompleteRule() | UpdateRule():
            fields.update(rule_id=change.rule_id, group_id=change.group_id)
        case DeleteRule():
            fields.update(rule_id=change.rule_id, group_id=change.group_id)
            fields["condition"] = change.condition
        case _:
            assert_never(change)
    return fields


def _instant(value: dt.datetime | None) -> str | None:
    return instant(value) if value is not None else None


def finding_data(finding: Finding) -> dict[str, Any]:
    """One finding as JSON-ready data."""
    return {
        "kind": finding.kind.value,
        "access_type": finding.access_type.value if finding.access_type else None,
        "subject": finding.subject,
        "message": finding.message,
        "severity": finding.severity,
        "stale": finding.stale,
        "data": dict(finding.data),
    }


def action_phrase(action: Action, n: int) -> str:
    """``3 to allocate``, ``1 rule to create``: the words of the summary line."""
    words = {
        Action.ALLOCATE: "to allocate",
        Action.REINSTATE: "to reinstate",
        Action.RECLAIM: "to reclaim",
        Action.CREATE_RULE: "rule{s} to create",
        Action.COMPLETE_RULE: "rule{s} to complete",
        Action.UPDATE_RULE: "rule{s} to update",
        Action.DELETE_RULE: "rule{s} to delete",
    }[action]
    return f"{n} " + words.format(s="" if n == 1 else "s")
