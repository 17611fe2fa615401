"""What every step of the planner shares: its inputs with their indexes, built once, and
the planner's own reckoning of who the declared rules cover and whom the policy protects."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from licsync.actual import Actual, ActualAllocation, ActualUser
from licsync.desired import Desired, DesiredAllocation, DesiredRule
from licsync.errors import RuleSyntaxError
from licsync.identity import AccessType, user_key
from licsync.policy import Ownership, Policy, Protection, ProtectionKind, as_protection
from licsync.rules import Condition, RuleCoverage, Verdict, parse_condition
from licsync.signals import Signals


@dataclass(frozen=True, slots=True)
class Context:
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
    ) -> Context:
        policy = desired.policy
        declared = {t: {a.key: a for a in desired.of(t).allocations} for t in AccessType}
        active: dict[AccessType, dict[str, ActualAllocation]] = {}
        quarantined: dict[AccessType, dict[str, ActualAllocation]] = {}
        for t in AccessType:
            active[t], quarantined[t] = _by_key(actual.allocations_of(t))
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


def _by_key(
    allocations: Iterable[ActualAllocation],
) -> tuple[dict[str, ActualAllocation], dict[str, ActualAllocation]]:
    """Active and quarantined allocations by user key, the first of a key kept."""
    active: dict[str, ActualAllocation] = {}
    quarantined: dict[str, ActualAllocation] = {}
    for allocation in allocations:
        bucket = quarantined if allocation.quarantined else active
        # user_key itself rather than the key property: one call less per seat of the site.
        bucket.setdefault(user_key(allocation.directory, allocation.userid), allocation)
    return active, quarantined


def build_coverage(desired: Desired, actual: Actual) -> dict[AccessType, RuleCoverage]:
    """Which users each declared, enabled rule covers, per access type (the costly part)."""
    rule_sets = [tuple(_conditions(desired.of(t).rules).items()) for t in AccessType]
    # One build for every type: the users' keys and columns are the same for each.
    coverages = RuleCoverage.build_each(rule_sets, tuple(actual.users.values()))
    return dict(zip(AccessType, coverages, strict=True))


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
    tests = tuple((p, _protection_test(p)) for p in map(as_protection, entries))

    def find(key: str) -> Protection | None:
        user = users.get(key)
        for protection, protects in tests:
            if protects(key, user):
                return protection
        return None

    return find


def _protection_test(protection: Protection) -> Callable[[str, ActualUser | None], bool]:
    """Whether the entry keeps a user (by key, and the QRS user when listed), with its pattern
    compiled and its values casefolded once: the planner asks for every reclaim."""
    kind = protection.kind
    value = protection.value.casefold()
    if kind is ProtectionKind.USER:
        # fnmatchcase's own translation, compiled here rather than found in its cache per call.
        match = re.compile(fnmatch.translate(value)).match
        return lambda key, _: match(key) is not None
    if kind is ProtectionKind.DIRECTORY:
        return lambda key, _: key.partition("\\")[0] == value
    wanted = protection.property_value.casefold()

    def held(key: str, user: ActualUser | None) -> bool:
        return user is not None and _holds(kind, value, wanted, user)

    return held


def _holds(kind: ProtectionKind, value: str, wanted: str, user: ActualUser) -> bool:
    if kind is ProtectionKind.TAG:
        return any(tag.casefold() == value for tag in user.tags)
    if kind is ProtectionKind.ROLE:
        return any(role.casefold() == value for role in user.roles)
    return any(v.casefold() == wanted for v in user.custom_properties.get(value, ()))


def days_text(n: int) -> str:
    """``n`` days, in words."""
    return "1 day" if n == 1 else f"{n} days"
