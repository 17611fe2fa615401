"""The planner's allocations: per access type, which seats to reclaim and why, which declared
users to allocate or reinstate from quarantine, and what a human should look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from licsync.actual import ActualAllocation, ActualUser, UnreadableRow
from licsync.desired import DesiredAllocation
from licsync.identity import QUARANTINE, AccessType
from licsync.plan.changes import (
    Action,
    Allocate,
    ChangeId,
    Reason,
    Reclaim,
    Reinstate,
    new_allocate,
    new_reclaim,
    new_user_target,
)
from licsync.plan.context import Context, days_text
from licsync.plan.findings import Finding, FindingKind, new_finding
from licsync.plan.observe import observed
from licsync.policy import Ownership, Policy, UserAction
from licsync.rules import RuleCoverage, Verdict
from licsync.severity import Severity
from licsync.timeutil import format_instant


@dataclass(slots=True)
class _Outcome:
    changes: list[Allocate | Reinstate | Reclaim] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    """Declared users to allocate or reinstate while the licence is expired (apply refuses)."""
    observed: list[Finding] = field(default_factory=list)
    """The changes of a type in observe mode, said instead of made (see :mod:`.observe`)."""


_FLAGS: tuple[tuple[str, Reason, str], ...] = (
    ("removed_externally", Reason.REMOVED_EXTERNALLY, "removed externally"),
    ("blocked", Reason.BLOCKED, "blocked"),
    ("inactive", Reason.INACTIVE, "inactive"),
)


def _flags(user: ActualUser) -> list[tuple[Reason, str]]:
    if not (user.removed_externally or user.blocked or user.inactive):
        return []  # almost every user: no getattr per flag
    return [(reason, words) for attr, reason, words in _FLAGS if getattr(user, attr)]


def _flag_action(policy: Policy, reason: Reason) -> UserAction:
    if reason is Reason.REMOVED_EXTERNALLY:
        return policy.removed_externally
    if reason is Reason.BLOCKED:
        return policy.blocked
    return policy.inactive


def reclaiming_flag(user: ActualUser, policy: Policy) -> Reason | None:
    """The first of the user's QRS flags whose policy action is reclaim, in the planner's
    order (removed externally, blocked, inactive), or None."""
    for reason, _ in _flags(user):
        if _flag_action(policy, reason) is UserAction.RECLAIM:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class _Scope:
    """One access type's share of the context, looked up once per type rather than once per
    seat: a large site decides thousands of seats, and these look-ups (enum-keyed mappings,
    properties, datetime arithmetic) were a good part of the planner's time."""

    ctx: Context
    access_type: AccessType
    analyzer: bool
    users: Mapping[str, ActualUser]
    declared: Mapping[str, DesiredAllocation]
    declared_professional: Mapping[str, DesiredAllocation]
    quarantined: Mapping[str, ActualAllocation]
    holds: Mapping[str, Allocate | Reinstate | None]
    removes_undeclared: bool
    observed: bool
    """In observe mode: its changes are said as findings, never built (thousands of them)."""
    coverage: RuleCoverage
    policy: Policy
    now: dt.datetime
    today: dt.date
    idle_before: dt.datetime
    """A seat last used (or, never used, created) at or before this is idle: more than the
    policy's days, counted as ``(now - since).days`` counts them."""
    quarantine_after: dt.datetime | None
    """A reclaimed seat used after this is quarantined; None when the licence never does."""
    expired: bool
    """The licence expired: QRS refuses every allocation and reinstatement."""

    @classmethod
    def of(
        cls, ctx: Context, access_type: AccessType, holds: Mapping[str, Allocate | Reinstate | None]
    ) -> _Scope:
        now = ctx.now
        return cls(
            ctx=ctx,
            access_type=access_type,
            analyzer=access_type is AccessType.ANALYZER,
            users=ctx.actual.users,
            declared=ctx.declared[access_type],
            declared_professional=ctx.declared[AccessType.PROFESSIONAL],
            quarantined=ctx.quarantined[access_type],
            holds=holds,
            removes_undeclared=ctx.removes_undeclared(access_type),
            observed=ctx.ownership(access_type) is Ownership.OBSERVE,
            coverage=ctx.coverage[access_type],
            policy=ctx.policy,
            now=now,
            today=ctx.today,
            idle_before=now - dt.timedelta(days=ctx.policy.idle.days + 1),
            quarantine_after=now - QUARANTINE if ctx.actual.licence.quarantines else None,
            expired=ctx.actual.licence.expired,
        )

    # The coverage answers for the users it was built over, which is nearly every user asked
    # about: a KeyError is cheaper than asking whether the user is there first, every time.

    def covering(self, key: str) -> tuple[str, ...]:
        """The type's declared rules that surely cover the user (none outside the population)."""
        try:
            return self.coverage.matching(key)
        except KeyError:
            return ()

    def verdict(self, key: str) -> Verdict:
        """Whether a declared rule of the type covers the user (NO outside the population)."""
        try:
            return self.coverage.verdict(key)
        except KeyError:
            return Verdict.NO


def plan_allocations(
    ctx: Context,
    access_type: AccessType,
    *,
    holds_professional: Mapping[str, Allocate | Reinstate | None],
) -> _Outcome:
    """Decide the seats of one access type: reclaims, allocations, reinstatements, findings.

    ``holds_professional``: who holds professional once the plan is applied, with the change
    that grants it (None: held already).
    """
    out = _Outcome()
    scope = _Scope.of(ctx, access_type, holds_professional)
    declared = scope.declared
    active = ctx.active[access_type]
    for key in sorted(active):
        _decide_allocation(scope, key, active[key], declared.get(key), out)
    for key in sorted(declared.keys() - active.keys()):
        _decide_declared(scope, declared[key], out)
    quarantined = scope.quarantined
    for key in sorted(quarantined.keys() - active.keys() - declared.keys()):
        out.findings.append(_quarantined_seat(access_type, quarantined[key]))
    if out.held_back:
        out.findings.append(_expired_finding(ctx, access_type, out.held_back))
    out.findings.extend(_unreadable_seat(row) for row in ctx.actual.unreadable_of(access_type))
    return out


def _expired_finding(ctx: Context, access_type: AccessType, users: Sequence[str]) -> Finding:
    """The licence expired: QRS refuses to add any access (``400 <BrokenRules>``), so apply
    sends none of these (it says so per change); the plan says it once, up front."""
    reason = ctx.actual.licence.expired_reason
    because = f" ({reason})" if reason else ""
    count = len(users)
    return Finding(
        FindingKind.LICENCE_EXPIRED,
        access_type,
        "",
        f"the site's licence has expired{because}: QRS refuses to add access, so apply will "
        f"not send the {count} {access_type} allocation{'s' if count != 1 else ''} or "
        "reinstatement(s) planned; renew the licence in the QMC, then plan again",
        severity=Severity.ERROR,
        data={"users": sorted(users, key=str.casefold), "expired_reason": reason},
    )


def _unreadable_seat(row: UnreadableRow) -> Finding:
    """A seat licsync cannot read: reported, never reclaimed, never counted free."""
    named = f"allocation {row.id}" if row.id is not None else f"entry #{row.index}"
    return Finding(
        FindingKind.UNREADABLE_SEAT,
        row.access_type,
        row.id or f"#{row.index}",
        f"QRS lists a {row.access_type} seat licsync cannot read ({named} {row.why}): it is "
        "left as it is, never reclaimed and never counted free; look at it in the QMC",
        data={"allocation_id": row.id, "index": row.index, "why": row.why},
    )


def _quarantined_seat(access_type: AccessType, seat: ActualAllocation) -> Finding:
    """A quarantined seat nobody declares: YAML cannot keep it as it is (declaring reinstates
    it), and it counts against the licence until its quarantine ends."""
    until = seat.quarantine_end
    when = f" until {until.date().isoformat()}" if until is not None else ""
    return Finding(
        FindingKind.QUARANTINED_SEAT,
        access_type,
        seat.display,
        f"{seat.display}'s {access_type} seat is quarantined{when} and still counts against "
        "the licence; declare the user to reinstate it, or let it lapse",
        severity=Severity.INFO,
        data={
            "allocation_id": seat.id,
            "quarantine_end": format_instant(until) if until is not None else None,
        },
    )


def _decide_allocation(
    scope: _Scope,
    key: str,
    allocation: ActualAllocation,
    declared: DesiredAllocation | None,
    out: _Outcome,
) -> None:
    access_type = scope.access_type
    user = scope.users.get(key)
    display = declared.user if declared is not None else allocation.display
    reason: Reason | None = None
    detail = ""
    needs: ChangeId | None = None
    can_log_in = user is not None

    if declared is not None and declared.until is not None and declared.until < scope.today:
        reason, detail = Reason.UNTIL_PASSED, f"until {declared.until.isoformat()}"
    elif user is None:
        out.findings.append(
            Finding(
                FindingKind.FLAGGED_USER,
                access_type,
                display,
                f"{display} holds {access_type} but QRS lists no such user; check the "
                "allocation in the QMC",
                data={"allocation_id": allocation.id},
            )
        )
        return
    elif user.removed_externally or user.blocked or user.inactive:
        can_log_in = False
        reason, detail = _flagged(scope, user, display, declared is not None, out)
    holds = scope.holds
    if reason is None and scope.analyzer and key in holds:
        out.findings.append(
            new_finding(
                FindingKind.HOLDS_BOTH_TYPES,
                None,
                display,
                f"{display} holds both professional and analyzer access",
                Severity.INFO,
                {},
                False,
            )
        )
        if declared is None:
            reason, detail = Reason.HOLDS_PROFESSIONAL, "professional access includes analyzer"
            grant = holds[key]
            needs = grant.id if grant is not None else None
    if (
        reason is None
        and declared is None
        and scope.removes_undeclared
        and not _awaits_professional(scope, key)
    ):
        reason, detail = _undeclared(scope, key, allocation, display, out)
    if reason is None:
        reason, detail = _idle(scope, allocation, display, declared is not None, out)
    if reason is None:
        return
    _reclaim(
        scope,
        key,
        allocation,
        declared,
        out,
        display=display,
        reason=reason,
        detail=detail,
        needs=needs,
        can_log_in=can_log_in,
    )


def _declared_flagged(
    access_type: AccessType, who: str, flags: Sequence[tuple[Reason, str]], then: str = ""
) -> Finding:
    """A declared user QRS flags: the finding, ``then`` saying what the plan does about it."""
    words = ", ".join(w for _, w in flags)
    return Finding(
        FindingKind.DECLARED_USER_FLAGGED,
        access_type,
        who,
        f"{who} is declared for {access_type} but QRS marks them {words}{then}",
        data={"flags": [r.value for r, _ in flags]},
    )


def _flagged(
    scope: _Scope, user: ActualUser, display: str, is_declared: bool, out: _Outcome
) -> tuple[Reason | None, str]:
    """A seat whose user QRS flags: the first flag the policy reclaims for, else a finding."""
    access_type = scope.access_type
    flags = _flags(user)
    if is_declared:
        out.findings.append(_declared_flagged(access_type, display, flags))
    reported: list[tuple[Reason, str]] = []
    for flag, words in flags:
        action = _flag_action(scope.policy, flag)
        if action is UserAction.RECLAIM:
            return flag, f"QRS marks the user {words}"
        if action is UserAction.REPORT:
            reported.append((flag, words))
    # QRS marks a user removed externally inactive too: one finding names both flags.
    if reported:
        out.findings.append(
            Finding(
                FindingKind.FLAGGED_USER,
                access_type,
                display,
                f"{display} holds {access_type} but QRS marks them "
                f"{' and '.join(w for _, w in reported)} (policy: report)",
                severity=Severity.INFO,
                data={"flag": reported[0][0].value, "flags": [r.value for r, _ in reported]},
            )
        )
    return None, ""


def _awaits_professional(scope: _Scope, key: str) -> bool:
    """Declared for professional but not granted by this plan (professional in observe mode):
    the analyzer seat is what the user has until professional is, so it stays."""
    return scope.analyzer and key not in scope.holds and key in scope.declared_professional


def _undeclared(
    scope: _Scope, key: str, allocation: ActualAllocation, display: str, out: _Outcome
) -> tuple[Reason | None, str]:
    """An undeclared seat where undeclared seats go: reclaimed unless a rule may cover it."""
    verdict = scope.verdict(key)
    if verdict is Verdict.NO:
        # An observed type's reclaim is said without its detail: no use words to build (an
        # observed analyzer type may have thousands of undeclared seats).
        return Reason.NOT_DECLARED, "" if scope.observed else _usage(allocation, scope.now)
    if verdict is Verdict.UNKNOWN:
        access_type = scope.access_type
        rules = scope.coverage.unknown(key)
        out.findings.append(
            Finding(
                FindingKind.COVERAGE_UNKNOWN,
                access_type,
                display,
                f"{display} is not declared for {access_type}, but whether "
                f"{_names(rules)} covers them depends on how they log in: not reclaimed",
                data={"rules": list(rules)},
            )
        )
    return None, ""


def _idle(
    scope: _Scope, allocation: ActualAllocation, display: str, is_declared: bool, out: _Outcome
) -> tuple[Reason | None, str]:
    """A seat unused for longer than the policy allows: reclaimed or reported."""
    since = allocation.last_used or allocation.created
    if since is None or since > scope.idle_before:
        return None, ""
    access_type = scope.access_type
    idle = (scope.now - since).days
    idle_policy = scope.policy.idle
    if is_declared:
        out.findings.append(
            Finding(
                FindingKind.DECLARED_USER_IDLE,
                access_type,
                display,
                f"{display} is declared for {access_type} but has not used it for "
                f"{idle} days; remove the declaration or set `until:`",
                severity=Severity.INFO,
                data={"idle_days": idle},
            )
        )
    elif idle_policy.action is UserAction.RECLAIM:
        if scope.observed:
            return Reason.IDLE, ""  # said without its detail (see _undeclared)
        return Reason.IDLE, f"idle {idle} days: {_usage(allocation, scope.now)}"
    elif idle_policy.action is UserAction.REPORT:
        out.findings.append(
            Finding(
                FindingKind.IDLE_ALLOCATION,
                access_type,
                display,
                f"{display} has not used {access_type} for {idle} days (policy: report)",
                severity=Severity.INFO,
                data={"idle_days": idle},
            )
        )
    return None, ""


def _reclaim(
    scope: _Scope,
    key: str,
    allocation: ActualAllocation,
    declared: DesiredAllocation | None,
    out: _Outcome,
    *,
    display: str,
    reason: Reason,
    detail: str,
    needs: ChangeId | None,
    can_log_in: bool,
) -> None:
    """Reclaim the allocation, unless its user is protected; say so if a rule gives it back.

    ``display``: the user as the declaration spells them, else as QRS does.
    """
    access_type = scope.access_type
    protection = scope.ctx.protection(key)
    if protection is not None:
        out.findings.append(
            Finding(
                FindingKind.PROTECTED_USER_KEPT,
                access_type,
                display,
                f"{display} is protected ({protection.describe()}): not reclaiming "
                f"{access_type} ({reason.label})",
                severity=Severity.INFO,
                data={"reason": reason.value, "protected_by": protection.data()},
            )
        )
        return
    covered = scope.covering(key)
    if covered and can_log_in:
        out.findings.append(
            Finding(
                FindingKind.RULE_WOULD_REALLOCATE,
                access_type,
                display,
                f"{display}'s {access_type} is reclaimed ({reason.label}) but {_names(covered)} "
                "covers them: they get it back at their next login",
                data={"rules": list(covered), "reason": reason.value},
            )
        )
    if scope.observed:
        out.observed.append(observed(access_type, Action.RECLAIM, display, reason))
        return
    out.changes.append(
        new_reclaim(
            access_type,
            display,  # user
            key,
            reason,
            allocation.id,  # allocation_id
            allocation.user_id,
            allocation.modified_date,
            _quarantines(allocation, scope),  # quarantine
            allocation.last_used,
            covered,  # covered_by
            needs,
            detail,
            declared.source if declared is not None else None,  # source
        )
    )


def _decide_declared(scope: _Scope, declared: DesiredAllocation, out: _Outcome) -> None:
    access_type = scope.access_type
    if declared.until is not None and declared.until < scope.today:
        return  # expired before it was allocated: nothing to do (validate warns)
    user = scope.users.get(declared.key)
    if user is None:
        out.findings.append(
            Finding(
                FindingKind.DECLARED_USER_UNKNOWN,
                access_type,
                declared.user,
                f"{declared.user} is declared for {access_type} but QRS has no such user "
                "(never logged in, or not synced from the user directory yet): nothing to "
                "allocate until then",
                data={"source": str(declared.source) if declared.source else None},
            )
        )
        return
    flags = _flags(user)
    if flags:
        out.findings.append(
            _declared_flagged(access_type, declared.user, flags, ": not allocating")
        )
        return
    if scope.expired:
        out.held_back.append(declared.user)  # QRS will refuse it: one finding says so
    note = _note(declared)
    # A quarantined seat of a declared user is reinstated rather than allocated anew: it is the
    # same seat, it still counts against capacity, and only its user may have it back.
    quarantined = scope.quarantined.get(declared.key)
    if scope.observed:
        action = Action.ALLOCATE if quarantined is None else Action.REINSTATE
        out.observed.append(observed(access_type, action, declared.user, Reason.DECLARED))
        return
    target = new_user_target(user.id, user.directory, user.userid)
    if quarantined is None:
        out.changes.append(
            new_allocate(
                access_type,
                declared.user,
                declared.key,
                target,
                Reason.DECLARED,
                note,  # detail
                declared.source,
            )
        )
        return
    until = quarantined.quarantine_end
    when = f"quarantined until {until.date().isoformat()}" if until else "quarantined"
    out.changes.append(
        Reinstate(
            access_type=access_type,
            user=declared.user,
            key=declared.key,
            target=target,
            allocation_id=quarantined.id,
            modified_date=quarantined.modified_date,
            quarantine_end=until,
            last_used=quarantined.last_used,
            detail=f"{when}; {note}" if note else when,
            source=declared.source,
        )
    )


def _note(declared: DesiredAllocation) -> str:
    """The ticket and the note, for the reviewer: ``ticket: note``, or whichever is given."""
    if declared.ticket and declared.note:
        return f"{declared.ticket}: {declared.note}"
    return declared.ticket or declared.note


def _quarantines(allocation: ActualAllocation, scope: _Scope) -> bool:
    """QRS quarantines a reclaimed seat used in the last week, on a licence of the serial and
    control number kind (or one whose kind is unknown: never counted free too early)."""
    after = scope.quarantine_after
    return after is not None and allocation.last_used is not None and allocation.last_used > after


def _usage(allocation: ActualAllocation, now: dt.datetime) -> str:
    if allocation.last_used is not None:
        days = (now - allocation.last_used).days
        return f"last used {allocation.last_used.date().isoformat()} ({days_text(days)} ago)"
    if allocation.created is not None:
        return f"never used (allocated {allocation.created.date().isoformat()})"
    return "never used"


def _names(rules: Sequence[str]) -> str:
    quoted = [f"rule {r!r}" for r in rules[:3]]
    more = f" and {len(rules) - 3} more" if len(rules) > 3 else ""
    return ", ".join(quoted) + more
