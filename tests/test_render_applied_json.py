"""The apply JSON report is written item by item straight to text: byte for byte what encoding
each item's dict with ``json`` wrote, for every kind of change and for values from outside."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from builders import ANA, PRO, actual, desired
from clock import NOW
from licsync.apply.report import ApplyResult, Approval, Item
from licsync.identity import Source
from licsync.plan import plan
from licsync.plan.changes import Allocate, Change, ChangeId, Reason, Reclaim, Reinstate, UserTarget
from licsync.render import applied
from licsync.render.applied import apply_data, render_apply_json
from licsync.render.data import instant
from licsync.render.linetext import instant_text
from licsync.results import Outcome
from licsync.signals import Signals

# Quotes, backslashes, control characters, non-ASCII, a lone surrogate, NUL: what json escapes.
ODD = ['"q"\\', "tab\there\nnew", "Åsa Ölund 名前", "\ud800", "\x00nul", "\u2028", ""]


def _reference(result: ApplyResult) -> str:
    """How the report was written before: the document indented, each item's dict compact."""
    data = apply_data(result)
    items = data["items"]
    text = json.dumps({**data, "items": "\x00items"}, indent=2, ensure_ascii=False)
    lines = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in items)
    listed = f"[\n    {lines}\n  ]" if items else "[]"
    return text.replace('"items": "\\u0000items"', f'"items": {listed}', 1) + "\n"


def _changes(odd: str) -> list[Change]:
    when = dt.datetime(2025, 3, 1, 8, 15, 30, 123456, tzinfo=dt.UTC)
    target = UserTarget(f"id-{odd}", f"DIR{odd}", f"user{odd}")
    needed = ChangeId(Reclaim.action, PRO, f"k{odd}", Reason.NOT_DECLARED)
    return [
        Allocate(PRO, f"DIR\\{odd}", f"dir\\{odd}", target),
        Allocate(
            ANA, odd, odd.casefold(), target, Reason.DECLARED, odd, Source(f"f{odd}.yaml", 3, 7)
        ),
        Reclaim(PRO, f"U{odd}", f"u{odd}", Reason.NOT_DECLARED, f"a{odd}"),
        Reclaim(
            ANA,
            odd,
            odd,
            Reason.IDLE,
            odd,
            user_id=odd,
            modified_date=odd,
            quarantine=True,
            last_used=when,
            covered_by=(odd, f"rule {odd}"),
            needs=needed,
            detail=odd,
            source=Source(odd, 1, 2),
        ),
        Reinstate(PRO, odd, odd, target, odd, odd, quarantine_end=when, last_used=when),
    ]


@pytest.mark.parametrize("odd", ODD)
def test_items_are_written_as_json_writes_their_data(odd: str) -> None:
    fresh = plan(desired(), actual([], []), Signals(), NOW)
    items: list[Item] = []
    for n, change in enumerate(_changes(odd)):
        for status in Outcome:
            items.append(
                Item(
                    change.id,
                    status,
                    message=odd,
                    status_code=None if n % 2 else 400 + n,
                    change=change,
                    quarantine_until=NOW if n % 2 else None,
                    attempts=n,
                )
            )
    items.append(Item(ChangeId(Reclaim.action, PRO, odd, Reason.IDLE), Outcome.NO_LONGER_NEEDED))
    result = ApplyResult(site=odd, fresh=fresh, items=tuple(items), after=fresh)
    assert render_apply_json(result) == _reference(result)


def test_no_items() -> None:
    fresh = plan(desired(), actual([], []), Signals(), NOW)
    result = ApplyResult(site="s", fresh=fresh, items=(), after=None)
    assert render_apply_json(result) == _reference(result)


@pytest.mark.parametrize("odd", ["\x00items", '"items": "\x00items"', "\\u0000items"])
def test_values_like_the_items_placeholder_stay_where_they_are(odd: str) -> None:
    """The items go where the document's placeholder is, not where a value looks like it."""
    fresh = plan(desired(), actual([], []), Signals(), NOW)
    change = _changes(odd)[2]
    items = (Item(change.id, Outcome.APPLIED, change=change, attempts=1),)
    approval = Approval("plan", checksum="c", plan_file=odd, force_reason=odd)
    for listed in (items, ()):
        result = ApplyResult(
            site=odd, fresh=fresh, items=listed, after=None, approval=approval, audit_error=odd
        )
        assert render_apply_json(result) == _reference(result)


def test_a_quarantine_end_is_written_as_instant_writes_it() -> None:
    """The text of instants (cached for the quarantine's end) is ``instant``'s, escaped: in
    any timezone, with or without microseconds, at the ends of the range."""
    zones = [
        dt.UTC,
        dt.timezone(dt.timedelta(hours=5, minutes=30)),
        dt.timezone(-dt.timedelta(hours=8)),
    ]
    for zone in zones:
        for when in (
            dt.datetime(2026, 12, 14, 23, 21, 27, tzinfo=zone),
            dt.datetime(2026, 12, 14, 23, 59, 59, 999_999, tzinfo=zone),
            dt.datetime(1970, 1, 1, tzinfo=zone),
            dt.datetime(2, 1, 1, 12, tzinfo=zone),
            dt.datetime(9999, 12, 30, 12, 0, 0, 1, tzinfo=zone),
        ):
            expected = json.dumps(instant(when))
            assert instant_text(when) == expected
            assert applied._until_text(when) == expected
