"""The planner's findings about users denied access, and about the freshness of that data."""

from __future__ import annotations

import datetime as dt

from licsync.identity import AccessType
from licsync.plan.context import Context, days_text
from licsync.plan.findings import Finding, FindingKind
from licsync.severity import Severity
from licsync.signals import Denial, DenialReport
from licsync.timeutil import format_instant


def denial_findings(ctx: Context) -> list[Finding]:
    """A finding per user denied access, and about the freshness of the denial data."""
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


def _freshness(ctx: Context, report: DenialReport) -> tuple[list[Finding], bool]:
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
                    f"denial data from {source.path} is {days_text(age)} old (newest entry "
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


def _denied_user(ctx: Context, denial: Denial, *, stale: bool) -> Finding:
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
