"""The planner: desired state, actual state, signals, policy and a time in; a Plan out.

Pure: no I/O, no clock, no environment. Per access type and ownership mode it decides which
declared users to allocate (or reinstate from quarantine), which allocations to reclaim and why,
which licence rules to create, update or delete, and what a human should look at. Then it
counts reclaims against the safety caps and seats against capacity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from operator import attrgetter
from typing import assert_never

from licsync.actual import Actual
from licsync.desired import Desired
from licsync.gcpause import gc_paused
from licsync.identity import QUARANTINE, AccessType
from licsync.plan.allocations import plan_allocations, reclaiming_flag
from licsync.plan.capacity import capacity_line, count_safety, shortfall_finding
from licsync.plan.changes import Allocate, Change, Reclaim, Reinstate
from licsync.plan.context import Context, build_coverage, protection_finder, rule_coverage
from licsync.plan.denials import denial_findings
from licsync.plan.document import Plan, checksum
from licsync.plan.findings import Finding, FindingKind
from licsync.plan.idleages import idle_ages
from licsync.plan.observe import apply_observe_mode
from licsync.plan.rulechanges import plan_rules
from licsync.policy import Ownership
from licsync.rules import RuleCoverage
from licsync.severity import Severity
from licsync.signals import Signals
from licsync.timeutil import require_aware

__all__ = [
    "QUARANTINE",
    "build_coverage",
    "plan",
    "protection_finder",
    "reclaiming_flag",
    "rule_coverage",
]


_SORT_KEY = attrgetter("sort_key")
"""A change's or finding's sort key, read in C (no Python frame per item of a large plan)."""


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
    # Tens of thousands of changes, findings and their tuples, and no reference cycle among
    # them: the cyclic collector, run over and over meanwhile, rescanned the heap for nothing
    # (the two plans of a 13,000-person apply spent ~0.1-0.2 s in it, measured).
    with gc_paused():
        return _plan(desired, actual, signals, now, coverage=coverage)


def _plan(
    desired: Desired,
    actual: Actual,
    signals: Signals,
    now: dt.datetime,
    *,
    coverage: Mapping[AccessType, RuleCoverage] | None,
) -> Plan:
    now = require_aware(now).astimezone(dt.UTC)
    if coverage is None:
        coverage = build_coverage(desired, actual)
    ctx = Context.build(desired, actual, signals, now, coverage=coverage)
    changes: list[Change] = []
    findings: list[Finding] = []

    professional = plan_allocations(ctx, AccessType.PROFESSIONAL, holds_professional={})
    # Who holds professional once this plan is applied: an analyzer seat beside it is redundant.
    # Counting planned allocations lets one apply converge (the next plan is empty); a seat made
    # redundant by a planned allocation depends on that allocation succeeding.
    # In observe mode the professional changes become findings, so nothing may depend on them.
    # The granting change's id is built only for a seat it makes redundant.
    holds: dict[str, Allocate | Reinstate | None] = dict.fromkeys(
        ctx.active[AccessType.PROFESSIONAL]
    )
    made = ctx.ownership(AccessType.PROFESSIONAL) is not Ownership.OBSERVE
    for change in professional.changes if made else ():
        match change:
            case Reclaim():
                holds.pop(change.key, None)
            case Allocate() | Reinstate():
                holds[change.key] = change
            case _:
                assert_never(change)
    analyzer = plan_allocations(ctx, AccessType.ANALYZER, holds_professional=holds)
    for outcome in (professional, analyzer):
        changes.extend(outcome.changes)
        findings.extend(outcome.findings)
    for access_type in AccessType:
        rule_changes, rule_findings = plan_rules(ctx, access_type)
        changes.extend(rule_changes)
        findings.extend(rule_findings)

    # An observed type's allocations were said as findings already. They go before the rule
    # changes' ones, as those changes came first: findings the sort ranks level keep their order.
    changes, observed = apply_observe_mode(ctx, changes)
    findings.extend(professional.observed)
    findings.extend(analyzer.observed)
    findings.extend(observed)
    findings.extend(denial_findings(ctx))

    ordered = tuple(sorted(changes, key=_SORT_KEY))
    capacity = {t: line for t in AccessType if (line := capacity_line(ctx, t, ordered)) is not None}
    for access_type, line in capacity.items():
        if line.shortfall:
            findings.append(shortfall_finding(access_type, line))
    safety = count_safety(ctx, ordered)
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
        findings=tuple(sorted(findings, key=_SORT_KEY)),
        capacity=capacity,
        safety=safety,
        checksum=checksum(desired.site.name, ordered),
        build_version=actual.build_version,
        idle_ages=idle_ages(actual, now),
    )
