"""Client-built filters survive the URL and the simulator's parser with their meaning intact."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from licsync.qrs.filters import all_of, any_of, encode_query, eq, le, literal
from licsync.sim.filter import parse_filter

XRFKEY = "abcdefghij012345"

# The characters that break a real QRS when not encoded or not escaped (butler-sheet-icons,
# measured on a live QSEoW), an injection attempt, and backslash/quote combinations.
HOSTILE = [
    "o'brien",
    "a#b",
    "x&filter=",
    "50%",
    "what?",
    "a/b",
    "ü",
    "'; or 1 eq 1 or '",
    "R&D",
    "A+B",
    "a=b",
    "Sales Team",
    "%27",
    "%20",
    "a\\b",
    "a\\'b",
    "\\",
    "'",
    "''",
    "",
    " ",
    "eq",
    "userId eq 'x'",
    "x') or (1 eq 1",
    "Ölçü Ünlü",
    "日本語",
    "tab\there",
    "line\nbreak",
]
# Near misses of the hostile values, so "matches exactly one" is a real test.
DECOYS = ["obrien", "o", "brien", "a", "b", "x", "50", "what", "1", "R", "D", "Sales", "u", "ab"]


def server_side_filter(query: str) -> str:
    """Decode a query string the way a server does and return its ``filter`` parameter."""
    assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2}|[=&])*", query), query
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    # Nothing was split off or cut: an unencoded & or # would add or lose parameters.
    assert [name for name, _ in pairs] == ["filter", "xrfkey"]
    assert dict(pairs)["xrfkey"] == XRFKEY
    return dict(pairs)["filter"]


def through_the_wire(filter_text: str) -> str:
    """What the simulator's parser receives for a filter the client sends."""
    return server_side_filter(encode_query({"filter": filter_text, "xrfkey": XRFKEY}))


@pytest.mark.parametrize("user_id", HOSTILE, ids=repr)
def test_hostile_user_id_matches_exactly_its_user(user_id: str) -> None:
    """``eq("userId", v)`` sent over the wire selects the user ``v`` and no other."""
    users = [{"userId": value, "userDirectory": "CORP"} for value in HOSTILE + DECOYS]
    predicate = parse_filter(through_the_wire(eq("userId", user_id)))
    assert [u["userId"] for u in users if predicate(u)] == [user_id]


@pytest.mark.parametrize("group", HOSTILE, ids=repr)
def test_hostile_group_name_matches_exactly_its_members(group: str) -> None:
    """A directory group attribute built with all_of/eq matches only users in that group."""
    users = [
        {
            "userId": f"u{i}",
            "userDirectory": "CORP",
            "attributes": [{"attributeType": "Group", "attributeValue": value}],
        }
        for i, value in enumerate(HOSTILE + DECOYS)
    ]
    text = all_of(eq("userDirectory", "CORP"), eq("attributes.attributeValue", group))
    predicate = parse_filter(through_the_wire(text))
    assert [u["userId"] for u in users if predicate(u)] == [f"u{HOSTILE.index(group)}"]


def test_batch_of_hostile_ids_matches_exactly_the_batch() -> None:
    """``any_of`` over many hostile ids, and-ed with the directory, selects exactly those users."""
    users = [{"userId": v, "userDirectory": d} for v in HOSTILE + DECOYS for d in ("CORP", "EXT")]
    wanted = HOSTILE[::2]
    text = all_of(eq("userDirectory", "corp"), any_of(*(eq("userId", v) for v in wanted)))
    predicate = parse_filter(through_the_wire(text))
    assert [u["userId"] for u in users if predicate(u)] == wanted


def test_guid_and_date_literals_round_trip() -> None:
    """A bare GUID and a UTC date-time literal compare as GUID and instant on the simulator."""
    guid = uuid.UUID("7c07f0a4-2f2b-4d6e-9b47-0e3f6f2a1d10")
    cutoff = datetime.datetime(2024, 1, 31, 23, 59, 59, 999000, tzinfo=datetime.UTC)
    text = all_of(eq("user.id", guid), le("lastUsed", cutoff))
    predicate = parse_filter(through_the_wire(text))
    allocation = {"user": {"id": str(guid).upper()}, "lastUsed": "2024-01-31T23:59:59.999Z"}
    assert predicate(allocation)
    assert not predicate({**allocation, "lastUsed": "2024-02-01T00:00:00.000Z"})
    assert not predicate({**allocation, "user": {"id": str(uuid.uuid4())}})


def _looks_like_date(text: str) -> bool:
    """True for the strings the simulator would read as date-times (then equal as instants)."""
    return bool(re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text))


@given(value=st.text(), other=st.text())
def test_any_text_round_trips_through_literal_url_and_parser(value: str, other: str) -> None:
    """For arbitrary text, the sent filter matches a property equal to it, case-insensitively."""
    assume(not (_looks_like_date(value) and _looks_like_date(other)))
    predicate = parse_filter(through_the_wire(eq("userId", value)))
    assert predicate({"userId": value})
    assert predicate({"userId": other}) == (other.lower() == value.lower())


@given(value=st.text())
def test_any_text_round_trips_through_substring_operators(value: str) -> None:
    """sw/ew/so built around arbitrary text find it inside a longer value."""
    entity = {"name": f"<{value}>"}
    for op in ("sw", "ew", "so"):
        inner = f"<{value}" if op == "sw" else f"{value}>" if op == "ew" else value
        text = f"name {op} {literal(inner)}"
        assert parse_filter(through_the_wire(text))(entity), text


@given(
    when=st.datetimes(
        min_value=datetime.datetime(1000, 1, 1),
        max_value=datetime.datetime(9998, 12, 31),
        timezones=st.sampled_from([datetime.UTC, datetime.timezone(datetime.timedelta(hours=-5))]),
    )
)
def test_datetime_literal_is_the_same_instant_to_the_millisecond(when: datetime.datetime) -> None:
    """A datetime written by literal() equals the instant QRS would store, truncated to ms."""
    utc = when.astimezone(datetime.UTC)
    stored = utc.replace(microsecond=utc.microsecond // 1000 * 1000)
    entity = {"lastUsed": stored.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    predicate = parse_filter(through_the_wire(eq("lastUsed", when)))
    assert predicate(entity)


@given(params=st.dictionaries(st.text(), st.text(), max_size=5))
def test_encode_query_decodes_to_the_same_parameters(params: dict[str, str]) -> None:
    """Whatever the text, a server decodes exactly the names and values that were encoded."""
    query = encode_query(params)
    assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2}|[=&])*", query)
    decoded = parse_qsl(query, keep_blank_values=True) if params else []
    assert decoded == list(params.items())


# A boolean expression tree over flags: ("flag", i) | ("all", [...]) | ("any", [...]).
TREES = st.recursive(
    st.tuples(st.just("flag"), st.integers(0, 3)),
    lambda children: st.tuples(
        st.sampled_from(["all", "any"]), st.lists(children, min_size=1, max_size=3)
    ),
    max_leaves=10,
)


def _build(tree: Any) -> str:
    """The filter text for a tree, built only with the client's builders."""
    kind, payload = tree
    if kind == "flag":
        return eq(f"flag{payload}", True)
    parts = [_build(child) for child in payload]
    return all_of(*parts) if kind == "all" else any_of(*parts)


def _evaluate(tree: Any, flags: list[bool]) -> bool:
    """What the tree means, by Python's own and/or."""
    kind, payload = tree
    if kind == "flag":
        return bool(flags[payload])
    values = [_evaluate(child, flags) for child in payload]
    return all(values) if kind == "all" else any(values)


@given(tree=TREES, flags=st.lists(st.booleans(), min_size=4, max_size=4))
def test_nested_all_of_any_of_mean_what_they_say(tree: Any, flags: list[bool]) -> None:
    """Any nesting of all_of/any_of evaluates on the simulator as the tree it was built from."""
    predicate = parse_filter(through_the_wire(_build(tree)))
    entity = {f"flag{i}": flag for i, flag in enumerate(flags)}
    assert predicate(entity) == _evaluate(tree, flags)
