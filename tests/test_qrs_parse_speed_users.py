"""The fast reading of users and allocations gives what the careful reading gives.

``parse_users`` and ``read_allocations`` read each entity of the usual shape with few checks
and calls, and leave anything unusual to the careful, field-by-field reading. Here every field
of an entity, replaced by every wrong kind of JSON value (or removed), is read both ways (the
fast reading switched off by a patch): the same values, or the same error, word for word.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hostile_json import places, replaced
from licsync.actual import ActualAllocation, ActualUser, new_actual_allocation, new_actual_user
from licsync.errors import QrsResponseError
from licsync.identity import AccessType, user_key
from licsync.qrs import parse, paths
from licsync.qrs.jsonarray import iter_json_array

PRO = AccessType.PROFESSIONAL

USER = {
    "id": "3b4a0f4e-0000-4000-8000-000000000001",
    "createdDate": "2024-01-01T00:00:00.000Z",
    "customProperties": [
        {"definition": {"name": "Team"}, "value": "BI"},
        {"definition": {"name": "TEAM"}, "value": "BI-2"},
    ],
    "userId": "alice",
    "userDirectory": "CORP",
    "name": "Alice",
    "roles": [],
    "attributes": [
        {"attributeType": "Group", "attributeValue": "Sales"},
        {"attributeType": "email", "attributeValue": None},
        {"attributeType": "GROUP", "attributeValue": "Sales EMEA"},
    ],
    "inactive": False,
    "removedExternally": False,
    "blacklisted": False,
    "tags": [],
}
# The first user of each answer below: it fills the caches the fast reading relies on.
WARM = {**USER, "id": "w", "userId": "warm", "attributes": [*USER["attributes"]]}
ALLOCATION = {
    "id": "a-1",
    "createdDate": "2024-01-01T10:00:00.000Z",
    "user": {"id": "u-1", "userId": "alice", "userDirectory": "CORP", "name": "Alice"},
    "lastUsed": "2024-03-01T10:00:00.000Z",
    "excess": False,
    "quarantined": False,
    "quarantineEnd": "1753-01-01T00:00:00.000Z",
    "deletedUserId": "",
    "deletedUserDirectory": "",
    "modifiedDate": "2024-03-01T10:00:00.123Z",
}

HOSTILE = [
    "null",
    "42",
    "0.5",
    "true",
    "false",
    '""',
    '"x"',
    "[]",
    '["x"]',
    "{}",
    '{"x": "y"}',
    "1e400",
    "NaN",
    "9" * 5000,
    '"x\\ud800y"',
    '"\\u00e9t\\u00e9"',
    '"\\u0130\\u00df"',
    '"0001-01-01T00:00:00.000Z"',
    '"0001-xxZ"',
    '"1753-01-01T00:00:00.000Z"',
    '"1899-12-31T23:59:59Z"',
    '"2024-13-01T00:00:00Z"',
    '"2024-01-01T00:00:00+01:00"',
    '"2999-12-31T23:59:59.999Z"',
    '"3000-01-01T00:00:00Z"',
    '"9999-12-31T23:59:59.999Z"',
    '"Group"',
    '"CORP"',
    '[{"name": "vip"}]',
    "[1]",
    '[{"attributeType": "Group", "attributeValue": "x"}]',
    '[{"definition": {"name": "team"}, "value": "v"}]',
    "REMOVE",
]


def _with(entity: Any, where: tuple[Any, ...], raw: str) -> str:
    return replaced(entity, where, None if raw == "REMOVE" else raw)


def _both_ways(
    monkeypatch: pytest.MonkeyPatch, slow_name: str, read: Callable[[], Any]
) -> tuple[Any, Any]:
    """``read()`` as it is, then with the fast reading switched off: (value or error text)."""

    def outcome() -> Any:
        try:
            return read()
        except QrsResponseError as exc:
            return f"error: {exc}"

    fast = outcome()

    def defer(*_: Any) -> Any:
        raise parse._Defer

    with monkeypatch.context() as patch:
        patch.setattr(parse, slow_name, defer)
        careful = outcome()
    return fast, careful


def _array(texts: list[str], path: str) -> Iterator[Any]:
    return iter_json_array(("[" + ",".join(texts) + "]").encode(), method="GET", path=path)


# One test per field, every hostile value in it (a test item each cost more than the check).
@pytest.mark.parametrize("where", list(places(USER)), ids=str)
def test_a_user_reads_alike_both_ways(
    monkeypatch: pytest.MonkeyPatch, where: tuple[Any, ...]
) -> None:
    for raw in HOSTILE:
        texts = [json.dumps(WARM), _with(USER, where, raw), json.dumps({**WARM, "userId": "last"})]
        fast, careful = _both_ways(monkeypatch, "_fast_user", lambda: parse_users_of(texts))  # noqa: B023
        assert fast == careful, raw
        if not isinstance(fast, str):
            assert [type(v) for v in fast.values()] == [type(v) for v in careful.values()], raw
            for mine, theirs in zip(fast.values(), careful.values(), strict=True):
                assert type(mine.attributes) is type(theirs.attributes), raw
                assert type(mine.custom_properties) is type(theirs.custom_properties), raw


def parse_users_of(texts: list[str]) -> dict[str, ActualUser]:
    return parse.parse_users(_array(texts, paths.USER_FULL))


@pytest.mark.parametrize("where", list(places(ALLOCATION)), ids=str)
@pytest.mark.parametrize("strict", [True, False])
def test_an_allocation_reads_alike_both_ways(
    monkeypatch: pytest.MonkeyPatch, where: tuple[Any, ...], strict: bool
) -> None:
    for raw in HOSTILE:
        texts = [json.dumps(ALLOCATION), _with(ALLOCATION, where, raw), json.dumps(ALLOCATION)]

        def read() -> Any:
            items = _array(texts, paths.access_type_full(PRO))  # noqa: B023
            if strict:
                return parse.parse_allocations(items, PRO)
            return parse.read_allocations(items, PRO)

        fast, careful = _both_ways(monkeypatch, "_fast_allocation", read)
        assert fast == careful, raw


def test_the_usual_user_is_read_the_fast_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first user (caches empty) and the one with tags are read the careful way."""
    careful: list[int] = []
    read = parse._careful_user

    def counted(item: dict[str, Any], index: int, *rest: Any) -> Any:
        careful.append(index)
        return read(item, index, *rest)

    monkeypatch.setattr(parse, "_careful_user", counted)
    others = [json.dumps({**USER, "userId": f"u{n}", "name": "Zoë"}) for n in range(3)]
    tagged = json.dumps({**USER, "userId": "tagged", "tags": [{"name": "vip"}]})
    users = parse_users_of([json.dumps(USER), *others, tagged])
    assert careful == [0, 4]
    assert users["corp\\u1"].name == "Zoë"
    assert users["corp\\u1"].attributes == {"group": ("Sales", "Sales EMEA")}
    assert users["corp\\u1"].custom_properties == {"team": ("BI", "BI-2")}
    assert users["corp\\tagged"].tags == ("vip",)


@pytest.mark.parametrize(
    ("directory", "userid"), [("CORP", "Alice"), ("Straße", "İlkay"), ("ΣΊΣΥΦΟΣ", "ǅ\\x")]
)
def test_user_keys_are_those_of_user_key(directory: str, userid: str) -> None:
    body = {**USER, "userDirectory": directory, "userId": userid}
    users = parse_users_of([json.dumps(WARM), json.dumps(body), json.dumps(body)])
    assert list(users) == [user_key("CORP", "warm"), user_key(directory, userid)]


def test_the_fast_constructors_build_what_the_classes_build() -> None:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    user_fields: tuple[Any, ...] = (
        "id",
        "CORP",
        "alice",
        "Alice",
        True,
        False,
        True,
        ("RootAdmin",),
        {"group": ("a", "b")},
        {"team": ("x",)},
        ("vip",),
        when,
    )
    made = new_actual_user(*user_fields)
    assert type(made) is ActualUser
    assert made == ActualUser(*user_fields)
    assert dataclasses.astuple(made) == dataclasses.astuple(ActualUser(*user_fields))
    seat_fields: tuple[Any, ...] = (
        "a",
        PRO,
        None,
        "CORP",
        "alice",
        when,
        None,
        True,
        when,
        False,
        "2024",
    )
    seat = new_actual_allocation(*seat_fields)
    assert type(seat) is ActualAllocation
    assert seat == ActualAllocation(*seat_fields)
    assert hash(seat) == hash(ActualAllocation(*seat_fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        seat.id = "b"  # type: ignore[misc]
