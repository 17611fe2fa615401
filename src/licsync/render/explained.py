"""A user's story (:class:`licsync.explain.Story`) as terminal text or JSON.

Every value from QRS, the logs or the YAML is escaped: a user id is shown, never obeyed.
"""

from __future__ import annotations

import json

from licsync.explain import Story
from licsync.render.data import instant
from licsync.render.escape import escape_text as _e

__all__ = ["render_story_json", "render_story_text"]


def render_story_json(story: Story) -> str:
    """The story as JSON (``format_version`` 1.0), one trailing newline."""
    return json.dumps(story.data(), indent=2, ensure_ascii=False) + "\n"


def render_story_text(story: Story) -> str:
    """The story as terminal text: declared, seats, QRS, rules, denials, the plan."""
    lines = [f"{_e(story.user)} as of {instant(story.now)}"]
    if story.declared:
        for d in story.declared:
            extra = [f"until {d.until}" if d.until else "", _e(d.ticket), _e(d.note)]
            said = "; ".join(x for x in extra if x)
            where = f" at {_e(d.where)}" if d.where else ""
            lines.append(
                f"  declared: {d.access_type.value}{where}" + (f" ({said})" if said else "")
            )
    else:
        lines.append("  declared: nowhere")
    if story.seats:
        for s in story.seats:
            since = f"allocated {instant(s.since)}" if s.since else "allocated (date unknown)"
            used = f"last used {instant(s.last_used)}" if s.last_used else "never used"
            held = f"{s.access_type.value} seat, {since}, {used}"
            if s.quarantined:
                end = instant(s.quarantine_end) if s.quarantine_end else "an unknown date"
                held += f", in quarantine until {end}"
            lines.append(f"  holds: {held}")
    else:
        lines.append("  holds: no seat")
    if story.known_to_qrs:
        flags = ", ".join(story.flags) or "active (not inactive, removed externally or blocked)"
        groups = ", ".join(_e(g) for g in story.groups) or "none"
        lines.append(f"  QRS: {flags}; groups: {groups}")
    else:
        lines.append("  QRS: lists no such user (never logged in, or not synced yet)")
    if story.rules:
        for r in story.rules:
            whose = "declared" if r.declared else "on the site"
            how = "covers them" if r.verdict == "yes" else "may cover them (decided at login)"
            off = " (disabled)" if r.disabled else ""
            lines.append(f"  rule: {r.access_type.value} '{_e(r.name)}' ({whose}){off} {how}")
    else:
        lines.append("  rules: none covers them")
    if story.denials is not None:
        denied = story.denials
        lines.append(
            f"  denied: {denied['count']} times between {denied['first'] or '?'} and "
            f"{denied['last'] or '?'} (the data since {denied['since']})"
        )
    else:
        lines.append("  denied: not in the denial data (or no denial source is configured)")
    if story.changes:
        lines.extend(f"  plan: {_e(c)}" for c in story.changes)
    else:
        lines.append("  plan: no change for them")
    lines.extend(f"  finding: {_e(f)}" for f in story.findings)
    return "\n".join(lines) + "\n"
