"""Seats: allocate, reinstate and reclaim, the QMC's way (``qrs-evidence.md`` §1).

Allocating: a selection of the users (``POST /qrs/Selection``), one ``POST
/qrs/Selection/{id}/User/License/<Type>AccessType``, and the selection deleted whatever
happened. Nothing here reads meaning into QRS's wording: a live server answers a refusal with
``400 <BrokenRules>`` whatever the cause (too few seats, an expired licence, a user holding a
seat already). A refused request is settled by reading who holds a seat now; a user who holds
one is ``already`` so, and the rest are sent again in smaller groups, down to one user, whose
refusal is reported with QRS's status and message.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from licsync.apply.writer.base import (
    _chunks,
    _failure,
    _guid,
    _not_written,
    _reraise,
    _same,
    _shape,
    _WriterBase,
    log,
)
from licsync.apply.writer.requests import (
    NEW_ALLOCATION_ID,
    NEW_SELECTION_ID,
    SEAT_READ_CHUNK,
    allocate_selected_request,
    discard_selection_request,
    reclaim_one_request,
    reclaim_selected_request,
    reinstate_read_request,
    reinstate_request,
    seats_request,
    selection_request,
    user_selection_request,
)
from licsync.errors import (
    QrsBadRequest,
    QrsError,
    QrsNotFound,
    QrsServerError,
    QrsStatusError,
    QrsTransportError,
)
from licsync.identity import AccessType
from licsync.plan.changes import Allocate, Reclaim, Reinstate
from licsync.results import Outcome, Request, WriteResult

_AS_READ: Final = "<the rest of the allocation as QRS returns it>"
_SELECTION_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class _Seat:
    """A seat as read back: its id and whether it is quarantined."""

    id: str
    quarantined: bool


class _SelectionRefused(Exception):
    """Making the selection failed: nothing was written."""

    def __init__(self, error: QrsError) -> None:
        self.error = error
        super().__init__(str(error))


class AllocationWrites(_WriterBase):
    """Allocate, reinstate and reclaim seats."""

    def allocate(self, changes: Sequence[Allocate]) -> tuple[WriteResult, ...]:
        """Allocate through selections of users, ``allocate_chunk`` users each.

        A request QRS refuses (400) did nothing (``<BrokenRules>`` refuses the whole request);
        who holds a seat now is read: they are ``already``, the others are sent again, in
        halves when nobody in the group held one, down to single users. A request without an
        answer is ``unknown`` (apply re-reads the site before anything is sent again). Later
        chunks are still sent.
        """
        results: dict[int, WriteResult] = {}
        for kind, entries in _by_type(changes).items():
            for chunk in _chunks(entries, self._allocate_chunk):
                for index, result in self._allocate_group(kind, chunk):
                    results[index] = self._finish(result)
        return tuple(results[i] for i in range(len(changes)))

    def _allocate_group(
        self, kind: AccessType, group: Sequence[tuple[int, Allocate]]
    ) -> list[tuple[int, WriteResult]]:
        batch = [change for _, change in group]
        try:
            answer = self._allocate_selected(kind, [c.target.id for c in batch])
        except _SelectionRefused as refused:
            note = "making the selection of users failed; nothing was allocated"
            return [(i, _not_written(c.id, refused.error, note)) for i, c in group]
        except QrsBadRequest as exc:
            return self._settle_refused(kind, group, exc)
        except QrsError as exc:
            return [(i, _failure(c.id, exc)) for i, c in group]
        given = _allocation_ids(answer)
        missing = [(i, c) for i, c in group if c.target.id.lower() not in given]
        results = [
            (i, WriteResult(c.id, Outcome.APPLIED, created_id=given[c.target.id.lower()]))
            for i, c in group
            if c.target.id.lower() in given
        ]
        if missing:
            results += self._settle_unanswered(kind, missing)
        return results

    def _allocate_selected(self, kind: AccessType, user_ids: Sequence[str], dry: Any = None) -> Any:
        """Selection, allocation, and the selection deleted in every case; the POST's answer.

        Raises:
            _SelectionRefused: the selection could not be made (nothing written).
            QrsError: the allocation POST failed.
        """
        make = user_selection_request(user_ids)
        dry_selection = {"id": NEW_SELECTION_ID, "items": make.body["items"]}
        try:
            selection = self._select(make, dry_selection)
        except QrsError as exc:
            _reraise(exc)
            raise _SelectionRefused(exc) from exc
        selection_id = selection.get("id") if isinstance(selection, dict) else None
        if not isinstance(selection_id, str):
            raise _shape(make, "a selection with an id")
        post = allocate_selected_request(selection_id, kind)
        if dry is None:
            dry = [
                {"id": NEW_ALLOCATION_ID, "user": {"id": u}, "quarantined": False} for u in user_ids
            ]
        try:
            return self._request(post, dry)
        finally:
            self._discard(selection_id)

    def _select(self, make: Request, dry: Any) -> Any:
        """Make a selection; sent up to :data:`_SELECTION_ATTEMPTS` times when QRS does not
        answer or answers 5xx: a selection only names objects and changes nothing, so sending
        it again is safe (a stray one is temporary state QRS discards). A 429 is not asked
        again here: apply waits its ``Retry-After`` and settles."""
        for attempt in range(1, _SELECTION_ATTEMPTS + 1):
            try:
                return self._request(make, dry)
            except (QrsTransportError, QrsServerError) as exc:
                if attempt == _SELECTION_ATTEMPTS:
                    raise
                log.info("selection not made (%s); asking again", exc)
        return None  # unreachable: the last attempt returns or raises

    def _discard(self, selection_id: str) -> None:
        try:
            self._request(discard_selection_request(selection_id))
        except QrsError as exc:
            _reraise(exc)
            # A leftover selection is temporary state QRS cleans up; the write's result stands.
            log.warning("could not delete selection %s: %s", selection_id, exc)

    def _settle_refused(
        self, kind: AccessType, group: Sequence[tuple[int, Allocate]], exc: QrsError
    ) -> list[tuple[int, WriteResult]]:
        """QRS refused the group: read who holds a seat; send the rest again, smaller."""
        try:
            held = self._seats_held(kind, [c.target.id for _, c in group])
        except QrsError as read_error:
            _reraise(read_error)
            note = f"refused with its group of {len(group)}; reading who holds a seat failed"
            return [(i, _failure(c.id, exc, note)) for i, c in group]
        results: list[tuple[int, WriteResult]] = []
        rest: list[tuple[int, Allocate]] = []
        for index, change in group:
            seat = held.get(change.target.id.lower())
            if seat is None:
                rest.append((index, change))
            elif seat.quarantined:
                message = (
                    f"{exc}; {change.user!r} holds a quarantined {kind.value} seat "
                    "(read after the refusal): it needs reinstating, which the next plan proposes"
                )
                results.append(
                    (index, WriteResult(change.id, Outcome.FAILED, message, status=exc.status))
                    if isinstance(exc, QrsStatusError)
                    else (index, WriteResult(change.id, Outcome.FAILED, message))
                )
            else:
                message = (
                    f"{change.user!r} holds {kind.value} access already (read after QRS refused)"
                )
                results.append(
                    (index, WriteResult(change.id, Outcome.ALREADY, message, created_id=seat.id))
                )
        if not rest:
            return results
        if len(rest) < len(group):
            return results + self._allocate_group(kind, rest)  # the holders were the cause
        if len(rest) == 1:
            index, change = rest[0]
            return [*results, (index, _failure(change.id, exc))]
        middle = len(rest) // 2
        return (
            results
            + self._allocate_group(kind, rest[:middle])
            + self._allocate_group(kind, rest[middle:])
        )

    def _settle_unanswered(
        self, kind: AccessType, group: Sequence[tuple[int, Allocate]]
    ) -> list[tuple[int, WriteResult]]:
        """QRS said yes but did not list these users' seats: read whether they hold one."""
        try:
            held = self._seats_held(kind, [c.target.id for _, c in group])
        except QrsError as exc:
            _reraise(exc)
            return [
                (
                    i,
                    WriteResult(
                        c.id,
                        Outcome.UNKNOWN,
                        f"QRS accepted the allocation without listing this user's seat, and "
                        f"reading it back failed ({exc}); the next plan shows",
                    ),
                )
                for i, c in group
            ]
        results = []
        for index, change in group:
            seat = held.get(change.target.id.lower())
            if seat is not None and not seat.quarantined:
                results.append((index, WriteResult(change.id, Outcome.APPLIED, created_id=seat.id)))
            else:
                results.append(
                    (
                        index,
                        WriteResult(
                            change.id,
                            Outcome.FAILED,
                            "QRS accepted the allocation, but the user holds no seat when read "
                            "back (unknown to QRS, or not given one)",
                        ),
                    )
                )
        return results

    def _seats_held(self, kind: AccessType, user_ids: Sequence[str]) -> dict[str, _Seat]:
        """Who of these users holds a ``kind`` seat now (user GUID lower case -> the seat)."""
        guids = [g for u in user_ids if (g := _guid(u)) is not None]
        held: dict[str, _Seat] = {}
        try:
            for chunk in _chunks(guids, SEAT_READ_CHUNK):
                request = seats_request(kind, chunk)
                answer = self._request(request, [])
                held.update(_seats_by_user(answer, request))
        except QrsBadRequest:
            # A server that cannot filter on user.id (UNVERIFIED on a live QRS): read every
            # seat of the type once, and keep these users'.
            request = Request("GET", seats_request(kind, guids[:1]).path)
            everyone = _seats_by_user(self._request(request, []), request)
            wanted = {str(g) for g in guids}
            held = {user: seat for user, seat in everyone.items() if user in wanted}
        return held

    def reinstate(self, changes: Sequence[Reinstate]) -> tuple[WriteResult, ...]:
        """Give quarantined seats back to their users. **How QRS does this is UNVERIFIED.**

        The QMC has a Reinstate button whose request is not on record (qrs-evidence §1). The
        way the evidence supports best is the QMC's allocation route, whose body the QMC sends
        as ``{"quarantined": "false"}``: the seat is read (``GET``; a seat no longer
        quarantined and still the user's is ``already``), then the user is allocated through
        a selection. What QRS did is then read back, never assumed. Only when QRS refuses
        that (400: nothing was done) and the seat is still quarantined, the older guess is
        tried: ``PUT`` the seat back with ``quarantined: false`` and the ``modifiedDate`` the
        plan read (a change since gives 409). Both are safe whatever the server does: a
        refusal changes nothing, an ignored PUT is reported failed. Confirm on a live server.
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
        dry = [{"id": change.allocation_id, "user": {"id": target.id}, "quarantined": False}]
        try:
            answer = self._allocate_selected(change.access_type, [target.id], dry)
        except _SelectionRefused as refused:
            note = "making the selection of the user failed; nothing was written"
            return _not_written(change.id, refused.error, note)
        except QrsBadRequest:
            return self._reinstate_by_put(change, entity)
        except QrsError as exc:
            return _failure(change.id, exc)
        given = _allocation_ids(answer).get(target.id.lower())
        if given is not None and given.lower() == change.allocation_id.lower():
            return WriteResult(change.id, Outcome.APPLIED, "reinstated through the QMC's route")
        return self._reinstated(change)

    def _reinstated(self, change: Reinstate) -> WriteResult:
        """Read what QRS did after it accepted the reinstating allocation."""
        try:
            held = self._seats_held(change.access_type, [change.target.id])
        except QrsError as exc:
            _reraise(exc)
            return WriteResult(
                change.id,
                Outcome.UNKNOWN,
                f"QRS accepted the allocation; reading the seat back failed ({exc})",
            )
        seat = held.get(change.target.id.lower())
        if seat is None or seat.quarantined:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "QRS accepted the allocation but the user holds no usable seat when read back",
            )
        if seat.id.lower() == change.allocation_id.lower():
            return WriteResult(change.id, Outcome.APPLIED, "reinstated through the QMC's route")
        return WriteResult(
            change.id,
            Outcome.APPLIED,
            f"QRS gave the user a new seat {seat.id} instead of reinstating the quarantined one, "
            "which keeps counting until its quarantine ends",
            created_id=seat.id,
        )

    def _reinstate_by_put(self, change: Reinstate, entity: Mapping[str, Any]) -> WriteResult:
        put = reinstate_request(change, entity)
        try:
            updated = self._request(put, put.body)
        except QrsError as exc:
            return _failure(change.id, exc, "the QMC's route refused too")
        if not isinstance(updated, dict):
            raise _shape(put, "the allocation")
        if updated.get("quarantined") is True:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "QRS refused the QMC's route and accepted the PUT, but the seat is still "
                "quarantined (reinstating through the API is UNVERIFIED)",
            )
        return WriteResult(change.id, Outcome.APPLIED, "reinstated by PUT (UNVERIFIED route)")

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
        dry = {"id": NEW_SELECTION_ID, "items": make.body["items"]}
        try:
            selection = self._select(make, dry)
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


def _allocation_ids(answer: Any) -> dict[str, str]:
    """Allocation ids by user GUID (lower case) from the allocation's answer: a list of the
    access types made (Qlik's documentation of the route). Anything else lists none, and who
    holds a seat is then read back."""
    ids: dict[str, str] = {}
    if not isinstance(answer, list):
        return ids
    for entity in answer:
        user = entity.get("user") if isinstance(entity, dict) else None
        allocation_id = entity.get("id") if isinstance(entity, dict) else None
        user_id = user.get("id") if isinstance(user, dict) else None
        usable = entity.get("quarantined") is not True if isinstance(entity, dict) else False
        if isinstance(allocation_id, str) and isinstance(user_id, str) and usable:
            ids[user_id.lower()] = allocation_id
    return ids


def _seats_by_user(answer: Any, request: Request) -> dict[str, _Seat]:
    if not isinstance(answer, list):
        raise _shape(request, "an array of allocations")
    seats: dict[str, _Seat] = {}
    for entity in answer:
        if not isinstance(entity, dict):
            raise _shape(request, "an array of allocation objects")
        user = entity.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        allocation_id = entity.get("id")
        if not isinstance(user_id, str) or not isinstance(allocation_id, str):
            continue  # a deleted user's seat, or one licsync cannot read: nobody's here
        seats[user_id.lower()] = _Seat(allocation_id, entity.get("quarantined") is True)
    return seats


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
