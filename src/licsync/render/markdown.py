"""The plan as Markdown for a sticky pull-request comment.

Summary and capacity come first, then a table per access type and the findings; long lists are
folded in ``<details>``. GitHub refuses comments over 65,536 characters, so when the whole plan
does not fit, rows are cut (largest lists first) and the comment says how many it left out and
points to the JSON plan, which always holds everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from licsync.identity import QUARANTINE, AccessType
from licsync.plan import (
    Action,
    Allocate,
    Change,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Plan,
    Reclaim,
    Reinstate,
    RuleChange,
    UpdateRule,
)
from licsync.render.charts import plan_charts
from licsync.render.data import (
    QMC_TERMS,
    action_phrase,
    instant,
    licence_words,
    quarantine_note,
)
from licsync.render.escape import md_code, md_text
from licsync.render.findings import FindingLine, FindingsShown, group_findings

__all__ = ["MAX_COMMENT", "plan_marker", "plan_marker_prefix", "render_markdown"]

MAX_COMMENT = 65_536
"""GitHub's limit on an issue or pull-request comment, in characters."""

_MARKER_SAFE = re.compile(r"[^A-Za-z0-9._:=-]")


def plan_marker_prefix(site: str) -> str:
    """What the first line of a site's Markdown plan starts with, whatever its checksum: CI
    finds and replaces its own sticky comment by it (``github comment`` writes the same)."""
    return f"<!-- licsync:plan site={_MARKER_SAFE.sub('_', site)} "


def plan_marker(site: str, checksum: str) -> str:
    """The first line of a Markdown plan: ``<!-- licsync:plan site=S checksum=C -->``."""
    return f"{plan_marker_prefix(site)}checksum={_MARKER_SAFE.sub('_', checksum)} -->"


DEFAULT_FINDINGS = FindingsShown()

_FOLD_AFTER = 20  # rows shown before a table folds the rest into <details>
_SEVERITY = {"error": "⛔", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001 - emoji on purpose


def render_markdown(
    plan: Plan, *, limit: int = MAX_COMMENT, findings: FindingsShown = DEFAULT_FINDINGS
) -> str:
    """The plan as Markdown, never longer than ``limit`` characters; ``findings`` says which
    findings are listed (their counts by kind always are)."""
    parts = _parts(plan, findings)
    budget = max(len(plan.changes), len(parts.findings))
    text = _render(parts, budget)
    if len(text) <= limit:
        return text
    low, high = 0, budget  # the largest row budget that fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(_render(parts, middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    text = _render(parts, low)
    return text if len(text) <= limit else text[: limit - 40] + "\n\n…(truncated)\n"


@dataclass(frozen=True, slots=True)
class _Parts:
    """Every line of the plan's Markdown, made once; the search for a row budget that fits
    only joins them (a row depends on its own change or finding alone)."""

    head: list[str]
    tables: list[tuple[AccessType, list[str]]]
    findings: list[tuple[bool, str]]  # (not info, line), in the plan's order
    tail: str
    finding_count: int = 0
    finding_kinds: str = ""  # the count of each kind


def _parts(plan: Plan, shown: FindingsShown) -> _Parts:
    head: list[str] = [plan_marker(plan.site, plan.checksum)]
    count = len(plan.changes)
    title = f"### licsync plan for site {md_code(plan.site)}: " + (
        f"{count} change{'s' if count != 1 else ''}" if count else "no changes"
    )
    head.append(title)
    head.append("")
    if plan.safety.blocked:
        head.append("> [!CAUTION]")
        head.append("> **Blocked by safety checks**: `apply` refuses this plan.")
        head.extend(f"> - {_escape(reason.message)}" for reason in plan.safety.reasons)
        head.append("")
    head.append(_summary(plan))
    head.append("")
    head.extend(_capacity_table(plan))
    head.append("")
    head.extend(plan_charts(plan))
    tables = [
        (access_type, [_change_row(c) for c in changes])
        for access_type in AccessType
        if (changes := plan.changes_of(access_type))
    ]
    findings: list[tuple[bool, str]] = []
    for group in group_findings(plan.findings, shown):
        if not group.lines:
            continue
        notable = group.severity != "info"
        more = f", {len(group.lines)} listed" if group.hidden else ""
        mark = _SEVERITY.get(group.severity, "")
        findings.append((notable, f"- {mark} `{group.kind.value}` ({group.total}{more})"))
        findings.extend((notable, _finding_line(line)) for line in group.lines)
    tail = f"<sub>checksum `{plan.checksum}` · planned for {instant(plan.now)}</sub>"
    groups = group_findings(plan.findings, shown)
    counts = " · ".join(f"{g.total} `{g.kind.value}`" for g in groups)
    return _Parts(head, tables, findings, tail, sum(g.total for g in groups), counts)


def _render(parts: _Parts, rows: int) -> str:
    out = list(parts.head)
    cut = 0
    for access_type, body in parts.tables:
        out.append(f"#### {access_type.value.capitalize()}")
        out.append("")
        section, left_out = _change_table(body, rows)
        out.extend(section)
        cut += left_out
        out.append("")
    if parts.finding_count:
        out.append(f"#### Findings ({parts.finding_count})")
        out.append("")
        out.append(parts.finding_kinds)
        out.append("")
        section, left_out = _findings(parts.findings, rows)
        out.extend(section)
        cut += left_out
        out.append("")
    if cut:
        out.append(
            f"**{cut} rows left out to stay under GitHub's comment limit.** The JSON plan "
            "(`licsync plan --format json --out plan.json`) holds everything."
        )
        out.append("")
    out.append(parts.tail)
    return "\n".join(out) + "\n"


def _summary(plan: Plan) -> str:
    if not plan.changes:
        return "The site matches the desired state."
    counts = plan.counts()
    parts = [action_phrase(a, counts[a.value]) for a in Action if counts[a.value]]
    return "**Plan:** " + ", ".join(parts) + quarantine_note(plan) + "."


def _capacity_table(plan: Plan) -> list[str]:
    rows = [
        "| access type | ownership | allocated + in quarantine / total | available "
        "| after the plan | available after | allocate or reinstate | reclaim | safety |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for access_type in AccessType:
        ownership = plan.ownership.get(access_type)
        line = plan.capacity.get(access_type)
        safety = plan.safety.per_type.get(access_type)
        # A missing overview block is said as "not reported", not as a bare "?".
        missing = "not reported by QRS"
        now = f"{line.allocated} + {line.quarantined} / {line.total}" if line else missing
        available = str(line.available) if line else "?"
        after = f"{line.allocated_after} + {line.quarantined_after} / {line.total}" if line else "?"
        free = str(line.available_after) if line else "?"
        if line is not None and line.shortfall:
            free += f" ⛔ short by {line.shortfall}"
        changes = plan.changes_of(access_type)
        allocate = sum(1 for c in changes if c.action in (Action.ALLOCATE, Action.REINSTATE))
        reclaim = sum(1 for c in changes if c.action is Action.RECLAIM)
        if safety is None:
            verdict = "?"
        else:
            limit = safety.max_reclaims
            if safety.share_limit is not None:
                limit = min(limit, safety.share_limit)
            verdict = f"{safety.reclaims} / {limit} reclaims"
            if safety.reclaims > limit:
                verdict += " ⛔"
        rows.append(
            f"| {access_type.value} | {ownership.value if ownership else '?'} | {now} "
            f"| {available} | {after} | {free} | {allocate} | {reclaim} | {verdict} |"
        )
    rows.append("")
    lines = [line for t in AccessType if (line := plan.capacity.get(t)) is not None]
    if lines:
        unreadable = sum(line.unreadable for line in lines)
        note = (
            f"; ⚠️ {unreadable} seat{'s' if unreadable != 1 else ''} could not be read "
            "(counted as taken, never reclaimed)"
            if unreadable
            else ""
        )
        rows.append(f"Licence: {licence_words(lines[0])}{note}.")
        rows.append("")
    rows.append(f"<sub>{QMC_TERMS}</sub>")
    return rows


def _change_table(rendered: Sequence[str], rows: int) -> tuple[list[str], int]:
    body = list(rendered[:rows])
    lines = ["| | subject | action | reason | detail |", "|---|---|---|---|---|"]
    out = lines + body[:_FOLD_AFTER]
    if len(body) > _FOLD_AFTER:
        out.append("")
        out.append(f"<details><summary>{len(body) - _FOLD_AFTER} more</summary>")
        out.append("")
        out.extend(lines)
        out.extend(body[_FOLD_AFTER:])
        out.append("")
        out.append("</details>")
    left_out = len(rendered) - len(body)
    if left_out:
        out.append("")
        out.append(f"…and {left_out} more changes (see the JSON plan).")
    return out, left_out


def _change_row(change: Change) -> str:
    mark = {"+": "➕", "~": "🔄", "-": "➖"}[change.action.symbol]  # noqa: RUF001 - emoji
    match change:
        case Allocate() | Reinstate() | Reclaim():
            subject = md_code(change.user)
            detail = change.detail
            if isinstance(change, Reclaim) and change.quarantine:
                quarantined = f"quarantined {QUARANTINE.days} days"
                detail = f"{quarantined}; {detail}" if detail else quarantined
        case CreateRule() | CompleteRule() | UpdateRule() | DeleteRule():
            subject = "rule " + md_code(change.name)
            detail = _rule_detail(change)
        case _:
            assert_never(change)
    action = change.action.value.replace("-", " ")
    return f"| {mark} | {subject} | {action} | {change.reason.label} | {_escape(detail)} |"


def _rule_detail(change: RuleChange) -> str:
    match change:
        case UpdateRule():
            return "; ".join(f"{d.field}: {d.actual!r} → {d.desired!r}" for d in change.diff)
        case CreateRule() | CompleteRule():
            return f"condition: {change.rule.condition}"
        case DeleteRule():
            return change.detail
        case _:
            assert_never(change)


def _findings(findings: Sequence[tuple[bool, str]], rows: int) -> tuple[list[str], int]:
    shown = findings[:rows]
    important = [line for notable, line in shown if notable]
    info = [line for notable, line in shown if not notable]
    out = list(important[:_FOLD_AFTER])
    rest = important[_FOLD_AFTER:] + info
    if rest:
        out.append("")
        folded = sum(1 for line in rest if line.startswith("  - "))  # not the kinds' heads
        out.append(f"<details><summary>{folded} more findings</summary>")
        out.append("")
        out.extend(rest)
        out.append("")
        out.append("</details>")
    left_out = len(findings) - len(shown)
    if left_out:
        out.append("")
        out.append(f"…and {left_out} more findings (see the JSON plan).")
    return out, left_out


def _finding_line(line: FindingLine) -> str:
    finding = line.finding
    stale = " *(stale denial data)*" if finding.stale else ""
    also = f" (also {', '.join(t.value for t in line.also)})" if line.also else ""
    return f"  - {_escape(finding.message)}{also}{stale}"


def _escape(text: str) -> str:
    """Foreign text for prose and table cells: nothing in it is interpreted (see md_text)."""
    return md_text(text)
