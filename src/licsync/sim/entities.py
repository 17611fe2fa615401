"""QRS entity shapes: the collections the simulator serves and how their JSON is built.

Entities are plain dicts shaped like ``Repository.json``'s definitions, fields in spec order.
A stored dict is never mutated after it enters the store (writers build a new dict and swap
it in), so a list of references taken under the store's lock can be filtered and serialised
without holding the lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from licsync.identity import AccessType
from licsync.timeutil import format_qrs_datetime

__all__ = [
    "ALLOCATION",
    "ATTRIBUTE_EMAIL",
    "ATTRIBUTE_GROUP",
    "COLLECTIONS",
    "COUNT_KEY",
    "GROUP",
    "NEVER",
    "NULL_PRIVILEGES",
    "NULL_WHEN_UNSET",
    "SELECTION",
    "SYSTEMRULE",
    "USER",
    "Collection",
    "Entity",
    "access_type_of",
    "condensed",
    "make_allocation",
    "make_attribute",
    "make_custom_property",
    "make_group",
    "make_system_rule",
    "make_user",
    "qrs_time",
    "user_condensed",
]

Entity = dict[str, Any]

NEVER = "0001-01-01T00:00:00.000Z"  # QRS's "never" for lastUsed / quarantineEnd
# A live answer quoted in Ctrl-Q (src/lib/cmd/qseow/createuseractivitycp.js) shows
# "quarantineEnd": "1753-01-01T00:00:00.000Z" for a seat never quarantined; licsync reads any
# year before 1900 as "never", so either placeholder plans the same.

COUNT_KEY = "value"
"""``GET /qrs/{type}/count`` answers ``{"value": N}``. The spec types the answer as a bare
int32, but public clients written against live servers read ``response["value"]`` (qsAPI's
``count`` and ``LicenseAccessCount``; reference §2.3), so that is what a live QRS sends."""

NULL_WHEN_UNSET: Mapping[str, tuple[str, ...]] = {
    "User": ("userDirectoryConnectorName",),
    "UserCondensed": ("userDirectoryConnectorName",),
    "UserAttribute": ("attributeValue", "externalId"),
    "LicenseProfessionalAccessType": ("user", "deletedUserId", "deletedUserDirectory"),
    "LicenseAnalyzerAccessType": ("user", "deletedUserId", "deletedUserDirectory"),
}
"""Properties QRS has no value for are sent as ``null``, not left out, per spec definition;
``privileges`` besides these is ``null`` on every entity unless ``?privileges=true`` is asked
(:data:`NULL_PRIVILEGES`).

Sources: ``"user": null`` beside ``deletedUserId``/``deletedUserDirectory`` on a deleted
user's quarantined seat (reference §4.2, licsync's reader). The rest are this simulator's
choice where the spec's ``minLength: 1`` forbids the empty string: the live allocation Ctrl-Q
quotes has ``"deletedUserId": ""`` for a seat whose user exists, which the spec does not allow,
so the simulator sends ``null`` (UNVERIFIED which a given release sends; licsync reads both).
"""

NULL_PRIVILEGES = True
"""``"privileges": null`` on every entity and embedded entity when ``?privileges=true`` is not
asked: Qlik's licence-rule example answer (reference §5.2) and the live allocation Ctrl-Q
quotes (``src/lib/cmd/qseow/createuseractivitycp.js``) both show it."""

ATTRIBUTE_GROUP = "Group"
"""``attributeType`` of a directory group. UNVERIFIED spelling (reference §3: "commonly seen");
licsync's reader and rule evaluation casefold attribute types, so ``group`` matches too."""

ATTRIBUTE_EMAIL = "email"
"""``attributeType`` of an e-mail address. UNVERIFIED spelling: connectors may deliver
``Email`` or ``email``; licsync casefolds attribute types, so ``user.email`` matches either."""


@dataclass(frozen=True, slots=True)
class Collection:
    """One QRS entity collection.

    Attributes:
        route: the path under ``/qrs`` (lower case), e.g. ``license/professionalaccesstype``.
        schema_path: the entity's ``schemaPath`` and spec definition name with a dot
            (``License.ProfessionalAccessType`` <-> definition ``LicenseProfessionalAccessType``).
        condensed_fields: the fields of the ``*Condensed`` definition, in spec order.
        access_type: for licence collections, the access type they belong to.
    """

    route: str
    schema_path: str
    condensed_fields: tuple[str, ...]
    access_type: AccessType | None = None


USER = Collection(
    "user",
    "User",
    ("id", "privileges", "userId", "userDirectory", "userDirectoryConnectorName", "name"),
)
SYSTEMRULE = Collection(
    "systemrule",
    "SystemRule",
    (
        "id",
        "privileges",
        "category",
        "subcategory",
        "type",
        "name",
        "rule",
        "resourceFilter",
        "actions",
        "comment",
        "disabled",
    ),
)
SELECTION = Collection("selection", "Selection", ("id", "privileges"))
ALLOCATION: Mapping[AccessType, Collection] = {
    t: Collection(
        f"license/{t.value}accesstype", f"License.{t.title}AccessType", ("id", "privileges"), t
    )
    for t in AccessType
}
GROUP: Mapping[AccessType, Collection] = {
    t: Collection(
        f"license/{t.value}accessgroup",
        f"License.{t.title}AccessGroup",
        ("id", "privileges", "name"),
        t,
    )
    for t in AccessType
}
COLLECTIONS: tuple[Collection, ...] = (
    USER,
    *ALLOCATION.values(),
    *GROUP.values(),
    SYSTEMRULE,
)


def access_type_of(value: AccessType | str) -> AccessType:
    """Accept ``AccessType`` or its spelling (``"professional"``, ``"Analyzer"``)."""
    if isinstance(value, AccessType):
        return value
    return AccessType(value.strip().lower())


def qrs_time(value: dt.datetime | None) -> str:
    """A datetime as QRS writes it (None -> the "never" placeholder)."""
    return format_qrs_datetime(value)


def condensed(entity: Mapping[str, Any], collection: Collection) -> Entity:
    """The ``*Condensed`` projection of a full entity (unset fields are null)."""
    return {f: entity.get(f) for f in collection.condensed_fields}


def user_condensed(user: Mapping[str, Any]) -> Entity:
    """A ``UserCondensed`` as embedded in allocations (``user`` field)."""
    return condensed(user, USER)


def make_attribute(
    attribute_id: str, attribute_type: str, value: str, *, when: str, by: str, external_id: str = ""
) -> Entity:
    """A ``UserAttribute`` (a directory group, an email, ...)."""
    attribute: Entity = {
        "id": attribute_id,
        "createdDate": when,
        "modifiedDate": when,
        "modifiedByUserName": by,
        "attributeType": attribute_type,
    }
    # The spec's minLength is 1: an empty value is null (NULL_WHEN_UNSET).
    attribute["attributeValue"] = value or None
    attribute["externalId"] = external_id or None
    attribute["schemaPath"] = "UserAttribute"
    return attribute


def make_custom_property(
    value_id: str, definition: Mapping[str, Any], value: str, *, when: str, by: str
) -> Entity:
    """A ``CustomPropertyValue`` referring to a ``CustomPropertyDefinitionCondensed``."""
    return {
        "id": value_id,
        "createdDate": when,
        "modifiedDate": when,
        "modifiedByUserName": by,
        "value": value,
        # Shared, not copied: stored entities are never mutated, and 100,000 users holding
        # the same definition should not hold 100,000 copies of it.
        "definition": definition,
        "schemaPath": "CustomPropertyValue",
    }


def make_user(
    user_id: str,
    directory: str,
    userid: str,
    *,
    name: str,
    created: str,
    modified: str,
    by: str,
    roles: Iterable[str] = (),
    attributes: Iterable[Mapping[str, Any]] = (),
    custom_properties: Iterable[Mapping[str, Any]] = (),
    tags: Iterable[Mapping[str, Any]] = (),
    inactive: bool = False,
    removed_externally: bool = False,
    blacklisted: bool = False,
    delete_prohibited: bool = False,
    connector: str = "",
) -> Entity:
    """A full ``User``."""
    user: Entity = {
        "id": user_id,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": by,
        "privileges": None,
        "customProperties": [dict(c) for c in custom_properties],
        "userId": userid,
        "userDirectory": directory,
        "userDirectoryConnectorName": connector or None,
    }
    user.update(
        {
            "name": name,
            "roles": list(roles),
            "attributes": [dict(a) for a in attributes],
            "inactive": inactive,
            "removedExternally": removed_externally,
            "blacklisted": blacklisted,
            "deleteProhibited": delete_prohibited,
            "tags": [dict(t) for t in tags],
            "favorites": [],
            "schemaPath": "User",
        }
    )
    return user


def make_allocation(
    collection: Collection,
    allocation_id: str,
    user: Mapping[str, Any] | None,
    *,
    created: str,
    modified: str,
    by: str,
    last_used: str = NEVER,
    quarantined: bool = False,
    quarantine_end: str = NEVER,
    excess: bool = False,
    deleted_user: tuple[str, str] | None = None,
) -> Entity:
    """A ``LicenseProfessionalAccessType`` / ``LicenseAnalyzerAccessType``.

    ``user`` is the full or condensed user (embedded condensed); None with ``deleted_user``
    = (directory, userid) for a quarantined seat whose user was deleted.
    """
    allocation: Entity = {
        "id": allocation_id,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": by,
        "privileges": None,
        "user": user_condensed(user) if user is not None else None,
        "lastUsed": last_used,
        "excess": excess,
        "quarantined": quarantined,
        "quarantineEnd": quarantine_end,
        "deletedUserId": deleted_user[1] if deleted_user is not None else None,
        "deletedUserDirectory": deleted_user[0] if deleted_user is not None else None,
    }
    allocation["schemaPath"] = collection.schema_path
    return allocation


def make_group(
    collection: Collection, group_id: str, name: str, *, created: str, modified: str, by: str
) -> Entity:
    """A ``LicenseProfessionalAccessGroup`` / ``LicenseAnalyzerAccessGroup``."""
    return {
        "id": group_id,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": by,
        "privileges": None,
        "name": name,
        "schemaPath": collection.schema_path,
    }


def make_system_rule(
    rule_id: str,
    *,
    name: str,
    rule: str,
    resource_filter: str,
    actions: int,
    created: str,
    modified: str,
    by: str,
    category: str = "License",
    subcategory: str = "",
    rule_type: str = "Custom",
    comment: str = "",
    disabled: bool = False,
    rule_context: int = 0,
    tags: Iterable[Mapping[str, Any]] = (),
) -> Entity:
    """A ``SystemRule``."""
    return {
        "id": rule_id,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": by,
        "privileges": None,
        "category": category,
        "subcategory": subcategory,
        "type": rule_type,
        "name": name,
        "rule": rule,
        "resourceFilter": resource_filter,
        "actions": actions,
        "comment": comment,
        "disabled": disabled,
        "ruleContext": rule_context,
        "tags": [dict(t) for t in tags],
        "schemaPath": "SystemRule",
    }
