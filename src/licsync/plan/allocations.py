"""The planner's allocations: per access type, which seats to reclaim and why, which declared
users to allocate or reinstate from quarantine, and what a human should look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from licsync.actual import ActualAllocation, ActualUser, UnreadableRow
from licsync.desired import DesiredAllocation
from licsync.identity import QUARANTINE, AccessType
from licsync.plan.changes import Allocate, ChangeId, Reason, Reclaim, Reinstate, UserTarget
from licsync.plan.context import Context, days_text
from licsync.plan.findings import Finding, FindingKind
from licsync.policy import Policy, UserAction
from licsync.rules import Verdict
from licsync.severity import Severity
from licsync.timeutil import format_instant


@dataclass(slots=True)
class _Outcome:
    changes: list[Allocate | Reinstate | Reclaim] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    """Declared users to allocate or reinstate while the licence is expired (apply refuses)."""


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


def plan_allocations(
    ctx: Context, access_type: AccessType, *, holds_professional: Mapping[str, ChangeId | None]
) -> _Outcome:
    """Decide the seats of one access type: reclaims, allocations, reinstatements, findings."""
    out = _Outcome()
    declared = ctx.declared[access_type]
    active = ctx.active[access_type]
    for key in sorted(active):
        _decide_allocation(
            ctx, access_type, active[key], declared.get(key), out, holds=holds_professional
        )
    for key in sorted(declared):
        if key not in active:
            _decide_declared(ctx, access_type, declared[key], out)
    quarantined = ctx.quarantined[access_type]
    for key in sorted(quarantined):
        if key not in active and key not in declared:
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
    ctx: Context,
    access_type: AccessType,
    allocation: ActualAllocation,
    declared: DesiredAllocation | None,
    out: _Outcome,
    *,
    holds: Mapping[str, ChangeId | None],
) -> None:
    key = allocation.key
    user = ctx.actual.users.get(key)
    display = declared.user if declared is not None else allocation.display
    reason: Reason | None = None
    detail = ""
    needs: ChangeId | None = None
    can_log_in = user is not None

    if declared is not None and declared.until is not None and declared.until < ctx.today:
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
    else:
        flags = _flags(user)
        can_log_in = not flags
        if flags and declared is not None:
            words = ", ".join(w for _, w in flags)
            out.findings.append(
                Finding(
                    FindingKind.DECLARED_USER_FLAGGED,
                    access_type,
                    display,
                    f"{display} is declared for {access_type} but QRS marks them {words}",
                    data={"flags": [r.value for r, _ in flags]},
                )
            )
        reported: list[tuple[Reason, str]] = []
        for flag, words in flags:
            action = _flag_action(ctx.policy, flag)
            if action is UserAction.RECLAIM:
                reason, detail = flag, f"QRS marks the user {words}"
                break
            if action is UserAction.REPORT:
                reported.append((flag, words))
        # QRS marks a user removed externally inactive too: one finding names both flags.
        if reason is None and reported:
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
    if reason is None and access_type is AccessType.ANALYZER and key in holds:
        out.findings.append(
            Finding(
                FindingKind.HOLDS_BOTH_TYPES,
                None,
                display,
                f"{display} holds both professional and analyzer access",
                severity=Severity.INFO,
            )
        )
        if declared is None:
            reason, detail = Reason.HOLDS_PROFESSIONAL, "professional access includes analyzer"
            needs = holds[key]
    # Declared for professional but not granted by this plan (professional in observe mode):
    # the analyzer seat is what the user has until professional is, so it stays.
    awaits_professional = (
        access_type is AccessType.ANALYZER
        and key not in holds
        and key in ctx.declared[AccessType.PROFESSIONAL]
    )
    if (
        reason is None
        and declared is None
        and not awaits_professional
        and ctx.removes_undeclared(access_type)
    ):
        verdict = ctx.verdict(access_type, key)
        if verdict is Verdict.NO:
            reason, detail = Reason.NOT_DECLARED, _usage(allocation, ctx.now)
        elif verdict is Verdict.UNKNOWN:
            rules = ctx.coverage[access_type].unknown(key)
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
    if reason is None:
        idle = _idle_days(allocation, ctx.now)
        if idle is not None and idle > ctx.policy.idle.days:
            if declared is not None:
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
            elif ctx.policy.idle.action is UserAction.RECLAIM:
                reason, detail = Reason.IDLE, f"idle {idle} days: {_usage(allocation, ctx.now)}"
            elif ctx.policy.idle.action is UserAction.REPORT:
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
    if reason is None:
        return
    _reclaim(
        ctx,
        access_type,
        allocation,
        declared,
        out,
        reason=reason,
        detail=detail,
        needs=needs,
        can_log_in=can_log_in,
    )


def _reclaim(
    ctx: Context,
    access_type: AccessType,
    allocation: ActualAllocation,
    declared: DesiredAllocation | None,
    out: _Outcome,
    *,
    reason: Reason,
    detail: str,
    needs: ChangeId | None,
    can_log_in: bool,
) -> None:
    """Reclaim the allocation, unless its user is protected; say so if a rule gives it back."""
    key = allocation.key
    display = declared.user if declared is not None else allocation.display
    protection = ctx.protection(key)
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
    covered = ctx.covering(access_type, key)
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
    out.changes.append(
        Reclaim(
            access_type=access_type,
            user=display,
            key=key,
            reason=reason,
            allocation_id=allocation.id,
            user_id=allocation.user_id,
            modified_date=allocation.modified_date,
            quarantine=_quarantines(allocation, ctx),
            last_used=allocation.last_used,
            covered_by=covered,
            needs=needs,
            detail=detail,
            source=declared.source if declared is not None else None,
        )
    )


def _decide_declared(
    ctx: Context, access_type: AccessType, declared: DesiredAllocation, out: _Outcome
) -> None:
    if declared.until is not None and declared.until < ctx.today:
        return  # expired before it was allocated: nothing to do (validate warns)
    user = ctx.actual.users.get(declared.key)
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
        words = ", ".join(w for _, w in flags)
        out.findings.append(
            Finding(
                FindingKind.DECLARED_USER_FLAGGED,
                access_type,
                declared.user,
                f"{declared.user} is declared for {access_type} but QRS marks them {words}: "
                "not allocating",
                data={"flags": [r.value for r, _ in flags]},
            )
        )
        return
    if ctx.actual.licence.expired:
        out.held_back.append(declared.user)  # QRS will refuse it: one finding says so
    note = ": ".join(part for part in (declared.ticket, declared.note) if part)
    # A quarantined seat of a declared user is reinstated rather than allocated anew: it is the
    # same seat, it still counts against capacity, and only its user may have it back.
    quarantined = ctx.quarantined[access_type].get(declared.key)
    target = UserTarget(id=user.id, directory=user.directory, userid=user.userid)
    if quarantined is None:
        out.changes.append(
            Allocate(
                access_type=access_type,
                user=declared.user,
                key=declared.key,
                target=target,
                detail=note,
                source=declared.source,
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


def _idle_days(allocation: ActualAllocation, now: dt.datetime) -> int | None:
    since = allocation.last_used or allocation.created
    if since is None:
        return None
    return (now - since).days


def _quarantines(allocation: ActualAllocation, ctx: Context) -> bool:
    """QRS quarantines a reclaimed seat used in the last week, on a licence of the serial and
    control number kind (or one whose kind is unknown: never counted free too early)."""
    if not ctx.actual.licence.quarantines:
        return False
    return allocation.last_used is not None and ctx.now - allocation.last_used < QUARANTINE


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
