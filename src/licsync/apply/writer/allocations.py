"""Seats: allocate, reinstate and reclaim, in bulk where QRS allows it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from licsync.apply.writer.base import (
    _chunks,
    _failure,
    _guid,
    _not_written,
    _reraise,
    _same,
    _shape,
    _status,
    _WriterBase,
    log,
)
from licsync.apply.writer.requests import (
    NEW_ALLOCATION_ID,
    NEW_SELECTION_ID,
    allocate_request,
    discard_selection_request,
    reclaim_one_request,
    reclaim_selected_request,
    reinstate_read_request,
    reinstate_request,
    selection_request,
)
from licsync.errors import QrsBadRequest, QrsError, QrsNotFound, QrsResponseError, QrsStatusError
from licsync.identity import AccessType
from licsync.plan.changes import Allocate, Reclaim, Reinstate
from licsync.qrs.errormap import sanitise_excerpt
from licsync.results import Outcome, Request, WriteResult

_AS_READ: Final = "<the rest of the allocation as QRS returns it>"

ALREADY_ALLOCATED: Final = re.compile(
    r"already has an (?P<type>professional|analyzer) access allocation", re.IGNORECASE
)
"""How a refused allocation says the user already holds that access type (not quarantined).

This is the simulator's wording. What a live QRS answers is UNVERIFIED (no public source shows
an allocation by API at all), so the match is deliberately narrow: an answer it does not
recognise is reported ``failed``, never ``already``; a user holding a *quarantined* seat is
``failed`` too (the seat needs reinstating, which the next plan proposes)."""

_BATCH_ITEM = re.compile(r"\bitem (?P<index>\d+):")
"""The simulator prefixes a refused ``/many`` item with ``item <index>:`` (UNVERIFIED live)."""


class AllocationWrites(_WriterBase):
    """Allocate, reinstate and reclaim seats."""

    def allocate(self, changes: Sequence[Allocate]) -> tuple[WriteResult, ...]:
        """Allocate through ``POST .../many``, ``allocate_chunk`` users per request.

        A chunk QRS refuses is refused as a whole (the simulator creates all or nothing; on a
        live server UNVERIFIED, and the next read shows the truth): each of its changes gets
        that result, except a user QRS says already holds the access type (``already``, see
        :data:`ALREADY_ALLOCATED`). Later chunks are still sent.
        """
        results: dict[int, WriteResult] = {}
        for kind, entries in _by_type(changes).items():
            for chunk in _chunks(entries, self._allocate_chunk):
                for index, result in self._allocate_chunk_of(kind, chunk):
                    results[index] = self._finish(result)
        return tuple(results[i] for i in range(len(changes)))

    def _allocate_chunk_of(
        self, kind: AccessType, chunk: Sequence[tuple[int, Allocate]]
    ) -> list[tuple[int, WriteResult]]:
        batch = [change for _, change in chunk]
        request = allocate_request(kind, batch)
        dry = [
            {"id": NEW_ALLOCATION_ID, "user": {"id": c.target.id}, "quarantined": False}
            for c in batch
        ]
        try:
            created = self._request(request, dry)
        except QrsBadRequest as exc:
            if len(chunk) == 1:
                return list(self._allocation_refused(chunk, exc))
            return self._split_refused(kind, chunk, exc)
        except QrsError as exc:
            return list(self._allocation_refused(chunk, exc))
        ids = _allocation_ids(created, request)
        results = []
        for index, change in chunk:
            allocation_id = ids.get(change.target.id.lower())
            if allocation_id is None:
                msg = (
                    f"POST {request.path}: QRS answered 201 without an allocation for user "
                    f"{change.target.id} of the {len(batch)} sent"
                )
                raise QrsResponseError(msg, method="POST", path=request.path)
            results.append(
                (index, WriteResult(change.id, Outcome.APPLIED, created_id=allocation_id))
            )
        return results

    def _split_refused(
        self, kind: AccessType, chunk: Sequence[tuple[int, Allocate]], exc: QrsError
    ) -> list[tuple[int, WriteResult]]:
        """A batch QRS refused as invalid (all or nothing): find the item it refused. The one
        QRS names is settled now and the rest sent again together; when it names none, each
        half is sent on its own, down to single items (log2 of the batch more requests for one
        bad item, instead of failing the other 99)."""
        named = _already_allocated_index(chunk, exc)
        if named is not None:
            settled = list(self._allocation_refused([chunk[named]], exc))
            rest = [entry for position, entry in enumerate(chunk) if position != named]
            return settled + (self._allocate_chunk_of(kind, rest) if rest else [])
        middle = len(chunk) // 2
        return self._allocate_chunk_of(kind, chunk[:middle]) + self._allocate_chunk_of(
            kind, chunk[middle:]
        )

    def _allocation_refused(
        self, chunk: Sequence[tuple[int, Allocate]], exc: QrsError
    ) -> Iterable[tuple[int, WriteResult]]:
        already_at = _already_allocated_index(chunk, exc)
        for position, (index, change) in enumerate(chunk):
            if position == already_at:
                yield (
                    index,
                    WriteResult(
                        change.id,
                        Outcome.ALREADY,
                        f"QRS says {change.user!r} already holds {change.access_type} access",
                        status=_status(exc),
                    ),
                )
            elif len(chunk) > 1:
                note = (
                    f"refused with its batch of {len(chunk)}; none of the batch was created "
                    "(all or nothing; UNVERIFIED on a live QRS)"
                )
                yield index, _failure(change.id, exc, note)
            else:
                yield index, _failure(change.id, exc)

    def reinstate(self, changes: Sequence[Reinstate]) -> tuple[WriteResult, ...]:
        """Give quarantined seats back to their users. **The API for this is UNVERIFIED.**

        No public client reinstates through the QRS API; the QMC can, within the seven days.
        This keeps the likeliest form: ``GET`` the allocation and ``PUT`` it back with
        ``quarantined: false`` and the ``modifiedDate`` the plan read (so a change since the plan
        gives 409 rather than being overwritten). A seat that is no longer quarantined and still
        the user's is ``already``; one that is gone (404: its quarantine ended) is ``failed``.
        Confirm on a live server before relying on it.
        """
        return tuple(self._finish(self._reinstate_one(change)) for change in changes)

    def _reinstate_one(self, change: Reinstate) -> WriteResult:
        read = reinstate_read_request(change)
        target = change.target
        dry_entity = {
            "id": change.allocation_id,
            "user": {"id": target.id, "userId": target.userid, "userDirectory": target.directory},
            "quarantined": True,
            "modifiedDate": change.modified_date,
            _AS_READ: "...",
        }
        try:
            entity = self._request(read, dry_entity)
        except QrsError as exc:
            _reraise(exc)
            note = "the quarantined allocation could not be read; nothing was written"
            return _not_written(change.id, exc, note)
        if not isinstance(entity, dict):
            raise _shape(read, "an allocation object")
        user = entity.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        if entity.get("quarantined") is False and _same(user_id, target.id):
            return WriteResult(change.id, Outcome.ALREADY, "the seat is not quarantined any more")
        put = reinstate_request(change, entity)
        try:
            updated = self._request(put, put.body)
        except QrsError as exc:
            return _failure(change.id, exc)
        if not isinstance(updated, dict):
            raise _shape(put, "the allocation")
        if updated.get("quarantined") is True:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "QRS accepted the PUT but the seat is still quarantined (reinstating through "
                "the API is UNVERIFIED)",
            )
        return WriteResult(change.id, Outcome.APPLIED, created_id=None)

    def reclaim(self, changes: Sequence[Reclaim]) -> tuple[WriteResult, ...]:
        """Reclaim allocations: one ``DELETE`` for a lone one, else selections in chunks.

        Per chunk of two or more: ``POST /qrs/selection/license/<type>accesstype?filter=(id eq A
        or ...)``, ``DELETE /qrs/selection/{sel}/license/<type>accesstype`` and always ``DELETE
        /qrs/selection/{sel}`` (a leftover selection is only logged: it is temporary state). An
        allocation the selection does not hold (or a lone DELETE answered 404) is ``already``.
        QRS quarantines a seat used in the last seven days (QMC semantics). Ids that are not
        GUIDs (never seen from QRS) go one by one.
        """
        results: dict[int, WriteResult] = {}
        bulk: dict[AccessType, list[tuple[int, Reclaim, uuid.UUID]]] = {}
        for index, change in enumerate(changes):
            guid = _guid(change.allocation_id)
            if guid is None:
                results[index] = self._finish(self._reclaim_one(change))
            else:
                bulk.setdefault(change.access_type, []).append((index, change, guid))
        for kind, entries in bulk.items():
            for chunk in _chunks(entries, self._reclaim_chunk):
                if len(chunk) == 1:
                    index, change, _ = chunk[0]
                    results[index] = self._finish(self._reclaim_one(change))
                    continue
                for index, result in self._reclaim_chunk_of(kind, chunk):
                    results[index] = self._finish(result)
        return tuple(results[i] for i in range(len(changes)))

    def _reclaim_one(self, change: Reclaim) -> WriteResult:
        try:
            self._request(reclaim_one_request(change))
        except QrsNotFound as exc:
            return WriteResult(
                change.id, Outcome.ALREADY, "QRS no longer has this allocation", status=exc.status
            )
        except QrsError as exc:
            return _failure(change.id, exc)
        return WriteResult(change.id, Outcome.APPLIED)

    def _reclaim_chunk_of(
        self, kind: AccessType, chunk: Sequence[tuple[int, Reclaim, uuid.UUID]]
    ) -> list[tuple[int, WriteResult]]:
        make = selection_request(kind, (guid for _, _, guid in chunk))
        dry = {"id": NEW_SELECTION_ID, "items": [{"objectID": str(g)} for _, _, g in chunk]}
        try:
            selection = self._request(make, dry)
        except QrsBadRequest:
            # Refused as invalid, and nothing was reclaimed: one by one finds what QRS minds.
            return [(i, self._reclaim_one(c)) for i, c, _ in chunk]
        except QrsError as exc:
            _reraise(exc)
            note = "making the selection failed; nothing was reclaimed"
            return [(i, _not_written(c.id, exc, note)) for i, c, _ in chunk]
        selection_id = selection.get("id") if isinstance(selection, dict) else None
        if not isinstance(selection_id, str):
            raise _shape(make, "a selection with an id")
        selected = _selected_ids(selection)
        try:
            if selected is None or selected:
                self._request(reclaim_selected_request(selection_id, kind))
        except QrsError as exc:
            _reraise(exc)
            return [(i, _failure(c.id, exc)) for i, c, _ in chunk]
        finally:
            try:
                self._request(discard_selection_request(selection_id))
            except QrsError as exc:
                _reraise(exc)
                log.warning("reclaim: could not discard selection %s: %s", selection_id, exc)
        results = []
        for index, change, guid in chunk:
            if selected is not None and str(guid) not in selected:
                result = WriteResult(
                    change.id, Outcome.ALREADY, "QRS no longer has this allocation"
                )
            else:
                result = WriteResult(change.id, Outcome.APPLIED)
            results.append((index, result))
        return results

    # -- licence rules


def _already_allocated_index(chunk: Sequence[tuple[int, Allocate]], exc: QrsError) -> int | None:
    """The position in ``chunk`` of the change QRS refused as already allocated, if it said so
    in words this module recognises (see :data:`ALREADY_ALLOCATED`), else None."""
    if not isinstance(exc, QrsStatusError) or exc.status != 400:
        return None
    found = ALREADY_ALLOCATED.search(exc.excerpt)
    if found is None:
        return None
    position = 0
    if len(chunk) > 1:
        item = _BATCH_ITEM.search(exc.excerpt)
        if item is None:
            return None
        position = int(item["index"])
        if position >= len(chunk):
            return None
    change = chunk[position][1]
    said = exc.excerpt.casefold()
    # The excerpt is sanitised (no control characters, whitespace collapsed): compare alike.
    userid = sanitise_excerpt(change.target.userid.encode()).casefold()
    if found["type"].casefold() != change.access_type.value or userid not in said:
        return None
    return position


def _allocation_ids(created: Any, request: Request) -> dict[str, str]:
    """Allocation ids by user GUID (lower case) from a ``/many`` answer."""
    if not isinstance(created, list):
        raise _shape(request, "an array of allocations")
    ids: dict[str, str] = {}
    for entity in created:
        user = entity.get("user") if isinstance(entity, dict) else None
        allocation_id = entity.get("id") if isinstance(entity, dict) else None
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(allocation_id, str) or not isinstance(user_id, str):
            raise _shape(request, "allocations with id and user.id")
        ids[user_id.lower()] = allocation_id
    return ids


def _selected_ids(selection: Mapping[str, Any]) -> set[str] | None:
    """The GUIDs a selection holds (lower case); None when QRS did not list them."""
    items = selection.get("items")
    if not isinstance(items, list):
        return None
    ids = set()
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("objectID"), str):
            ids.add(item["objectID"].lower())
    return ids


def _by_type(changes: Sequence[Allocate]) -> dict[AccessType, list[tuple[int, Allocate]]]:
    grouped: dict[AccessType, list[tuple[int, Allocate]]] = {}
    for index, change in enumerate(changes):
        grouped.setdefault(change.access_type, []).append((index, change))
    return grouped
