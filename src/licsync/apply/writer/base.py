"""What both writers share: the :class:`Writer` contract, the base that sends and logs each
request, and how a refused or unanswered request becomes a :class:`WriteResult`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from licsync.errors import (
    QrsError,
    QrsReadOnlyError,
    QrsResponseError,
    QrsStatusError,
    QrsTransportError,
)
from licsync.plan.changes import (
    Allocate,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Reclaim,
    Reinstate,
    UpdateRule,
)
from licsync.results import Outcome, Request, WriteResult

log = logging.getLogger("licsync.apply.writer")

_T = TypeVar("_T")


class Writer(Protocol):
    """What ``apply`` writes through: one result per change, in input order."""

    @property
    def allocate_chunk(self) -> int:
        """Allocations per request: ``apply`` hands a call at most this many."""
        ...

    @property
    def reclaim_chunk(self) -> int:
        """Reclaims per selection: ``apply`` hands a call at most this many."""
        ...

    def allocate(self, changes: Sequence[Allocate]) -> tuple[WriteResult, ...]: ...

    def reinstate(self, changes: Sequence[Reinstate]) -> tuple[WriteResult, ...]: ...

    def reclaim(self, changes: Sequence[Reclaim]) -> tuple[WriteResult, ...]: ...

    def create_rule(self, change: CreateRule) -> WriteResult: ...

    def complete_rule(self, change: CompleteRule) -> WriteResult: ...

    def update_rule(self, change: UpdateRule) -> WriteResult: ...

    def delete_rule(self, change: DeleteRule) -> WriteResult: ...


class _WriterBase:
    """The write logic both writers share; subclasses say how a request is sent."""

    def __init__(self, *, allocate_chunk: int, reclaim_chunk: int, rule_actions: int) -> None:
        _check_chunk(allocate_chunk)
        _check_chunk(reclaim_chunk)
        self._allocate_chunk = allocate_chunk
        self._reclaim_chunk = reclaim_chunk
        self._rule_actions = rule_actions

    @property
    def allocate_chunk(self) -> int:
        """Users per allocating selection."""
        return self._allocate_chunk

    @property
    def reclaim_chunk(self) -> int:
        """Reclaims per selection."""
        return self._reclaim_chunk

    def _send(self, request: Request, dry_answer: Any) -> Any:
        """Send ``request``; its decoded JSON answer (None when empty). ``dry_answer`` is what a
        writer that sends nothing pretends QRS answered."""
        raise NotImplementedError

    def _finish(self, result: WriteResult) -> WriteResult:
        """Every result passes here once (the recording writer marks its own)."""
        # INFO even for failures: the caller reports every item (apply's report and audit
        # log); a warning per item would repeat one refused batch fifty times on stderr.
        # The change's subject comes from outside (user and rule names): repr() escapes it.
        log.info("write %r: %s %s", str(result.change), result.outcome.value, result.message)
        return result

    def _read(self, request: Request) -> Any:
        """Send a GET that settles what a failed or unanswered write did; its decoded answer."""
        log.info("read back: %s %s", request.method, request.path)
        return self._send(request, None)

    def _request(self, request: Request, dry_answer: Any = None) -> Any:
        count = len(request.body) if isinstance(request.body, list) else 1
        log.info("write: %s %s (%d item%s)", request.method, request.path, count, _s(count))
        return self._send(request, dry_answer)

    # -- allocations


def _failure(change: ChangeId, exc: QrsError, note: str = "") -> WriteResult:
    """The result of a request that raised: unknown without an answer, failed with one.

    Raises:
        QrsReadOnlyError, QrsResponseError: passed on (nothing sent / a malformed answer).
    """
    _reraise(exc)
    suffix = f"; {note}" if note else ""
    if isinstance(exc, QrsTransportError):
        return WriteResult(change, Outcome.UNKNOWN, f"{exc}; it may have happened{suffix}")
    return WriteResult(
        change, Outcome.FAILED, f"{exc}{suffix}", status=_status(exc), retry_after=_wait(exc)
    )


def _not_written(change: ChangeId, exc: QrsError, note: str) -> WriteResult:
    """Failed, whether QRS answered or not: only a read or a selection went unanswered, so
    certainly nothing was written."""
    _reraise(exc)
    status = _status(exc)
    return WriteResult(
        change,
        Outcome.FAILED,
        f"{exc}; {note}",
        status=status,
        retry_after=_wait(exc),
        resendable=status is None or status >= 500 or status in (409, 429),
    )


def _wait(exc: QrsError) -> float | None:
    """The ``Retry-After`` QRS sent with the refusal, if any."""
    return exc.retry_after if isinstance(exc, QrsStatusError) else None


def _reraise(exc: QrsError) -> None:
    if isinstance(exc, QrsReadOnlyError | QrsResponseError):
        raise exc


def _status(exc: QrsError) -> int | None:
    return exc.status if isinstance(exc, QrsStatusError) else None


def _shape(request: Request, expected: str) -> QrsResponseError:
    msg = f"{request.method} {request.path}: QRS answered with success but not with {expected}"
    return QrsResponseError(msg, method=request.method, path=request.path)


def _same(left: Any, right: str) -> bool:
    return isinstance(left, str) and left.lower() == right.lower()


def _guid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_chunk(size: int) -> None:
    if size < 1:
        msg = f"chunk size must be at least 1, not {size}"
        raise ValueError(msg)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
