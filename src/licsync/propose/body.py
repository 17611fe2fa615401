"""A proposal as a Markdown pull-request body, and as the terminal's few summary lines.

Pure: a :class:`~licsync.propose.outcome.ProposeRun`'s values in, text out. Every value from
outside (user names, rule names, groups, the planner's reasons that quote them) goes through
:func:`~licsync.render.escape.md_text` or :func:`~licsync.render.escape.md_code`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from licsync.identity import QUARANTINE, AccessType
from licsync.plan import Plan
from licsync.policy import Ownership, ProposalStyle
from licsync.propose.decide import Edit
from licsync.propose.outcome import ProposeRun
from licsync.render.charts import plan_charts
from licsync.render.escape import escape_text, md_code, md_text
from licsync.render.markdown import MAX_COMMENT
from licsync.timeutil import format_instant

__all__ = ["MAX_BODY", "render_body", "summary_lines"]

MAX_BODY = MAX_COMMENT
"""GitHub's limit on a pull request's body, in characters: the same as a comment's."""

ADDITIVE_NOTE = (
    "In additive ownership removing an entry reclaims nothing (licsync never removes a seat "
    "merely for not being declared), so the proposal ends such an entry with `until:` "
    "yesterday instead: the merge reclaims the seat, and a later proposal removes the entry "
    "once the seat is gone."
)


def summary_lines(run: ProposeRun, *, written: bool = True) -> list[str]:
    """One line per proposed edit and a total, escaped for a terminal; ``written``: the files
    were edited (``--write``), else the diff only shows what would be."""
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
        f"file{'s' if len(run.edits) != 1 else ''} "
        + ("edited" if written else "to edit (shown as a diff; --write edits them)")
    )
    return [*lines, total]


def render_body(run: ProposeRun, *, max_chars: int = MAX_BODY) -> str:
    """The pull-request body: what is proposed, the capacity effect and the plan after it
    first, then per user what goes and why, folded; never longer than ``max_chars``.

    A proposal of thousands of users would not fit GitHub's limit: the lists then stop where
    the body is full and say how many rows the diff of the pull request holds besides.
    """
    p = run.proposal
    fixed = [
        f"## licsync propose: site {md_text(run.site)}",
        "",
        f"As of {format_instant(run.now)}: {len(p.removals)} allocation(s) to end, "
        f"{len(p.suggestions)} suggestion(s) for users denied access. {_merge_effect(run)}",
        "",
    ]
    if run.disagreements:
        fixed += ["### Warning", ""]
        fixed += [
            f"- the plan after this proposal does not reclaim {md_text(d)}"
            for d in run.disagreements
        ]
        fixed.append("")
    fixed += _capacity(run.before, run.after)
    fixed += plan_charts(run.after)
    fixed += _plan_summary(run.after)
    if any(r.edit is Edit.EXPIRE for r in p.removals):
        fixed += [ADDITIVE_NOTE, ""]
    out = fixed
    room = max_chars - _length(out)
    for section in _sections(run):
        lines, room = _fitted(section, room)
        out += lines
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class _Section:
    title: str
    header: tuple[str, ...]
    rows: tuple[str, ...]


def _sections(run: ProposeRun) -> list[_Section]:
    p = run.proposal
    sections = []
    if p.removals:
        rows = []
        for r in p.removals:
            edit = "entry removed" if r.edit is Edit.REMOVE else f"`until: {r.until}`"
            seat = "yes: reclaimed on merge" if r.holds_seat else "none (nothing to reclaim)"
            rows.append(
                f"| {md_code(r.user)} | {r.access_type} | {edit} | {md_text(r.why)} | {seat} |"
            )
        sections.append(
            _Section(
                f"Allocations that go ({len(rows)})",
                (
                    "| user | type | edit | why | seat on the site |",
                    "| --- | --- | --- | --- | --- |",
                ),
                tuple(rows),
            )
        )
    if p.suggestions:
        rows = []
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
            rows.append(
                f"| {md_code(s.user)} | {s.access_type} | {s.count} | {_day(s.first)} | "
                f"{_day(s.last)} | {groups} | {how}; {rule} |"
            )
        sections.append(
            _Section(
                f"Users denied access ({len(rows)})",
                (
                    "| user | type | denied | first | last | groups | suggestion |",
                    "| --- | --- | --- | --- | --- | --- | --- |",
                ),
                tuple(rows),
            )
        )
    if run.skipped:
        sections.append(
            _Section(
                f"Left as it is ({len(run.skipped)})",
                (),
                tuple(
                    f"- {md_code(k.user)} ({k.access_type}): {md_text(k.why)}" for k in run.skipped
                ),
            )
        )
    return sections


# What a folded section costs besides its rows: the tags, the title, blank lines, the note.
_FOLD_RESERVE = 200


def _fitted(section: _Section, room: int) -> tuple[list[str], int]:
    """The section folded, with as many of its rows as ``room`` holds, and the room left."""
    head = ["<details>", f"<summary>{section.title}</summary>", "", *section.header]
    room -= _length(head) + _FOLD_RESERVE
    if room < 0:
        return [], room + _length(head) + _FOLD_RESERVE
    shown: list[str] = []
    for row in section.rows:
        if len(row) + 1 > room:
            break
        shown.append(row)
        room -= len(row) + 1
    lines = [*head, *shown]
    if not shown and section.header:
        lines = head[:3]
    left = len(section.rows) - len(shown)
    if left:
        lines += [
            "",
            f"… and {left} more, too many for one pull-request body: the diff lists them.",
        ]
    lines += ["", "</details>", ""]
    return lines, room


def _length(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _merge_effect(run: ProposeRun) -> str:
    """What merging does to seats, true to the rows below: how many it reclaims, or none."""
    seats = sum(1 for r in run.proposal.removals if r.holds_seat)
    if seats:
        return (
            f"Merging this pull request makes the next `licsync apply` reclaim {seats} "
            f"seat{'s' if seats != 1 else ''}: the rows marked *reclaimed on merge* below."
        )
    if run.proposal.removals:
        return (
            "Merging reclaims no seat: none of the entries that go holds one on the site; "
            "it tidies the files."
        )
    return "Merging reclaims no seat."


def _freed(now: int, before: int) -> str:
    """Seats the next apply frees at once, and how many of them this proposal adds."""
    added = now - before
    if not now:
        return "0"
    if not added:
        return f"{now} (all planned already, none by this proposal)"
    if not before:
        return f"{now} (all by this proposal)"
    return f"{now} ({added:+d} by this proposal, {before} planned already)"


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
            f"{_freed(line.freed_now, freed_before)} | "
            f"{line.quarantined_by_plan} |"
        )
    if not rows:
        return []
    return [
        "### Capacity effect",
        "",
        "| type | total | used now | used after the plan | freed at once by the next apply "
        f"| quarantined {QUARANTINE.days} days |",
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
