"""The planner: desired state, actual state, signals, policy and a time in; a Plan out.

Pure: no I/O, no clock, no environment. Per access type and ownership mode it decides which
declared users to allocate (or reinstate from quarantine), which allocations to reclaim and why,
which licence rules to create, update or delete, and what a human should look at. Then it
counts reclaims against the safety caps and seats against capacity.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from licsync.actual import (
    Actual,
    ActualAllocation,
    ActualRule,
    ActualUser,
    Capacity,
    UnreadableRow,
)
from licsync.desired import Desired, DesiredAllocation, DesiredRule
from licsync.errors import RuleSyntaxError
from licsync.identity import AccessType
from licsync.plan.changes import (
    Action,
    Allocate,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    FieldDiff,
    Reason,
    Reclaim,
    Reinstate,
    UpdateRule,
    UserTarget,
)
from licsync.plan.document import Plan, checksum
from licsync.plan.findings import Finding, FindingKind
from licsync.plan.idleages import idle_ages
from licsync.plan.safety import CapacityLine, Safety, SafetyCap, SafetyReason, TypeSafety
from licsync.policy import Ownership, Policy, Protection, ProtectionKind, UserAction, as_protection
from licsync.rules import Condition, RuleCoverage, Verdict, parse_condition
from licsync.severity import Severity
from licsync.signals import Denial, DenialReport, Signals
from licsync.timeutil import format_instant, require_aware

__all__ = [
    "QUARANTINE",
    "build_coverage",
    "plan",
    "protection_finder",
    "reclaiming_flag",
    "rule_coverage",
]

QUARANTINE = dt.timedelta(days=7)
"""QRS quarantines a reclaimed seat used within this long instead of freeing it."""


def plan(
    desired: Desired,
    actual: Actual,
    signals: Signals,
    now: dt.datetime,
    *,
    coverage: Mapping[AccessType, RuleCoverage] | None = None,
) -> Plan:
    """Decide everything that would bring the site to the desired state.

    Args:
        desired: the site's declarations.
        actual: what QRS holds.
        signals: users denied access and the freshness of that data.
        now: the instant the plan is for (aware).
        coverage: :func:`build_coverage` of the same desired and actual state, when the caller
            built it already (to time it apart); built here otherwise.
    """
    now = require_aware(now).astimezone(dt.UTC)
    if coverage is None:
        coverage = build_coverage(desired, actual)
    ctx = _Context.build(desired, actual, signals, now, coverage=coverage)
    changes: list[Change] = []
    findings: list[Finding] = []

    professional = _plan_allocations(ctx, AccessType.PROFESSIONAL, holds_professional={})
    # Who holds professional once this plan is applied: an analyzer seat beside it is redundant.
    # Counting planned allocations lets one apply converge (the next plan is empty); a seat made
    # redundant by a planned allocation depends on that allocation succeeding.
    # In observe mode the professional changes become findings, so nothing may depend on them.
    holds: dict[str, ChangeId | None] = dict.fromkeys(ctx.active[AccessType.PROFESSIONAL])
    made = ctx.ownership(AccessType.PROFESSIONAL) is not Ownership.OBSERVE
    for change in professional.changes if made else ():
        if isinstance(change, Reclaim):
            holds.pop(change.key, None)
        else:
            holds[change.key] = change.id
    analyzer = _plan_allocations(ctx, AccessType.ANALYZER, holds_professional=holds)
    for outcome in (professional, analyzer):
        changes.extend(outcome.changes)
        findings.extend(outcome.findings)
    for access_type in AccessType:
        rule_changes, rule_findings = _plan_rules(ctx, access_type)
        changes.extend(rule_changes)
        findings.extend(rule_findings)

    changes, observed = _apply_observe_mode(ctx, changes)
    findings.extend(observed)
    findings.extend(_denial_findings(ctx))

    ordered = tuple(sorted(changes, key=lambda c: c.sort_key))
    capacity = {t: line for t in AccessType if (line := _capacity(ctx, t, ordered)) is not None}
    for access_type, line in capacity.items():
        if line.shortfall:
            findings.append(_shortfall_finding(access_type, line))
    safety = _safety(ctx, ordered)
    if safety.blocked:
        findings.extend(
            Finding(
                FindingKind.BLOCKED_BY_SAFETY,
                reason.access_type,
                "",
                reason.message,
                severity=Severity.ERROR,
                data={"cap": reason.cap.value, "reclaims": reason.reclaims, "limit": reason.limit},
            )
            for reason in safety.reasons
        )
    return Plan(
        site=desired.site.name,
        now=now,
        ownership=dict(desired.policy.ownership),
        changes=ordered,
        findings=tuple(sorted(findings, key=lambda f: f.sort_key)),
        capacity=capacity,
        safety=safety,
        checksum=checksum(desired.site.name, ordered),
        build_version=actual.build_version,
        idle_ages=idle_ages(actual, now),
    )


# -- context -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """Inputs plus the indexes every step needs, built once."""

    desired: Desired
    actual: Actual
    signals: Signals
    policy: Policy
    now: dt.datetime
    today: dt.date
    declared: Mapping[AccessType, Mapping[str, DesiredAllocation]]
    active: Mapping[AccessType, Mapping[str, ActualAllocation]]
    quarantined: Mapping[AccessType, Mapping[str, ActualAllocation]]
    coverage: Mapping[AccessType, RuleCoverage]
    protection: Callable[[str], Protection | None]

    @classmethod
    def build(
        cls,
        desired: Desired,
        actual: Actual,
        signals: Signals,
        now: dt.datetime,
        *,
        coverage: Mapping[AccessType, RuleCoverage],
    ) -> _Context:
        policy = desired.policy
        declared = {t: {a.key: a for a in desired.of(t).allocations} for t in AccessType}
        active: dict[AccessType, dict[str, ActualAllocation]] = {}
        quarantined: dict[AccessType, dict[str, ActualAllocation]] = {}
        for t in AccessType:
            active[t], quarantined[t] = {}, {}
            for allocation in actual.allocations_of(t):
                bucket = quarantined[t] if allocation.quarantined else active[t]
                bucket.setdefault(allocation.key, allocation)
        return cls(
            desired=desired,
            actual=actual,
            signals=signals,
            policy=policy,
            now=now,
            today=now.date(),
            declared=declared,
            active=active,
            quarantined=quarantined,
            coverage=coverage,
            protection=protection_finder(policy.protected, actual.users),
        )

    def ownership(self, access_type: AccessType) -> Ownership:
        return self.policy.ownership.get(access_type, Ownership.ADDITIVE)

    def removes_undeclared(self, access_type: AccessType) -> bool:
        """Authoritative removes what is not declared; observe reports what that would be."""
        return self.ownership(access_type) in (Ownership.AUTHORITATIVE, Ownership.OBSERVE)

    def verdict(self, access_type: AccessType, key: str) -> Verdict:
        """Whether any declared, enabled rule of the type covers the user."""
        coverage = self.coverage[access_type]
        return coverage.verdict(key) if key in coverage else Verdict.NO

    def covering(self, access_type: AccessType, key: str) -> tuple[str, ...]:
        coverage = self.coverage[access_type]
        return coverage.matching(key) if key in coverage else ()


def build_coverage(desired: Desired, actual: Actual) -> dict[AccessType, RuleCoverage]:
    """Which users each declared, enabled rule covers, per access type (the costly part)."""
    users = tuple(actual.users.values())
    return {t: rule_coverage(desired.of(t).rules, users) for t in AccessType}


def rule_coverage(rules: Iterable[DesiredRule], users: Sequence[ActualUser]) -> RuleCoverage:
    """Which of ``users`` these rules cover (the enabled ones, whose conditions parse): the
    planner's own reckoning, for ``dump`` too, so that both agree on who a rule covers."""
    return RuleCoverage.build(tuple(_conditions(rules).items()), users)


def _conditions(rules: Iterable[DesiredRule]) -> dict[str, Condition]:
    parsed: dict[str, Condition] = {}
    for rule in rules:
        if rule.disabled:
            continue  # a disabled rule grants nothing
        try:
            parsed[rule.name] = parse_condition(rule.condition)
        except RuleSyntaxError:
            continue  # the loader rejects these; a hand-built Desired may not
    return parsed


def protection_finder(
    entries: Sequence[str | Protection], users: Mapping[str, ActualUser]
) -> Callable[[str], Protection | None]:
    """The first ``policy.protected`` entry that keeps the user with this key, or None (the
    planner's own test, for callers such as ``propose`` that must agree with it).

    Tags, custom properties and roles come from ``/qrs/user/full``: a user QRS does not list
    (a deleted user's quarantined seat) can be protected by name or directory only.
    """
    protections = tuple(as_protection(e) for e in entries)
    folded = tuple((p, p.value.casefold(), p.property_value.casefold()) for p in protections)

    def find(key: str) -> Protection | None:
        user = users.get(key)
        for protection, value, wanted in folded:
            if _protects(protection.kind, value, wanted, key, user):
                return protection
        return None

    return find


def _protects(
    kind: ProtectionKind, value: str, wanted: str, key: str, user: ActualUser | None
) -> bool:
    if kind is ProtectionKind.USER:
        return fnmatch.fnmatchcase(key, value)
    if kind is ProtectionKind.DIRECTORY:
        return key.partition("\\")[0] == value
    if user is None:
        return False
    if kind is ProtectionKind.TAG:
        return any(tag.casefold() == value for tag in user.tags)
    if kind is ProtectionKind.ROLE:
        return any(role.casefold() == value for role in user.roles)
    return any(v.casefold() == wanted for v in user.custom_properties.get(value, ()))


# -- allocations ------------------------------------------------------------------------------


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


def _plan_allocations(
    ctx: _Context, access_type: AccessType, *, holds_professional: Mapping[str, ChangeId | None]
) -> _Outcome:
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


def _expired_finding(ctx: _Context, access_type: AccessType, users: Sequence[str]) -> Finding:
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
    ctx: _Context,
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
    ctx: _Context,
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
    ctx: _Context, access_type: AccessType, declared: DesiredAllocation, out: _Outcome
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


def _quarantines(allocation: ActualAllocation, ctx: _Context) -> bool:
    """QRS quarantines a reclaimed seat used in the last week, on a licence of the serial and
    control number kind (or one whose kind is unknown: never counted free too early)."""
    if not ctx.actual.licence.quarantines:
        return False
    return allocation.last_used is not None and ctx.now - allocation.last_used < QUARANTINE


def _usage(allocation: ActualAllocation, now: dt.datetime) -> str:
    if allocation.last_used is not None:
        days = (now - allocation.last_used).days
        return f"last used {allocation.last_used.date().isoformat()} ({_days(days)} ago)"
    if allocation.created is not None:
        return f"never used (allocated {allocation.created.date().isoformat()})"
    return "never used"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _names(rules: Sequence[str]) -> str:
    quoted = [f"rule {r!r}" for r in rules[:3]]
    more = f" and {len(rules) - 3} more" if len(rules) > 3 else ""
    return ", ".join(quoted) + more


# -- licence rules -------------------------------------------------------------------------------

_RULE_FIELDS = ("condition", "context", "disabled", "comment")


def _rule_fields(rule: DesiredRule | ActualRule) -> dict[str, str | bool]:
    return {
        "condition": rule.condition.strip(),
        "context": rule.context.value,
        "disabled": rule.disabled,
        "comment": rule.comment,
    }


def _plan_rules(ctx: _Context, access_type: AccessType) -> tuple[list[Change], list[Finding]]:
    changes: list[Change] = []
    findings: list[Finding] = []
    declared = {r.name.casefold(): r for r in ctx.desired.of(access_type).rules}
    on_site: dict[str, ActualRule] = {}
    extras: list[ActualRule] = []
    for rule in ctx.actual.rules_of(access_type):
        bucket = on_site.setdefault(rule.name.casefold(), rule)
        if bucket is not rule:
            extras.append(rule)  # a second rule with the same name: never declared
    authoritative = ctx.removes_undeclared(access_type)
    for folded in sorted(declared):
        wanted = declared[folded]
        present = on_site.get(folded)
        fields = _rule_fields(wanted)
        if present is None:
            changes.append(
                CreateRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    diff=tuple(FieldDiff(f, None, fields[f]) for f in _RULE_FIELDS),
                    detail=f"condition {wanted.condition}",
                    source=wanted.source,
                )
            )
            continue
        if present.half_created:
            findings.append(_half_created(access_type, present, repaired=True))
            # The missing half is created and the existing one kept: never a duplicate pair.
            # A surviving system rule is rewritten as declared; the diff shows what changes.
            if present.rule_id is None:
                diff = tuple(FieldDiff(f, None, fields[f]) for f in _RULE_FIELDS)
            else:
                diff = _rule_diff(_rule_fields(present), fields)
            changes.append(
                CompleteRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    group_id=present.group_id,
                    rule_id=present.rule_id,
                    rule_entity=present.rule_entity,
                    diff=diff,
                    detail=f"condition {wanted.condition}",
                    source=wanted.source,
                )
            )
            continue
        diff = _rule_diff(_rule_fields(present), fields)
        if diff and present.rule_id is not None:
            changes.append(
                UpdateRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    rule_id=present.rule_id,
                    group_id=present.group_id,
                    rule_entity=present.rule_entity or {},
                    diff=diff,
                    detail=", ".join(d.field for d in diff) + " changed",
                    source=wanted.source,
                )
            )
    undeclared = [r for f, r in on_site.items() if f not in declared] + extras
    duplicates = {id(r) for r in extras}
    for rule in sorted(undeclared, key=lambda r: (r.name.casefold(), r.rule_id or "")):
        # What YAML cannot declare (the leftovers of a half-created rule, a second rule of a
        # name) is never deleted for not being declared: a site adopted with `licsync dump`
        # must plan nothing, and a person decides about such a rule.
        if rule.half_created:
            findings.append(_half_created(access_type, rule))
            continue
        why_not = _DUPLICATE_NAME if authoritative and id(rule) in duplicates else ""
        if why_not:
            findings.append(
                Finding(
                    FindingKind.UNDECLARED_RULE_KEPT,
                    access_type,
                    rule.name,
                    f"{access_type} rule {rule.name!r} cannot be declared ({why_not}); kept: "
                    "rename or delete it in the QMC",
                    severity=Severity.WARNING,
                    data={"condition": rule.condition, "undeclarable": why_not},
                )
            )
            continue
        if not authoritative:
            findings.append(
                Finding(
                    FindingKind.UNDECLARED_RULE_KEPT,
                    access_type,
                    rule.name,
                    f"{access_type} rule {rule.name!r} is on the site but not declared; kept "
                    f"({ctx.ownership(access_type)} ownership)",
                    severity=Severity.INFO,
                    data={"condition": rule.condition},
                )
            )
        if authoritative:
            changes.append(
                DeleteRule(
                    access_type=access_type,
                    name=rule.name,
                    key=_rule_key(rule, duplicate=id(rule) in duplicates),
                    rule_id=rule.rule_id,
                    group_id=rule.group_id,
                    condition=rule.condition,
                    detail=f"condition {rule.condition}" if rule.condition else "",
                )
            )
    return changes, findings


# Why YAML cannot declare a complete rule. A condition licsync cannot read is not among the
# reasons: such a rule is deleted when authoritative, as any rule not declared (`licsync dump`
# warns about it).
_DUPLICATE_NAME = "a second rule of this name; names are unique per access type"


def _rule_key(rule: ActualRule, *, duplicate: bool) -> str:
    """A rule's identity: its name casefolded; a second rule of the same name is told apart by
    its ids, so that every change of a plan has an identity of its own."""
    name = rule.name.casefold()
    return f"{name}#{rule.rule_id or rule.group_id}" if duplicate else name


def _rule_diff(
    present: Mapping[str, str | bool], wanted: Mapping[str, str | bool]
) -> tuple[FieldDiff, ...]:
    # Imported here: it (and the pydantic it pulls in) costs ~0.1 s of every start, and only a
    # rule that differs from its declaration gets this far.
    from deepdiff import DeepDiff  # noqa: PLC0415

    diff = DeepDiff(dict(present), dict(wanted), verbose_level=1)
    changed = (*diff.get("values_changed", {}), *diff.get("type_changes", {}))
    fields = {path.split("'")[1] for path in changed}
    return tuple(FieldDiff(f, present[f], wanted[f]) for f in _RULE_FIELDS if f in fields)


def _half_created(access_type: AccessType, rule: ActualRule, *, repaired: bool = False) -> Finding:
    missing = "system rule" if rule.rule_id is None else "access group"
    if repaired:
        then = "the plan creates the missing half"
    else:
        then = "it is not declared; delete it in the QMC or declare it to have it completed"
    return Finding(
        FindingKind.HALF_CREATED_RULE,
        access_type,
        rule.name,
        f"{access_type} rule {rule.name!r} has no {missing} (creation stopped half-way); {then}",
        data={"rule_id": rule.rule_id, "group_id": rule.group_id},
    )


# -- observe mode -----------------------------------------------------------------------------


def _apply_observe_mode(ctx: _Context, changes: list[Change]) -> tuple[list[Change], list[Finding]]:
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


# -- denials --------------------------------------------------------------------------------------


def _denial_findings(ctx: _Context) -> list[Finding]:
    report = ctx.signals.denials
    if report is None:
        return [
            Finding(
                FindingKind.NO_DENIAL_DATA,
                None,
                "",
                "no denial source is configured (policy.denials.sources): users denied access "
                "are not reviewed",
                severity=Severity.INFO,
            )
        ]
    findings, stale = _freshness(ctx, report)
    for denial in report.denials:
        findings.append(_denied_user(ctx, denial, stale=stale))
    if report.excluded:
        # The README promises these are "excluded and counted": the count is the evidence
        # that the exclusion ran, and a sudden jump is worth a look.
        total = sum(report.excluded.values())
        accounts = ", ".join(f"{name} {n}" for name, n in sorted(report.excluded.items()))
        findings.append(
            Finding(
                FindingKind.SERVICE_ACCOUNT_DENIALS,
                None,
                "",
                f"{total} denial{'s' if total != 1 else ''} of service accounts from the local "
                f"machine (monitoring apps' REST connections) left out: {accounts}",
                severity=Severity.INFO,
                data={"excluded": dict(sorted(report.excluded.items())), "total": total},
            )
        )
    return findings


def _freshness(ctx: _Context, report: DenialReport) -> tuple[list[Finding], bool]:
    findings: list[Finding] = []
    stale = False
    limit = ctx.policy.denial_max_age_days
    for source in report.sources:
        if source.newest_entry is None:
            stale = True
            findings.append(
                Finding(
                    FindingKind.STALE_DENIAL_DATA,
                    None,
                    source.path,
                    f"denial data from {source.path} has no dated entries: is the License "
                    "Monitor / log collection running?",
                    data={"path": source.path, "files": source.files},
                )
            )
            continue
        age = (ctx.now - source.newest_entry).days
        if age > limit:
            stale = True
            findings.append(
                Finding(
                    FindingKind.STALE_DENIAL_DATA,
                    None,
                    source.path,
                    f"denial data from {source.path} is {_days(age)} old (newest entry "
                    f"{format_instant(source.newest_entry)}): is the License Monitor / log "
                    "collection running?",
                    data={
                        "path": source.path,
                        "age_days": age,
                        "newest_entry": format_instant(source.newest_entry),
                        "max_age_days": limit,
                    },
                )
            )
    return findings, stale


def _denied_user(ctx: _Context, denial: Denial, *, stale: bool) -> Finding:
    key, display = denial.key, denial.user
    user = ctx.actual.users.get(key)
    when = _span(denial.first, denial.last)
    times = "once" if denial.count == 1 else f"{denial.count} times"
    head = f"{display} was denied access {times}{when}"
    data: dict[str, object] = {
        "count": denial.count,
        "first": format_instant(denial.first) if denial.first else None,
        "last": format_instant(denial.last) if denial.last else None,
    }
    if user is None:
        return Finding(
            FindingKind.DENIED_USER,
            None,
            display,
            f"{head}, but QRS has no such user now",
            data=data,
            stale=stale,
        )
    groups = user.groups
    data["groups"] = list(groups)
    holds = [t.value for t in AccessType if key in ctx.active[t]]
    covering = {t.value: list(ctx.covering(t, key)) for t in AccessType}
    unknown = {
        t.value: list(ctx.coverage[t].unknown(key)) if key in ctx.coverage[t] else []
        for t in AccessType
    }
    data.update(holds=holds, rules=covering, unknown_rules=unknown)
    group_text = f"; groups: {', '.join(groups)}" if groups else "; no directory groups"
    if holds:
        tail = f"; they hold {' and '.join(holds)} now"
        severity = Severity.INFO
    elif any(covering.values()):
        names = [f"{name!r} ({t})" for t, rules in covering.items() for name in rules]
        tail = (
            f"{group_text}; declared rule {', '.join(names)} covers them, so no seat was "
            "free: check capacity"
        )
        severity = Severity.WARNING
    elif any(unknown.values()):
        names = [f"{name!r} ({t})" for t, rules in unknown.items() for name in rules]
        tail = f"{group_text}; rule {', '.join(names)} may cover them depending on how they log in"
        severity = Severity.WARNING
    else:
        tail = f"{group_text}; no declared rule covers them: allocate, or add a rule"
        severity = Severity.WARNING
    return Finding(
        FindingKind.DENIED_USER,
        None,
        display,
        head + tail,
        severity=severity,
        data=data,
        stale=stale,
    )


def _span(first: dt.datetime | None, last: dt.datetime | None) -> str:
    if first is None or last is None:
        return ""
    if first.date() == last.date():
        return f" on {first.date().isoformat()}"
    return f" between {first.date().isoformat()} and {last.date().isoformat()}"


# -- capacity and safety ------------------------------------------------------------------------


def _capacity(
    ctx: _Context, access_type: AccessType, changes: Sequence[Change]
) -> CapacityLine | None:
    numbers: Capacity | None = ctx.actual.capacity.get(access_type)
    if numbers is None:
        return None
    mine = [c for c in changes if c.access_type is access_type]
    needed = sum(1 for c in mine if isinstance(c, Allocate))
    reclaims = [c for c in mine if isinstance(c, Reclaim)]
    freed_now = sum(1 for c in reclaims if not c.quarantine)
    quarantined = len(reclaims) - freed_now
    reinstated = sum(1 for c in mine if isinstance(c, Reinstate))
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
        allocated_after=numbers.allocated + needed + reinstated - len(reclaims),
        quarantined_after=numbers.quarantined + quarantined - reinstated,
        unreadable=len(ctx.actual.unreadable_of(access_type)),
        licence=ctx.actual.licence.kind.value,
    )


def _shortfall_finding(access_type: AccessType, line: CapacityLine) -> Finding:
    return Finding(
        FindingKind.CAPACITY_SHORTFALL,
        access_type,
        "",
        f"{access_type}: the plan allocates {line.needed} but only "
        f"{line.available + line.freed_now} seats are free after reclaims that free seats now "
        f"({line.quarantined_by_plan} more reclaims quarantine their seat for 7 days); "
        f"{line.shortfall} allocations will fail",
        severity=Severity.ERROR,
        data={
            "needed": line.needed,
            "available": line.available,
            "freed_now": line.freed_now,
            "shortfall": line.shortfall,
        },
    )


def _safety(ctx: _Context, changes: Sequence[Change]) -> Safety:
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
