"""One user's whole story, for ``licsync explain USER``: where they are declared, the seats they
hold, how QRS flags them, which rules cover them, their recent denials, and what the plan does
to them and why.

Pure: the values a plan is made of (desired, actual, signals, the plan and the declared rules'
coverage) in, one :class:`Story` out. The site's own licence rules are evaluated for this one
user here (the planner only reckons with the declared ones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from licsync.actual import Actual, ActualUser
from licsync.desired import Desired
from licsync.errors import RuleSyntaxError, UsageError
from licsync.identity import AccessType, split_user, user_key
from licsync.plan import Plan
from licsync.rules import RuleCoverage, Verdict, parse_condition
from licsync.rules.evaluate import evaluate
from licsync.signals import Signals
from licsync.timeutil import format_instant

__all__ = ["Declared", "RuleCover", "Seat", "Story", "explain_user"]


@dataclass(frozen=True, slots=True)
class Declared:
    """A declaration of the user: access type, where (``file:line:col``), until, note, ticket."""

    access_type: AccessType
    where: str
    until: dt.date | None
    note: str
    ticket: str


@dataclass(frozen=True, slots=True)
class Seat:
    """An allocation the user holds on the site."""

    access_type: AccessType
    since: dt.datetime | None
    last_used: dt.datetime | None
    quarantined: bool
    quarantine_end: dt.datetime | None


@dataclass(frozen=True, slots=True)
class RuleCover:
    """A licence rule that covers the user: ``declared`` (in the YAML) or on the site;
    ``verdict`` ``yes`` or ``unknown`` (decided only at login)."""

    access_type: AccessType
    name: str
    declared: bool
    verdict: str
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Story:
    """Everything licsync knows of one user, as of ``now``."""

    user: str
    key: str
    now: dt.datetime
    known_to_qrs: bool
    flags: tuple[str, ...]
    groups: tuple[str, ...]
    declared: tuple[Declared, ...]
    seats: tuple[Seat, ...]
    rules: tuple[RuleCover, ...]
    denials: Mapping[str, Any] | None
    changes: tuple[str, ...]
    findings: tuple[str, ...]

    def data(self) -> dict[str, Any]:
        """The story as JSON-ready values."""

        def instant(value: dt.datetime | None) -> str | None:
            return format_instant(value) if value is not None else None

        return {
            "format_version": "1.0",
            "user": self.user,
            "key": self.key,
            "now": format_instant(self.now),
            "known_to_qrs": self.known_to_qrs,
            "flags": list(self.flags),
            "groups": list(self.groups),
            "declared": [
                {
                    "access_type": d.access_type.value,
                    "where": d.where,
                    "until": d.until.isoformat() if d.until else None,
                    "note": d.note,
                    "ticket": d.ticket,
                }
                for d in self.declared
            ],
            "seats": [
                {
                    "access_type": s.access_type.value,
                    "since": instant(s.since),
                    "last_used": instant(s.last_used),
                    "quarantined": s.quarantined,
                    "quarantine_end": instant(s.quarantine_end),
                }
                for s in self.seats
            ],
            "rules": [
                {
                    "access_type": r.access_type.value,
                    "name": r.name,
                    "declared": r.declared,
                    "covers": r.verdict,
                    "disabled": r.disabled,
                }
                for r in self.rules
            ],
            "denials": dict(self.denials) if self.denials is not None else None,
            "plan": {"changes": list(self.changes), "findings": list(self.findings)},
        }


def explain_user(
    query: str,
    *,
    desired: Desired,
    actual: Actual,
    signals: Signals,
    plan: Plan,
    coverage: Mapping[AccessType, RuleCoverage],
) -> Story:
    """The story of the user ``query`` names (``DIRECTORY\\userid``, any case).

    Raises:
        UsageError: ``query`` is not ``DIRECTORY\\userid``, or licsync knows nothing of them
            (not declared, not in QRS, no seat, no denial).
    """
    parts = split_user(query.strip())
    if parts is None:
        msg = f"{query!r}: give the user as DIRECTORY\\userid, e.g. CORP\\anna.berg"
        raise UsageError(msg)
    key = user_key(*parts)
    person = actual.users.get(key)
    declared = tuple(
        Declared(
            t,
            str(a.source) if a.source is not None else "",
            a.until,
            a.note,
            a.ticket,
        )
        for t in AccessType
        for a in desired.of(t).allocations
        if a.key == key
    )
    seats = tuple(
        Seat(t, a.created, a.last_used, a.quarantined, a.quarantine_end)
        for t in AccessType
        for a in actual.allocations_of(t)
        if a.key == key
    )
    denial = None
    if signals.denials is not None:
        found = next((d for d in signals.denials.denials if d.key == key), None)
        if found is not None:
            denial = {
                "count": found.count,
                "first": format_instant(found.first) if found.first else None,
                "last": format_instant(found.last) if found.last else None,
                "since": format_instant(signals.denials.since),
            }
    changes = tuple(
        f"{c.action.value.replace('-', ' ')} {c.access_type.value} ({c.reason.label})"
        + (f": {c.detail}" if c.detail else "")
        for c in plan.changes
        if c.id.subject == key
    )
    findings = tuple(
        f"[{f.kind.value}] {f.message}" for f in plan.findings if f.subject.casefold() == key
    )
    if not (person or declared or seats or denial or changes or findings):
        msg = (
            f"{query}: not declared, not a user QRS lists, no seat, no denial: licsync knows "
            "nothing of them (check the spelling: DIRECTORY\\userid)"
        )
        raise UsageError(msg)
    shown = person.display if person is not None else query.strip()
    return Story(
        user=shown,
        key=key,
        now=plan.now,
        known_to_qrs=person is not None,
        flags=_flags(person),
        groups=person.groups if person is not None else (),
        declared=declared,
        seats=seats,
        rules=_rules(key, person, desired, actual, coverage),
        denials=denial,
        changes=changes,
        findings=findings,
    )


def _flags(person: ActualUser | None) -> tuple[str, ...]:
    if person is None:
        return ()
    flags = (
        ("inactive", person.inactive),
        ("removed externally", person.removed_externally),
        ("blocked", person.blocked),
    )
    return tuple(name for name, on in flags if on)


def _rules(
    key: str,
    person: ActualUser | None,
    desired: Desired,
    actual: Actual,
    coverage: Mapping[AccessType, RuleCoverage],
) -> tuple[RuleCover, ...]:
    found: list[RuleCover] = []
    for t in AccessType:
        covered = coverage.get(t)
        if covered is not None and key in covered:
            found.extend(RuleCover(t, name, True, "yes") for name in covered.matching(key))
            found.extend(RuleCover(t, name, True, "unknown") for name in covered.unknown(key))
        if person is None:
            continue
        for rule in actual.rules_of(t):
            if rule.half_created or not rule.condition.strip():
                continue  # half a rule grants nothing: the plan reports it as a finding
            try:
                verdict = evaluate(parse_condition(rule.condition), person)
            except RuleSyntaxError:
                continue
            if verdict is not Verdict.NO:
                found.append(RuleCover(t, rule.name, False, verdict.value, rule.disabled))
    return tuple(found)
