"""Why a reviewed change is no longer needed: which input changed since the review.

``apply --plan`` makes only the reviewed decisions the fresh plan still makes. One the fresh
plan no longer makes is skipped, and the admin deserves the real reason: the seat is gone
already, the files changed, QRS flags the user differently, the user logged in, someone
changed the rule in the QMC. Pure: the fresh plan's inputs in, one sentence out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from licsync.actual import Actual, ActualAllocation
from licsync.desired import Desired, DesiredAllocation
from licsync.identity import AccessType
from licsync.plan.changes import Action, ChangeId, Reason
from licsync.plan.document import Plan
from licsync.textsafe import escape_text

__all__ = ["why_not_needed"]

_FLAGS = {
    Reason.INACTIVE: ("inactive", "inactive"),
    Reason.REMOVED_EXTERNALLY: ("removed_externally", "removed externally"),
    Reason.BLOCKED: ("blocked", "blocked"),
}


def why_not_needed(
    changes: Iterable[ChangeId], fresh: Plan, desired: Desired, actual: Actual, now: dt.datetime
) -> dict[ChangeId, str]:
    """Per reviewed change the fresh plan (of ``desired`` and ``actual`` as of ``now``) no
    longer makes, one sentence naming the input that changed."""
    changes = tuple(changes)
    if not changes:
        return {}
    facts = _Facts(
        seats={(kind, a.key): a for kind in AccessType for a in actual.allocations_of(kind)},
        declared={(kind, a.key): a for kind in AccessType for a in desired.of(kind).allocations},
        findings={f.subject.casefold(): f.kind.value for f in reversed(fresh.findings)},
    )
    said: dict[ChangeId, str] = {}
    for change in changes:
        if change.kind in (Action.RECLAIM, Action.ALLOCATE, Action.REINSTATE):
            why = _user_change(change, facts, actual, now)
        else:
            why = _rule_change(change, desired, actual)
        why = why or "the site or the files changed since the review"
        instead = facts.findings.get(change.subject)
        if instead is not None:
            why += f"; the fresh plan reports it instead ({instead})"
        said[change] = why
    return said


@dataclass(frozen=True, slots=True)
class _Facts:
    seats: Mapping[tuple[AccessType, str], ActualAllocation]
    declared: Mapping[tuple[AccessType, str], DesiredAllocation]
    findings: Mapping[str, str]


def _user_change(change: ChangeId, facts: _Facts, actual: Actual, now: dt.datetime) -> str | None:
    kind, user = change.access_type, change.subject
    seat = facts.seats.get((kind, user))
    declared = facts.declared.get((kind, user))
    person = actual.users.get(user)
    shown = escape_text(seat.display if seat else person.display if person else user)
    if change.kind is not Action.RECLAIM:
        if seat is not None and not seat.quarantined:
            return f"already so: {shown} holds a {kind.value} seat now"
        if declared is None:
            return f"{shown} is no longer declared for {kind.value} (the files changed)"
        if person is None:
            return f"QRS no longer lists {shown}"
        if declared.until is not None and declared.until < now.date():
            return f"{shown}'s until date {declared.until} has passed"
        flags = [label for attr, label in _FLAGS.values() if getattr(person, attr)]
        if flags:
            return f"QRS now marks {shown} {' and '.join(flags)}"
        return None
    if seat is None:
        return f"already so: {shown} holds no {kind.value} seat now (reclaimed, or in the QMC)"
    if seat.quarantined:
        return f"already so: {shown}'s {kind.value} seat is in quarantine"
    reason = change.reason
    if reason is Reason.UNTIL_PASSED:
        if declared is None:
            return f"{shown} is no longer declared for {kind.value} (the files changed)"
        if declared.until is None:
            return f"{shown}'s declaration has no until date now (the files changed)"
        if declared.until >= now.date():
            return (
                f"{shown}'s until date is {declared.until}, not passed as of "
                f"{now.date()} (the files changed, or the instant applied as of)"
            )
    if reason in _FLAGS and person is not None:
        attr, label = _FLAGS[reason]
        if not getattr(person, attr):
            return f"QRS no longer marks {shown} {label}"
    if reason in (Reason.NOT_DECLARED, Reason.IDLE) and declared is not None:
        return f"{shown} is declared for {kind.value} now (the files changed)"
    if reason is Reason.IDLE and seat.last_used is not None:
        return f"{shown} used the seat on {seat.last_used.date()}"
    if reason is Reason.HOLDS_PROFESSIONAL and (AccessType.PROFESSIONAL, user) not in facts.seats:
        return f"{shown} holds no professional seat now"
    return None


def _rule_change(change: ChangeId, desired: Desired, actual: Actual) -> str | None:
    kind, name = change.access_type, change.subject
    on_site = [r for r in actual.rules_of(kind) if r.name.casefold() == name]
    declared = [r for r in desired.of(kind).rules if r.name.casefold() == name]
    shown = escape_text(on_site[0].name if on_site else declared[0].name if declared else name)
    if change.kind is Action.DELETE_RULE:
        if not on_site:
            return f"already so: the {kind.value} rule '{shown}' is gone from the site"
        if declared:
            return f"the {kind.value} rule '{shown}' is declared now (the files changed)"
        return None
    if not declared:
        return f"the {kind.value} rule '{shown}' is no longer declared (the files changed)"
    if change.kind is Action.CREATE_RULE and on_site:
        return f"already so: the {kind.value} rule '{shown}' exists on the site now"
    if change.kind is Action.UPDATE_RULE:
        if not on_site:
            return f"the {kind.value} rule '{shown}' is gone from the site (deleted in the QMC)"
        return (
            f"already so: the {kind.value} rule '{shown}' on the site matches the files now "
            "(changed in the QMC, or in the files)"
        )
    return None
