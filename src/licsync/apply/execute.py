"""Execute changes through a :class:`~licsync.qrs.write.Writer`, phase by phase.

The order and the dependencies come from the change types
(:func:`licsync.plan.changes.execution_order`, :attr:`Change.depends_on`); this module only
carries them out. It never stops at a failed item: every change gets exactly one result, in the
order it ran, so that a report and an audit log can account for all of them and a re-run
converges. A change whose dependency did not succeed is not attempted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from licsync.errors import QrsResponseError
from licsync.plan.changes import (
    Allocate,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Reclaim,
    Reinstate,
    UpdateRule,
    execution_order,
)
from licsync.qrs.write import Outcome, Writer, WriteResult

__all__ = ["NOT_ATTEMPTED", "execute"]

log = logging.getLogger(__name__)

NOT_ATTEMPTED = "not attempted"
"""The start of a result's message for a change that was not sent because its dependency failed."""

OnResult = Callable[[Change, WriteResult], None]


def execute(
    changes: Sequence[Change], writer: Writer, *, on_result: OnResult | None = None
) -> tuple[WriteResult, ...]:
    """Write every change, one result each, in execution order.

    Args:
        changes: the changes to make (a plan's, or the reviewed subset of them).
        writer: sends the requests (``QrsWriter``) or only lists them (``RecordingWriter``).
        on_result: called once per change as its result is known (progress, audit log).

    Raises:
        QrsReadOnlyError: the writer's client cannot write (raised before anything was sent).
    """
    results: dict[ChangeId, WriteResult] = {}
    ordered: list[WriteResult] = []

    def record(batch: Sequence[Change], outcome: Sequence[WriteResult]) -> None:
        for change, result in zip(batch, outcome, strict=True):
            results[change.id] = result
            ordered.append(result)
            if on_result is not None:
                on_result(change, result)

    for phase in execution_order(changes):
        ready: list[Change] = []
        for change in phase:
            blocker = _blocker(change, results)
            if blocker is None:
                ready.append(change)
            else:
                record([change], [blocker])
        for batch in _batches(ready):
            record(batch, _write(writer, batch))
    return tuple(ordered)


def _blocker(change: Change, results: dict[ChangeId, WriteResult]) -> WriteResult | None:
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
        outcome=Outcome.FAILED,
        message=f"{NOT_ATTEMPTED}: it depends on {needed}, which {why}",
    )


def _batches(changes: Sequence[Change]) -> list[list[Change]]:
    """Consecutive changes of one bulk-capable kind and access type go together."""
    batches: list[list[Change]] = []
    for change in changes:
        bulk = isinstance(change, Allocate | Reinstate | Reclaim)
        last = batches[-1] if batches else None
        if (
            bulk
            and last is not None
            and type(last[0]) is type(change)
            and last[0].access_type is change.access_type
        ):
            last.append(change)
        else:
            batches.append([change])
    return batches


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
    if isinstance(first, Allocate):
        return writer.allocate([c for c in batch if isinstance(c, Allocate)])
    if isinstance(first, Reinstate):
        return writer.reinstate([c for c in batch if isinstance(c, Reinstate)])
    if isinstance(first, Reclaim):
        return writer.reclaim([c for c in batch if isinstance(c, Reclaim)])
    if isinstance(first, CreateRule):
        return [writer.create_rule(first)]
    if isinstance(first, CompleteRule):
        return [writer.complete_rule(first)]
    if isinstance(first, UpdateRule):
        return [writer.update_rule(first)]
    if isinstance(first, DeleteRule):
        return [writer.delete_rule(first)]
    msg = f"no write for {type(first).__name__}"  # unreachable while Change is a closed union
    raise TypeError(msg)
