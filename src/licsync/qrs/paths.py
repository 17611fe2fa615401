"""The QRS paths licsync uses (``/qrs`` base path of ``Repository.json``), in one place."""

from __future__ import annotations

import urllib.parse

from licsync.identity import AccessType

__all__ = [
    "ABOUT",
    "ABOUT_DESCRIPTION",
    "ACCESS_TYPE_OVERVIEW",
    "LICENSE",
    "SELECTION",
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
    "selection_user_access_type",
]

ABOUT = "/qrs/about"
USER_FULL = "/qrs/user/full"
SYSTEM_RULE = "/qrs/systemrule"
SYSTEM_RULE_FULL = "/qrs/systemrule/full"
ACCESS_TYPE_OVERVIEW = "/qrs/license/accesstypeoverview"
LICENSE = "/qrs/license"
"""The site's licence: serial and control number or signed key, expired or not."""
ABOUT_DESCRIPTION = "/qrs/about/api/description"
"""``METHOD /qrs/path`` per route the server serves: how ``doctor`` finds routes unwritten."""


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


SELECTION = "/qrs/Selection"
"""``POST`` here with ``{"items": [...]}`` to make a selection of named entities (the QMC's
own spelling; QRS paths are case-insensitive)."""


def selection_user_access_type(selection_id: str, kind: AccessType) -> str:
    """``POST`` here to give every user in a selection ``kind`` access: the QMC's allocation
    route (``/qrs/Selection/{id}/User/License/ProfessionalAccessType``; qrs-evidence §1)."""
    return f"{entity(SELECTION, selection_id)}/User/License/{kind.title}AccessType"


def selection_of(kind: AccessType) -> str:
    """``POST`` here with a filter to make a selection of allocations."""
    return f"/qrs/selection/license/{kind.value}accesstype"


def selection(selection_id: str) -> str:
    """A selection itself (``DELETE`` to discard it)."""
    return entity("/qrs/selection", selection_id)


def selection_access_type(selection_id: str, kind: AccessType) -> str:
    """The allocations in a selection (``DELETE`` to deallocate them all)."""
    return f"{selection(selection_id)}/license/{kind.value}accesstype"
