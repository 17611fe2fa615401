"""Every field of every entity the parsers read, replaced by every wrong kind of JSON value:
the parser either accepts it (a field it does not use, or a value it may take) and returns
values of the documented types, or raises a ``QrsResponseError`` naming the endpoint, the entity
and the field. Never ``TypeError``, ``AttributeError``, ``OverflowError`` or ``RecursionError``.

The answers go through the real decoder (bytes, as the client hands them over), so ``1e400``,
``NaN`` and 5,000-digit numbers are what the parsers see of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import typing
from collections.abc import Callable
from typing import Any

import pytest

from hostile_json import places, replaced
from licsync.actual import ActualAllocation, ActualRule, ActualUser, Capacity
from licsync.errors import QrsResponseError
from licsync.identity import AccessType
from licsync.qrs import paths
from licsync.qrs.jsonarray import NotAnArray, decode, iter_json_array
from licsync.qrs.parse import (
    parse_about,
    parse_allocations,
    parse_capacity,
    parse_rules,
    parse_users,
)

PRO = AccessType.PROFESSIONAL
GROUP = "0f4a6a6e-5a3c-4f1e-9a59-2c0d8d7b1e01"

USER = {
    "id": "3b4a0f4e-0000-4000-8000-000000000001",
    "userId": "alice",
    "userDirectory": "CORP",
    "name": "Alice",
    "inactive": False,
    "removedExternally": False,
    "blacklisted": False,
    "roles": ["ContentAdmin"],
    "attributes": [{"attributeType": "Group", "attributeValue": "Sales"}],
    "customProperties": [{"definition": {"name": "Team"}, "value": "BI"}],
    "tags": [{"name": "vip"}],
    "createdDate": "2024-01-01T00:00:00.000Z",
}
ALLOCATION = {
    "id": "a-1",
    "user": {"id": "u-1", "userId": "alice", "userDirectory": "CORP"},
    "lastUsed": "2024-03-01T10:00:00.000Z",
    "createdDate": "2024-01-01T10:00:00.000Z",
    "quarantined": False,
    "quarantineEnd": "0001-01-01T00:00:00.000Z",
    "excess": False,
    "modifiedDate": "2024-03-01T10:00:00.123Z",
}
DELETED_ALLOCATION = {
    "id": "a-2",
    "user": None,
    "deletedUserDirectory": "CORP",
    "deletedUserId": "bob",
    "lastUsed": "2024-03-01T10:00:00+01:00",
}
RULE = {
    "id": "r-1",
    "name": "Sales pros",
    "category": "License",
    "rule": 'user.group = "Sales"',
    "resourceFilter": f"License.ProfessionalAccessGroup_{GROUP}",
    "actions": 1,
    "ruleContext": 1,
    "disabled": False,
    "comment": "pipeline apps",
}
GROUP_ENTITY = {"id": GROUP, "name": "Sales pros"}
OVERVIEW = {
    "professionalAccess": {"enabled": True, "total": 10, "allocated": 3, "used": 2},
    "analyzerAccess": {"enabled": True, "total": 5, "available": 5},
}
ABOUT = {"buildVersion": "14.254.6"}

# Each kind of wrong value, as raw JSON text.
HOSTILE = {
    "null": "null",
    "number": "42",
    "negative": "-1",
    "fraction": "0.5",
    "bool": "true",
    "text": '"x"',
    "empty text": '""',
    "array": '["x"]',
    "empty array": "[]",
    "object": '{"x": "y"}',
    "empty object": "{}",
    "1e400": "1e400",
    "NaN": "NaN",
    "5000 digits": "9" * 5000,
    "far future": '"9999-12-31T23:59:59.999Z"',
    "year 10000": '"10000-01-01T00:00:00Z"',
    "deep": "[" * 5000 + "]" * 5000,
    "lone surrogate": '"x\\ud800y"',
    "surrogate key": '{"\\udfff": 1}',
}


def _with(entity: Any, where: tuple[Any, ...], raw: str) -> bytes:
    """``entity`` as JSON bytes with the value at ``where`` replaced by the raw JSON ``raw``."""
    return replaced(entity, where, raw).encode()


def _cases(entity: Any) -> list[tuple[tuple[Any, ...], str]]:
    return [(where, name) for where in places(entity) for name in HOSTILE]


def _check_types(value: Any) -> None:
    """Every field of a returned actual-state value has its declared type (str is str...)."""
    hints = typing.get_type_hints(type(value))
    for field in dataclasses.fields(value):
        held = getattr(value, field.name)
        hint = hints[field.name]
        if isinstance(held, str):
            held.encode("utf-8")  # printable, hashable into the checksum, writable back
        if hint is str:
            assert isinstance(held, str), (field.name, held)
        elif hint == (str | None):
            assert held is None or isinstance(held, str), (field.name, held)
        elif hint is bool:
            assert isinstance(held, bool), (field.name, held)
        elif hint is int:
            assert type(held) is int, (field.name, held)
        elif hint == (dt.datetime | None):
            assert held is None or (isinstance(held, dt.datetime) and held.year < 3000)
        elif hint == tuple[str, ...]:
            assert all(isinstance(v, str) for v in held), (field.name, held)
        elif field.name in ("attributes", "custom_properties"):
            for key, values in held.items():
                assert isinstance(key, str)
                assert all(isinstance(v, str) for v in values), (field.name, held)


def _names_the_endpoint(exc: QrsResponseError, path: str) -> None:
    message = str(exc)
    assert message.startswith(f"GET {path}: "), message
    assert "\n" not in message
    assert "\x1b" not in message


def _run(parse: Callable[[], Any], path: str) -> None:
    try:
        result = parse()
    except QrsResponseError as exc:
        _names_the_endpoint(exc, path)
        return
    values: list[Any] = []
    if isinstance(result, dict):
        for item in result.values():
            values.extend(item if isinstance(item, tuple) else [item])
    elif isinstance(result, tuple):
        values.extend(result)
    for value in values:
        if dataclasses.is_dataclass(value):
            _check_types(value)


def _array(body: bytes, path: str) -> Any:
    return iter_json_array(body, method="GET", path=path)


@pytest.mark.parametrize(("where", "kind"), _cases(USER))
def test_users(where: tuple[Any, ...], kind: str) -> None:
    """A user with one hostile field."""
    body = b"[" + _with(USER, where, HOSTILE[kind]) + b"]"
    _run(lambda: parse_users(_array(body, paths.USER_FULL)), paths.USER_FULL)


@pytest.mark.parametrize(("where", "kind"), _cases(ALLOCATION) + _cases(DELETED_ALLOCATION))
def test_allocations(where: tuple[Any, ...], kind: str) -> None:
    """An allocation (of a user, or of a deleted one) with one hostile field."""
    path = paths.access_type_full(PRO)
    for entity in (ALLOCATION, DELETED_ALLOCATION):
        try:
            body = b"[" + _with(entity, where, HOSTILE[kind]) + b"]"
        except (KeyError, IndexError, TypeError):
            continue  # the place belongs to the other entity
        _run(lambda body=body: parse_allocations(_array(body, path), PRO), path)


@pytest.mark.parametrize(("where", "kind"), _cases(RULE))
def test_rules(where: tuple[Any, ...], kind: str) -> None:
    """A licence rule with one hostile field."""
    body = b"[" + _with(RULE, where, HOSTILE[kind]) + b"]"

    def parse() -> Any:
        rules = decode(body, method="GET", path=paths.SYSTEM_RULE_FULL)
        return parse_rules({PRO: [GROUP_ENTITY]}, rules)

    _run(parse, paths.SYSTEM_RULE_FULL)


@pytest.mark.parametrize(("where", "kind"), _cases(GROUP_ENTITY))
def test_groups(where: tuple[Any, ...], kind: str) -> None:
    """An access group with one hostile field."""
    path = paths.access_group_full(PRO)
    body = b"[" + _with(GROUP_ENTITY, where, HOSTILE[kind]) + b"]"
    _run(lambda: parse_rules({PRO: decode(body, method="GET", path=path)}, []), path)


@pytest.mark.parametrize(("where", "kind"), _cases(OVERVIEW))
def test_capacity(where: tuple[Any, ...], kind: str) -> None:
    """The access type overview with one hostile field."""
    path = paths.ACCESS_TYPE_OVERVIEW
    body = _with(OVERVIEW, where, HOSTILE[kind])
    _run(lambda: parse_capacity(decode(body, method="GET", path=path)), path)


@pytest.mark.parametrize(("where", "kind"), _cases(ABOUT))
def test_about(where: tuple[Any, ...], kind: str) -> None:
    """/qrs/about with a hostile build version."""
    body = _with(ABOUT, where, HOSTILE[kind])
    _run(lambda: parse_about(decode(body, method="GET", path=paths.ABOUT)), paths.ABOUT)


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize(
    "path",
    [
        paths.USER_FULL,
        paths.access_type_full(PRO),
        paths.access_group_full(PRO),
        paths.SYSTEM_RULE_FULL,
        paths.ACCESS_TYPE_OVERVIEW,
        paths.ABOUT,
    ],
)
def test_whole_answers_of_the_wrong_kind(path: str, kind: str) -> None:
    """The whole answer, or each element of an array answer, of a wrong kind."""
    raw = HOSTILE[kind].encode()
    for body in (raw, b"[" + raw + b"]"):

        def parse(body: bytes = body) -> Any:
            if path == paths.USER_FULL:
                return parse_users(_array(body, path))
            if path == paths.access_type_full(PRO):
                return parse_allocations(_array(body, path), PRO)
            value = decode(body, method="GET", path=path)
            if path == paths.access_group_full(PRO):
                return parse_rules({PRO: value}, [])
            if path == paths.SYSTEM_RULE_FULL:
                return parse_rules({PRO: []}, value)
            if path == paths.ACCESS_TYPE_OVERVIEW:
                return parse_capacity(value)
            return parse_about(value)

        with contextlib.suppress(NotAnArray):  # the reader translates it (the CLI cases)
            _run(parse, path)


@pytest.mark.parametrize(
    ("entity", "field", "raw", "said"),
    [
        (USER, "name", "12", "a number in the field 'name', where the QRS spec has text"),
        (USER, "userId", "[]", "an array in the field 'userId'"),
        (USER, "attributes", "{}", "an object in the field 'attributes'"),
        (USER, "createdDate", '"9999-12-31T23:59:59Z"', "'createdDate'"),
        (ALLOCATION, "lastUsed", "1e400", "a number out of range in the field 'lastUsed'"),
        (ALLOCATION, "user", '"alice"', "text that is not one in the field 'user'"),
    ],
)
def test_messages_name_entity_and_field(entity: Any, field: str, raw: str, said: str) -> None:
    """What the message says: the endpoint, the entity by index and id, the field, the kind."""
    if entity is USER:
        path = paths.USER_FULL
        parse: Callable[[bytes], Any] = lambda body: parse_users(_array(body, path))  # noqa: E731
    else:
        path = paths.access_type_full(PRO)
        parse = lambda body: parse_allocations(_array(body, path), PRO)  # noqa: E731
    body = b"[" + _with(entity, (field,), raw) + b"]"
    with pytest.raises(QrsResponseError) as info:
        parse(body)
    message = str(info.value)
    assert message.startswith(f"GET {path}: entity #0 (id "), message
    assert said in message


def test_capacity_out_of_range_names_the_block_and_number() -> None:
    """``total: 1e400`` was an OverflowError (exit 70)."""
    body = b'{"professionalAccess": {"total": 1e400}}'
    with pytest.raises(QrsResponseError, match=r"professionalAccess\.total"):
        parse_capacity(decode(body, method="GET", path=paths.ACCESS_TYPE_OVERVIEW))


def test_a_hostile_id_is_shown_escaped() -> None:
    """An entity id holding a line break and an escape sequence cannot forge a line."""
    entity = dict(USER, id="x\n\x1b[2JFAKE: Safety: OK", userId=5)
    body = json.dumps([entity]).encode()
    with pytest.raises(QrsResponseError) as info:
        parse_users(_array(body, paths.USER_FULL))
    assert "\n" not in str(info.value)
    assert "\x1b" not in str(info.value)
    assert "\\n" in str(info.value)


_ = (ActualUser, ActualAllocation, ActualRule, Capacity)
