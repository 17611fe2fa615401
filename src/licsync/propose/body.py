"""A proposal as a Markdown pull-request body, and as the terminal's few summary lines.

Pure: a :class:`~licsync.propose.outcome.ProposeRun`'s values in, text out. Every value from
outside (user names, rule names, groups, the planner's reasons that quote them) goes through
:func:`~licsync.render.escape.md_text` or :func:`~licsync.render.escape.md_code`.
"""

from __future__ import annotations

import datetime as dt

from licsync.identity import AccessType
from licsync.plan import Plan
from licsync.policy import Ownership, ProposalStyle
from licsync.propose.decide import Edit
from licsync.propose.outcome import ProposeRun
from licsync.render.escape import escape_text, md_code, md_text

__all__ = ["render_body", "summary_lines"]

ADDITIVE_NOTE = (
    "In additive ownership removing an entry reclaims nothing (licsync never removes a seat "
    "merely for not being declared), so the proposal ends such an entry with `until:` "
    "yesterday instead: the merge reclaims the seat, and a later proposal removes the entry "
    "once the seat is gone."
)


def summary_lines(run: ProposeRun) -> list[str]:
    """One line per proposed edit and a total, escaped for a terminal."""
    lines = []
    for r in run.proposal.removals:
        what = "remove" if r.edit is Edit.REMOVE else f"end (until: {r.until})"
        seat = "" if r.holds_seat else " (no seat on the site)"
        lines.append(f"  {what} {r.access_type} {escape_text(r.user)}: {escape_text(r.why)}{seat}")
    for s in run.proposal.suggestions:
        what = "suggest" if s.style is ProposalStyle.COMMENT else f"add (until: {s.until})"
        lines.append(f"  {what} {s.access_type} {escape_text(s.user)}: denied {s.count}x")
    for k in run.skipped:
        lines.append(
            f"  left as it is: {k.access_type} {escape_text(k.user)}: {escape_text(k.why)}"
        )
    for d in run.disagreements:
        lines.append(f"  warning: the plan after the proposal does not reclaim {escape_text(d)}")
    removals, suggestions = len(run.proposal.removals), len(run.proposal.suggestions)
    total = (
        f"licsync: propose for site {escape_text(run.site)}: {removals} "
        f"removal{'s' if removals != 1 else ''}, {suggestions} "
        f"suggestion{'s' if suggestions != 1 else ''}, {len(run.edits)} "
        f"file{'s' if len(run.edits) != 1 else ''} edited"
    )
    return [*lines, total]


def render_body(run: ProposeRun) -> str:
    """The pull-request body: what is proposed and why, capacity, and the plan after it."""
    p = run.proposal
    out = [
        f"## licsync propose: site {md_text(run.site)}",
        "",
        f"As of {_instant(run.now)}: {len(p.removals)} allocation(s) to end, "
        f"{len(p.suggestions)} suggestion(s) for users denied access. Merging this pull "
        "request makes the next `licsync apply` reclaim what is listed below.",
        "",
    ]
    if p.removals:
        out += [
            "### Allocations that go",
            "",
            "| user | type | edit | why | seat on the site |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in p.removals:
            edit = "entry removed" if r.edit is Edit.REMOVE else f"`until: {r.until}`"
            seat = "yes: reclaimed on merge" if r.holds_seat else "none (nothing to reclaim)"
            out.append(
                f"| {md_code(r.user)} | {r.access_type} | {edit} | {md_text(r.why)} | {seat} |"
            )
        out.append("")
        if any(r.edit is Edit.EXPIRE for r in p.removals):
            out += [ADDITIVE_NOTE, ""]
    if p.suggestions:
        out += [
            "### Users denied access",
            "",
            "| user | type | denied | first | last | groups | suggestion |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in p.suggestions:
            groups = ", ".join(md_text(g) for g in s.groups) or "none"
            if s.covering:
                rule = "covered by " + ", ".join(md_code(r) for r in s.covering) + " (capacity?)"
            else:
                rule = "a rule would cover them: " + md_code(s.rule_hint)
            how = (
                "commented-out entry: uncomment to allocate"
                if s.style is ProposalStyle.COMMENT
                else f"entry until {s.until}"
            )
            out.append(
                f"| {md_code(s.user)} | {s.access_type} | {s.count} | {_day(s.first)} | "
                f"{_day(s.last)} | {groups} | {how}; {rule} |"
            )
        out.append("")
    if run.skipped:
        out += ["### Left as it is", ""]
        out += [f"- {md_code(k.user)} ({k.access_type}): {md_text(k.why)}" for k in run.skipped]
        out.append("")
    if run.disagreements:
        out += ["### Warning", ""]
        out += [
            f"- the plan after this proposal does not reclaim {md_text(d)}"
            for d in run.disagreements
        ]
        out.append("")
    out += _capacity(run.before, run.after)
    out += _plan_summary(run.after)
    return "\n".join(out) + "\n"


def _capacity(before: Plan, after: Plan) -> list[str]:
    rows = []
    for t in AccessType:
        line = after.capacity.get(t)
        if line is None:
            continue
        was = before.capacity.get(t)
        freed_before = was.freed_now if was is not None else 0
        rows.append(
            f"| {t} | {line.total} | {line.used} | {line.used_after} | "
            f"{line.freed_now} ({line.freed_now - freed_before:+d} by this proposal) | "
            f"{line.quarantined_by_plan} |"
        )
    if not rows:
        return []
    return [
        "### Capacity effect",
        "",
        "| type | total | used now | used after the plan | freed now | quarantined 7 days |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _plan_summary(after: Plan) -> list[str]:
    counts = ", ".join(f"{n} {action}" for action, n in after.counts().items() if n) or "none"
    safety = "**blocked by the safety caps**" if after.safety.blocked else "safety OK"
    modes = ", ".join(f"{t} {after.ownership.get(t, Ownership.ADDITIVE)}" for t in AccessType)
    return [
        "### Plan after this proposal",
        "",
        f"Changes: {counts}; {len(after.findings)} findings; {safety}; ownership: {modes}; "
        f"checksum `{after.checksum}`.",
        "",
    ]


def _day(value: dt.datetime | None) -> str:
    return value.date().isoformat() if value is not None else "?"


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
