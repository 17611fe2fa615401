"""Grants that need nothing of the reclaims start as workers come free from them; otherwise a
phase ends before the next starts."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from builders import drule
from licsync.apply.execute import execute
from licsync.apply.writer import RecordingWriter, WriteResult
from licsync.identity import AccessType
from licsync.plan.changes import Allocate, Change, CreateRule, Reason, Reclaim, UserTarget

PRO = AccessType.PROFESSIONAL
_PATIENCE_S = 10.0  # how long a reclaim waits to see an allocation start before it gives up


class _Ordered(RecordingWriter):
    """Lists what starts and ends, in order. With ``hold``, a reclaim waits until an allocation
    has started (or gives up after a while): with two workers, only side by side can both be."""

    def __init__(self, *, hold: bool) -> None:
        super().__init__(reclaim_chunk=1, allocate_chunk=1)
        self.hold = hold
        self.events: list[str] = []
        self.allocating = threading.Event()

    def reclaim(self, changes: Sequence[Reclaim]) -> tuple[WriteResult, ...]:
        self.events.append("reclaim")
        if self.hold:
            self.allocating.wait(_PATIENCE_S)
        done = super().reclaim(changes)
        self.events.append("reclaimed")
        return done

    def allocate(self, changes: Sequence[Allocate]) -> tuple[WriteResult, ...]:
        self.events.append("allocate")
        self.allocating.set()
        return super().allocate(changes)


def _reclaim(n: int) -> Reclaim:
    return Reclaim(PRO, f"CORP\\r{n}", f"corp\\r{n}", Reason.NOT_DECLARED, f"seat-{n}")


def _allocate(n: int) -> Allocate:
    target = UserTarget(id=f"id-{n}", directory="CORP", userid=f"a{n}")
    return Allocate(PRO, f"CORP\\a{n}", f"corp\\a{n}", target)


def test_grants_that_need_no_freed_seat_start_while_a_reclaim_runs() -> None:
    """One worker is held in a reclaim until an allocation starts: the other takes it."""
    writer = _Ordered(hold=True)
    asked: list[Sequence[Change]] = []

    def overlap(changes: Sequence[Change]) -> bool:
        asked.append(changes)
        return True

    results = execute([_reclaim(1), _allocate(1)], writer, concurrency=2, overlap=overlap)
    assert [r.ok for r in results] == [True, True]
    assert writer.events.index("allocate") < writer.events.index("reclaimed")
    assert [c.action.value for c in asked[0]] == ["allocate"]


@pytest.mark.parametrize("why", ["not allowed", "no overlap given", "a rule change between"])
def test_otherwise_the_reclaims_end_before_the_grants_start(why: str) -> None:
    writer = _Ordered(hold=False)
    changes: list[Change] = [_reclaim(1), _reclaim(2), _allocate(1)]
    if why == "a rule change between":
        rule = drule("Finance", 'user.group = "Finance"')
        changes.append(CreateRule(PRO, rule.name, rule.name.casefold(), rule))
    overlap = None if why == "no overlap given" else (lambda _: why != "not allowed")
    results = execute(changes, writer, concurrency=4, overlap=overlap)
    assert all(r.ok for r in results)
    assert writer.events.index("allocate") > max(
        i for i, event in enumerate(writer.events) if event == "reclaimed"
    )


def test_a_stop_before_the_wave_skips_reclaims_and_grants_alike() -> None:
    """Set before anything starts, the stop keeps both phases' changes from being sent."""
    writer = _Ordered(hold=False)
    stop = threading.Event()
    stop.set()
    results = execute(
        [_reclaim(1), _allocate(1)], writer, concurrency=2, overlap=lambda _: True, stop=stop
    )
    assert [r.outcome.value for r in results] == ["skipped", "skipped"]
    assert writer.events == []
