"""Writes to QRS: one result per change, never an exception for one item's failure.

::

    writer = QrsWriter(client)               # or RecordingWriter() for --dry-run and tests
    results = writer.allocate(changes)       # one WriteResult per change, in input order

Every write reports, per change, one :class:`Outcome`:

* ``applied``: QRS did it;
* ``already``: it was so already (a delete or reclaim of something QRS no longer has, an
  allocation QRS refused because the user holds that access type);
* ``failed``: QRS answered with an error status (``status`` and QRS's message are kept);
* ``unknown``: no answer (timeout, dropped connection): it may have happened. Nothing here
  retries a write; the caller re-reads the site to learn what it did.

Two things do raise: :class:`~licsync.errors.QrsReadOnlyError` (the client refuses writes;
nothing was sent) and :class:`~licsync.errors.QrsResponseError` (QRS answered 2xx with a body
lacking what the spec requires, e.g. no ``id``: the caller treats the changes it passed as
unknown). A bulk call that raises has sent the chunks before the failing one and none after.

Each request is built once, by the ``*_request`` functions below, and both writers run the same
code over them: :class:`QrsWriter` sends them, :class:`RecordingWriter` lists them and pretends
QRS agreed, so a dry run shows exactly what a real run sends (ids QRS would assign appear as
placeholders such as ``<new access group id>``).

Several request shapes and answers are not confirmed by any public source ("UNVERIFIED" in the
docstrings); each is the likeliest form and, where a value is a guess, a parameter or a constant.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar

from licsync.desired import DesiredRule
from licsync.errors import (
    QrsBadRequest,
    QrsError,
    QrsNotFound,
    QrsReadOnlyError,
    QrsResponseError,
    QrsStatusError,
    QrsTransportError,
)
from licsync.identity import AccessType
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
from licsync.qrs import filters, paths
from licsync.qrs.client import QrsClient
from licsync.qrs.errormap import sanitise_excerpt
from licsync.results import Outcome, Request, WriteResult

__all__ = [
    "ALLOCATE_CHUNK",
    "ALREADY_ALLOCATED",
    "DEFAULT_RULE_ACTIONS",
    "NEW_ALLOCATION_ID",
    "NEW_GROUP_ID",
    "NEW_RULE_ID",
    "NEW_SELECTION_ID",
    "RECLAIM_CHUNK",
    "Outcome",
    "QrsWriter",
    "RecordingWriter",
    "Request",
    "WriteResult",
    "Writer",
    "allocate_request",
    "allocation_body",
    "delete_group_request",
    "delete_system_rule_request",
    "discard_selection_request",
    "group_request",
    "license_rule_body",
    "new_rule_request",
    "point_rule_request",
    "reclaim_one_request",
    "reclaim_selected_request",
    "reinstate_body",
    "reinstate_read_request",
    "reinstate_request",
    "selection_request",
    "update_rule_request",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

ALLOCATE_CHUNK: Final = 100
# 50 GUIDs make a filter of about 2,300 characters (3 KB encoded): well inside URL limits.
RECLAIM_CHUNK: Final = 50
# UNVERIFIED: Qlik-Cli and Informatiqal write 1 ("Allow access"), Qlik's API doc example 15.
DEFAULT_RULE_ACTIONS: Final = 1

NEW_GROUP_ID: Final = "<new access group id>"
NEW_RULE_ID: Final = "<new system rule id>"
NEW_ALLOCATION_ID: Final = "<new allocation id>"
NEW_SELECTION_ID: Final = "<new selection id>"
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

_DRY_RUN: Final = "dry run"


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


# -- requests: each change becomes its requests here, and only here ----------------------------


def allocation_body(change: Allocate) -> dict[str, Any]:
    """``{"user": {"id", "userId", "userDirectory"}}``.

    The spec marks ``userId`` and ``userDirectory`` required in ``UserCondensed``; whether
    ``id`` alone would do is UNVERIFIED, so all three are sent.
    """
    target = change.target
    return {"user": {"id": target.id, "userId": target.userid, "userDirectory": target.directory}}


def allocate_request(access_type: AccessType, changes: Sequence[Allocate]) -> Request:
    """``POST /qrs/license/<type>accesstype/many`` with one body per change."""
    return Request(
        "POST", f"{paths.access_type(access_type)}/many", {}, [allocation_body(c) for c in changes]
    )


def reinstate_read_request(change: Reinstate) -> Request:
    """``GET`` the quarantined allocation (its whole entity goes back in the PUT)."""
    return Request("GET", paths.entity(paths.access_type(change.access_type), change.allocation_id))


def reinstate_body(change: Reinstate, entity: Mapping[str, Any]) -> dict[str, Any]:
    """The allocation as read, ``quarantined: false``, with the ``modifiedDate`` of the plan."""
    body = dict(entity)
    body["quarantined"] = False
    if change.modified_date:
        body["modifiedDate"] = change.modified_date
    return body


def reinstate_request(change: Reinstate, entity: Mapping[str, Any]) -> Request:
    """``PUT`` the allocation back un-quarantined (UNVERIFIED, see :meth:`QrsWriter.reinstate`)."""
    path = paths.entity(paths.access_type(change.access_type), change.allocation_id)
    return Request("PUT", path, {}, reinstate_body(change, entity))


def selection_request(access_type: AccessType, allocation_ids: Iterable[uuid.UUID]) -> Request:
    """``POST /qrs/selection/license/<type>accesstype?filter=(id eq A or id eq B ...)``."""
    clause = filters.any_of(*(filters.eq("id", guid) for guid in allocation_ids))
    return Request("POST", paths.selection_of(access_type), {"filter": clause})


def reclaim_selected_request(selection_id: str, access_type: AccessType) -> Request:
    """``DELETE /qrs/selection/{id}/license/<type>accesstype``: deallocate the selection."""
    return Request("DELETE", paths.selection_access_type(selection_id, access_type))


def discard_selection_request(selection_id: str) -> Request:
    """``DELETE /qrs/selection/{id}``: the selection itself."""
    return Request("DELETE", paths.selection(selection_id))


def reclaim_one_request(change: Reclaim) -> Request:
    """``DELETE /qrs/license/<type>accesstype/{id}``."""
    return Request(
        "DELETE", paths.entity(paths.access_type(change.access_type), change.allocation_id)
    )


def group_request(access_type: AccessType, name: str) -> Request:
    """``POST /qrs/license/<type>accessgroup`` ``{"name": ...}``."""
    return Request("POST", paths.access_group(access_type), {}, {"name": name})


def license_rule_body(
    access_type: AccessType, group_id: str, rule: DesiredRule, *, actions: int
) -> dict[str, Any]:
    """The ``SystemRule`` body that makes ``rule`` the licence rule of access group ``group_id``.

    ``actions`` is UNVERIFIED (1 like Qlik-Cli and Informatiqal, 15 like Qlik's doc example).
    """
    return {
        "category": "License",
        "subcategory": "",
        "type": "Custom",
        "name": rule.name,
        "rule": rule.condition,
        "resourceFilter": _resource_filter(access_type, group_id),
        "actions": actions,
        "ruleContext": rule.context.qrs_value,
        "disabled": rule.disabled,
        "comment": rule.comment,
    }


def new_rule_request(
    access_type: AccessType, group_id: str, rule: DesiredRule, *, actions: int
) -> Request:
    """``POST /qrs/systemrule``: the licence rule naming access group ``group_id``."""
    body = license_rule_body(access_type, group_id, rule, actions=actions)
    return Request("POST", paths.SYSTEM_RULE, {}, body)


def point_rule_request(change: CompleteRule, group_id: str) -> Request:
    """``PUT`` a group-less system rule as read, naming ``group_id`` and the declared fields."""
    body = _declared(change.rule_entity or {}, change.rule)
    body["resourceFilter"] = _resource_filter(change.access_type, group_id)
    return Request("PUT", paths.entity(paths.SYSTEM_RULE, change.rule_id or ""), {}, body)


def update_rule_request(change: UpdateRule) -> Request:
    """``PUT`` the system rule as read (with its ``modifiedDate``), the declared fields changed.

    The access group is left as it is: its name is only a label, the pairing goes through
    ``resourceFilter``, which stays.
    """
    body = _declared(change.rule_entity, change.rule)
    return Request("PUT", paths.entity(paths.SYSTEM_RULE, change.rule_id), {}, body)


def delete_system_rule_request(rule_id: str) -> Request:
    """``DELETE /qrs/systemrule/{id}``."""
    return Request("DELETE", paths.entity(paths.SYSTEM_RULE, rule_id))


def delete_group_request(access_type: AccessType, group_id: str) -> Request:
    """``DELETE /qrs/license/<type>accessgroup/{id}``."""
    return Request("DELETE", paths.entity(paths.access_group(access_type), group_id))


def _declared(entity: Mapping[str, Any], rule: DesiredRule) -> dict[str, Any]:
    body = dict(entity)
    body.update(
        {
            "name": rule.name,
            "rule": rule.condition,
            "ruleContext": rule.context.qrs_value,
            "disabled": rule.disabled,
            "comment": rule.comment,
        }
    )
    return body


def _resource_filter(access_type: AccessType, group_id: str) -> str:
    return f"License.{access_type.title}AccessGroup_{group_id}"


# -- the writers ------------------------------------------------------------------------------


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
        """Allocations per ``POST .../many``."""
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

    def _request(self, request: Request, dry_answer: Any = None) -> Any:
        count = len(request.body) if isinstance(request.body, list) else 1
        log.info("write: %s %s (%d item%s)", request.method, request.path, count, _s(count))
        return self._send(request, dry_answer)

    # -- allocations

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

    def create_rule(self, change: CreateRule) -> WriteResult:
        """Two POSTs: the access group, then the ``License`` system rule naming it.

        When the rule cannot be created the group stays without it; the result says so and the
        next plan completes it (:class:`~licsync.plan.changes.CompleteRule`).
        """
        return self._finish(self._create_rule(change))

    def _create_rule(self, change: CreateRule) -> WriteResult:
        kind = change.access_type
        try:
            group_id = self._create_group(kind, change.name)
        except QrsError as exc:
            note = (
                "the access group may have been created; if so the next plan completes it"
                if isinstance(exc, QrsTransportError)
                else "nothing was created"
            )
            return _failure(change.id, exc, note)
        post = new_rule_request(kind, group_id, change.rule, actions=self._rule_actions)
        left = (
            f"the {kind} access group {change.name!r} ({group_id}) was created and stays "
            "without its rule; the next plan completes it"
        )
        return self._post_rule(change.id, post, left)

    def complete_rule(self, change: CompleteRule) -> WriteResult:
        """Complete a half-created licence rule; never creates a second pair.

        ``group_id`` set (a group without its rule): ``POST`` the system rule naming that group.
        ``rule_id`` set (a rule naming a group that does not exist): ``POST`` a new group, then
        ``PUT`` the rule as read (with its ``modifiedDate``) naming it, with the declared fields.
        If that PUT fails, the new group is deleted again, so that the site is as before and the
        next plan proposes the same completion (a group left over would pair with nothing).
        """
        return self._finish(self._complete_rule(change))

    def _complete_rule(self, change: CompleteRule) -> WriteResult:
        kind = change.access_type
        if change.group_id is not None and change.rule_id is None:
            post = new_rule_request(kind, change.group_id, change.rule, actions=self._rule_actions)
            return self._post_rule(change.id, post, "")
        if change.rule_id is None or change.group_id is not None or not change.rule_entity:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "the change names no half-created rule this writer can complete (it needs "
                "group_id alone, or rule_id with the rule as read); nothing was sent",
            )
        try:
            group_id = self._create_group(kind, change.name)
        except QrsError as exc:
            note = (
                "an access group may have been created; the next plan shows it"
                if isinstance(exc, QrsTransportError)
                else "nothing was changed"
            )
            return _failure(change.id, exc, note)
        put = point_rule_request(change, group_id)
        try:
            updated = self._request(put, {**put.body, "id": change.rule_id})
        except QrsError as exc:
            _reraise(exc)
            return _failure(change.id, exc, self._undo_group(kind, change.name, group_id))
        if not isinstance(updated, dict) or not isinstance(updated.get("id"), str):
            raise _shape(put, "the system rule with its id")
        return WriteResult(change.id, Outcome.APPLIED, created_id=group_id)

    def _undo_group(self, kind: AccessType, name: str, group_id: str) -> str:
        try:
            self._request(delete_group_request(kind, group_id))
        except QrsError as exc:
            _reraise(exc)
            log.warning("complete rule: could not delete access group %s again: %s", group_id, exc)
            return (
                f"the {kind} access group {name!r} ({group_id}) was created and stays (deleting "
                "it again failed); the next plan shows it beside the rule it was made for"
            )
        return (
            f"the {kind} access group {name!r} ({group_id}) created for it was deleted again; "
            "the site is as before and the next plan proposes the same completion"
        )

    def update_rule(self, change: UpdateRule) -> WriteResult:
        """``PUT`` the system rule as read with the declared fields; a stale read gives 409."""
        return self._finish(self._update_rule(change))

    def _update_rule(self, change: UpdateRule) -> WriteResult:
        if not change.rule_entity:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "the change carries no system rule as read; nothing was sent (re-run plan)",
            )
        put = update_rule_request(change)
        try:
            updated = self._request(put, put.body)
        except QrsError as exc:
            return _failure(change.id, exc)
        if not isinstance(updated, dict):
            raise _shape(put, "the system rule")
        return WriteResult(change.id, Outcome.APPLIED)

    def delete_rule(self, change: DeleteRule) -> WriteResult:
        """``DELETE`` the system rule, then its access group: whichever of the two exist.

        A 404 counts as gone. When both were gone the result is ``already``. When the rule goes
        and the group cannot, the result says the group stays (the next plan deletes it again
        when ownership is authoritative). Whether deleting a rule takes back the seats it handed
        out is UNVERIFIED (the simulator keeps them).
        """
        return self._finish(self._delete_rule(change))

    def _delete_rule(self, change: DeleteRule) -> WriteResult:
        kind = change.access_type
        steps: list[tuple[str, Request]] = []
        if change.rule_id is not None:
            steps.append(
                (f"the system rule {change.rule_id}", delete_system_rule_request(change.rule_id))
            )
        if change.group_id is not None:
            steps.append(
                (f"the access group {change.group_id}", delete_group_request(kind, change.group_id))
            )
        done: list[str] = []
        gone: list[str] = []
        for what, request in steps:
            try:
                self._request(request)
            except QrsNotFound:
                gone.append(what)
                continue
            except QrsError as exc:
                note = (
                    f"{' and '.join(done)} was deleted but {what} stays; the next plan shows it"
                    if done
                    else ""
                )
                return _failure(change.id, exc, note)
            done.append(what)
        if not done:
            return WriteResult(change.id, Outcome.ALREADY, "QRS no longer has the rule")
        message = f"{' and '.join(gone)} was already gone" if gone else ""
        return WriteResult(change.id, Outcome.APPLIED, message)

    # -- shared steps

    def _create_group(self, kind: AccessType, name: str) -> str:
        request = group_request(kind, name)
        group = self._request(request, {"id": NEW_GROUP_ID, "name": name})
        group_id = group.get("id") if isinstance(group, dict) else None
        if not isinstance(group_id, str):
            raise _shape(request, "the access group with its id")
        return group_id

    def _post_rule(self, change_id: ChangeId, post: Request, left: str) -> WriteResult:
        try:
            rule = self._request(post, {**post.body, "id": NEW_RULE_ID})
        except QrsError as exc:
            _reraise(exc)
            if isinstance(exc, QrsTransportError):
                note = "the system rule may have been created; the next plan shows it"
                left = f"{note}; if not, {left}" if left else note
            return _failure(change_id, exc, left)
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(rule_id, str):
            raise _shape(post, "the system rule with its id")
        return WriteResult(change_id, Outcome.APPLIED, created_id=rule_id)


class QrsWriter(_WriterBase):
    """Writes through a writable :class:`~licsync.qrs.QrsClient`; nothing is retried.

    Args:
        client: the QRS client (a read-only one makes every write raise ``QrsReadOnlyError``).
        allocate_chunk: users per ``POST .../many``.
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


class RecordingWriter(_WriterBase):
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


# -- helpers ------------------------------------------------------------------------------------


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
    return WriteResult(
        change, Outcome.FAILED, f"{exc}; {note}", status=_status(exc), retry_after=_wait(exc)
    )


def _wait(exc: QrsError) -> float | None:
    """The ``Retry-After`` QRS sent with the refusal, if any."""
    return exc.retry_after if isinstance(exc, QrsStatusError) else None


def _reraise(exc: QrsError) -> None:
    if isinstance(exc, QrsReadOnlyError | QrsResponseError):
        raise exc


def _status(exc: QrsError) -> int | None:
    return exc.status if isinstance(exc, QrsStatusError) else None


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


def _shape(request: Request, expected: str) -> QrsResponseError:
    msg = f"{request.method} {request.path}: QRS answered with success but not with {expected}"
    return QrsResponseError(msg, method=request.method, path=request.path)


def _same(left: Any, right: str) -> bool:
    return isinstance(left, str) and left.lower() == right.lower()


def _by_type(changes: Sequence[Allocate]) -> dict[AccessType, list[tuple[int, Allocate]]]:
    grouped: dict[AccessType, list[tuple[int, Allocate]]] = {}
    for index, change in enumerate(changes):
        grouped.setdefault(change.access_type, []).append((index, change))
    return grouped


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


def _conforms(qrs: QrsWriter, dry: RecordingWriter) -> tuple[Writer, Writer]:
    """Never called: mypy checks here that both writers implement :class:`Writer`."""
    return qrs, dry
