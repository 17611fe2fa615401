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
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from licsync.actual import (
    ActualAllocation,
    ActualRule,
    ActualUser,
    Capacity,
    Licence,
    LicenceKind,
    UnreadableRow,
    new_actual_allocation,
    new_actual_user,
)
from licsync.errors import QrsResponseError
from licsync.identity import AccessType, RuleContext, user_key
from licsync.qrs import paths
from licsync.qrs.jsonarray import OUT_OF_RANGE
from licsync.timeutil import parse_qrs_datetime

__all__ = [
    "access_group_reference",
    "parse_about",
    "parse_allocations",
    "parse_capacity",
    "parse_licence",
    "parse_rules",
    "parse_users",
    "read_allocations",
]

_EMPTY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
_HEX: Final = frozenset("0123456789abcdef-")
_GUID_LENGTH: Final = 36
_NEVER_BEFORE_YEAR: Final = 1900  # as licsync.timeutil: earlier years are QRS's "never"
_fromisoformat = dt.datetime.fromisoformat

_AFTER_YEAR: Final = 3000  # as --now: dates from here on are out of what licsync plans for
_MAX_COUNT: Final = 1_000_000_000  # no licence holds a billion seats
_MAX_ENTITY_DEPTH: Final = 32  # a system rule is four levels deep; it is written back as is
_ID_SHOWN: Final = 60
# Live servers' "never" (SQL Server's smallest datetime), the quarantineEnd of almost every seat.
_SQL_NEVER: Final = "1753-01-01T00:00:00.000Z"


def parse_about(about: Any, *, path: str = paths.ABOUT) -> str:
    """The ``buildVersion`` of ``/qrs/about``."""
    if not isinstance(about, dict):
        raise _shape_error(path, "an object", about)
    try:
        return _text(about, "buildVersion")
    except _Bad as bad:
        raise bad.error(path, "the about object") from None


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
    # One string per distinct value: 100,000 users share a few directories and a few hundred
    # group names, and a copy of each per user was 25 MB of the model.
    shared: dict[str, str] = {}
    share = shared.setdefault
    # Both caches hold only text already checked (a str without lone surrogates): a value found
    # in one needs no checking again.
    known = shared.get
    fold = folded.get
    for index, item in enumerate(items):
        if item.__class__ is not dict:
            raise _shape_error(path, f"objects in the array, at entity #{index}", item)
        try:
            found = _fast_user(item, known, fold, shared)
        except (_Defer, KeyError, TypeError, ValueError, OverflowError):
            found = None
        if found is None:
            found = _careful_user(item, index, path, folded, share)
        key, user = found
        if key not in users:
            users[key] = user
    return users


def _fast_user(
    item: dict[str, Any],
    known: Callable[[Any], str | None],
    fold: Callable[[Any], str | None],
    shared: dict[str, str],
) -> tuple[str, ActualUser]:
    """A user of the usual shape, read with few checks and calls (13,000 to 100,000 a read).

    Raises ``_Defer`` (or the ``KeyError``/``TypeError``/``ValueError`` of an absent field or an
    odd value) at anything unusual: :func:`_careful_user` then reads the user, and gives the same
    value or the error. QRS sends every field of a ``/full`` entity, null or not: one absent is
    unusual too, and so are a directory, attribute type or property name not met before (the
    careful reading checks them and adds them to the caches), tags and roles (rare).
    """
    directory = known(item["userDirectory"])
    userid = item["userId"]
    user_id = item["id"]
    name = item["name"]
    if (
        directory is None
        or userid.__class__ is not str
        or (not userid.isascii() and _unencodable(userid))
        or user_id.__class__ is not str
        or (not user_id.isascii() and _unencodable(user_id))
    ):
        raise _Defer
    if name is None:
        name = ""
    elif name.__class__ is not str or (not name.isascii() and _unencodable(name)):
        raise _Defer

    attributes = item["attributes"]
    attribute_map: Mapping[str, tuple[str, ...]]
    if attributes.__class__ is list:
        attribute_map = _fast_attributes(attributes, fold, known, shared) if attributes else _EMPTY
    elif attributes is None:
        attribute_map = _EMPTY
    else:
        raise _Defer
    properties = item["customProperties"]
    property_map: Mapping[str, tuple[str, ...]]
    if properties.__class__ is list:
        property_map = _fast_properties(properties, fold) if properties else _EMPTY
    elif properties is None:
        property_map = _EMPTY
    else:
        raise _Defer

    # Tags and roles are rare (a few users in thousands): any is left to the careful reading.
    tags = item["tags"]
    roles = item["roles"]
    if (tags is not None and (tags.__class__ is not list or tags)) or (
        roles is not None and (roles.__class__ is not list or roles)
    ):
        raise _Defer

    user = new_actual_user(
        user_id,
        directory,
        userid,
        name,
        item["inactive"] is True,
        item["removedExternally"] is True,
        item["blacklisted"] is True,
        (),
        attribute_map,
        property_map,
        (),
        _fast_time(item["createdDate"]),
    )
    # licsync.identity.user_key, inline (a test holds them together).
    return f"{directory}\\{userid}".casefold(), user


def _fast_attributes(
    attributes: list[Any],
    fold: Callable[[Any], str | None],
    known: Callable[[Any], str | None],
    shared: dict[str, str],
) -> dict[str, tuple[str, ...]]:
    """:func:`_group_attributes` for :func:`_fast_user` (raises as it does)."""
    grouped: dict[str, tuple[str, ...]] = {}
    held_get = grouped.get
    for attribute in attributes:
        # Not a dict: the subscript raises TypeError (any other JSON value).
        key = fold(attribute["attributeType"])
        if key is None:
            raise _Defer
        value = attribute["attributeValue"]
        if value is not None:
            cached = known(value)
            if cached is None:
                if value.__class__ is not str or (not value.isascii() and _unencodable(value)):
                    raise _Defer
                shared[value] = value
            else:
                value = cached
            held = held_get(key)
            grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _fast_properties(
    properties: list[Any], fold: Callable[[Any], str | None]
) -> dict[str, tuple[str, ...]]:
    """:func:`_group_properties` for :func:`_fast_user` (raises as it does)."""
    grouped: dict[str, tuple[str, ...]] = {}
    held_get = grouped.get
    for prop in properties:
        definition = prop["definition"]
        if definition.__class__ is not dict:
            raise _Defer
        key = fold(definition["name"])
        value = prop["value"]
        if (
            key is None
            or value.__class__ is not str
            or (not value.isascii() and _unencodable(value))
        ):
            raise _Defer
        held = held_get(key)
        grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _careful_user(
    item: dict[str, Any],
    index: int,
    path: str,
    folded: dict[str, str],
    share: Callable[[str, str], str],
) -> tuple[str, ActualUser]:
    """A user read field by field, every field checked: the error names the first bad one."""
    parse_time = _time
    try:
        directory = share(text := _text(item, "userDirectory"), text)
        userid = _text(item, "userId")
        attributes = _list(item, "attributes")
        attribute_map = _group_attributes(attributes, folded, share) if attributes else _EMPTY
        properties = _list(item, "customProperties")
        property_map = _group_properties(properties, folded) if properties else _EMPTY
        tags = _list(item, "tags")
        roles = _list(item, "roles")
        if "removedExternally" not in item:
            raise _Bad("removedExternally", None)
        if "blacklisted" not in item:
            raise _Bad("blacklisted", None)
        user = ActualUser(
            id=_text(item, "id"),
            directory=directory,
            userid=userid,
            name=_optional_text(item, "name") or "",
            inactive=item.get("inactive") is True,
            removed_externally=item["removedExternally"] is True,
            blocked=item["blacklisted"] is True,
            roles=_texts(roles, "roles[]") if roles else (),
            attributes=attribute_map,
            custom_properties=property_map,
            tags=tuple([_text(_object(tag, "tags[]"), "name", "tags[].name") for tag in tags])
            if tags
            else (),
            created=parse_time(item.get("createdDate"), "createdDate"),
        )
    except _Bad as bad:
        raise bad.error(path, _describe(index, item)) from None
    return user_key(directory, userid), user


def _group_attributes(
    attributes: list[Any], folded: dict[str, str], share: Callable[[str, str], str]
) -> Mapping[str, tuple[str, ...]]:
    # Tuples built directly: users hold one or two values per type, so growing a tuple is
    # cheaper than a list per type plus a second dict to convert them.
    grouped: dict[str, tuple[str, ...]] = {}
    for attribute in attributes:
        _object(attribute, "attributes[]")
        kind = _text(attribute, "attributeType", "attributes[].attributeType")
        key = folded.get(kind)
        if key is None:
            key = folded[kind] = kind.casefold()
        value = _optional_text(attribute, "attributeValue", "attributes[].attributeValue")
        if value is not None:
            value = share(value, value)
            held = grouped.get(key)
            grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _group_properties(
    properties: list[Any], folded: dict[str, str]
) -> Mapping[str, tuple[str, ...]]:
    grouped: dict[str, tuple[str, ...]] = {}
    for prop in properties:
        _object(prop, "customProperties[]")
        definition = prop.get("definition")
        if definition is None:
            raise _Bad("customProperties[].definition", None)
        _object(definition, "customProperties[].definition")
        name = _text(definition, "name", "customProperties[].definition.name")
        key = folded.get(name)
        if key is None:
            key = folded[name] = name.casefold()
        value = _text(prop, "value", "customProperties[].value")
        held = grouped.get(key)
        grouped[key] = (value,) if held is None else (*held, value)
    return grouped


def _time(text: Any, field: str) -> dt.datetime | None:
    """:func:`licsync.timeutil.parse_qrs_datetime` with a fast path for QRS's own spelling."""
    # QRS writes UTC with "Z": fromisoformat already gives an aware UTC value then, so the
    # general function's conversion is skipped (100,000 users, 180,000 allocation dates).
    value: dt.datetime | None
    try:
        if text.__class__ is str and text.endswith("Z"):
            if text.startswith("0001-"):
                return None
            value = _fromisoformat(text)
            if value.year < _NEVER_BEFORE_YEAR:
                return None
        elif text is None or text.__class__ is str:
            value = parse_qrs_datetime(text)
            if value is None:
                return None
        else:
            raise _Bad(field, text, "an ISO 8601 date-time")
    except (ValueError, OverflowError):
        raise _Bad(field, text, "an ISO 8601 date-time") from None
    if value.year >= _AFTER_YEAR:
        # The planner adds days and years to these; near year 9999 that would overflow.
        raise _Bad(field, text, f"a date before the year {_AFTER_YEAR}")
    return value


def parse_allocations(
    items: Any, access_type: AccessType, *, path: str | None = None
) -> tuple[ActualAllocation, ...]:
    """Allocations from ``/qrs/license/<type>accesstype/full``, in QRS order; the first row
    that cannot be read raises (:func:`read_allocations` reports such rows instead).

    A deleted user's allocation (kept while quarantined) has ``user: null`` and names the user in
    ``deletedUserDirectory`` / ``deletedUserId``; its ``user_id`` is None. ``lastUsed`` of
    ``0001-01-01...`` or ``1753-01-01...`` (live servers' "never"), or absent, means never used.
    """
    allocations, _ = _allocations(items, access_type, path, strict=True)
    return allocations


def read_allocations(
    items: Any, access_type: AccessType, *, path: str | None = None
) -> tuple[tuple[ActualAllocation, ...], tuple[UnreadableRow, ...]]:
    """Like :func:`parse_allocations`, but a row that cannot be read (e.g. ``user: null`` and
    empty deleted-user fields) becomes an :class:`~licsync.actual.UnreadableRow` naming its id
    and why, and the rest is read: one odd row must not stop a plan. An answer that is not an
    array of objects still raises."""
    return _allocations(items, access_type, path, strict=False)


def _allocations(
    items: Any, access_type: AccessType, path: str | None, *, strict: bool
) -> tuple[tuple[ActualAllocation, ...], tuple[UnreadableRow, ...]]:
    where = path or paths.access_type_full(access_type)
    if not isinstance(items, list | Iterator):  # a list, or the elements of a streamed one
        raise _shape_error(where, "an array", items)
    parse_time = _time
    result: list[ActualAllocation] = []
    unreadable: list[UnreadableRow] = []
    append = result.append
    # The few directories, one string each (checked text only, as in parse_users).
    directories: dict[str, str] = {}
    for index, item in enumerate(items):
        if item.__class__ is not dict:
            if strict:
                raise _shape_error(where, f"objects in the array, at entity #{index}", item)
            unreadable.append(
                UnreadableRow(access_type, index, None, f"{_kind(item)}, not an object")
            )
            continue
        try:
            append(_fast_allocation(item, access_type, directories))
            continue
        except (_Defer, KeyError, TypeError, ValueError, OverflowError):
            pass  # read again, carefully
        try:
            user = item.get("user")
            if user is not None:
                _object(user, "user")
                user_id = _optional_text(user, "id", "user.id")
                directory = _text(user, "userDirectory", "user.userDirectory")
                userid = _text(user, "userId", "user.userId")
            else:
                user_id = None
                deleted_directory = _optional_text(item, "deletedUserDirectory")
                deleted_userid = _optional_text(item, "deletedUserId")
                if not deleted_directory or not deleted_userid:
                    raise _Bad("user (or deletedUserDirectory/deletedUserId)", None)
                directory, userid = deleted_directory, deleted_userid
            append(
                ActualAllocation(
                    id=_text(item, "id"),
                    access_type=access_type,
                    user_id=user_id,
                    directory=directory,
                    userid=userid,
                    last_used=parse_time(item.get("lastUsed"), "lastUsed"),
                    created=parse_time(item.get("createdDate"), "createdDate"),
                    quarantined=item.get("quarantined") is True,
                    quarantine_end=parse_time(item.get("quarantineEnd"), "quarantineEnd"),
                    excess=item.get("excess") is True,
                    modified_date=_optional_text(item, "modifiedDate") or "",
                )
            )
        except _Bad as bad:
            if strict:
                raise bad.error(where, _describe(index, item)) from None
            unreadable.append(UnreadableRow(access_type, index, _row_id(item), bad.why()))
    return tuple(result), tuple(unreadable)


def _fast_allocation(
    item: dict[str, Any], access_type: AccessType, directories: dict[str, str]
) -> ActualAllocation:
    """An allocation of the usual shape (a live user's), read with few checks and calls.

    Raises ``_Defer`` (or the ``KeyError``/``TypeError``/``ValueError`` of an absent field or an
    odd value) at anything unusual, a deleted user's allocation included: the careful reading in
    :func:`_allocations` then reads it, and gives the same value or the error.
    """
    user = item["user"]  # not an object (null included): the subscripts raise TypeError
    user_id = user["id"]
    directory = directories.get(user["userDirectory"])
    userid = user["userId"]
    seat_id = item["id"]
    modified = item["modifiedDate"]
    if directory is None:
        directory = user["userDirectory"]
        if directory.__class__ is not str or (not directory.isascii() and _unencodable(directory)):
            raise _Defer
        directories[directory] = directory
    if (
        (
            user_id is not None
            and (user_id.__class__ is not str or (not user_id.isascii() and _unencodable(user_id)))
        )
        or userid.__class__ is not str
        or (not userid.isascii() and _unencodable(userid))
        or seat_id.__class__ is not str
        or (not seat_id.isascii() and _unencodable(seat_id))
    ):
        raise _Defer
    if modified is None:
        modified = ""
    elif modified.__class__ is not str or (not modified.isascii() and _unencodable(modified)):
        raise _Defer
    return new_actual_allocation(
        seat_id,
        access_type,
        user_id,
        directory,
        userid,
        _fast_time(item["lastUsed"]),
        _fast_time(item["createdDate"]),
        item["quarantined"] is True,
        None if (end := item["quarantineEnd"]) == _SQL_NEVER else _fast_time(end),
        item["excess"] is True,
        modified,
    )


def _fast_time(text: Any) -> dt.datetime | None:
    """:func:`_time` of QRS's own spelling (UTC, "Z") or null; ``_Defer`` (or the ValueError of
    ``fromisoformat``) for anything else, which :func:`_time` then reads or reports."""
    if text.__class__ is str and text.endswith("Z"):
        if text.startswith("0001-"):
            return None
        value = _fromisoformat(text)
        year = value.year
        if year < _NEVER_BEFORE_YEAR:
            return None
        if year < _AFTER_YEAR:
            return value
        raise _Defer
    if text is None:
        return None
    raise _Defer


def _row_id(item: dict[str, Any]) -> str | None:
    """A row's id, when it is text licsync can show (escaped when not GUID-like)."""
    value = item.get("id")
    if value.__class__ is not str or not value or _unencodable(value):
        return None
    shown: str = value if len(value) <= _ID_SHOWN else value[:_ID_SHOWN] + "..."
    return shown if _plain_id(shown) else repr(shown)


def parse_licence(value: Any, *, path: str = paths.LICENSE) -> Licence:
    """The licence's kind and expiry from ``GET /qrs/license`` (an object; a list's first).

    ``key`` set: a signed licence key; ``serial`` set: a serial and control number; neither:
    unknown. Only the kind is kept: the serial, control number and key are secrets.
    """
    if isinstance(value, list):
        value = value[0] if value else {}
    if not isinstance(value, dict):
        raise _shape_error(path, "an object", value)
    try:
        key = _optional_text(value, "key") or ""
        serial = _optional_text(value, "serial") or ""
        reason = _optional_text(value, "expiredReason") or ""
    except _Bad as bad:
        raise bad.error(path, "the licence") from None
    if key.strip():
        kind = LicenceKind.KEY
    elif serial.strip():
        kind = LicenceKind.SERIAL
    else:
        kind = LicenceKind.UNKNOWN
    return Licence(
        kind=kind,
        expired=value.get("isExpired") is True,
        expired_reason=reason,
        subscription=value.get("isSubscription") is True,
    )


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
                raise _shape_error(where, f"objects in the array, at entity #{index}", group)
            try:
                group_id = _text(group, "id")
                _optional_text(group, "name")
            except _Bad as bad:
                raise bad.error(where, _describe(index, group)) from None
            table[group_id.lower()] = MappingProxyType(group)
        by_id[kind] = table
    if not isinstance(system_rules, list):
        raise _shape_error(rules_path, "an array", system_rules)

    found: dict[AccessType, list[ActualRule]] = {kind: [] for kind in by_id}
    claimed: set[tuple[AccessType, str]] = set()
    for index, rule in enumerate(system_rules):
        if not isinstance(rule, dict):
            raise _shape_error(rules_path, f"objects in the array, at entity #{index}", rule)
        try:
            reference = access_group_reference(_text(rule, "resourceFilter"))
            if reference is None or reference[0] not in by_id:
                continue
            kind, guid = reference
            group = by_id[kind].get(guid)
            claimed.add((kind, guid))
            context_value = rule.get("ruleContext", 0)
            try:
                context = RuleContext.from_qrs(context_value)
            except ValueError:
                raise _Bad("ruleContext", context_value, "0, 1 or 2") from None
            actions = rule.get("actions")
            if actions is None:
                raise _Bad("actions", None)
            if actions.__class__ is not int:
                raise _Bad("actions", actions, "a whole number")
            _check_entity(rule)
            found[kind].append(
                ActualRule(
                    access_type=kind,
                    name=_text(rule, "name"),
                    condition=_optional_text(rule, "rule") or "",
                    context=context,
                    disabled=rule.get("disabled") is True,
                    comment=_optional_text(rule, "comment") or "",
                    rule_id=_text(rule, "id"),
                    group_id=group["id"] if group is not None else None,
                    actions=actions,
                    rule_entity=MappingProxyType(rule),
                )
            )
        except _Bad as bad:
            raise bad.error(rules_path, _describe(index, rule)) from None

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
                **{key: _count(block, key, f"{name}.{key}") for key in _CAPACITY_COUNTS},
            )
        except _Bad as bad:
            raise bad.error(path, "the overview") from None
    return result


# The overview's counts, named as Capacity's fields.
_CAPACITY_COUNTS = ("total", "allocated", "used", "quarantined", "excess", "available")


# -- checking fields ---------------------------------------------------------------------------


class _Defer(Exception):
    """A fast reading met something unusual: the careful reading takes over."""


class _Bad(Exception):
    """A field a parser uses is absent (``value`` None and no ``expected``) or of a wrong kind."""

    def __init__(self, field: str, value: Any, expected: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(field)

    def why(self) -> str:
        """What is wrong, without the endpoint: the field and what it holds (never the value)."""
        if not self.expected:
            return f"lacks the field {self.field!r}"
        return f"has {_kind(self.value)} in the field {self.field!r}, where QRS has {self.expected}"

    def error(self, path: str, what: str) -> QrsResponseError:
        if not self.expected:
            return _missing(path, what, self.field)
        message = (
            f"GET {path}: {what} has {_kind(self.value)} in the field {self.field!r}, where the "
            f"QRS spec has {self.expected}"
        )
        return QrsResponseError(message, method="GET", path=path)


def _kind(value: Any) -> str:
    """What a JSON value is, in words; never the value itself (it may be huge or hostile)."""
    if value is OUT_OF_RANGE:
        return "a number out of range"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        if _unencodable(value):
            return "text with a lone surrogate"
        return "text that is not one" if value else "empty text"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: Any, field: str) -> dict[str, Any]:
    if value.__class__ is not dict:
        raise _Bad(field, value, "an object")
    result: dict[str, Any] = value
    return result


def _unencodable(value: str) -> bool:
    """True for text holding a lone surrogate (``"\\ud800"`` in JSON): no UTF-8 can carry it,
    so it could be neither printed, nor hashed into the checksum, nor written back."""
    if value.isascii():  # O(1) for str: almost every QRS value
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_NOT_UNICODE = "text (Unicode, without lone surrogates)"


def _text(item: dict[str, Any], key: str, field: str = "") -> str:
    value = item.get(key)
    if value.__class__ is str:
        # isascii() first, inline: a million fields at 100,000 users, almost all ASCII.
        if not value.isascii() and _unencodable(value):
            raise _Bad(field or key, value, _NOT_UNICODE)
        result: str = value
        return result
    if value is None:
        raise _Bad(field or key, None)
    raise _Bad(field or key, value, "text")


def _optional_text(item: dict[str, Any], key: str, field: str = "") -> str | None:
    value = item.get(key)
    if value is None or value.__class__ is str:
        if value is not None and not value.isascii() and _unencodable(value):
            raise _Bad(field or key, value, _NOT_UNICODE)
        result: str | None = value
        return result
    raise _Bad(field or key, value, "text")


def _list(item: dict[str, Any], key: str) -> list[Any] | None:
    value = item.get(key)
    if value is None or value.__class__ is list:
        result: list[Any] | None = value
        return result
    raise _Bad(key, value, "an array")


def _texts(values: list[Any], field: str) -> tuple[str, ...]:
    for value in values:
        if value.__class__ is not str:
            raise _Bad(field, value, "text")
        if _unencodable(value):
            raise _Bad(field, value, _NOT_UNICODE)
    return tuple(values)


def _count(block: dict[str, Any], key: str, field: str) -> int:
    value = block.get(key)
    if value is None:
        return 0  # the spec marks none of the numbers required
    if value.__class__ is not int or not 0 <= value <= _MAX_COUNT:
        raise _Bad(field, value, f"a whole number from 0 to {_MAX_COUNT:,}")
    result: int = value
    return result


def _check_entity(rule: dict[str, Any]) -> None:
    """A rule is written back whole on update: it must hold nothing JSON cannot carry back."""
    stack: list[tuple[str, Any, int]] = [(key, value, 1) for key, value in rule.items()]
    while stack:
        field, value, depth = stack.pop()
        if value is OUT_OF_RANGE:
            raise _Bad(field, value, "a number JSON can carry")
        if depth > _MAX_ENTITY_DEPTH:
            raise _Bad(field, value, f"at most {_MAX_ENTITY_DEPTH} levels of nesting")
        if isinstance(value, str) and _unencodable(value):
            raise _Bad(field, value, _NOT_UNICODE)
        if isinstance(value, dict):
            if any(_unencodable(key) for key in value):
                raise _Bad(field, value, "keys of text (Unicode, without lone surrogates)")
            stack.extend((f"{field}.{k}", v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{field}[]", v, depth + 1) for v in value)


# -- errors ------------------------------------------------------------------------------------


def _describe(index: int, item: Any) -> str:
    entity_id = item.get("id") if isinstance(item, dict) else None
    if not isinstance(entity_id, str):
        return f"entity #{index}"
    shown = entity_id if len(entity_id) <= _ID_SHOWN else entity_id[:_ID_SHOWN] + "..."
    # An id is QRS's text: anything but a GUID-like one is shown escaped (repr), so a line
    # break or a terminal escape in it cannot reach the terminal.
    return f"entity #{index} (id {shown if _plain_id(shown) else repr(shown)})"


def _plain_id(text: str) -> bool:
    return all(ch in _HEX or (ch.isalnum() and ch.isascii()) for ch in text.lower())


def _missing(path: str, what: str, field: str) -> QrsResponseError:
    message = f"GET {path}: {what} lacks the field {field!r}, which licsync and the QRS spec need"
    return QrsResponseError(message, method="GET", path=path)


def _shape_error(path: str, expected: str, value: Any) -> QrsResponseError:
    message = f"GET {path}: expected {expected}, got {_kind(value)}"
    return QrsResponseError(message, method="GET", path=path)
