"""The planner: every reason, ownership mode and finding, table-driven; safety and capacity."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from builders import (
    ANA,
    PRO,
    actual,
    alloc,
    arule,
    decl,
    desired,
    drule,
    policy,
    user,
)
from clock import NOW
from licsync.identity import RuleContext
from licsync.plan import AllocationChange, FindingKind, Plan, RuleChange, SafetyCap, plan
from licsync.policy import IdlePolicy, Ownership, Policy, SafetyPolicy, UserAction
from licsync.render import render_markdown, render_text
from licsync.render.data import plan_data
from licsync.signals import Denial, DenialReport, Signals, SourceReport

NO_SIGNALS = Signals()


def run(d: object, a: object, p: Policy | None = None, signals: Signals = NO_SIGNALS) -> Plan:
    from licsync.desired import Desired

    assert isinstance(d, Desired)
    pol = p or d.policy
    return plan(dataclasses.replace(d, policy=pol), a, signals, NOW)  # type: ignore[arg-type]


def decisions(result: Plan) -> list[tuple[str, str, str, str]]:
    return [
        (c.access_type.value, c.action.value, c.subject, c.reason.value) for c in result.changes
    ]


def kinds(result: Plan) -> list[tuple[str, str]]:
    return [
        (f.kind.value, f.subject)
        for f in result.findings
        if f.kind is not FindingKind.NO_DENIAL_DATA
    ]


ALICE = "CORP\\alice"
BOB = "CORP\\bob"

CASES = [
    pytest.param(
        desired(pro=[decl(ALICE)]),
        actual([user(ALICE)]),
        policy(),
        [("professional", "allocate", ALICE, "declared")],
        [],
        id="allocate-declared",
    ),
    pytest.param(
        desired(pro=[decl(ALICE)]),
        actual([user(ALICE)], [alloc(PRO, ALICE, quarantined_days_left=4)]),
        policy(),
        [("professional", "reinstate", ALICE, "declared")],
        [],
        id="reinstate-quarantined-declared",
    ),
    pytest.param(
        desired(site_policy=policy(professional="authoritative")),
        actual([user(ALICE)], [alloc(PRO, ALICE, quarantined_days_left=4)]),
        policy(),
        [],
        [("quarantined-seat", ALICE)],
        id="quarantined-undeclared-is-a-finding-not-a-change",
    ),
    pytest.param(
        desired(pro=[decl(ALICE)]),
        actual([user(ALICE)], [alloc(PRO, ALICE)]),
        policy(),
        [],
        [],
        id="declared-and-allocated-no-change",
    ),
    pytest.param(
        desired(pro=[decl(ALICE)]),
        actual([]),
        policy(),
        [],
        [("declared-user-unknown", ALICE)],
        id="declared-user-unknown-to-qrs",
    ),
    pytest.param(
        desired(pro=[decl(ALICE)]),
        actual([user(ALICE, inactive=True)]),
        policy(),
        [],
        [("declared-user-flagged", ALICE)],
        id="declared-inactive-not-allocated",
    ),
    pytest.param(
        desired(pro=[decl(ALICE, until=(NOW - dt.timedelta(days=19)).date())]),
        actual([user(ALICE)], [alloc(PRO, ALICE, used_days=30)]),
        policy(),
        [("professional", "reclaim", ALICE, "until-passed")],
        [],
        id="until-passed-reclaimed",
    ),
    pytest.param(
        desired(pro=[decl(ALICE, until=NOW.date())]),
        actual([user(ALICE)], [alloc(PRO, ALICE, used_days=30)]),
        policy(),
        [],
        [],
        id="until-today-kept-through-the-day",
    ),
    pytest.param(
        desired(pro=[decl(ALICE, until=(NOW - dt.timedelta(days=19)).date())]),
        actual([user(ALICE)]),
        policy(),
        [],
        [],
        id="until-passed-never-allocated",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(PRO, BOB, used_days=20)]),
        policy(),
        [("professional", "reclaim", BOB, "not-declared")],
        [],
        id="not-declared-authoritative",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(PRO, BOB, used_days=20)]),
        policy(professional="additive"),
        [],
        [],
        id="not-declared-additive-kept",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(PRO, BOB, used_days=20)]),
        policy(professional="observe"),
        [],
        [("observe-only", BOB)],
        id="not-declared-observe-reported",
    ),
    pytest.param(
        desired(pro_rules=[drule("Devs", 'user.group = "Dev"')]),
        actual(
            [user(BOB, groups=["Dev"])],
            [alloc(PRO, BOB)],
            [arule(PRO, "Devs", 'user.group = "Dev"')],
        ),
        policy(),
        [],
        [],
        id="not-declared-but-covered-by-rule",
    ),
    pytest.param(
        desired(pro_rules=[drule("Devs", 'user.group = "Dev"', disabled=True)]),
        actual(
            [user(BOB, groups=["Dev"])],
            [alloc(PRO, BOB)],
            [arule(PRO, "Devs", 'user.group = "Dev"', disabled=True)],
        ),
        policy(),
        [("professional", "reclaim", BOB, "not-declared")],
        [],
        id="disabled-rule-covers-nobody",
    ),
    pytest.param(
        desired(pro_rules=[drule("Office", 'user.environment.ip like "10.*"')]),
        actual(
            [user(BOB)],
            [alloc(PRO, BOB)],
            [arule(PRO, "Office", 'user.environment.ip like "10.*"')],
        ),
        policy(),
        [],
        [("coverage-unknown", BOB)],
        id="unknown-coverage-never-justifies-reclaim",
    ),
    pytest.param(
        desired(),
        actual([user(BOB, inactive=True)], [alloc(PRO, BOB)]),
        policy(professional="additive", inactive=UserAction.RECLAIM),
        [("professional", "reclaim", BOB, "inactive")],
        [],
        id="inactive-reclaim-even-additive",
    ),
    pytest.param(
        desired(),
        actual([user(BOB, inactive=True)], [alloc(PRO, BOB)]),
        policy(professional="additive", inactive=UserAction.REPORT),
        [],
        [("flagged-user", BOB)],
        id="inactive-report",
    ),
    pytest.param(
        desired(),
        actual([user(BOB, inactive=True)], [alloc(PRO, BOB)]),
        policy(professional="additive", inactive=UserAction.IGNORE),
        [],
        [],
        id="inactive-ignore",
    ),
    pytest.param(
        desired(),
        actual([user(BOB, removed=True, inactive=True)], [alloc(PRO, BOB)]),
        policy(professional="additive", removed_externally=UserAction.RECLAIM),
        [("professional", "reclaim", BOB, "removed-externally")],
        [],
        id="removed-externally-reclaim",
    ),
    pytest.param(
        desired(),
        actual([user(BOB, blocked=True)], [alloc(ANA, BOB)]),
        policy(analyzer="additive", blocked=UserAction.RECLAIM),
        [("analyzer", "reclaim", BOB, "blocked")],
        [],
        id="blocked-reclaim",
    ),
    pytest.param(
        desired(pro=[decl(BOB)]),
        actual([user(BOB, inactive=True)], [alloc(PRO, BOB)]),
        policy(inactive=UserAction.RECLAIM),
        [("professional", "reclaim", BOB, "inactive")],
        [("declared-user-flagged", BOB)],
        id="declared-inactive-holding-reclaimed-and-reported",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(ANA, BOB, used_days=200)]),
        policy(analyzer="additive", idle=IdlePolicy(days=90, action=UserAction.RECLAIM)),
        [("analyzer", "reclaim", BOB, "idle")],
        [],
        id="idle-reclaim",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(ANA, BOB, used_days=None, created_days=120)]),
        policy(analyzer="additive", idle=IdlePolicy(days=90, action=UserAction.RECLAIM)),
        [("analyzer", "reclaim", BOB, "idle")],
        [],
        id="never-used-counts-from-creation",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(ANA, BOB, used_days=None, created_days=30)]),
        policy(analyzer="additive", idle=IdlePolicy(days=90, action=UserAction.RECLAIM)),
        [],
        [],
        id="never-used-but-recent",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(ANA, BOB, used_days=200)]),
        policy(analyzer="additive", idle=IdlePolicy(days=90, action=UserAction.REPORT)),
        [],
        [("idle-allocation", BOB)],
        id="idle-report",
    ),
    pytest.param(
        desired(ana=[decl(BOB)]),
        actual([user(BOB)], [alloc(ANA, BOB, used_days=200)]),
        policy(idle=IdlePolicy(days=90, action=UserAction.RECLAIM)),
        [],
        [("declared-user-idle", BOB)],
        id="declared-idle-reported-not-reclaimed",
    ),
    pytest.param(
        desired(pro=[decl(BOB)]),
        actual([user(BOB)], [alloc(PRO, BOB), alloc(ANA, BOB)]),
        policy(analyzer="additive"),
        [("analyzer", "reclaim", BOB, "holds-professional")],
        [("holds-both-types", BOB)],
        id="redundant-analyzer",
    ),
    pytest.param(
        desired(pro=[decl(BOB)], ana=[decl(BOB)]),
        actual([user(BOB)], [alloc(PRO, BOB), alloc(ANA, BOB)]),
        policy(analyzer="additive"),
        [],
        [("holds-both-types", BOB)],
        id="declared-both-reported-only",
    ),
    pytest.param(
        desired(),
        actual([user(BOB)], [alloc(PRO, BOB, used_days=20), alloc(ANA, BOB)]),
        policy(analyzer="additive"),
        [("professional", "reclaim", BOB, "not-declared")],
        [],
        id="analyzer-not-redundant-when-professional-goes",
    ),
    pytest.param(
        desired(pro=[decl(BOB)]),
        actual([user(BOB)], [alloc(ANA, BOB)]),
        policy(professional="observe"),
        [],
        [("observe-only", BOB)],
        id="analyzer-kept-while-professional-is-only-observed",
    ),
    pytest.param(
        desired(),
        actual([user("INTERNAL\\sa_api")], [alloc(PRO, "INTERNAL\\sa_api")]),
        policy(protected=("internal\\*",)),
        [],
        [("protected-user-kept", "INTERNAL\\sa_api")],
        id="protected-never-reclaimed",
    ),
    pytest.param(
        desired(ana_rules=[drule("Sales", 'user.group = "Sales"')]),
        actual(
            [user(BOB, groups=["Sales"])],
            [alloc(ANA, BOB, used_days=200)],
            [arule(ANA, "Sales", 'user.group = "Sales"')],
        ),
        policy(analyzer="additive", idle=IdlePolicy(days=90, action=UserAction.RECLAIM)),
        [("analyzer", "reclaim", BOB, "idle")],
        [("rule-would-reallocate", BOB)],
        id="idle-reclaim-of-rule-covered-user",
    ),
]


@pytest.mark.parametrize(("d", "a", "p", "expected", "findings"), CASES)
def test_allocation_decisions(
    d: object,
    a: object,
    p: Policy,
    expected: list[tuple[str, ...]],
    findings: list[tuple[str, str]],
) -> None:
    """Each situation yields exactly its changes and findings."""
    result = run(d, a, p)
    assert decisions(result) == expected
    assert kinds(result) == findings


@pytest.mark.parametrize(
    ("used_days", "quarantine"), [(0, True), (6, True), (7, False), (40, False), (None, False)]
)
def test_reclaim_says_whether_qrs_quarantines(used_days: int | None, quarantine: bool) -> None:
    """A seat used within 7 days is quarantined by QRS, otherwise freed now."""
    result = run(desired(), actual([user(BOB)], [alloc(PRO, BOB, used_days=used_days)]))
    [change] = result.changes
    assert isinstance(change, AllocationChange)
    assert change.quarantine is quarantine


RULE_CASES = [
    pytest.param(
        [drule("Sales", 'user.group = "Sales"', comment="c")],
        [],
        "authoritative",
        [("create-rule", "Sales", "rule-missing", ("condition", "context", "disabled", "comment"))],
        [],
        id="create-missing",
    ),
    pytest.param(
        [drule("Sales", 'user.group = "Sales" or user.group = "Ops"')],
        [arule(ANA, "sales", 'user.group = "Sales"')],
        "additive",
        [("update-rule", "Sales", "rule-drift", ("condition",))],
        [],
        id="update-condition-drift",
    ),
    pytest.param(
        [drule("Sales", 'user.group = "Sales"', context=RuleContext.BOTH, disabled=True)],
        [arule(ANA, "Sales", 'user.group = "Sales"')],
        "additive",
        [("update-rule", "Sales", "rule-drift", ("context", "disabled"))],
        [],
        id="update-context-and-disabled",
    ),
    pytest.param(
        [drule("Sales", 'user.group = "Sales"')],
        [arule(ANA, "Sales", ' user.group = "Sales" ')],
        "additive",
        [],
        [],
        id="surrounding-whitespace-is-not-drift",
    ),
    pytest.param(
        [],
        [arule(ANA, "Legacy", 'user.group = "Old"')],
        "authoritative",
        [("delete-rule", "Legacy", "rule-not-declared", ())],
        [],
        id="delete-undeclared-authoritative",
    ),
    pytest.param(
        [],
        [arule(ANA, "Legacy", 'user.group = "Old"')],
        "additive",
        [],
        [("undeclared-rule-kept", "Legacy")],
        id="undeclared-kept-additive",
    ),
    pytest.param(
        [drule("Pilot", 'user.group = "Pilot"')],
        [arule(ANA, "Pilot", "", half="no-rule")],
        "additive",
        [
            (
                "complete-rule",
                "Pilot",
                "rule-half-created",
                ("condition", "context", "disabled", "comment"),
            )
        ],
        [("half-created-rule", "Pilot")],
        id="half-created-declared-repaired",
    ),
    pytest.param(
        [drule("Pilot", 'user.group = "Pilot"')],
        [arule(ANA, "Pilot", 'user.group = "Old"', half="no-group")],
        "authoritative",
        [("complete-rule", "Pilot", "rule-half-created", ("condition",))],
        [("half-created-rule", "Pilot")],
        id="rule-without-group-completed-not-duplicated",
    ),
    pytest.param(
        [],
        [arule(ANA, "Pilot", "", half="no-rule")],
        "authoritative",
        [],
        [("half-created-rule", "Pilot")],
        id="half-created-undeclared-reported-not-deleted",
    ),
    pytest.param(
        [],
        [arule(ANA, "Pilot", 'user.group = "Old"', half="no-group")],
        "authoritative",
        [],
        [("half-created-rule", "Pilot")],
        id="orphaned-system-rule-undeclared-reported-not-deleted",
    ),
    pytest.param(
        [drule("Twice", 'user.group = "A"')],
        [arule(ANA, "Twice", 'user.group = "A"'), arule(ANA, "twice", 'user.group = "B"')],
        "authoritative",
        [],
        [("undeclared-rule-kept", "twice")],
        id="second-rule-of-a-name-undeclarable-kept",
    ),
    pytest.param(
        [],
        [arule(ANA, "Odd", "resource.IsOwned() and")],
        "authoritative",
        [("delete-rule", "Odd", "rule-not-declared", ())],
        [],
        id="unreadable-condition-undeclared-deleted-when-authoritative",
    ),
    pytest.param(
        [drule("Sales", 'user.group = "Sales"')],
        [],
        "observe",
        [],
        [("observe-only", "Sales")],
        id="observe-rule-create-reported",
    ),
]


@pytest.mark.parametrize(("declared", "on_site", "mode", "expected", "findings"), RULE_CASES)
def test_rule_decisions(
    declared: list[object],
    on_site: list[object],
    mode: str,
    expected: list[tuple[object, ...]],
    findings: list[tuple[str, str]],
) -> None:
    """Licence rules are created, updated with a field diff, or deleted per ownership."""
    d = desired(ana_rules=declared)  # type: ignore[arg-type]
    result = run(d, actual([], rules=on_site), policy(analyzer=mode))  # type: ignore[arg-type]
    got = []
    for change in result.changes:
        assert isinstance(change, RuleChange)
        got.append(
            (
                change.action.value,
                change.name,
                change.reason.value,
                tuple(x.field for x in change.diff),
            )
        )
    assert got == expected
    assert kinds(result) == findings


def test_update_diff_carries_both_values() -> None:
    """An update names each changed field with the site's and the declared value."""
    d = desired(ana_rules=[drule("Fin", 'user.group = "Finance"', comment="new")])
    result = run(d, actual([], rules=[arule(ANA, "Fin", 'user.group = "Finance"', comment="old")]))
    [change] = result.changes
    assert isinstance(change, RuleChange)
    assert [(x.field, x.actual, x.desired) for x in change.diff] == [("comment", "old", "new")]


def test_capacity_line_and_shortfall() -> None:
    """Allocations beyond the free seats (after reclaims that free seats now) are a finding."""
    users = [user(f"CORP\\u{i}") for i in range(5)]
    state = actual(
        users,
        [alloc(PRO, "CORP\\u0", used_days=30), alloc(PRO, "CORP\\u1", used_days=2)],
        capacity={PRO: 3, ANA: 10},
    )
    d = desired(pro=[decl(f"CORP\\u{i}") for i in range(2, 5)])
    result = run(d, state)
    line = result.capacity[PRO]
    assert (line.total, line.used, line.available) == (3, 2, 1)
    assert (line.needed, line.freed_now, line.quarantined_by_plan) == (3, 1, 1)
    assert (line.used_after, line.available_after, line.shortfall) == (4, -1, 1)
    [shortfall] = [f for f in result.findings if f.kind is FindingKind.CAPACITY_SHORTFALL]
    assert shortfall.message == (
        "professional: the plan allocates 3 but only 2 seats are free after reclaims that free "
        "seats now (1 more reclaims quarantine their seat for 7 days); 1 allocations will fail"
    )


def _mass_reclaim(n: int, cap: SafetyPolicy) -> Plan:
    users = [user(f"CORP\\u{i:03d}") for i in range(n)]
    allocations = [alloc(PRO, u.display, used_days=30) for u in users]
    return run(desired(), actual(users, allocations), policy(safety=cap))


def test_safety_absolute_cap_blocks_but_plan_renders_in_full() -> None:
    """More reclaims than max_reclaims blocks the plan; every change is still in it."""
    result = _mass_reclaim(12, SafetyPolicy(max_reclaims=10, max_reclaim_share=1.0, share_floor=0))
    assert result.safety.blocked
    assert [r.message for r in result.safety.reasons] == [
        "professional: 12 reclaims exceed safety.max_reclaims 10"
    ]
    (reason,) = result.safety.reasons
    assert (reason.cap, reason.reclaims, reason.limit) == (SafetyCap.MAX_RECLAIMS, 12, 10)
    assert len(result.changes) == 12
    assert [f.kind for f in result.findings][:1] == [FindingKind.BLOCKED_BY_SAFETY]


def test_safety_share_cap_applies_from_the_floor() -> None:
    """The share cap blocks at or above share_floor allocations and is ignored below it."""
    cap = SafetyPolicy(max_reclaims=1000, max_reclaim_share=0.1, share_floor=20)
    below = _mass_reclaim(19, cap)
    assert not below.safety.blocked
    assert below.safety.per_type[PRO].share_limit is None
    above = _mass_reclaim(20, cap)
    assert above.safety.blocked
    assert [r.message for r in above.safety.reasons] == [
        "professional: 20 reclaims are 100.0% of 20 allocations, over safety.max_reclaim_share "
        "10% (at most 2; applies from 20 allocations)",
    ]
    (reason,) = above.safety.reasons
    assert (reason.cap, reason.reclaims, reason.limit) == (SafetyCap.MAX_RECLAIM_SHARE, 20, 2)


def test_safety_boundary_exactly_at_cap_passes() -> None:
    """Exactly max_reclaims reclaims is allowed; one more is not."""
    cap = SafetyPolicy(max_reclaims=5, max_reclaim_share=1.0, share_floor=0)
    assert not _mass_reclaim(5, cap).safety.blocked
    assert _mass_reclaim(6, cap).safety.blocked


def _denials(*denials: Denial, newest_days: int | None = 0) -> Signals:
    newest = None if newest_days is None else NOW - dt.timedelta(days=newest_days)
    return Signals(
        denials=DenialReport(
            since=NOW - dt.timedelta(days=30),
            denials=denials,
            sources=(
                SourceReport(path="logs", kind="logs", files=1, rows=10, newest_entry=newest),
            ),
        )
    )


def _denial(ident: str, count: int = 3) -> Denial:
    directory, userid = ident.split("\\")
    from licsync.identity import user_key

    return Denial(
        user=ident,
        key=user_key(directory, userid),
        user_id=None,
        count=count,
        first=NOW - dt.timedelta(days=3),
        last=NOW - dt.timedelta(days=1),
    )


def test_denied_user_without_rule() -> None:
    """A denied person gets a finding with their groups and no covering rule."""
    state = actual([user("CORP\\lena", groups=["Marketing"])])
    result = run(desired(), state, signals=_denials(_denial("CORP\\lena")))
    [finding] = [f for f in result.findings if f.kind is FindingKind.DENIED_USER]
    assert finding.message == (
        f"CORP\\lena was denied access 3 times between {(NOW - dt.timedelta(days=3)).date()} and "
        f"{(NOW - dt.timedelta(days=1)).date()}; groups: Marketing; no declared rule covers them: "
        "allocate, or add a rule"
    )
    assert finding.data["groups"] == ["Marketing"]
    assert not finding.stale


def test_denied_user_covered_by_rule_points_at_capacity() -> None:
    """A denied person a declared rule covers means no seat was free."""
    state = actual([user("CORP\\mats", groups=["Sales"])])
    d = desired(ana_rules=[drule("Sales analyzers", 'user.group = "Sales"')])
    result = run(d, state, policy(analyzer="additive"), _denials(_denial("CORP\\mats", 1)))
    [finding] = [f for f in result.findings if f.kind is FindingKind.DENIED_USER]
    assert finding.message.endswith(
        "declared rule 'Sales analyzers' (analyzer) covers them, so no seat was free: check "
        "capacity"
    )
    assert finding.data["rules"] == {"professional": [], "analyzer": ["Sales analyzers"]}


def test_stale_denial_data_marks_denial_findings() -> None:
    """Denial data older than max_age_days is a finding, and denial findings say stale."""
    state = actual([user("CORP\\lena")])
    result = run(desired(), state, signals=_denials(_denial("CORP\\lena"), newest_days=9))
    stale = [f for f in result.findings if f.kind is FindingKind.STALE_DENIAL_DATA]
    assert [f.data["age_days"] for f in stale] == [9]
    assert "is the License Monitor / log collection running?" in stale[0].message
    [denied] = [f for f in result.findings if f.kind is FindingKind.DENIED_USER]
    assert denied.stale


def test_no_denial_source_is_said() -> None:
    """Without denial sources the plan says denials were not reviewed."""
    result = run(desired(), actual([]))
    assert [f.kind for f in result.findings] == [FindingKind.NO_DENIAL_DATA]


def test_changes_are_sorted_for_apply_and_review() -> None:
    """Changes sort by type, then action in apply order (reclaims first), reason, subject."""
    users = [user(i) for i in ("CORP\\c", "CORP\\a", "CORP\\b", "CORP\\z")]
    state = actual(users, [alloc(PRO, "CORP\\z", used_days=30), alloc(ANA, "CORP\\b")])
    d = desired(pro=[decl("CORP\\c"), decl("CORP\\a")], ana=[decl("CORP\\a")])
    result = run(d, state, policy(analyzer="authoritative"))
    assert decisions(result) == [
        ("professional", "reclaim", "CORP\\z", "not-declared"),
        ("professional", "allocate", "CORP\\a", "declared"),
        ("professional", "allocate", "CORP\\c", "declared"),
        ("analyzer", "reclaim", "CORP\\b", "not-declared"),
        ("analyzer", "allocate", "CORP\\a", "declared"),
    ]


def test_checksum_ignores_volatile_values() -> None:
    """Re-planning a day later with the same decisions gives the same checksum."""
    state = actual([user(BOB)], [alloc(PRO, BOB, used_days=200)])
    first = run(desired(), state)
    later = plan(desired(), state, NO_SIGNALS, NOW + dt.timedelta(days=1))
    assert first.changes[0].detail != later.changes[0].detail
    assert first.checksum == later.checksum


def test_checksum_changes_with_decisions() -> None:
    """A different decision (another user, another rule text) changes the checksum."""
    base = run(desired(pro=[decl(ALICE)]), actual([user(ALICE), user(BOB)]))
    other = run(desired(pro=[decl(BOB)]), actual([user(ALICE), user(BOB)]))
    assert base.checksum != other.checksum
    r1 = run(desired(ana_rules=[drule("R", 'user.group = "A"')]), actual([]))
    r2 = run(desired(ana_rules=[drule("R", 'user.group = "B"')]), actual([]))
    assert r1.checksum != r2.checksum


def test_user_keys_compare_case_insensitively() -> None:
    """A declaration spelled differently from QRS still matches the allocation."""
    state = actual([user("corp\\ALICE")], [alloc(PRO, "corp\\ALICE")])
    assert run(desired(pro=[decl("CORP\\alice")]), state).changes == ()


def test_naive_now_is_refused() -> None:
    """Time must be aware: a naive datetime is a programming error."""
    with pytest.raises(ValueError, match="naive datetime"):
        plan(desired(), actual([]), NO_SIGNALS, dt.datetime(2026, 1, 1))


def test_observe_mode_changes_nothing_and_reports_everything() -> None:
    """In observe mode every would-be change is a finding; the plan has no changes."""
    state = actual([user(ALICE), user(BOB)], [alloc(PRO, BOB, used_days=20)])
    result = run(desired(pro=[decl(ALICE)]), state, policy(professional=Ownership.OBSERVE.value))
    assert result.changes == ()
    assert kinds(result) == [("observe-only", ALICE), ("observe-only", BOB)]


def test_removed_externally_and_inactive_is_one_finding() -> None:
    """QRS marks a removed user inactive too; under `report` the plan says so once."""
    result = run(desired(), actual([user(BOB, removed=True, inactive=True)], [alloc(ANA, BOB)]))
    flagged = [f for f in result.findings if f.kind is FindingKind.FLAGGED_USER]
    assert [f.message for f in flagged] == [
        f"{BOB} holds analyzer but QRS marks them removed externally and inactive (policy: report)"
    ]
    assert flagged[0].data["flags"] == ["removed-externally", "inactive"]


def test_capacity_speaks_the_qmc_numbers() -> None:
    """Allocated and in quarantine as QRS reports them, and after the plan."""
    users = [user(f"CORP\\u{i}") for i in range(4)]
    state = actual(
        users,
        [
            alloc(PRO, "CORP\\u0", used_days=2),
            alloc(PRO, "CORP\\u1", used_days=30),
            alloc(PRO, "CORP\\u2", quarantined_days_left=3),
        ],
        capacity={PRO: 5, ANA: 10},
    )
    result = run(desired(pro=[decl("CORP\\u2"), decl("CORP\\u3")]), state, policy())
    line = result.capacity[PRO]
    assert (line.allocated, line.quarantined, line.available, line.total) == (2, 1, 2, 5)
    # u0 moves to quarantine, u1 is freed, u2 is reinstated, u3 allocated.
    assert (line.allocated_after, line.quarantined_after) == (2, 1)
    assert line.available_after == 2


def test_excluded_service_account_denials_are_counted() -> None:
    """The README's "excluded and counted": the count is a finding."""
    signals = _denials()
    assert signals.denials is not None
    report = dataclasses.replace(signals.denials, excluded={"DOMAIN\\qvservice": 100})
    result = run(desired(), actual([]), signals=Signals(denials=report))
    [counted] = [f for f in result.findings if f.kind is FindingKind.SERVICE_ACCOUNT_DENIALS]
    assert counted.data == {"excluded": {"DOMAIN\\qvservice": 100}, "total": 100}


def test_log_instants_are_shown_to_the_second() -> None:
    """Log times carry milliseconds; findings show UTC instants without them."""
    stamp = NOW - dt.timedelta(days=10, microseconds=467000)
    denial = dataclasses.replace(_denial(BOB), first=stamp, last=stamp)
    signals = _denials(denial, newest_days=10)
    assert signals.denials is not None
    sources = (dataclasses.replace(signals.denials.sources[0], newest_entry=stamp),)
    report = dataclasses.replace(signals.denials, sources=sources)
    result = run(desired(), actual([user(BOB)]), signals=Signals(denials=report))
    texts = [f.message for f in result.findings] + [str(f.data) for f in result.findings]
    assert not any(".467" in text or "+00:00" in text for text in texts)
    [stale] = [f for f in result.findings if f.kind is FindingKind.STALE_DENIAL_DATA]
    assert stale.data["newest_entry"].endswith("Z")


def test_a_type_missing_from_the_overview_is_said() -> None:
    """No capacity line is invented: text, Markdown and JSON say QRS did not report it."""
    state = actual([user(BOB)], [alloc(PRO, BOB)])
    state = dataclasses.replace(state, capacity={PRO: state.capacity[PRO]})
    result = run(desired(pro=[decl(BOB)]), state)
    assert ANA not in result.capacity
    assert (
        "  capacity: unknown: QRS's access type overview does not report analyzer access"
        in render_text(result)
    )
    assert "| analyzer | authoritative | not reported by QRS |" in render_markdown(result)
    assert plan_data(result)["capacity_missing"] == ["analyzer"]
