"""The QRS paths licsync uses (``/qrs`` base path of ``Repository.json``), in one place."""

from __future__ import annotations

import urllib.parse

from licsync.identity import AccessType

__all__ = [
    "ABOUT",
    "ACCESS_TYPE_OVERVIEW",
    "SYSTEM_RULE",
    "SYSTEM_RULE_FULL",
    "USER_FULL",
    "access_group",
    "access_group_full",
    "access_type",
    "access_type_full",
    "entity",
    "selection",
    "selection_access_type",
    "selection_of",
]

ABOUT = "/qrs/about"
USER_FULL = "/qrs/user/full"
SYSTEM_RULE = "/qrs/systemrule"
SYSTEM_RULE_FULL = "/qrs/systemrule/full"
ACCESS_TYPE_OVERVIEW = "/qrs/license/accesstypeoverview"


def access_type(kind: AccessType) -> str:
    """``/qrs/license/professionalaccesstype`` (allocations) or the analyzer one."""
    return f"/qrs/license/{kind.value}accesstype"


def access_type_full(kind: AccessType) -> str:
    """The allocations with every field."""
    return f"{access_type(kind)}/full"


def access_group(kind: AccessType) -> str:
    """``/qrs/license/professionalaccessgroup`` (licence rule resources) or the analyzer one."""
    return f"/qrs/license/{kind.value}accessgroup"


def access_group_full(kind: AccessType) -> str:
    """The access groups with every field."""
    return f"{access_group(kind)}/full"


def entity(collection: str, entity_id: str) -> str:
    """``<collection>/<id>``, the id percent-encoded so it can never change the path."""
    return f"{collection}/{urllib.parse.quote(entity_id, safe='')}"


def selection_of(kind: AccessType) -> str:
    """``POST`` here with a filter to make a selection of allocations."""
    return f"/qrs/selection/license/{kind.value}accesstype"


def selection(selection_id: str) -> str:
    """A selection itself (``DELETE`` to discard it)."""
    return entity("/qrs/selection", selection_id)


def selection_access_type(selection_id: str, kind: AccessType) -> str:
    """The allocations in a selection (``DELETE`` to deallocate them all)."""
    return f"{selection(selection_id)}/license/{kind.value}accesstype"
