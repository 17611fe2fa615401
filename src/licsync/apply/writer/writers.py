"""The two writers: :class:`QrsWriter` sends, :class:`RecordingWriter` lists what it would send."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Final

from licsync.apply.writer.allocations import AllocationWrites
from licsync.apply.writer.base import Writer
from licsync.apply.writer.requests import ALLOCATE_CHUNK, DEFAULT_RULE_ACTIONS, RECLAIM_CHUNK
from licsync.apply.writer.rules import RuleWrites
from licsync.qrs.client import QrsClient
from licsync.results import Outcome, Request, WriteResult

_DRY_RUN: Final = "dry run"


class QrsWriter(AllocationWrites, RuleWrites):
    """Writes through a writable :class:`~licsync.qrs.QrsClient`; nothing is retried.

    Args:
        client: the QRS client (a read-only one makes every write raise ``QrsReadOnlyError``).
        allocate_chunk: users per selection (the QMC's allocation route).
        reclaim_chunk: allocations per selection.
        rule_actions: the ``actions`` of licence rules it creates (UNVERIFIED, see
            :data:`DEFAULT_RULE_ACTIONS`).
    """

    def __init__(
        self,
        client: QrsClient,
        *,
        allocate_chunk: int = ALLOCATE_CHUNK,
        reclaim_chunk: int = RECLAIM_CHUNK,
        rule_actions: int = DEFAULT_RULE_ACTIONS,
    ) -> None:
        super().__init__(
            allocate_chunk=allocate_chunk, reclaim_chunk=reclaim_chunk, rule_actions=rule_actions
        )
        self._client = client

    def __repr__(self) -> str:
        return f"QrsWriter({self._client!r})"

    def _send(self, request: Request, dry_answer: Any) -> Any:
        response = self._client.request(
            request.method, request.path, params=request.params or None, body=request.body
        )
        if not response.content:
            return None
        return self._client.decode_json(request.method, request.path, response.content)


class RecordingWriter(AllocationWrites, RuleWrites):
    """Sends nothing: lists the requests a :class:`QrsWriter` would send (``requests``, in
    order) and reports every change ``applied`` with the message "dry run". Ids QRS would
    assign appear as placeholders (:data:`NEW_GROUP_ID`, :data:`NEW_RULE_ID`, ...).

    A reinstatement's ``PUT`` depends on the allocation QRS returns to the ``GET``; here it is
    built from what the change knows, with a ``<the rest of the allocation ...>`` placeholder key.
    """

    def __init__(
        self,
        *,
        allocate_chunk: int = ALLOCATE_CHUNK,
        reclaim_chunk: int = RECLAIM_CHUNK,
        rule_actions: int = DEFAULT_RULE_ACTIONS,
    ) -> None:
        super().__init__(
            allocate_chunk=allocate_chunk, reclaim_chunk=reclaim_chunk, rule_actions=rule_actions
        )
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    def _send(self, request: Request, dry_answer: Any) -> Any:
        with self._lock:
            self.requests.append(request)
        return dry_answer

    def _finish(self, result: WriteResult) -> WriteResult:
        # Pretended answers always agree, so every result is applied, except a change this
        # module refuses before sending anything: that keeps its reason.
        if result.outcome is Outcome.APPLIED:
            result = dataclasses.replace(result, message=_DRY_RUN)
        else:
            result = dataclasses.replace(result, message=f"{_DRY_RUN}: {result.message}")
        return super()._finish(result)


def _conforms(qrs: QrsWriter, dry: RecordingWriter) -> tuple[Writer, Writer]:
    """Never called: mypy checks here that both writers implement :class:`Writer`."""
    return qrs, dry
