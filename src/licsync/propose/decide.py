"""What a proposal changes in the YAML: a pure function of the plan and what it was made from.

The planner already decides which declared allocations go (``until`` passed, users QRS flags,
per ``policy.users``) and reports declared users who are idle. This module does not decide that
again: it turns the plan's own reclaims and findings into edits a person reviews, and picks for
each the edit after which the next plan makes the same reclaim:

- ``remove`` the entry, when the type is authoritative and no declared rule covers the user: the
  next plan reclaims the seat as not declared;
- ``expire`` it (``until:`` set to yesterday) when removal alone would reclaim nothing: additive
  ownership, or a declared rule that covers the user; the next plan reclaims it as until passed;
- ``remove`` an entry whose seat is gone already (reclaimed, or never allocated) and that the
  policy says should go: the plan does nothing with it either way.

Users denied access who hold nothing and are declared nowhere get a suggestion per
``policy.proposals``. Observe-mode types are left alone: licsync only reports there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from licsync.actual import Actual, ActualUser
from licsync.desired import Desired, DesiredAllocation
from licsync.identity import AccessType, Source, split_user
from licsync.lookalike import declarable_user_id
from licsync.plan import FindingKind, Plan, Reason, Reclaim
from licsync.plan.planner import protection_finder, reclaiming_flag
from licsync.policy import Ownership, Policy, ProposalStyle, UserAction
from licsync.rules import RuleCoverage, Verdict
from licsync.signals import Signals

__all__ = ["Edit", "Kept", "Proposal", "Removal", "Suggestion", "decide"]


class Edit(StrEnum):
    """What happens to a declared entry."""

    REMOVE = "remove"  # the entry is deleted
    EXPIRE = "expire"  # the entry gets `until:` yesterday


@dataclass(frozen=True, slots=True)
class Removal:
    """A declared allocation the proposal ends.

    Attributes:
        why: the planner's own words for it.
        holds_seat: the site holds an active seat for the user now (the merge reclaims it).
        until: with ``expire``: the date written.
    """

    access_type: AccessType
    user: str
    key: str
    edit: Edit
    reason: Reason
    why: str
    holds_seat: bool
    source: Source | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An entry suggested for a user denied access.

    Attributes:
        covering: declared rules of ``access_type`` that cover the user (a capacity problem).
        rule_hint: a condition that would cover the user, from their first directory group.
        until: with style ``until``: the date the entry ends.
    """

    access_type: AccessType
    user: str
    key: str
    style: ProposalStyle
    count: int
    first: dt.datetime | None
    last: dt.datetime | None
    groups: tuple[str, ...]
    covering: tuple[str, ...]
    rule_hint: str
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Kept:
    """A declared entry the policy says should go that the proposal leaves as it is, and why."""

    access_type: AccessType
    user: str
    why: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """Everything one ``licsync propose`` run proposes, sorted by type and user."""

    removals: tuple[Removal, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    kept: tuple[Kept, ...] = ()


_UNNAMEABLE = (
    "denied access, but a file cannot name this user id (spaces around it, an invisible "
    "character, or too long): fix the id in the user directory first"
)


def decide(
    desired: Desired,
    actual: Actual,
    signals: Signals,
    plan: Plan,
    now: dt.datetime,
    *,
    coverage: Mapping[AccessType, RuleCoverage],
) -> Proposal:
    """The proposal for ``plan``, made of ``desired``, ``actual`` and ``signals`` as of ``now``.

    Args:
        coverage: the rule coverage the plan was made with.
    """
    policy = desired.policy
    today = now.astimezone(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)
    protected = protection_finder(policy.protected, actual.users)
    reclaims = {
        (c.access_type, c.key): c
        for c in plan.changes
        if isinstance(c, Reclaim) and c.source is not None
    }
    # A finding's subject is the user as declared: its casefold is the declared key.
    idle = {
        (f.access_type, f.subject.casefold()): f
        for f in plan.findings
        if f.kind is FindingKind.DECLARED_USER_IDLE
    }
    removals: list[Removal] = []
    kept: list[Kept] = []
    for access_type in AccessType:
        ownership = policy.ownership.get(access_type, Ownership.ADDITIVE)
        if ownership is Ownership.OBSERVE:
            continue
        seats = {a.key for a in actual.allocations_of(access_type) if not a.quarantined}
        for entry in sorted(desired.of(access_type).allocations, key=lambda a: a.key):
            held = entry.key in seats
            reclaim = reclaims.get((access_type, entry.key))
            if reclaim is not None:
                reason = reclaim.reason
                why = f"{reason.label}: {reclaim.detail}" if reclaim.detail else reason.label
            elif held and (access_type, entry.key) in idle:
                if policy.idle.action is not UserAction.RECLAIM:
                    continue  # the plan reports it; the policy does not ask for idle reclaims
                protection = protected(entry.key)
                if protection is not None:
                    why = f"idle, but protected ({protection.describe()})"
                    kept.append(Kept(access_type, entry.user, why))
                    continue
                days = idle[(access_type, entry.key)].data.get("idle_days")
                reason = Reason.IDLE
                why = f"idle: not used for {days} days (policy.idle.days: {policy.idle.days})"
            elif not held:
                gone = _gone(entry, actual.users.get(entry.key), policy, today)
                if gone is None:
                    continue
                reason, why = gone
                removals.append(
                    Removal(
                        access_type,
                        entry.user,
                        entry.key,
                        Edit.REMOVE,
                        reason,
                        f"{why}; the site holds no seat for them",
                        holds_seat=False,
                        source=entry.source,
                    )
                )
                continue
            else:
                continue
            verdict = _verdict(coverage, access_type, entry.key)
            if ownership is Ownership.AUTHORITATIVE and verdict is Verdict.NO:
                removals.append(
                    Removal(
                        access_type,
                        entry.user,
                        entry.key,
                        Edit.REMOVE,
                        reason,
                        why,
                        holds_seat=True,
                        source=entry.source,
                    )
                )
            elif entry.until is not None and entry.until < today:
                # The plan reclaims it already; the entry goes once the seat is gone.
                kept.append(Kept(access_type, entry.user, f"{why}; the plan reclaims it already"))
            else:
                removals.append(
                    Removal(
                        access_type,
                        entry.user,
                        entry.key,
                        Edit.EXPIRE,
                        reason,
                        why,
                        holds_seat=True,
                        source=entry.source,
                        until=yesterday,
                    )
                )
    suggestions = _suggestions(desired, actual, signals, coverage, today, kept=kept)
    return Proposal(tuple(removals), suggestions, tuple(kept))


def _verdict(coverage: Mapping[AccessType, RuleCoverage], t: AccessType, key: str) -> Verdict:
    rules = coverage.get(t)
    if rules is None or key not in rules:
        return Verdict.NO
    return rules.verdict(key)


def _gone(
    entry: DesiredAllocation, user: ActualUser | None, policy: Policy, today: dt.date
) -> tuple[Reason, str] | None:
    """Why an entry with no seat on the site should go, or None to keep it."""
    if entry.until is not None and entry.until < today:
        return Reason.UNTIL_PASSED, f"{Reason.UNTIL_PASSED.label}: until {entry.until}"
    if user is None:
        return None  # not synced yet, or a newcomer: the plan reports it
    reason = reclaiming_flag(user, policy)
    return (reason, reason.label) if reason is not None else None


def _suggestions(
    desired: Desired,
    actual: Actual,
    signals: Signals,
    coverage: Mapping[AccessType, RuleCoverage],
    today: dt.date,
    *,
    kept: list[Kept],
) -> tuple[Suggestion, ...]:
    """Suggestions for users denied access; those no file can name are added to ``kept``."""
    proposals = desired.policy.proposals
    report = signals.denials
    if report is None or proposals.denied is ProposalStyle.IGNORE:
        return ()
    target = proposals.access_type
    if desired.policy.ownership.get(target) is Ownership.OBSERVE:
        return ()
    declared = {a.key for t in AccessType for a in desired.of(t).allocations}
    holding = {a.key for t in AccessType for a in actual.allocations_of(t)}
    until = (
        today + dt.timedelta(days=proposals.until_days)
        if proposals.denied is ProposalStyle.UNTIL
        else None
    )
    out: list[Suggestion] = []
    for denial in report.denials:
        user = actual.users.get(denial.key)
        # A user QRS no longer lists, or one who holds or is declared a seat, needs no new one.
        if user is None or denial.key in declared or denial.key in holding:
            continue
        if user.inactive or user.removed_externally or user.blocked:
            continue
        if split_user(denial.user) is None:
            continue  # not a DIRECTORY\\userid the loader would accept as an entry
        if not declarable_user_id(denial.user):
            # An entry the loader refuses would stop the whole proposal (it is checked before
            # anything is written), and a commented-out one could never be uncommented.
            kept.append(Kept(target, denial.user, _UNNAMEABLE))
            continue
        rules = coverage.get(target)
        covering = rules.matching(denial.key) if rules is not None and denial.key in rules else ()
        groups = user.groups
        hint = (
            f'user.group = "{groups[0]}"' if groups else f'user.name = "{user.name or user.userid}"'
        )
        out.append(
            Suggestion(
                target,
                denial.user,
                denial.key,
                proposals.denied,
                denial.count,
                denial.first,
                denial.last,
                tuple(groups),
                tuple(covering),
                hint,
                until,
            )
        )
    return tuple(out)
