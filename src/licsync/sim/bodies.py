"""Checks on request bodies that need no state: shapes, types and spec limits.

Each function takes the decoded JSON a client sent and returns what the store needs, or raises
:class:`~licsync.sim.errors.SimRefusal` (400) naming the offending field. State-dependent
checks (does the user exist, is there capacity) live in :mod:`licsync.sim.store`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from licsync.sim.entities import (
    Entity,
    make_attribute,
    make_custom_property,
    make_system_rule,
    make_user,
    qrs_time,
)
from licsync.sim.errors import SimRefusal
from licsync.timeutil import parse_qrs_datetime

__all__ = [
    "DEFAULT_RULE_CATEGORY",
    "LICENSE_RESOURCE_FILTER",
    "optional_bool",
    "optional_int",
    "optional_list",
    "optional_str",
    "parse_guid",
    "parse_time",
    "put_identity",
    "require_object",
    "required_str",
    "rule_from_body",
    "user_from_body",
]

DEFAULT_RULE_CATEGORY = "Security"
"""UNVERIFIED: the ``category`` a system rule gets when the body omits it (QMC's default rule
kind is a security rule). Licence rules must send ``"category": "License"``."""

# ``License.ProfessionalAccessGroup_<guid>`` / ``License.AnalyzerAccessGroup_<guid>``: the only
# resource filter a licence rule can have (reference §5.1).
LICENSE_RESOURCE_FILTER = re.compile(
    r"^License\.(?P<title>Professional|Analyzer)AccessGroup_(?P<id>[0-9A-Fa-f-]{36})$"
)


def require_object(body: Any, what: str = "The request body") -> Mapping[str, Any]:
    """``body`` as a JSON object, or 400."""
    if not isinstance(body, Mapping):
        raise SimRefusal(400, f"{what} must be a JSON object")
    return body


def parse_guid(value: Any, field: str) -> str:
    """A GUID field as lower-case canonical text, or 400."""
    if not isinstance(value, str):
        raise SimRefusal(400, f"{field} must be a GUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise SimRefusal(400, f"{field} is not a valid GUID: {value[:64]!r}") from None


def required_str(
    body: Mapping[str, Any], field: str, *, min_length: int = 1, max_length: int = 255
) -> str:
    """A required string field within the spec's length limits, or 400."""
    if field not in body or body[field] is None:
        raise SimRefusal(400, f"Required property '{field}' is missing")
    return _checked_str(body[field], field, min_length, max_length)


def optional_str(
    body: Mapping[str, Any],
    field: str,
    default: str,
    *,
    min_length: int = 0,
    max_length: int = 255,
) -> str:
    """An optional string field (null or absent -> ``default``), or 400."""
    value = body.get(field)
    if value is None:
        return default
    return _checked_str(value, field, min_length, max_length)


def _checked_str(value: Any, field: str, min_length: int, max_length: int) -> str:
    if not isinstance(value, str):
        raise SimRefusal(400, f"Property '{field}' must be a string")
    if not min_length <= len(value) <= max_length:
        raise SimRefusal(
            400, f"Property '{field}' must be {min_length} to {max_length} characters long"
        )
    return value


def optional_bool(body: Mapping[str, Any], field: str, default: bool) -> bool:
    """An optional boolean field (null or absent -> ``default``), or 400."""
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SimRefusal(400, f"Property '{field}' must be a boolean")
    return value


def optional_int(
    body: Mapping[str, Any], field: str, default: int, *, choices: tuple[int, ...] = ()
) -> int:
    """An optional integer field (bool is not an int here), or 400."""
    value = body.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimRefusal(400, f"Property '{field}' must be an integer")
    if choices and value not in choices:
        raise SimRefusal(400, f"Property '{field}' must be one of {', '.join(map(str, choices))}")
    return value


def optional_list(body: Mapping[str, Any], field: str) -> list[Any]:
    """An optional array field (null or absent -> empty), or 400."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SimRefusal(400, f"Property '{field}' must be an array")
    return value


def put_identity(body: Mapping[str, Any], url_id: str, stored_modified: str) -> None:
    """The two checks every PUT passes: the body's id is the URL's, its modifiedDate is current.

    QRS: "You must always include the entity ID and modifiedDate when performing an update. The
    entity ID of the body and of the URL must match." A ``modifiedDate`` older than the stored
    one is a conflict (409); a missing one is too (qlik-cli issue #32, reference §2.4). A
    ``modifiedDate`` newer than the stored one is accepted: tools that send "now" succeed on
    a real server, which is why they get away with it.
    """
    if "id" not in body or body["id"] is None:
        raise SimRefusal(400, "The entity ID of the body is missing; it must match the URL")
    if parse_guid(body["id"], "id") != url_id:
        raise SimRefusal(400, "The entity ID of the body and of the URL must match")
    sent = body.get("modifiedDate")
    if sent is None or sent == "":
        raise SimRefusal(409, "Conflict: modifiedDate is missing; read the entity and send it back")
    if not isinstance(sent, str):
        raise SimRefusal(400, "Property 'modifiedDate' must be a date-time string")
    try:
        sent_time = parse_qrs_datetime(sent)
    except ValueError:
        raise SimRefusal(
            400, f"Property 'modifiedDate' is not a date-time: {sent[:40]!r}"
        ) from None
    stored_time = parse_qrs_datetime(stored_modified)
    if sent_time is None or (stored_time is not None and sent_time < stored_time):
        raise SimRefusal(
            409,
            f"Conflict: the entity was modified at {stored_modified}, after the modifiedDate "
            f"{sent} sent; read it again",
        )


def parse_time(value: Any, field: str) -> dt.datetime | None:
    """A date-time field; None for absent or QRS "never"; 400 when not a date-time."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise SimRefusal(400, f"Property '{field}' must be a date-time string")
    try:
        return parse_qrs_datetime(value)
    except ValueError:
        raise SimRefusal(400, f"Property '{field}' is not a date-time: {value[:40]!r}") from None


def _item_id(row: Mapping[str, Any], where: str) -> str:
    """The ``id`` of a nested item when the client sent one, else a new one."""
    return parse_guid(row["id"], f"{where}.id") if row.get("id") else str(uuid.uuid4())


def user_from_body(
    data: Mapping[str, Any],
    user_id: str,
    *,
    created: str,
    modified: str,
    by: str,
    definitions: Mapping[str, Entity],
) -> Entity:
    """A ``User`` from a POST/PUT body; omitted fields take their defaults.

    Args:
        definitions: the known custom property definitions (condensed) by id; a value must
            refer to one of them.
    """
    directory = required_str(data, "userDirectory")
    userid = required_str(data, "userId")
    attributes = []
    for index, item in enumerate(optional_list(data, "attributes")):
        where = f"attributes[{index}]"
        row = require_object(item, where)
        since = parse_time(row.get("createdDate"), f"{where}.createdDate")
        attributes.append(
            make_attribute(
                _item_id(row, where),
                required_str(row, "attributeType"),
                optional_str(row, "attributeValue", "", max_length=255),
                when=qrs_time(since) if since is not None else modified,
                by=by,
                external_id=optional_str(row, "externalId", "", max_length=511),
            )
        )
    properties = []
    for index, item in enumerate(optional_list(data, "customProperties")):
        where = f"customProperties[{index}]"
        row = require_object(item, where)
        definition = require_object(row.get("definition"), f"{where}.definition")
        definition_id = parse_guid(definition.get("id"), f"{where}.definition.id")
        if definition_id not in definitions:
            raise SimRefusal(400, f"Custom property definition {definition_id} does not exist")
        properties.append(
            make_custom_property(
                _item_id(row, where),
                definitions[definition_id],
                required_str(row, "value", max_length=1024),
                when=modified,
                by=by,
            )
        )
    roles = optional_list(data, "roles")
    if not all(isinstance(r, str) for r in roles):
        raise SimRefusal(400, "Property 'roles' must be an array of strings")
    return make_user(
        user_id,
        directory,
        userid,
        name=optional_str(data, "name", userid, max_length=511),
        created=created,
        modified=modified,
        by=by,
        roles=roles,
        attributes=attributes,
        custom_properties=properties,
        tags=_tags(data),
        inactive=optional_bool(data, "inactive", False),
        removed_externally=optional_bool(data, "removedExternally", False),
        blacklisted=optional_bool(data, "blacklisted", False),
        delete_prohibited=optional_bool(data, "deleteProhibited", False),
        connector=optional_str(data, "userDirectoryConnectorName", "", max_length=255),
    )


def rule_from_body(
    data: Mapping[str, Any], rule_id: str, *, created: str, modified: str, by: str
) -> Entity:
    """A ``SystemRule`` from a POST/PUT body (``name``, ``resourceFilter``, ``actions`` required).

    Whether a ``License`` rule's resource filter names an existing group is the store's check.
    """
    name = required_str(data, "name")
    resource_filter = required_str(data, "resourceFilter", max_length=1024)
    if data.get("actions") is None:
        raise SimRefusal(400, "Required property 'actions' is missing")
    actions = optional_int(data, "actions", 0)
    if actions < 0:
        raise SimRefusal(400, "Property 'actions' must not be negative")
    return make_system_rule(
        rule_id,
        name=name,
        rule=optional_str(data, "rule", "", max_length=2048),
        resource_filter=resource_filter,
        actions=actions,
        created=created,
        modified=modified,
        by=by,
        category=optional_str(data, "category", DEFAULT_RULE_CATEGORY),
        subcategory=optional_str(data, "subcategory", ""),
        rule_type=optional_str(data, "type", "Custom"),
        comment=optional_str(data, "comment", "", max_length=255),
        disabled=optional_bool(data, "disabled", False),
        rule_context=optional_int(data, "ruleContext", 0, choices=(0, 1, 2)),
        tags=_tags(data),
    )


def _tags(data: Mapping[str, Any]) -> list[Entity]:
    tags = []
    for index, item in enumerate(optional_list(data, "tags")):
        row = require_object(item, f"tags[{index}]")
        tags.append({"id": _item_id(row, f"tags[{index}]"), "name": required_str(row, "name")})
    return tags
