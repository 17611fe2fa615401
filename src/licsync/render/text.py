"""The plan for a terminal: Terraform-like, grouped by access type and reason.

``+`` adds, ``~`` changes, ``-`` removes. Colour only when asked (the CLI asks when stdout is a
terminal); the words carry everything the colours do.
"""

from __future__ import annotations

from itertools import groupby
from typing import Protocol, assert_never

from licsync.identity import QUARANTINE, AccessType
from licsync.plan import (
    Action,
    Allocate,
    Change,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Finding,
    Plan,
    Reclaim,
    Reinstate,
    RuleChange,
    UpdateRule,
)
from licsync.render.data import QMC_TERMS, action_phrase, capacity_words, instant, quarantine_note
from licsync.render.escape import escape_text as _e
from licsync.render.findings import FindingsShown, group_findings

DEFAULT_FINDINGS = FindingsShown()

__all__ = ["render_text"]


class Style(Protocol):
    """Paints one piece of text: a foreground colour and/or bold."""

    def __call__(self, text: str, *, fg: str | None = None, bold: bool | None = None) -> str: ...


# ANSI SGR foreground codes of the eight basic colours, as click/typer number them.
_ANSI_FG = {
    "black": 30,
    "red": 31,
    "green": 32,
    "yellow": 33,
    "blue": 34,
    "magenta": 35,
    "cyan": 36,
    "white": 37,
}
_ANSI_BOLD = "\x1b[1m"
_ANSI_NOT_BOLD = "\x1b[22m"
_ANSI_RESET = "\x1b[0m"

_COLOURS = {"+": "green", "~": "yellow", "-": "red"}
_MARKS = {"error": "x", "warning": "!", "info": "i"}


def render_text(
    plan: Plan, *, color: bool = False, findings: FindingsShown = DEFAULT_FINDINGS
) -> str:
    """The whole plan as terminal text; ``findings`` says which findings are listed."""
    paint = _painter(color)
    lines: list[str] = []
    when = instant(plan.now)
    build = f", QRS {_e(plan.build_version)}" if plan.build_version else ""
    lines.append(paint(f"licsync plan for site {_e(plan.site)} at {when}{build}", bold=True))
    lines.append(QMC_TERMS)
    if plan.safety.blocked:
        lines.append("")
        lines.append(
            paint("BLOCKED by safety checks (apply refuses this plan):", fg="red", bold=True)
        )
        lines.extend(paint(f"  - {_e(str(reason))}", fg="red") for reason in plan.safety.reasons)
    for access_type in AccessType:
        lines.append("")
        lines.extend(_type_section(plan, access_type, paint))
    lines.append("")
    lines.extend(_findings(plan.findings, paint, findings))
    lines.append("")
    lines.append(_safety_line(plan, paint))
    lines.append(_summary_line(plan))
    lines.append(f"Checksum: {plan.checksum}")
    return "\n".join(lines) + "\n"


def _style(text: str, *, fg: str | None = None, bold: bool | None = None) -> str:
    """``text`` in ANSI colour, byte for byte what ``typer.style`` (click) writes: the colour
    code, then bold on (True) or off (False), the text, and always a reset."""
    colour = f"\x1b[{_ANSI_FG[fg]}m" if fg is not None else ""
    weight = "" if bold is None else _ANSI_BOLD if bold else _ANSI_NOT_BOLD
    return f"{colour}{weight}{text}{_ANSI_RESET}"


def _plain(text: str, *, fg: str | None = None, bold: bool | None = None) -> str:
    return text


def _painter(color: bool) -> Style:
    return _style if color else _plain


def _type_section(plan: Plan, access_type: AccessType, paint: Style) -> list[str]:
    ownership = plan.ownership.get(access_type)
    mode = f" ({ownership.value})" if ownership is not None else ""
    lines = [paint(f"{access_type.value.capitalize()} access{mode}", bold=True)]
    lines.append(f"  capacity: {capacity_words(plan, access_type)}")
    changes = plan.changes_of(access_type)
    if not changes:
        lines.append("  no changes")
        return lines
    for (action, reason), group in groupby(changes, key=lambda c: (c.action, c.reason)):
        members = list(group)
        lines.append(f"  {action.value.replace('-', ' ')}: {reason.label} ({len(members)})")
        for change in members:
            lines.extend(_change_lines(change, paint))
    return lines


def _change_lines(change: Change, paint: Style) -> list[str]:
    mark = change.action.symbol
    colour = _COLOURS[mark]
    match change:
        case Allocate() | Reinstate() | Reclaim():
            tags = (
                f"  [quarantined {QUARANTINE.days} days]"
                if isinstance(change, Reclaim) and change.quarantine
                else ""
            )
            where = f"  ({_e(str(change.source))})" if change.source is not None else ""
            detail = f"  {_e(change.detail)}" if change.detail else ""
            return [paint(f"    {mark} {_e(change.user)}{tags}", fg=colour) + detail + where]
        case CreateRule() | CompleteRule() | UpdateRule() | DeleteRule():
            return _rule_lines(change, paint, colour)
        case _:
            assert_never(change)


def _rule_lines(change: RuleChange, paint: Style, colour: str) -> list[str]:
    mark = change.action.symbol
    lines = [paint(f"    {mark} rule {_e(repr(change.name))}", fg=colour)]
    match change:
        case DeleteRule():
            if change.condition:
                lines.append(f"        condition: {_e(change.condition)}")
        case CreateRule() | CompleteRule() | UpdateRule():
            for diff in change.diff:
                # What a create writes, and the fields a completion adds, have no old value.
                if isinstance(change, CreateRule) or (
                    isinstance(change, CompleteRule) and diff.actual is None
                ):
                    lines.append(f"        {diff.field}: {_value(diff.desired)}")
                else:
                    lines.append(
                        f"        {diff.field}: {_value(diff.actual)} -> "
                        + paint(_value(diff.desired), fg="yellow")
                    )
        case _:
            assert_never(change)
    return lines


def _value(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(none)"
    return _e(repr(value) if value == "" or value != value.strip() else value)


def _findings(findings: tuple[Finding, ...], paint: Style, shown: FindingsShown) -> list[str]:
    """Counts by kind first, then each kind's lines (bounded), one per subject."""
    if not findings:
        return ["Findings: none"]
    groups = group_findings(findings, shown)
    total = sum(g.total for g in groups)
    lines = [paint(f"Findings ({total}), for a human to look at:", bold=True)]
    row = ""
    for group in groups:  # the counts, wrapped between kinds, never inside one
        piece = f"{group.total} {group.kind.value}"
        if row and len(row) + len(piece) > 96:
            lines.append(f"  {row},")
            row = ""
        row = f"{row}, {piece}" if row else piece
    lines.append(f"  {row}")
    colours = {"error": "red", "warning": "yellow", "info": "blue"}
    hidden = 0
    for group in groups:
        hidden += group.hidden
        if not group.lines:
            continue
        more = f", {len(group.lines)} shown" if group.hidden else ""
        mark = _MARKS.get(group.severity, "!")
        lines.append(
            paint(
                f"  {mark} {group.kind.value} ({group.total}{more})", fg=colours.get(group.severity)
            )
        )
        for line in group.lines:
            finding = line.finding
            also = f" (also {', '.join(t.value for t in line.also)})" if line.also else ""
            stale = " (stale denial data)" if finding.stale else ""
            lines.append(f"    {_e(finding.message)}{also}{stale}")
    if hidden:
        lines.append(
            f"  ({hidden} more not listed: --findings all lists every one, --findings KIND,... "
            "the kinds you name; the JSON plan holds them all)"
        )
    return lines


def _safety_line(plan: Plan, paint: Style) -> str:
    parts = []
    for access_type, numbers in plan.safety.per_type.items():
        limit = numbers.max_reclaims
        if numbers.share_limit is not None:
            limit = min(limit, numbers.share_limit)
        parts.append(f"{access_type.value} {numbers.reclaims} of at most {limit} reclaims")
    verdict = paint("BLOCKED", fg="red", bold=True) if plan.safety.blocked else "OK"
    return f"Safety: {verdict} ({'; '.join(parts)})"


def _summary_line(plan: Plan) -> str:
    if not plan.changes:
        return "Plan: no changes. The site matches the desired state."
    counts = plan.counts()
    # Completing a half-created rule is rare: the line names it only when the plan does it.
    parts = [
        action_phrase(action, counts[action.value])
        for action in Action
        if counts[action.value] or action is not Action.COMPLETE_RULE
    ]
    return "Plan: " + ", ".join(parts) + quarantine_note(plan) + "."
