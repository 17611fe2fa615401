"""The job summary a CI shows on a run's page: GitHub Actions' ``$GITHUB_STEP_SUMMARY``.

Each step may append Markdown to the file that variable names (GitHub shows up to 1 MiB per
step). licsync appends the plan it commented, which reviewed plan it fetched, and what an
apply did (from its audit log). Outside GitHub Actions nothing is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from licsync.render.escape import md_code, md_text

__all__ = ["MAX_SUMMARY", "append_step_summary", "audit_summary"]

MAX_SUMMARY = 1024 * 1024 - 4096
"""GitHub refuses a step summary over 1 MiB; what would not fit is cut with a note."""
_SHOWN_ITEMS = 200


def append_step_summary(env: Mapping[str, str], markdown: str) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` when set; True when written."""
    target = env.get("GITHUB_STEP_SUMMARY", "")
    if not target:
        return False
    data = markdown.encode("utf-8")
    if len(data) > MAX_SUMMARY:
        data = data[:MAX_SUMMARY].decode("utf-8", "ignore").encode("utf-8")
        data += "\n\n…(cut to stay under GitHub's 1 MiB step summary)\n".encode()
    try:
        with Path(target).open("ab") as stream:
            stream.write(data + b"\n")
    except OSError:
        return False  # a summary is a courtesy: it never fails the step
    return True


def audit_summary(lines: Iterable[str], *, site: str) -> str:
    """An apply's summary from its audit log (JSON lines): the totals per outcome, then each
    change that was not applied, then the applied ones, at most 200 items in all."""
    outcomes: Counter[str] = Counter()
    items: list[tuple[str, str, str, str]] = []
    approval = ""
    for line in lines:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(record, dict):
            continue
        if record.get("event") == "start":
            given = _mapping(record.get("approval"))
            approval = f"{given.get('mode') or '?'} {given.get('checksum') or ''}".strip()
        if record.get("event") == "change":
            outcome = str(record.get("outcome", "?"))
            outcomes[outcome] += 1
            change = _mapping(record.get("change"))
            subject, message = str(record.get("subject", "?")), str(record.get("message", ""))
            items.append((outcome, str(change.get("kind", "?")), subject, message))
    totals = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "no changes attempted"
    out = [
        f"### licsync apply: site {md_text(site)}",
        "",
        f"Approved by: {md_text(approval)}",
        "",
        f"**{totals}**",
        "",
    ]
    if items:
        out += ["| outcome | change | subject | message |", "| --- | --- | --- | --- |"]
        items.sort(key=lambda i: i[0] in ("applied", "completed", "already"))
        for outcome, kind, subject, message in items[:_SHOWN_ITEMS]:
            cells = (md_text(outcome), md_text(kind), md_code(subject), md_text(message[:300]))
            out.append("| " + " | ".join(cells) + " |")
        if len(items) > _SHOWN_ITEMS:
            out.append(f"\n…and {len(items) - _SHOWN_ITEMS} more (the audit log has them all)")
    return "\n".join(out) + "\n"


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
