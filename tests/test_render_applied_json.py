"""The apply JSON report is written item by item straight to text: byte for byte what encoding
each item's dict with ``json`` wrote, for every kind of change and for values from outside."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from builders import ANA, PRO, actual, desired
from clock import NOW
from licsync.apply.report import ApplyResult, Item
from licsync.identity import Source
from licsync.plan import plan
from licsync.plan.changes import Allocate, Change, ChangeId, Reason, Reclaim, Reinstate, UserTarget
from licsync.render.applied import apply_data, render_apply_json
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
