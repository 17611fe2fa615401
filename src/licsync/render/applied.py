"""What an ``apply`` run did, as terminal text and as versioned JSON (``schema/apply.schema.json``).

The text follows the plan's layout (per access type, the plan's order), each change with its
outcome, then what was not applied and why, the totals per access type, the capacity after, and
one line on what remains. Pure: values in, text out.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import urllib.parse
from collections import Counter
from typing import Any

from licsync.apply.report import ApplyResult, Item
from licsync.identity import AccessType
from licsync.plan import Plan
from licsync.plan.changes import Allocate, Phase, Reason, Reclaim
from licsync.render.data import (
    QMC_TERMS,
    action_phrase,
    capacity_now,
    change_data,
    instant,
    summary,
)
from licsync.render.escape import escape_text
from licsync.render.linetext import (
    ENUM_TEXT,
    change_id_text,
    escape,
    instant_text,
    int_text,
    own_id_text,
)
from licsync.results import Outcome, Request

__all__ = ["APPLY_FORMAT_VERSION", "apply_data", "render_apply_json", "render_apply_text"]

APPLY_FORMAT_VERSION = "1.1"
"""Version of the JSON apply report: a minor bump adds fields, a major bump breaks them."""

_SHOWN = {
    Outcome.APPLIED: "applied",
    Outcome.COMPLETED: "partly applied, then completed",
    Outcome.ALREADY: "already so",
    Outcome.PARTIAL: "PARTLY APPLIED",
    Outcome.FAILED: "FAILED",
    Outcome.UNKNOWN: "UNKNOWN (may have happened)",
    Outcome.SKIPPED: "skipped",
    Outcome.NOT_REVIEWED: "not reviewed",
    Outcome.NO_LONGER_NEEDED: "no longer needed",
}
_BODY_SHOWN = 160  # characters of a dry-run request body in the text


def render_apply_text(result: ApplyResult, *, target: str = "") -> str:
    """The run as terminal text (plain: values from outside are shown as they are escaped)."""
    where = f" ({escape_text(target)})" if target else ""
    lines = [
        f"licsync apply to site {escape_text(result.site)}{where}, approved by {_approval(result)}",
        QMC_TERMS,
    ]
    if result.forced:
        lines.append(
            f"FORCED past the safety checks: {escape_text(result.approval.force_reason or '')}"
        )
    if result.dry_run:
        lines.append("DRY RUN: nothing was sent; these are the requests apply would send.")
    ran = [i for i in result.items if i.status not in _NOT_RUN]
    for access_type in AccessType:
        mine = [i for i in ran if i.access_type is access_type]
        if mine:
            lines.append("")
            lines.append(f"{access_type.value.capitalize()} access")
            lines.extend(_item_line(item, dry_run=result.dry_run) for item in mine)
    for status, heading in (
        (Outcome.NOT_REVIEWED, "Not reviewed, so not applied (new since the review):"),
        (Outcome.NO_LONGER_NEEDED, "Reviewed, but no longer needed (skipped):"),
    ):
        left = [i for i in result.items if i.status is status]
        if left:
            lines.append("")
            lines.append(f"{heading} {len(left)}")
            lines.extend(_item_line(item, dry_run=False, typed=True) for item in left)
    if result.dry_run:
        lines.append("")
        lines.append(f"Requests ({len(result.requests)}):")
        lines.extend(f"  {_request_line(r)}" for r in result.requests)
    lines.append("")
    if result.audit_error:
        lines.append(
            f"STOPPED: {escape_text(result.audit_error)}; nothing was sent after that (the "
            "audit log is the record of what apply does)."
        )
    lines.append(_totals_line(result, dry_run=result.dry_run))
    if result.after is not None:
        lines.extend(_capacity_lines(result.after))
    lines.append(_remaining_line(result))
    reads = " (reads only: nothing was written)" if result.dry_run else ""
    lines.append(f"Took {result.seconds:.2f} s and {result.qrs_requests} QRS requests{reads}.")
    return "\n".join(lines) + "\n"


def render_apply_json(result: ApplyResult) -> str:
    """The run as JSON (``schema/apply.schema.json``), one trailing newline.

    Indented, except that each item is one line, as ``json.dumps(item, ensure_ascii=False)``
    writes it. ``json`` indents with its pure-Python encoder, which took most of a second for
    10,000 items; an item is written straight to text (:func:`_item_text`), not made a dict
    and encoded, which was most of what was left.
    """
    data = _run_data(result, items=_ITEMS)
    head, tail = json.dumps(data, indent=2, ensure_ascii=False).split(_ITEMS_TEXT, 1)
    if not result.items:
        return f'{head}"items": []{tail}\n'
    # The document's head and tail go on the first and last item, so that the one join is the
    # only copy of the items' megabytes (a copy after it took 5% of the time).
    texts = list(map(_item_text, result.items))
    texts[0] = f'{head}"items": [\n    {texts[0]}'
    texts[-1] = f"{texts[-1]}\n  ]{tail}\n"
    return ",\n    ".join(texts)


_ITEMS = "\x00items"  # where the items go in the document
# How the document shows it, key included: no value's text holds that, as a string's quotes
# are escaped (a site named "\x00items" is written "\u0000items" too, but not after the key).
_ITEMS_TEXT = f'"items": {json.dumps(_ITEMS)}'


def apply_data(result: ApplyResult) -> dict[str, Any]:
    """The JSON document of a run, as Python values."""
    return _run_data(result, items=[_item_data(i) for i in result.items])


def _run_data(result: ApplyResult, *, items: object) -> dict[str, Any]:
    approval = result.approval
    return {
        "format_version": APPLY_FORMAT_VERSION,
        "site": result.site,
        "dry_run": result.dry_run,
        "interrupted": result.interrupted,
        "audit_error": result.audit_error or None,
        "approval": {
            "mode": approval.mode,
            "checksum": approval.checksum,
            "plan_file": approval.plan_file,
            "forced": result.forced,
            "force_reason": approval.force_reason,
        },
        "plan_checksum": result.fresh.checksum,
        "items": items,
        "totals": {
            t.value: {s.value: n for s, n in sorted(c.items())} for t, c in result.counts().items()
        },
        "failed": result.failed,
        "requests": [_request_data(r) for r in result.requests],
        "after": None if result.after is None else _after_data(result.after),
        "seconds": round(result.seconds, 3),
        "qrs_requests": result.qrs_requests,
    }


_NOT_RUN = (Outcome.NOT_REVIEWED, Outcome.NO_LONGER_NEEDED)


def _approval(result: ApplyResult) -> str:
    approval = result.approval
    if approval.mode == "plan":
        return f"the reviewed plan {escape_text(approval.plan_file or '')} ({approval.checksum})"
    if approval.mode == "checksum":
        return f"checksum {approval.checksum}"
    return "--auto-approve"


def _item_line(item: Item, *, dry_run: bool, typed: bool = False) -> str:
    """One item in the plan's own words: ``+ allocate CORP\\x (declared): applied``; with
    ``typed`` (lists not under an access type's heading) the access type is said too."""
    change = item.change
    if change is None:  # a reviewed change whose details the file lacked: its identity
        words = item.id.kind.value.replace("-", " ")
        return (
            f"  {item.id.kind.symbol} {words} {escape_text(item.id.subject)} "
            f"({item.id.access_type.value}, {item.id.reason.label}): "
            f"{_SHOWN[item.status]}: {escape_text(item.message)}"
        )
    subject = escape_text(change.subject)
    kind = f"{change.access_type.value}, " if typed else ""
    what = f"{change.action.value.replace('-', ' ')} {subject} ({kind}{change.reason.label})"
    if dry_run and item.status is Outcome.APPLIED:
        return f"  {change.action.symbol} {what}: would be sent"
    outcome = _SHOWN[item.status]
    shown = item.message and item.status is not Outcome.APPLIED
    detail = f": {escape_text(item.message)}" if shown else ""
    if item.quarantine_until is not None:
        detail += f"; the seat stays in quarantine until {instant(item.quarantine_until)}"
    mark = "x" if item.status.failed else change.action.symbol
    return f"  {mark} {what}: {outcome}{detail}"


def _totals_line(result: ApplyResult, *, dry_run: bool) -> str:
    parts = []
    for access_type, counts in result.counts().items():
        if not counts:
            continue
        shown = ", ".join(
            f"{counts[s]} {'to send' if dry_run and s is Outcome.APPLIED else _SHOWN[s].lower()}"
            for s in Outcome
            if counts[s]
        )
        parts.append(f"{access_type.value} {shown}")
    return "Totals: " + ("; ".join(parts) if parts else "nothing to do")


def _capacity_lines(after: Plan) -> list[str]:
    """The QMC's numbers as the site is now (the re-plan's "now" is after the apply)."""
    return [
        f"Capacity after: {access_type.value} {capacity_now(line)}"
        for access_type, line in after.capacity.items()
    ]


def _remaining_line(result: ApplyResult) -> str:
    quarantined = [i for i in result.items if i.quarantine_until is not None]
    note = ""
    if quarantined:
        until = max(i.quarantine_until for i in quarantined if i.quarantine_until is not None)
        seats = "seat stays" if len(quarantined) == 1 else "seats stay"
        note = (
            f"; {len(quarantined)} reclaimed {seats} in quarantine (still counted) until "
            f"{instant(until)}"
        )
    after = result.after
    if result.interrupted:
        skipped = sum(1 for i in result.items if i.status is Outcome.SKIPPED)
        unknown = sum(1 for i in result.items if i.status is Outcome.UNKNOWN)
        if skipped or unknown or after is None:
            parts = []
            if skipped:
                parts.append(f"{skipped} not started (skipped)")
            if unknown:
                parts.append(f"{unknown} in flight (unknown: the next plan shows)")
            what = "; ".join(parts) if parts else "what is left was not read"
            return f"Interrupted: {what}; run apply again." + note
        # Every change had ended when the interrupt came: the report is complete.
    if after is None:
        if result.dry_run:
            return "Run without --dry-run to apply."
        why = escape_text(result.replan_error)
        return f"Could not re-plan after applying ({why}): run licsync plan."
    if not after.changes:
        return "After apply: nothing left to do" + note + "."
    counts = Counter(c.action for c in after.changes)
    left = ", ".join(action_phrase(action, n) for action, n in sorted(counts.items()))
    return f"After apply, the plan still has: {left} (licsync plan shows why){note}."


def _request_line(request: Request) -> str:
    query = "&".join(f"{k}={v}" for k, v in request.params.items())
    # Paths are percent-encoded to be sent; shown decoded so placeholders read as such.
    path = urllib.parse.unquote(request.path)
    line = escape_text(f"{request.method} {path}{'?' + query if query else ''}")
    if request.body is None:
        return line
    if isinstance(request.body, list):
        n = len(request.body)
        return f"{line}  [{n} {'item' if n == 1 else 'items'}]"
    body = json.dumps(request.body, ensure_ascii=False, sort_keys=True)
    if len(body) > _BODY_SHOWN:
        body = body[:_BODY_SHOWN] + "..."
    return f"{line}  {escape_text(body)}"


def _item_data(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id.data(),
        "status": item.status.value,
        "message": item.message,
        "status_code": item.status_code,
        "attempts": item.attempts,
        "quarantine_until": (
            instant(item.quarantine_until) if item.quarantine_until is not None else None
        ),
        "change": change_data(item.change) if item.change is not None else None,
    }
    if isinstance(item.change, Reclaim):
        data["quarantine"] = item.change.quarantine
    return data


def _request_data(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "params": dict(request.params),
        "body": request.body,
    }


def _after_data(after: Plan) -> dict[str, Any]:
    return {"checksum": after.checksum, "summary": summary(after)}


# The text of one item as ``json.dumps(_item_data(item), ensure_ascii=False)`` writes it, made
# without the dicts (see linetext): for the changes a big run is made of (allocations and
# reclaims), field by field in _item_data's order; any other change through the dict, as before.
_LABEL_TEXT = {reason: escape(reason.label) for reason in Reason}
_PHASE_TEXT = {phase: int_text(int(phase)) for phase in Phase}
_BOOL_TEXT = {True: "true", False: "false"}
_WRITTEN = (Reclaim, Allocate)


def _item_text(item: Item) -> str:
    change = item.change
    # Exactly these classes: a subclass may add fields, which the dict would show.
    if not isinstance(change, Reclaim | Allocate) or change.__class__ not in _WRITTEN:
        return json.dumps(_item_data(item), ensure_ascii=False)
    code = item.status_code
    until = item.quarantine_until
    item_id = item.id
    change_id = own_id_text(change)
    # An item is made with its change's id: its text is written once for both.
    same = (
        item_id.kind is change.action
        and item_id.access_type is change.access_type
        and item_id.reason is change.reason
        and item_id.subject == change.key
    )
    text = (
        f'{{"id": {change_id if same else change_id_text(item_id)}, '
        f'"status": {ENUM_TEXT[item.status]}, "message": {escape(item.message)}, '
        f'"status_code": {"null" if code is None else int_text(code)}, '
        f'"attempts": {int_text(item.attempts)}, '
        f'"quarantine_until": {"null" if until is None else _until_text(until)}, '
        f'"change": {_allocation_text(change, change_id)}'
    )
    if isinstance(change, Reclaim):
        return f'{text}, "quarantine": {_BOOL_TEXT[change.quarantine]}}}'
    return text + "}"


@functools.lru_cache(maxsize=8)
def _until_text(until: dt.datetime) -> str:
    """When a reclaimed seat leaves quarantine: the same instant for all of a run's reclaims
    (its start + 7 days), so written once, not 5,000 times."""
    return instant_text(until)


def _allocation_text(change: Reclaim | Allocate, id_text: str) -> str:
    """``change_data(change)`` as compact JSON text; ``id_text``: the change's id's."""
    source = change.source
    depends_on = change.depends_on
    common = (
        f'{{"kind": "allocation", "user": {escape(change.user)}, "key": {escape(change.key)}, '
        f'"id": {id_text}, "action": {ENUM_TEXT[change.action]}, '
        f'"access_type": {ENUM_TEXT[change.access_type]}, '
        f'"reason": {ENUM_TEXT[change.reason]}, "reason_label": {_LABEL_TEXT[change.reason]}, '
        f'"detail": {escape(change.detail)}, '
        f'"source": {"null" if source is None else escape(str(source))}, '
        f'"phase": {_PHASE_TEXT[change.phase]}, '
        f'"depends_on": {"null" if depends_on is None else change_id_text(depends_on)}, '
    )
    if isinstance(change, Reclaim):
        user_id = change.user_id
        last_used = change.last_used
        covered = ", ".join(map(escape, change.covered_by))
        return (
            f'{common}"user_id": {"null" if user_id is None else escape(user_id)}, '
            f'"allocation_id": {escape(change.allocation_id)}, '
            f'"modified_date": {escape(change.modified_date)}, '
            f'"quarantine": {_BOOL_TEXT[change.quarantine]}, '
            f'"last_used": {"null" if last_used is None else instant_text(last_used)}, '
            f'"covered_by": [{covered}]}}'
        )
    target = change.target
    return (
        f'{common}"user_id": {escape(target.id)}, "user_directory": {escape(target.directory)}, '
        f'"user_userid": {escape(target.userid)}, "allocation_id": null, "quarantine": false, '
        '"last_used": null, "covered_by": []}'
    )
