"""Execute changes through a :class:`~licsync.apply.writer.Writer`, phase by phase, concurrently.

The order and the dependencies come from the change types
(:func:`licsync.plan.changes.execution_order`, :attr:`Change.depends_on`); this module only
carries them out. Within a phase the batches run on up to ``concurrency`` worker threads (bulk
kinds in chunks of the writer's size, the rest one by one); a phase ends before the next
starts. It never stops at a failed item: every change gets exactly one result, so that a
report and an audit log can account for all of them and a re-run converges. A change whose
dependency did not succeed is not attempted (``skipped``).

Grants that need nothing of the reclaims (``overlap`` says so: the fresh plan's numbers leave
a seat for each) start as workers come free from the last reclaims instead of after all of them,
when no rule change stands between the two phases and none of them depends on another change.

Interrupting: once ``stop`` is set no new batch starts; those in flight finish and are
recorded, the rest are ``skipped``. Once ``abort`` is set (a second Ctrl-C, SIGTERM, SIGHUP,
Ctrl-Break) nothing more is waited for: every change in flight is recorded ``unknown`` and
``execute`` returns, so that the caller can still report and audit the run. A
``KeyboardInterrupt`` while waiting does the same recording and propagates. The workers are
daemon threads, so the process does not wait for them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, assert_never

from licsync.apply.writer import Outcome, Writer, WriteResult
from licsync.errors import QrsResponseError
from licsync.plan.changes import (
    Action,
    Allocate,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Phase,
    Reclaim,
    Reinstate,
    UpdateRule,
    execution_order,
)

__all__ = ["INTERRUPTED", "NOT_ATTEMPTED", "Gate", "OnResult", "execute"]

log = logging.getLogger(__name__)

NOT_ATTEMPTED = "not attempted"
"""The start of a result's message for a change that was not sent because its dependency failed."""

INTERRUPTED = "interrupted"
"""The start of a result's message for a change the interrupt kept from starting or finishing."""

OnResult = Callable[[Change, WriteResult], None]
Gate = Callable[[Phase, Sequence[Change]], Mapping[ChangeId, WriteResult]]
"""Called before each phase with the changes about to run; a change it answers for is recorded
with that result and not written (``apply`` fails allocations no seat is free for)."""
Overlap = Callable[[Sequence[Change]], bool]
"""Asked, before anything is sent, of the grant phase's changes when the reclaims come right
before them: whether they may start while the reclaims are still running (they need no seat
the reclaims free)."""

_POLL_SECONDS = 0.2  # how often the waiting main thread wakes (signals are handled between)


def execute(
    changes: Sequence[Change],
    writer: Writer,
    *,
    on_result: OnResult | None = None,
    concurrency: int = 1,
    gate: Gate | None = None,
    stop: threading.Event | None = None,
    on_recorded: Callable[[], None] | None = None,
    abort: threading.Event | None = None,
    stop_reason: Callable[[], str] | None = None,
    overlap: Overlap | None = None,
) -> tuple[WriteResult, ...]:
    """Write every change, one result each, in the order the results became known.

    Args:
        changes: the changes to make (a plan's, or the reviewed subset of them).
        writer: sends the requests (``QrsWriter``) or only lists them (``RecordingWriter``).
        on_result: called once per change, on the calling thread, as its result is known.
        concurrency: batches in flight at once (1: strictly one after the other).
        gate: consulted before each phase (see :data:`Gate`).
        stop: when set, no further batch starts (the first Ctrl-C, a failed audit log).
        abort: when set, changes in flight are recorded ``unknown`` and nothing more is
            waited for.
        stop_reason: the message of a change ``stop`` kept from starting (default
            "interrupted: not started").
        on_recorded: called on the calling thread after the results known together (one
            batch's, a gate's refusals, the changes an interrupt stranded) were all passed to
            ``on_result`` (the audit log flushes them in one write there).
        overlap: see :data:`Overlap` (None: every phase ends before the next starts).

    Raises:
        QrsReadOnlyError: the writer's client cannot write (raised before anything was sent).
        KeyboardInterrupt: a second interrupt; changes in flight were recorded ``unknown``.
    """
    if concurrency < 1:
        msg = f"concurrency must be at least 1, not {concurrency}"
        raise ValueError(msg)
    run = _Run(writer, on_result, stop or threading.Event(), on_recorded)
    run.abort = abort or threading.Event()
    if stop_reason is not None:
        run.stop_reason = stop_reason
    with _Pool(concurrency) as pool:
        for waves in _together(execution_order(changes), overlap):
            run.wave(pool, waves, gate, concurrency)
    return tuple(run.ordered)


class _Run:
    """The results so far, and the recording of each."""

    def __init__(
        self,
        writer: Writer,
        on_result: OnResult | None,
        stop: threading.Event,
        on_recorded: Callable[[], None] | None,
    ) -> None:
        self.writer = writer
        self.on_result = on_result
        self.stop = stop
        self.on_recorded = on_recorded
        self.results: dict[ChangeId, WriteResult] = {}
        self.ordered: list[WriteResult] = []
        self.abort = threading.Event()
        self.stop_reason: Callable[[], str] = lambda: f"{INTERRUPTED}: not started"

    def record(self, batch: Sequence[Change], outcome: Sequence[WriteResult]) -> None:
        for change, result in zip(batch, outcome, strict=True):
            self.results[change.id] = result
            self.ordered.append(result)
            if self.on_result is not None:
                self.on_result(change, result)
        if self.on_recorded is not None:
            self.on_recorded()

    def skip(self, batch: Sequence[Change], message: str) -> None:
        self.record(batch, [WriteResult(c.id, Outcome.SKIPPED, message) for c in batch])

    def wave(
        self, pool: _Pool, waves: Sequence[Sequence[Change]], gate: Gate | None, concurrency: int
    ) -> None:
        """Run ``waves`` side by side: each one's batches follow the last one's in the queue, so
        that a worker coming free takes the next wave's first batch."""
        if self.stop.is_set() or self.abort.is_set():
            self.skip([c for wave in waves for c in wave], self.stop_reason())
            return
        pending: list[list[Change]] = []
        for wave in waves:
            pending.extend(_batches(self._ready(wave, gate), self.writer))
        pending.reverse()  # popped from the end: the plan's order
        in_flight: dict[int, list[Change]] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < concurrency and not self.stop.is_set():
                    batch = pending.pop()
                    in_flight[pool.submit(_task(self.writer, batch))] = batch
                if (self.stop.is_set() or self.abort.is_set()) and pending:
                    left = [c for batch in reversed(pending) for c in batch]
                    pending.clear()
                    self.skip(left, self.stop_reason())
                if not in_flight:
                    continue
                if self.abort.is_set():
                    self._strand(in_flight)
                    return
                done = pool.next_done(_POLL_SECONDS)
                if done is None:
                    continue
                ticket, outcome = done
                batch = in_flight.pop(ticket)
                if isinstance(outcome, BaseException):
                    raise outcome
                self.record(batch, outcome)
        except KeyboardInterrupt:
            self._strand(in_flight)
            raise

    def _ready(self, wave: Sequence[Change], gate: Gate | None) -> list[Change]:
        """The changes of ``wave`` to send: a change whose dependency did not succeed, and one
        the gate answers for, are recorded instead."""
        ready: list[Change] = []
        blocked: list[Change] = []
        blockers: list[WriteResult] = []
        for change in wave:
            # What a change depends on ran before this wave: its result is known already.
            blocker = _blocker(change, self.results)
            if blocker is None:
                ready.append(change)
            else:
                blocked.append(change)
                blockers.append(blocker)
        if blocked:  # recorded (and the audit log flushed) once for the wave, not per change
            self.record(blocked, blockers)
        if gate is not None and ready:
            answered = gate(ready[0].phase, ready)
            refused = [c for c in ready if c.id in answered]
            if refused:
                self.record(refused, [answered[c.id] for c in refused])
            ready = [c for c in ready if c.id not in answered]
        return ready

    def _strand(self, in_flight: dict[int, list[Change]]) -> None:
        """Record every change in flight ``unknown``: it is no longer waited for."""
        stranded = [c for batch in in_flight.values() for c in batch]
        in_flight.clear()
        self.record(
            stranded,
            [
                WriteResult(
                    c.id,
                    Outcome.UNKNOWN,
                    f"{INTERRUPTED} while in flight: it may have happened; the next plan shows",
                )
                for c in stranded
            ],
        )


def _together(
    phases: Sequence[Sequence[Change]], overlap: Overlap | None
) -> list[list[list[Change]]]:
    """The waves of every phase, in order, grouped into those that run side by side: the grant
    phase joins the reclaims right before it when ``overlap`` allows and none of its changes
    waits for another; every other wave runs alone."""
    groups: list[list[list[Change]]] = []
    for phase in phases:
        for wave in _waves(phase):
            if (
                overlap is not None
                and groups
                and wave[0].phase is Phase.GRANT
                and groups[-1][-1][0].phase is Phase.RECLAIM
                and all(c.depends_on is None for c in wave)
                and overlap(wave)
            ):
                groups[-1].append(wave)
            else:
                groups.append([wave])
    return groups


def _waves(phase: Sequence[Change]) -> list[list[Change]]:
    """The rule phase runs its deletes to the end before the rest start (a replaced rule goes
    before its successor arrives); every other phase is one wave."""
    deletes = [c for c in phase if c.action is Action.DELETE_RULE]
    rest = [c for c in phase if c.action is not Action.DELETE_RULE]
    return [wave for wave in (deletes, rest) if wave]


def _blocker(change: Change, results: Mapping[ChangeId, WriteResult]) -> WriteResult | None:
    """The result of a change that may not run because what it depends on did not succeed."""
    needed = change.depends_on
    if needed is None:
        return None
    done = results.get(needed)
    if done is not None and done.ok:
        return None
    why = "was not in this run" if done is None else f"ended {done.outcome.value}"
    return WriteResult(
        change=change.id,
        outcome=Outcome.SKIPPED,
        message=f"{NOT_ATTEMPTED}: it depends on {needed}, which {why}",
    )


def _batches(changes: Sequence[Change], writer: Writer) -> list[list[Change]]:
    """Consecutive changes of one bulk kind and access type in as few batches as the writer's
    chunk size allows, of even sizes (150 go as 75 + 75, not 100 + 50: the batches of a wave
    run side by side, and the wave lasts as long as its biggest); every other change alone."""
    batches: list[list[Change]] = []
    run: list[Change] = []
    for change in changes:
        if run and (
            type(run[0]) is not type(change) or run[0].access_type is not change.access_type
        ):
            batches.extend(_even(run, _chunk_size(run[0], writer)))
            run = []
        if _chunk_size(change, writer) > 1:
            run.append(change)
        else:
            batches.append([change])
    if run:
        batches.extend(_even(run, _chunk_size(run[0], writer)))
    return batches


def _even(run: Sequence[Change], size: int) -> list[list[Change]]:
    """``run`` in ``ceil(len / size)`` consecutive batches whose sizes differ by one at most."""
    count = -(-len(run) // size)
    small, bigger = divmod(len(run), count)
    batches: list[list[Change]] = []
    start = 0
    for number in range(count):
        end = start + small + (1 if number < bigger else 0)
        batches.append(list(run[start:end]))
        start = end
    return batches


def _chunk_size(change: Change, writer: Writer) -> int:
    match change:
        case Allocate():
            return writer.allocate_chunk
        case Reclaim():
            return writer.reclaim_chunk
        case Reinstate() | CreateRule() | CompleteRule() | UpdateRule() | DeleteRule():
            return 1  # one request sequence each
        case _:
            assert_never(change)


def _task(writer: Writer, batch: Sequence[Change]) -> Callable[[], Sequence[WriteResult]]:
    return lambda: _write(writer, batch)


def _write(writer: Writer, batch: Sequence[Change]) -> Sequence[WriteResult]:
    try:
        return _dispatch(writer, batch)
    except QrsResponseError as exc:
        # QRS said yes in a form we cannot read: the writes may well have happened.
        log.warning("write: unreadable answer for %d changes: %s", len(batch), exc)
        return [
            WriteResult(
                change=c.id,
                outcome=Outcome.UNKNOWN,
                message=f"QRS answered in a form licsync cannot read ({exc}); it may have "
                "happened: the next plan shows",
            )
            for c in batch
        ]


def _dispatch(writer: Writer, batch: Sequence[Change]) -> Sequence[WriteResult]:
    first = batch[0]
    # A batch holds one type (see _batches); the comprehensions only tell mypy so.
    match first:
        case Allocate():
            return writer.allocate([c for c in batch if isinstance(c, Allocate)])
        case Reinstate():
            return writer.reinstate([c for c in batch if isinstance(c, Reinstate)])
        case Reclaim():
            return writer.reclaim([c for c in batch if isinstance(c, Reclaim)])
        case CreateRule():
            return [writer.create_rule(first)]
        case CompleteRule():
            return [writer.complete_rule(first)]
        case UpdateRule():
            return [writer.update_rule(first)]
        case DeleteRule():
            return [writer.delete_rule(first)]
        case _:
            assert_never(first)


class _Pool:
    """Daemon worker threads: a second Ctrl-C must not wait for requests in flight."""

    def __init__(self, workers: int) -> None:
        self._tasks: queue.SimpleQueue[tuple[int, Callable[[], Any]] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self._next = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"licsync-apply-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self._tasks.put(None)

    def submit(self, task: Callable[[], Any]) -> int:
        self._next += 1
        self._tasks.put((self._next, task))
        return self._next

    def next_done(self, timeout: float) -> tuple[int, Any] | None:
        try:
            return self._done.get(timeout=timeout)
        except queue.Empty:
            return None

    def _work(self) -> None:
        while (item := self._tasks.get()) is not None:
            ticket, task = item
            try:
                outcome: Any = task()
            except BaseException as exc:
                outcome = exc
            self._done.put((ticket, outcome))
