"""Each change becomes its QRS requests here, and only here: pure builders of
:class:`~licsync.results.Request` values that both writers send (or list), and the chunk sizes
that decide how many changes one request carries (the one place chunking is decided: apply's
executor asks the writer, the writer takes these defaults).

The seat writes are the QMC's own (``qrs-evidence.md`` §1): a selection of the users (or of the
allocations), one request on the selection, the selection deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from licsync.desired import DesiredRule
from licsync.identity import AccessType
from licsync.plan.changes import Allocate, CompleteRule, Reclaim, Reinstate, UpdateRule
from licsync.qrs import filters, paths
from licsync.results import Request

ALLOCATE_CHUNK: Final = 128
"""Users per selection when allocating, at most. The selection travels in a POST body (no URL
limit); 128 keeps one refused request's bisection short (at most 7 levels, as 100 did) and
sends 5,000 allocations in 40 selections, five rounds of eight workers (100 took seven, the
last one a quarter full). The executor splits a longer run evenly (see ``execute``)."""
RECLAIM_CHUNK: Final = 128
"""Allocations per selection when reclaiming, at most (also in a POST body)."""
SEAT_READ_CHUNK: Final = 50
"""Users per read of who holds a seat: 50 GUIDs make a filter of about 2,300 characters (3 KB
encoded), well inside URL limits."""
# UNVERIFIED: Qlik-Cli and Informatiqal write 1 ("Allow access"), Qlik's API doc example 15.
DEFAULT_RULE_ACTIONS: Final = 1

ROUTES: Final = tuple(
    dict.fromkeys(
        (method, path.format(kind=kind.value))
        for kind in AccessType
        for method, path in (
            ("POST", "/qrs/selection"),
            ("POST", "/qrs/selection/{{id}}/user/license/{kind}accesstype"),
            ("DELETE", "/qrs/selection/{{id}}"),
            ("DELETE", "/qrs/selection/{{id}}/license/{kind}accesstype"),
            ("GET", "/qrs/license/{kind}accesstype/full"),
            ("GET", "/qrs/license/{kind}accesstype/{{id}}"),
            ("PUT", "/qrs/license/{kind}accesstype/{{id}}"),
            ("DELETE", "/qrs/license/{kind}accesstype/{{id}}"),
            ("POST", "/qrs/license/{kind}accessgroup"),
            ("DELETE", "/qrs/license/{kind}accessgroup/{{id}}"),
            ("POST", "/qrs/systemrule"),
            ("PUT", "/qrs/systemrule/{{id}}"),
            ("DELETE", "/qrs/systemrule/{{id}}"),
        )
    )
)
"""Every (method, route) the writes here may send, lower case, ``{id}`` for an id: what
``licsync doctor`` looks for in the server's own list of routes, so a site that lacks one is
known before the first apply (a route listed twice, once per access type, is the same route)."""

NEW_GROUP_ID: Final = "<new access group id>"
NEW_RULE_ID: Final = "<new system rule id>"
NEW_ALLOCATION_ID: Final = "<new allocation id>"
NEW_SELECTION_ID: Final = "<new selection id>"


def allocation_body(change: Allocate) -> dict[str, Any]:
    """``{"user": {"id", "userId", "userDirectory"}}``.

    The spec marks ``userId`` and ``userDirectory`` required in ``UserCondensed``; whether
    ``id`` alone would do is UNVERIFIED, so all three are sent.
    """
    target = change.target
    return {"user": {"id": target.id, "userId": target.userid, "userDirectory": target.directory}}


def user_selection_request(user_ids: Iterable[str]) -> Request:
    """``POST /qrs/Selection`` ``{"items": [{"type": "User", "objectID": ...}, ...]}``."""
    items = [{"type": "User", "objectID": user_id} for user_id in user_ids]
    return Request("POST", paths.SELECTION, {}, {"items": items})


def allocate_selected_request(selection_id: str, access_type: AccessType) -> Request:
    """``POST /qrs/Selection/{id}/User/License/<Type>AccessType`` ``{"quarantined": "false"}``:
    the QMC's allocation of ``access_type`` to every user in the selection. The body is the
    QMC's own, a string ``"false"`` (``LicenseSwapper.py``)."""
    path = paths.selection_user_access_type(selection_id, access_type)
    return Request("POST", path, {}, {"quarantined": "false"})


def seats_request(access_type: AccessType, user_ids: Iterable[uuid.UUID]) -> Request:
    """``GET /qrs/license/<type>accesstype/full?filter=(user.id eq A or ...)``: who of these
    users holds a seat now (how a refused or uncertain allocation is settled)."""
    clause = filters.any_of(*(filters.eq("user.id", guid) for guid in user_ids))
    return Request("GET", paths.access_type_full(access_type), {"filter": clause})


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
    """``PUT`` the allocation back un-quarantined: the fallback when the QMC's route refused
    (UNVERIFIED, see :meth:`QrsWriter.reinstate`)."""
    path = paths.entity(paths.access_type(change.access_type), change.allocation_id)
    return Request("PUT", path, {}, reinstate_body(change, entity))


def selection_request(access_type: AccessType, allocation_ids: Iterable[uuid.UUID]) -> Request:
    """``POST /qrs/Selection`` ``{"items": [{"type": "License.<Type>AccessType", "objectID":
    ...}, ...]}``: the QMC's selection of allocations (``LicenseSwapper.py``,
    ``LicenseCleanup.py``)."""
    kind = f"License.{access_type.title}AccessType"
    items = [{"type": kind, "objectID": str(guid)} for guid in allocation_ids]
    return Request("POST", paths.SELECTION, {}, {"items": items})


def reclaim_selected_request(selection_id: str, access_type: AccessType) -> Request:
    """``DELETE /qrs/Selection/{id}/License/<Type>AccessType``: deallocate the selection."""
    path = f"{paths.selection(selection_id)}/License/{access_type.title}AccessType"
    return Request("DELETE", path)


def discard_selection_request(selection_id: str) -> Request:
    """``DELETE /qrs/Selection/{id}``: the selection itself."""
    return Request("DELETE", paths.entity(paths.SELECTION, selection_id))


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
        "resourceFilter": resource_filter(access_type, group_id),
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
    body["resourceFilter"] = resource_filter(change.access_type, group_id)
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


def resource_filter(access_type: AccessType, group_id: str) -> str:
    """The ``resourceFilter`` of the licence rule of access group ``group_id``."""
    return f"License.{access_type.title}AccessGroup_{group_id}"
