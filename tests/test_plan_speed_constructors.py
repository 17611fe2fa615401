"""The planner's fast constructors give the very values their classes' own constructors do."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from typing import Any

import pytest

from clock import NOW
from licsync.identity import AccessType, Source
from licsync.plan.changes import (
    Allocate,
    ChangeId,
    Reason,
    Reclaim,
    UserTarget,
    new_allocate,
    new_reclaim,
    new_user_target,
)
from licsync.plan.findings import Finding, FindingKind, new_finding
from licsync.severity import Severity
from licsync.slots import slot_setters

PRO = AccessType.PROFESSIONAL
SOURCE = Source("pro.yaml", 3, 5)
TARGET = UserTarget(id="u1", directory="CORP", userid="bob")


def _same(fast: object, slow: object) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    if not isinstance(slow, Finding):  # a finding's data is a dict: unhashable
        assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    for f in dataclasses.fields(slow):  # type: ignore[arg-type]
        assert getattr(fast, f.name) is getattr(slow, f.name)


def test_user_target() -> None:
    _same(new_user_target("u1", "CORP", "bob"), TARGET)


@pytest.mark.parametrize(("detail", "source"), [("", None), ("T-1: note", SOURCE)])
def test_allocate(detail: str, source: Source | None) -> None:
    slow = Allocate(
        access_type=PRO,
        user="CORP\\Bob",
        key="corp\\bob",
        target=TARGET,
        detail=detail,
        source=source,
    )
    fast = new_allocate(PRO, "CORP\\Bob", "corp\\bob", TARGET, Reason.DECLARED, detail, source)
    _same(fast, slow)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {
            "user_id": "u1",
            "modified_date": "2024-01-01T00:00:00.000Z",
            "quarantine": True,
            "last_used": NOW - dt.timedelta(days=3),
            "covered_by": ("r1", "r2"),
            "needs": ChangeId(Reclaim.action, PRO, "corp\\bob", Reason.DECLARED),
            "detail": "idle 90 days",
            "source": SOURCE,
        },
    ],
)
def test_reclaim(fields: dict[str, Any]) -> None:
    slow = Reclaim(
        access_type=PRO,
        user="CORP\\bob",
        key="corp\\bob",
        reason=Reason.IDLE,
        allocation_id="a1",
        **fields,
    )
    fast = new_reclaim(*(getattr(slow, f.name) for f in dataclasses.fields(slow)))
    _same(fast, slow)
    assert fast.phase is slow.phase
    assert fast.sort_key == slow.sort_key
    assert fast.decision() == slow.decision()


def test_finding() -> None:
    kind, subject, message = FindingKind.OBSERVE_ONLY, "CORP\\bob", "would reclaim"
    slow = Finding(kind, PRO, subject, message, severity=Severity.INFO, data={"a": "b"})
    _same(new_finding(kind, PRO, subject, message, Severity.INFO, slow.data, False), slow)


def test_a_field_added_to_a_class_breaks_the_import() -> None:
    with pytest.raises(RuntimeError, match="fields changed"):
        slot_setters(UserTarget, ("id", "directory"))

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(RuntimeError, match="fields changed"):
        slot_setters(Checked, ("a",))
