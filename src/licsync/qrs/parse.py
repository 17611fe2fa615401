"""QRS JSON -> :mod:`licsync.actual` values: pure functions, no I/O.

Each parser takes the decoded JSON of one endpoint and the path it came from (for messages). A
field the spec marks required but the entity lacks, or an entity of the wrong shape, raises a
``QrsResponseError`` naming the endpoint, the entity and the field, never a bare ``KeyError``.
Optional fields may be absent.

The users and allocations parsers are the hot path of ``plan`` on a large site (100,000 users):
they do one pass, no regular expressions, no copies, and cache the few distinct strings they
casefold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from licsync.actual import ActualAllocation, ActualRule, ActualUser, Capacity
from licsync.errors import QrsResponseError
from licsync.identity import AccessType, RuleContext, user_key
from licsync.qrs import paths
from licsync.timeutil import parse_qrs_datetime

__all__ = [
    "access_group_reference",
    "parse_about",
    "parse_allocations",
    "parse_capacity",
    "parse_rules",
    "parse_users",
]

_EMPTY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
_HEX: Final = frozenset("0123456789abcdef-")
_GUID_LENGTH: Final = 36
_NEVER_BEFORE_YEAR: Final = 1900  # as licsync.timeutil: earlier years are QRS's "never"
_fromisoformat = dt.datetime.fromisoformat

# Required fields nested inside an entity, named by their path for messages.
_USER_NESTED: Final = {
    "attributeType": "attributes[].attributeType",
    "definition": "customProperties[].definition",
    "value": "customProperties[].value",
}
_ALLOCATION_NESTED: Final = {"userId": "user.userId", "userDirectory": "user.userDirectory"}


def parse_about(about: Any, *, path: str = paths.ABOUT) -> str:
    """The ``buildVersion`` of ``/qrs/about``."""
    if not isinstance(about, dict):
        raise _shape_error(path, "an object", about)
    version = about.get("buildVersion")
    if not isinstance(version, str):
        raise _missing(path, "the about object", "buildVersion")
    return version


def parse_users(items: Any, *, path: str = paths.USER_FULL) -> dict[str, ActualUser]:
    """Users from ``/qrs/user/full``, keyed by :func:`licsync.identity.user_key`.

    Attributes are grouped by ``attributeType`` casefolded and custom properties by their
    definition's name casefolded, values in QRS order. When two users share a key (QRS itself
    does not allow it), the first one read is kept.
    """
    if not isinstance(items, list | Iterator):  # a list, or the elements of a streamed one
        raise _shape_error(path, "an array", items)
    users: dict[str, ActualUser] = {}
    folded: dict[str, str] = {}
    parse_time = _time
    for index, item in enumerate(items):
        try:
            directory = item["userDirectory"]
            userid = item["userId"]
            attributes = item.get("attributes")
            attribute_map = _group_attributes(attributes, folded) if attributes else _EMPTY
            properties = item.get("customProperties")
            property_map = _group_properties(properties, folded) if properties else _EMPTY
            tags = item.get("tags")
            roles = item.get("roles")
            user = ActualUser(
                id=item["id"],
                directory=directory,
                userid=userid,
                name=item.get("name") or "",
                inactive=item.get("inactive") is True,
                removed_externally=item["removedExternally"] is True,
                blocked=item["blacklisted"] is True,
                roles=tuple(roles) if roles else (),
                attributes=attribute_map,
                custom_properties=property_map,
                tags=tuple([tag["name"] for tag in tags]) if tags else (),
                created=parse_time(item.get("createdDate")),
            )
            key = user_key(directory, userid)
        except KeyError as exc:
            field = _USER_NESTED.get(exc.args[0], exc.args[0])
            raise _missing(path, _describe(index, item), field) from None
        except (TypeError, AttributeError, ValueError) as exc:
            raise _bad_entity(path, _describe(index, item), exc) from None
        if key not in users:
            users[key] = user
    return users


def _group_attributes(
    attributes: list[dict[str, Any]], folded: dict[str, str]
) -> Mapping[str, tuple[str, ...]]:
    # Tuples built directly: users hold one or two values per type, so growing a tuple is
    # cheaper than a list per type plus a second dict to convert them.
    grouped: dict[str, tuple[str, ...]] = {}
    for attribute in attributes:
        kind = attribute["attributeType"]
        key = folded.get(kind)
        if key is None:
            key = folded[kind] = kind.casefold()
        value = attribute.get("attributeValue")
        if value is not None:
            held = grouped.get(key)
            grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _group_properties(
    properties: list[dict[str, Any]], folded: dict[str, str]
) -> Mapping[str, tuple[str, ...]]:
    grouped: dict[str, tuple[str, ...]] = {}
    for prop in properties:
        name = prop["definition"]["name"]
        key = folded.get(name)
        if key is None:
            key = folded[name] = name.casefold()
        value = prop["value"]
        held = grouped.get(key)
        grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _time(text: Any) -> dt.datetime | None:
    """:func:`licsync.timeutil.parse_qrs_datetime` with a fast path for QRS's own spelling."""
    # QRS writes UTC with "Z": fromisoformat already gives an aware UTC value then, so the
    # general function's conversion is skipped (100,000 users, 180,000 allocation dates).
    if text.__class__ is str and text.endswith("Z"):
        if text.startswith("0001-"):
            return None
        value = _fromisoformat(text)
        return value if value.year >= _NEVER_BEFORE_YEAR else None
    return parse_qrs_datetime(text)


def parse_allocations(
    items: Any, access_type: AccessType, *, path: str | None = None
) -> tuple[ActualAllocation, ...]:
    """Allocations from ``/qrs/license/<type>accesstype/full``, in QRS order.

    A deleted user's allocation (kept while quarantined) has ``user: null`` and names the user in
    ``deletedUserDirectory`` / ``deletedUserId``; its ``user_id`` is None. ``lastUsed`` of
    ``0001-01-01...`` or absent means never used.
    """
    where = path or paths.access_type_full(access_type)
    if not isinstance(items, list | Iterator):  # a list, or the elements of a streamed one
        raise _shape_error(where, "an array", items)
    parse_time = _time
    result: list[ActualAllocation] = []
    append = result.append
    for index, item in enumerate(items):
        try:
            user = item.get("user")
            if user is not None:
                user_id = user.get("id")
                directory = user["userDirectory"]
                userid = user["userId"]
            else:
                user_id = None
                directory = item.get("deletedUserDirectory")
                userid = item.get("deletedUserId")
                if not directory or not userid:
                    raise _missing(
                        where,
                        _describe(index, item),
                        "user (or deletedUserDirectory/deletedUserId)",
                    )
            append(
                ActualAllocation(
                    id=item["id"],
                    access_type=access_type,
                    user_id=user_id,
                    directory=directory,
                    userid=userid,
                    last_used=parse_time(item.get("lastUsed")),
                    created=parse_time(item.get("createdDate")),
                    quarantined=item.get("quarantined") is True,
                    quarantine_end=parse_time(item.get("quarantineEnd")),
                    excess=item.get("excess") is True,
                    modified_date=item.get("modifiedDate") or "",
                )
            )
        except KeyError as exc:
            field = _ALLOCATION_NESTED.get(exc.args[0], exc.args[0])
            raise _missing(where, _describe(index, item), field) from None
        except (TypeError, AttributeError, ValueError) as exc:
            raise _bad_entity(where, _describe(index, item), exc) from None
    return tuple(result)


def access_group_reference(resource_filter: str) -> tuple[AccessType, str] | None:
    """The access type and group GUID (lower case) a licence rule's ``resourceFilter`` names.

    ``License.ProfessionalAccessGroup_<guid>`` -> ``(PROFESSIONAL, "<guid>")``, matched without
    regard to case. None for filters naming no Professional/Analyzer access group (user access,
    login access ...).
    """
    folded = resource_filter.casefold()
    for kind in AccessType:
        marker = f"{kind.value}accessgroup_"
        start = folded.find(marker)
        if start < 0:
            continue
        start += len(marker)
        end = start
        while end < len(folded) and folded[end] in _HEX:
            end += 1
        guid = folded[start:end]
        if len(guid) == _GUID_LENGTH:
            return kind, guid
    return None


def parse_rules(
    groups: Mapping[AccessType, Any],
    system_rules: Any,
    *,
    rules_path: str = paths.SYSTEM_RULE_FULL,
) -> dict[AccessType, tuple[ActualRule, ...]]:
    """Licence rules: each access group paired with the ``License`` system rule naming it.

    A group no rule names becomes a rule with ``rule_id`` None (creation failed between the two
    POSTs); a rule naming a group that does not exist becomes one with ``group_id`` None. System
    rules whose ``resourceFilter`` names no Professional/Analyzer group (user or login access
    rules) are not licsync's and are skipped. Sorted by name (casefolded), then ids.

    Args:
        groups: per access type, the decoded ``/qrs/license/<type>accessgroup/full``.
        system_rules: the decoded ``/qrs/systemrule/full?filter=category eq 'License'``.
    """
    by_id: dict[AccessType, dict[str, Mapping[str, Any]]] = {}
    for kind, items in groups.items():
        where = paths.access_group_full(kind)
        if not isinstance(items, list):
            raise _shape_error(where, "an array", items)
        table: dict[str, Mapping[str, Any]] = {}
        for index, group in enumerate(items):
            if not isinstance(group, dict):
                raise _shape_error(where, "objects in the array", group)
            group_id = group.get("id")
            if not isinstance(group_id, str):
                raise _missing(where, _describe(index, group), "id")
            table[group_id.lower()] = MappingProxyType(group)
        by_id[kind] = table
    if not isinstance(system_rules, list):
        raise _shape_error(rules_path, "an array", system_rules)

    found: dict[AccessType, list[ActualRule]] = {kind: [] for kind in by_id}
    claimed: set[tuple[AccessType, str]] = set()
    for index, rule in enumerate(system_rules):
        try:
            reference = access_group_reference(rule["resourceFilter"])
            if reference is None or reference[0] not in by_id:
                continue
            kind, guid = reference
            group = by_id[kind].get(guid)
            claimed.add((kind, guid))
            context_value = rule.get("ruleContext", 0)
            try:
                context = RuleContext.from_qrs(context_value)
            except ValueError:
                raise _bad_value(rules_path, _describe(index, rule), "ruleContext") from None
            actions = rule["actions"]
            if not isinstance(actions, int):
                raise _bad_value(rules_path, _describe(index, rule), "actions")
            found[kind].append(
                ActualRule(
                    access_type=kind,
                    name=rule["name"],
                    condition=rule.get("rule") or "",
                    context=context,
                    disabled=rule.get("disabled") is True,
                    comment=rule.get("comment") or "",
                    rule_id=rule["id"],
                    group_id=group["id"] if group is not None else None,
                    actions=actions,
                    rule_entity=MappingProxyType(rule),
                )
            )
        except KeyError as exc:
            raise _missing(rules_path, _describe(index, rule), exc.args[0]) from None
        except (TypeError, AttributeError) as exc:
            raise _bad_entity(rules_path, _describe(index, rule), exc) from None

    for kind, table in by_id.items():
        for guid, group in table.items():
            if (kind, guid) in claimed:
                continue
            found[kind].append(
                ActualRule(
                    access_type=kind,
                    name=group.get("name") or "",
                    condition="",
                    context=RuleContext.BOTH,
                    disabled=False,
                    comment="",
                    rule_id=None,
                    group_id=group["id"],
                )
            )
    return {
        kind: tuple(
            sorted(rules, key=lambda r: (r.name.casefold(), r.rule_id or "", r.group_id or ""))
        )
        for kind, rules in found.items()
    }


def parse_capacity(
    overview: Any, *, path: str = paths.ACCESS_TYPE_OVERVIEW
) -> dict[AccessType, Capacity]:
    """Capacity per access type from ``/qrs/license/accesstypeoverview``.

    ``professionalAccess`` / ``analyzerAccess`` feed it; an absent block leaves that type out,
    absent numbers count as 0 (the spec marks none of them required).
    """
    if not isinstance(overview, dict):
        raise _shape_error(path, "an object", overview)
    result: dict[AccessType, Capacity] = {}
    for kind, name in (
        (AccessType.PROFESSIONAL, "professionalAccess"),
        (AccessType.ANALYZER, "analyzerAccess"),
    ):
        block = overview.get(name)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise _shape_error(path, f"an object in {name}", block)
        try:
            result[kind] = Capacity(
                enabled=block.get("enabled") is True,
                total=int(block.get("total") or 0),
                allocated=int(block.get("allocated") or 0),
                used=int(block.get("used") or 0),
                quarantined=int(block.get("quarantined") or 0),
                excess=int(block.get("excess") or 0),
                available=int(block.get("available") or 0),
            )
        except (TypeError, ValueError) as exc:
            raise _bad_entity(path, name, exc) from None
    return result


# -- errors ------------------------------------------------------------------------------------


def _describe(index: int, item: Any) -> str:
    entity_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(entity_id, str):
        return f"entity #{index} (id {entity_id})"
    return f"entity #{index}"


def _missing(path: str, what: str, field: str) -> QrsResponseError:
    message = f"GET {path}: {what} lacks the field {field!r}, which licsync and the QRS spec need"
    return QrsResponseError(message, method="GET", path=path)


def _bad_value(path: str, what: str, field: str) -> QrsResponseError:
    message = f"GET {path}: {what} has an unexpected value in the field {field!r}"
    return QrsResponseError(message, method="GET", path=path)


def _bad_entity(path: str, what: str, exc: Exception) -> QrsResponseError:
    # The exception text names Python types, never data values from the answer.
    reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, ValueError) else type(exc).__name__
    message = f"GET {path}: {what} does not have the shape the QRS spec gives ({reason})"
    return QrsResponseError(message, method="GET", path=path)


def _shape_error(path: str, expected: str, value: Any) -> QrsResponseError:
    message = f"GET {path}: expected {expected}, got {type(value).__name__}"
    return QrsResponseError(message, method="GET", path=path)
