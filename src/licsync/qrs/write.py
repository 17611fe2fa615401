"""Writes to QRS: allocate, reclaim, create / update / delete licence rules, reinstate.

None of these retries: a write that got no answer may still have happened, so the caller re-reads
the site (the next plan) to learn what it did. Single-item functions raise the ``QrsError`` they
meet; bulk functions report every item instead, so ``apply`` can go on past a failure. Deleting
something QRS no longer has (404) counts as done, so a re-run converges.

Several request shapes here are not confirmed by any public source (see the functions'
docstrings, "UNVERIFIED"); each is the likeliest form and, where a value is a guess, a parameter.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from licsync.actual import ActualAllocation, ActualRule, ActualUser
from licsync.desired import DesiredRule
from licsync.errors import QrsError, QrsNotFound, QrsReadOnlyError, QrsStatusError
from licsync.identity import AccessType
from licsync.qrs import filters, paths
from licsync.qrs.client import QrsClient

__all__ = [
    "ALLOCATE_CHUNK",
    "DEFAULT_RULE_ACTIONS",
    "RECLAIM_CHUNK",
    "AllocationResult",
    "ReclaimResult",
    "ReinstateResult",
    "RuleResult",
    "allocate",
    "allocate_many",
    "create_rule",
    "delete_rule",
    "reclaim",
    "reclaim_many",
    "reinstate_quarantined_allocation",
    "rule_body",
    "update_rule",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

ALLOCATE_CHUNK: Final = 100
# 50 GUIDs make a filter of about 2,300 characters (3 KB encoded): well inside URL limits.
RECLAIM_CHUNK: Final = 50
# UNVERIFIED: Qlik-Cli and Informatiqal write 1 ("Allow access"), Qlik's API doc example 15.
DEFAULT_RULE_ACTIONS: Final = 1


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """The outcome of allocating one user.

    Attributes:
        user: ``DIRECTORY\\userid`` as QRS spells it.
        ok: True when QRS created the allocation.
        allocation_id: the new allocation's id (None on failure or if QRS did not say).
        error: why it failed; after a transport error the allocation may exist (re-read).
    """

    access_type: AccessType
    user: str
    user_id: str
    ok: bool
    allocation_id: str | None = None
    error: QrsError | None = None


@dataclass(frozen=True, slots=True)
class ReclaimResult:
    """The outcome of reclaiming one allocation.

    Attributes:
        absent: QRS did not have the allocation any more (counts as done).
        error: why it failed; after a transport error it may be gone anyway (re-read).
    """

    access_type: AccessType
    allocation_id: str
    user: str
    ok: bool
    absent: bool = False
    error: QrsError | None = None


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The outcome of creating, updating or deleting one licence rule.

    Attributes:
        action: ``created`` / ``updated`` / ``deleted``.
        rule_id, group_id: the system rule and access group concerned.
        rule_entity: the system rule as QRS returned it (create, update), for a later update.
    """

    access_type: AccessType
    name: str
    action: str
    rule_id: str | None
    group_id: str | None
    rule_entity: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReinstateResult:
    """The outcome of reinstating a quarantined allocation."""

    access_type: AccessType
    allocation_id: str
    user: str
    quarantined: bool


# -- allocations --------------------------------------------------------------------------------


def allocate(client: QrsClient, user: ActualUser, access_type: AccessType) -> AllocationResult:
    """Allocate ``access_type`` to ``user``: one ``POST /qrs/license/<type>accesstype``.

    The body is ``{"user": {"id", "userId", "userDirectory"}}``: the spec marks ``userId`` and
    ``userDirectory`` required in ``UserCondensed``; whether ``id`` alone would do is UNVERIFIED.

    Raises:
        QrsError: QRS refused (e.g. 400 when no licence is available) or did not answer.
    """
    created = client.post_json(paths.access_type(access_type), _allocation_body(user))
    allocation_id = created.get("id") if isinstance(created, dict) else None
    log.info("allocate: %s %s -> %s", access_type.value, _display(user), allocation_id)
    return AllocationResult(
        access_type=access_type,
        user=_display(user),
        user_id=user.id,
        ok=True,
        allocation_id=allocation_id,
    )


def allocate_many(
    client: QrsClient,
    users: Sequence[ActualUser],
    access_type: AccessType,
    *,
    chunk_size: int = ALLOCATE_CHUNK,
) -> tuple[AllocationResult, ...]:
    """Allocate ``access_type`` to many users through ``POST .../many``, ``chunk_size`` at a time.

    A chunk is taken to be created entirely or not at all (the simulator does so; on a live
    server this is UNVERIFIED, and the next read shows the truth), so every user of a failed chunk
    is reported with that chunk's error; later chunks are still sent. One result per user, in
    input order.

    Raises:
        QrsReadOnlyError: the client is read-only (nothing was sent).
    """
    _check_chunk(chunk_size)
    results: list[AllocationResult] = []
    path = f"{paths.access_type(access_type)}/many"
    for chunk in _chunks(users, chunk_size):
        try:
            created = client.post_json(path, [_allocation_body(user) for user in chunk])
        except QrsReadOnlyError:
            raise
        except QrsError as exc:
            log.warning("allocate: %d %s users failed: %s", len(chunk), access_type.value, exc)
            results.extend(
                AllocationResult(access_type, _display(u), u.id, ok=False, error=exc) for u in chunk
            )
            continue
        ids = _allocation_ids_by_user(created)
        for user in chunk:
            results.append(
                AllocationResult(
                    access_type,
                    _display(user),
                    user.id,
                    ok=True,
                    allocation_id=ids.get(user.id.lower()),
                )
            )
        log.info("allocate: %d %s users", len(chunk), access_type.value)
    return tuple(results)


def reclaim(client: QrsClient, allocation: ActualAllocation) -> ReclaimResult:
    """Reclaim one allocation: ``DELETE /qrs/license/<type>accesstype/{id}``.

    QRS quarantines the seat for seven days when it was used in the last seven (QMC semantics).
    An allocation QRS no longer has is reported ``absent`` and ok.

    Raises:
        QrsError: QRS refused or did not answer (then it may be gone anyway: re-read).
    """
    kind = allocation.access_type
    try:
        client.delete(paths.entity(paths.access_type(kind), allocation.id))
    except QrsNotFound:
        log.info("reclaim: %s %s was already gone", kind.value, allocation.display)
        return ReclaimResult(kind, allocation.id, allocation.display, ok=True, absent=True)
    log.info("reclaim: %s %s (%s)", kind.value, allocation.display, allocation.id)
    return ReclaimResult(kind, allocation.id, allocation.display, ok=True)


def reclaim_many(
    client: QrsClient,
    allocations: Sequence[ActualAllocation],
    *,
    chunk_size: int = RECLAIM_CHUNK,
) -> tuple[ReclaimResult, ...]:
    """Reclaim many allocations through QRS selections, ``chunk_size`` per selection.

    Per chunk: ``POST /qrs/selection/license/<type>accesstype?filter=(id eq A or id eq B ...)``,
    then ``DELETE /qrs/selection/{sel}/license/<type>accesstype``, and always
    ``DELETE /qrs/selection/{sel}`` (even when the bulk delete failed). Allocations the selection
    did not find are reported ``absent``. Ids that are not GUIDs (never seen from QRS) go one by
    one through :func:`reclaim`. One result per allocation, in input order.

    Raises:
        QrsReadOnlyError: the client is read-only (nothing was sent).
    """
    _check_chunk(chunk_size)
    outcome: dict[int, ReclaimResult] = {}
    by_type: dict[AccessType, list[tuple[int, ActualAllocation, uuid.UUID]]] = {}
    for index, allocation in enumerate(allocations):
        guid = _guid(allocation.id)
        if guid is None:
            outcome[index] = _reclaim_reporting(client, allocation)
        else:
            by_type.setdefault(allocation.access_type, []).append((index, allocation, guid))
    for kind, entries in by_type.items():
        for chunk in _chunks(entries, chunk_size):
            for index, result in _reclaim_chunk(client, kind, chunk):
                outcome[index] = result
    return tuple(outcome[index] for index in range(len(allocations)))


def reinstate_quarantined_allocation(
    client: QrsClient, allocation: ActualAllocation
) -> ReinstateResult:
    """Give a quarantined allocation back to its user. **The API for this is UNVERIFIED.**

    No public client reinstates through the QRS API; the QMC can, within the seven days. This
    implements the likeliest form: ``GET`` the allocation by id and ``PUT`` it back with
    ``quarantined: false``, carrying the ``modifiedDate`` licsync planned with (so a change since
    the plan gives 409 rather than being overwritten). The other candidate, POSTing a new
    allocation for the same user, is what :func:`allocate` does. Confirm on a live server
    before relying on it.

    Raises:
        QrsConflict: the allocation changed since it was read.
        QrsNotFound: it is gone (quarantine ended, or reclaimed for good).
        QrsError: any other refusal, or no answer.
    """
    kind = allocation.access_type
    path = paths.entity(paths.access_type(kind), allocation.id)
    entity = client.get_json(path)
    if not isinstance(entity, dict):
        msg = f"GET {path}: expected an allocation object, got {type(entity).__name__}"
        raise QrsError(msg, method="GET", path=path)
    body = dict(entity)
    body["quarantined"] = False
    if allocation.modified_date:
        body["modifiedDate"] = allocation.modified_date
    updated = client.put_json(path, body)
    quarantined = isinstance(updated, dict) and updated.get("quarantined") is True
    log.info(
        "reinstate: %s %s (still quarantined: %s)", kind.value, allocation.display, quarantined
    )
    return ReinstateResult(kind, allocation.id, allocation.display, quarantined=quarantined)


# -- licence rules ------------------------------------------------------------------------------


def rule_body(
    access_type: AccessType, group_id: str, desired: DesiredRule, *, actions: int
) -> dict[str, Any]:
    """The ``SystemRule`` body that makes ``desired`` a licence rule for access group ``group_id``.

    ``actions`` is UNVERIFIED (1 like Qlik-Cli and Informatiqal, or 15 like Qlik's doc example);
    the caller passes it.
    """
    return {
        "category": "License",
        "subcategory": "",
        "type": "Custom",
        "name": desired.name,
        "rule": desired.condition,
        "resourceFilter": f"License.{access_type.title}AccessGroup_{group_id}",
        "actions": actions,
        "ruleContext": desired.context.qrs_value,
        "disabled": desired.disabled,
        "comment": desired.comment,
    }


def create_rule(
    client: QrsClient,
    access_type: AccessType,
    desired: DesiredRule,
    *,
    actions: int = DEFAULT_RULE_ACTIONS,
) -> RuleResult:
    """Create a licence rule: ``POST`` the access group, then ``POST`` its ``License`` system rule.

    Args:
        actions: the rule's ``actions`` bit mask; UNVERIFIED (see ``DEFAULT_RULE_ACTIONS``).

    Raises:
        QrsError: the group could not be created (nothing was), or the rule could not: then the
            group stays without a rule, which the next plan reports as half-created; the error
            says so.
    """
    group = client.post_json(paths.access_group(access_type), {"name": desired.name})
    group_id = group.get("id") if isinstance(group, dict) else None
    if not isinstance(group_id, str):
        path = paths.access_group(access_type)
        msg = f"POST {path}: QRS created an access group but its answer carries no id"
        raise QrsError(msg, method="POST", path=path)
    body = rule_body(access_type, group_id, desired, actions=actions)
    try:
        rule = client.post_json(paths.SYSTEM_RULE, body)
    except QrsError as exc:
        note = (
            f"the {access_type.value} access group {desired.name!r} ({group_id}) was created and "
            "stays without its rule; the next plan reports it as a half-created rule"
        )
        raise _with_note(exc, note) from exc
    rule_id = rule.get("id") if isinstance(rule, dict) else None
    log.info(
        "rule: created %s %r (rule %s, group %s)",
        access_type.value,
        desired.name,
        rule_id,
        group_id,
    )
    return RuleResult(
        access_type,
        desired.name,
        "created",
        rule_id=rule_id if isinstance(rule_id, str) else None,
        group_id=group_id,
        rule_entity=rule if isinstance(rule, dict) else None,
    )


def update_rule(client: QrsClient, actual: ActualRule, desired: DesiredRule) -> RuleResult:
    """Update a licence rule: ``PUT`` the system rule as read, with the desired fields changed.

    The entity keeps the ``modifiedDate`` it was read with, so QRS answers 409 (``QrsConflict``)
    when someone changed it since: re-read and re-plan. The access group is left as it is (its
    name is only a label; the pairing goes through ``resourceFilter``).

    Raises:
        ValueError: ``actual`` has no system rule (a half-created rule: delete and create it).
        QrsConflict: the rule changed since it was read.
        QrsError: any other refusal, or no answer.
    """
    if actual.rule_entity is None or actual.rule_id is None:
        msg = f"licence rule {actual.name!r} has no system rule to update (half-created)"
        raise ValueError(msg)
    body = dict(actual.rule_entity)
    body.update(
        {
            "name": desired.name,
            "rule": desired.condition,
            "ruleContext": desired.context.qrs_value,
            "disabled": desired.disabled,
            "comment": desired.comment,
        }
    )
    updated = client.put_json(paths.entity(paths.SYSTEM_RULE, actual.rule_id), body)
    log.info("rule: updated %s %r (%s)", actual.access_type.value, desired.name, actual.rule_id)
    return RuleResult(
        actual.access_type,
        desired.name,
        "updated",
        rule_id=actual.rule_id,
        group_id=actual.group_id,
        rule_entity=updated if isinstance(updated, dict) else None,
    )


def delete_rule(client: QrsClient, actual: ActualRule) -> RuleResult:
    """Delete a licence rule: ``DELETE`` the system rule, then its access group.

    Either half may be missing already (half-created or orphaned rules); a 404 counts as done.
    Whether deleting a rule takes back the allocations it made is UNVERIFIED (Qlik documents
    that it does not for user access tokens).

    Raises:
        QrsError: a delete was refused or got no answer; if the rule went but the group did not,
            the error says the group stays (the next plan reports it).
    """
    if actual.rule_id is not None:
        _delete_if_present(client, paths.entity(paths.SYSTEM_RULE, actual.rule_id))
    if actual.group_id is not None:
        try:
            _delete_if_present(
                client, paths.entity(paths.access_group(actual.access_type), actual.group_id)
            )
        except QrsError as exc:
            if actual.rule_id is None:
                raise
            note = (
                f"the system rule {actual.rule_id} was deleted but the access group "
                f"{actual.group_id} stays; the next plan reports it as a half-created rule"
            )
            raise _with_note(exc, note) from exc
    log.info("rule: deleted %s %r", actual.access_type.value, actual.name)
    return RuleResult(
        actual.access_type,
        actual.name,
        "deleted",
        rule_id=actual.rule_id,
        group_id=actual.group_id,
    )


# -- helpers ------------------------------------------------------------------------------------


def _allocation_body(user: ActualUser) -> dict[str, Any]:
    return {"user": {"id": user.id, "userId": user.userid, "userDirectory": user.directory}}


def _allocation_ids_by_user(created: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    if not isinstance(created, list):
        return ids
    for entity in created:
        if not isinstance(entity, dict):
            continue
        user = entity.get("user")
        allocation_id = entity.get("id")
        if (
            isinstance(user, dict)
            and isinstance(user.get("id"), str)
            and isinstance(allocation_id, str)
        ):
            ids[user["id"].lower()] = allocation_id
    return ids


def _reclaim_chunk(
    client: QrsClient,
    kind: AccessType,
    chunk: Sequence[tuple[int, ActualAllocation, uuid.UUID]],
) -> list[tuple[int, ReclaimResult]]:
    clause = filters.any_of(*(filters.eq("id", guid) for _, _, guid in chunk))
    try:
        selection = client.post_json(paths.selection_of(kind), params={"filter": clause})
        selection_id = selection.get("id") if isinstance(selection, dict) else None
        if not isinstance(selection_id, str):
            path = paths.selection_of(kind)
            msg = f"POST {path}: QRS made a selection but its answer carries no id"
            raise QrsError(msg, method="POST", path=path)
    except QrsReadOnlyError:
        raise
    except QrsError as exc:
        log.warning("reclaim: %d %s allocations failed: %s", len(chunk), kind.value, exc)
        return [(i, _failed(a, exc)) for i, a, _ in chunk]

    selected = _selected_ids(selection)
    try:
        if selected is None or selected:
            client.delete(paths.selection_access_type(selection_id, kind))
    except QrsError as exc:
        log.warning("reclaim: %d %s allocations failed: %s", len(chunk), kind.value, exc)
        return [(i, _failed(a, exc)) for i, a, _ in chunk]
    finally:
        try:
            client.delete(paths.selection(selection_id))
        except QrsError as exc:
            # Selections are temporary server-side state; a leftover one does no harm.
            log.warning("reclaim: could not discard selection %s: %s", selection_id, exc)
    results: list[tuple[int, ReclaimResult]] = []
    for index, allocation, guid in chunk:
        absent = selected is not None and str(guid) not in selected
        results.append(
            (
                index,
                ReclaimResult(kind, allocation.id, allocation.display, ok=True, absent=absent),
            )
        )
    log.info("reclaim: %d %s allocations", len(chunk), kind.value)
    return results


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


def _reclaim_reporting(client: QrsClient, allocation: ActualAllocation) -> ReclaimResult:
    try:
        return reclaim(client, allocation)
    except QrsReadOnlyError:
        raise
    except QrsError as exc:
        return _failed(allocation, exc)


def _failed(allocation: ActualAllocation, exc: QrsError) -> ReclaimResult:
    return ReclaimResult(
        allocation.access_type, allocation.id, allocation.display, ok=False, error=exc
    )


def _delete_if_present(client: QrsClient, path: str) -> None:
    try:
        client.delete(path)
    except QrsNotFound:
        log.info("delete: %s was already gone", path)


def _with_note(exc: QrsError, note: str) -> QrsError:
    """The same kind of error with ``note`` appended to its message."""
    message = f"{exc}; {note}"
    if isinstance(exc, QrsStatusError):
        return type(exc)(
            message, method=exc.method, path=exc.path, status=exc.status, excerpt=exc.excerpt
        )
    return type(exc)(message, method=exc.method, path=exc.path)


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


def _display(user: ActualUser) -> str:
    return f"{user.directory}\\{user.userid}"
