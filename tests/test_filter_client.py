"""The client's filter and query-string builders: ``licsync.qrs.filters``."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any

import pytest

from licsync.qrs.filters import (
    all_of,
    any_of,
    encode_query,
    eq,
    ew,
    ge,
    gt,
    le,
    literal,
    lt,
    ne,
    so,
    sw,
)

GUID = uuid.UUID("7c07f0a4-2f2b-4d6e-9b47-0e3f6f2a1d10")
CEST = datetime.timezone(datetime.timedelta(hours=2))


class Level(enum.IntEnum):
    """An IntEnum whose str() is not its number."""

    HIGH = 3

    def __str__(self) -> str:
        return "high"


LITERALS = [
    ("plain", "'plain'"),
    ("", "''"),
    ("o'brien", "'o\\'brien'"),
    ("''", "'\\'\\''"),
    ("a\\b", "'a\\\\b'"),
    ("a\\'b", "'a\\\\\\'b'"),
    ("ü & #?/%", "'ü & #?/%'"),
    ("'; or 1 eq 1 or '", "'\\'; or 1 eq 1 or \\''"),
    (GUID, "7c07f0a4-2f2b-4d6e-9b47-0e3f6f2a1d10"),
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (-42, "-42"),
    (10**20, "100000000000000000000"),
    (Level.HIGH, "3"),
    (None, "null"),
    (
        datetime.datetime(2024, 1, 31, 23, 59, 59, 999000, tzinfo=datetime.UTC),
        "'2024-01-31T23:59:59.999Z'",
    ),
    (datetime.datetime(2024, 1, 31, 12, 0, tzinfo=CEST), "'2024-01-31T10:00:00.000Z'"),
    (
        datetime.datetime(2024, 1, 31, 12, 0, 0, 999999, tzinfo=datetime.UTC),
        "'2024-01-31T12:00:00.999Z'",
    ),
    (datetime.datetime(1, 1, 1, tzinfo=datetime.UTC), "'0001-01-01T00:00:00.000Z'"),
]


@pytest.mark.parametrize(("value", "expected"), LITERALS, ids=[repr(v) for v, _ in LITERALS])
def test_literal_writes_each_type(value: Any, expected: str) -> None:
    """Strings quoted with backslash escapes, GUIDs/booleans/ints/null bare, datetimes in UTC."""
    assert literal(value) == expected


def test_literal_refuses_naive_datetime() -> None:
    """A datetime without timezone has no instant, so it is a bug to send it."""
    with pytest.raises(ValueError, match="naive datetime"):
        literal(datetime.datetime(2024, 1, 31))


@pytest.mark.parametrize("value", [1.5, datetime.date(2024, 1, 31), b"bytes", ["a"]], ids=repr)
def test_literal_refuses_other_types(value: Any) -> None:
    """Floats, dates, bytes and containers have no defined QRS literal here."""
    with pytest.raises(TypeError):
        literal(value)


BUILDERS = [
    (eq("userId", "jdoe"), "userId eq 'jdoe'"),
    (eq("user.userDirectory", "CORP"), "user.userDirectory eq 'CORP'"),
    (eq("id", GUID), "id eq 7c07f0a4-2f2b-4d6e-9b47-0e3f6f2a1d10"),
    (eq("inactive", False), "inactive eq false"),
    (eq("quarantineEnd", None), "quarantineEnd eq null"),
    (ne("category", "License"), "category ne 'License'"),
    (gt("actions", 0), "actions gt 0"),
    (ge("actions", 1), "actions ge 1"),
    (lt("actions", 2), "actions lt 2"),
    (
        le("lastUsed", datetime.datetime(2024, 1, 31, 23, 59, 59, 999000, tzinfo=datetime.UTC)),
        "lastUsed le '2024-01-31T23:59:59.999Z'",
    ),
    (sw("name", "Sales"), "name sw 'Sales'"),
    (ew("name", "'s"), "name ew '\\'s'"),
    (so("tags.name", "EMEA"), "tags.name so 'EMEA'"),
    (eq("_private.x_1", 1), "_private.x_1 eq 1"),
]


@pytest.mark.parametrize(("built", "expected"), BUILDERS, ids=[e for _, e in BUILDERS])
def test_builders_write_field_operator_literal(built: str, expected: str) -> None:
    """Each builder writes ``field op literal`` with one space between."""
    assert built == expected


BAD_FIELDS = [
    "",
    "user id",
    "a'b",
    "x eq 1 or y",
    "1abc",
    "a..b",
    ".a",
    "a.",
    "ü",
    "a-b",
    "a(b)",
    "a\tb",
]


@pytest.mark.parametrize("field", BAD_FIELDS, ids=repr)
def test_field_names_are_validated(field: str) -> None:
    """A field that is not an identifier or dotted path cannot smuggle syntax in."""
    with pytest.raises(ValueError, match="invalid QRS filter field name"):
        eq(field, "x")


@pytest.mark.parametrize("builder", [gt, ge, lt, le], ids=lambda b: b.__name__)
@pytest.mark.parametrize("value", ["2024-01-01", GUID, True, None, 1.5], ids=repr)
def test_ordering_builders_refuse_strings_guids_booleans(builder: Any, value: Any) -> None:
    """Qlik's operator table forbids gt/ge/lt/le on String and GUID; booleans have no order."""
    with pytest.raises(TypeError):
        builder("field", value)


@pytest.mark.parametrize("builder", [sw, ew, so], ids=lambda b: b.__name__)
@pytest.mark.parametrize("value", [1, GUID, True, None], ids=repr)
def test_string_builders_refuse_non_strings(builder: Any, value: Any) -> None:
    """sw/ew/so are valid only for strings."""
    with pytest.raises(TypeError):
        builder("field", value)


JOINS = [
    (all_of("a eq 1"), "a eq 1"),
    (all_of("a eq 1", "b eq 2"), "a eq 1 and b eq 2"),
    (all_of("a eq 1", "b eq 2 or c eq 3"), "a eq 1 and (b eq 2 or c eq 3)"),
    (all_of("a eq 1", "b eq 2 OR c eq 3"), "a eq 1 and (b eq 2 OR c eq 3)"),
    (all_of("a eq 1", "(b eq 2 or c eq 3)"), "a eq 1 and (b eq 2 or c eq 3)"),
    (all_of("a eq 1", "(b eq 2) or (c eq 3)"), "a eq 1 and ((b eq 2) or (c eq 3))"),
    (all_of("a eq 1", "b eq ' or '"), "a eq 1 and b eq ' or '"),
    (all_of("a eq 1", "b eq 'x\\' or c eq 1'"), "a eq 1 and b eq 'x\\' or c eq 1'"),
    (all_of("a eq 1", "b eq 2 and c eq 3"), "a eq 1 and b eq 2 and c eq 3"),
    (all_of("  a eq 1 ", "b eq 2"), "a eq 1 and b eq 2"),
    (any_of("a eq 1"), "a eq 1"),
    (any_of("a eq 1", "b eq 2"), "(a eq 1 or b eq 2)"),
    (any_of("a eq 1", "b eq 2 and c eq 3"), "(a eq 1 or (b eq 2 and c eq 3))"),
    (any_of("a eq 1", "b eq 2 or c eq 3"), "(a eq 1 or b eq 2 or c eq 3)"),
    (
        all_of(eq("userDirectory", "CORP"), any_of(eq("userId", "a"), eq("userId", "b"))),
        "userDirectory eq 'CORP' and (userId eq 'a' or userId eq 'b')",
    ),
]


@pytest.mark.parametrize(("built", "expected"), JOINS, ids=[e for _, e in JOINS])
def test_all_of_and_any_of_parenthesise_mixed_precedence(built: str, expected: str) -> None:
    """Only clauses whose meaning could depend on and/or precedence are parenthesised."""
    assert built == expected


MALFORMED = [
    ((), "no clauses to join"),
    (("",), "empty clause"),
    (("a eq 1", "  "), "empty clause"),
    (("a eq 'x",), "unterminated string"),
    (("a eq 1)",), "unbalanced '\\)'"),
    (("(a eq 1",), "unclosed '\\('"),
    (("a eq 1", "b eq 'x\\'"), "unterminated string"),
]


@pytest.mark.parametrize("join", [all_of, any_of], ids=lambda j: j.__name__)
@pytest.mark.parametrize(("clauses", "message"), MALFORMED, ids=[repr(c) for c, _ in MALFORMED])
def test_joins_refuse_empty_or_malformed_clauses(
    join: Any, clauses: tuple[str, ...], message: str
) -> None:
    """Nothing to join, an empty clause, or an unbalanced quote/parenthesis is a bug."""
    with pytest.raises(ValueError, match=message):
        join(*clauses)


ENCODED = [
    (" ", "%20"),
    ("'", "%27"),
    ("#", "%23"),
    ("&", "%26"),
    ("%", "%25"),
    ("?", "%3F"),
    ("/", "%2F"),
    ("=", "%3D"),
    ("+", "%2B"),
    ("\\", "%5C"),
    (",", "%2C"),
    ("(", "%28"),
    (")", "%29"),
    ("ü", "%C3%BC"),
    ("€", "%E2%82%AC"),
    ("\n", "%0A"),
    ("AZaz09-._~", "AZaz09-._~"),
]


@pytest.mark.parametrize(("raw", "expected"), ENCODED, ids=[r for r, _ in ENCODED])
def test_encode_query_escapes_everything_but_unreserved(raw: str, expected: str) -> None:
    """Every character outside RFC 3986 unreserved is percent-encoded as UTF-8, space as %20."""
    assert encode_query({"filter": raw}) == f"filter={expected}"


def test_encode_query_keeps_order_and_encodes_keys() -> None:
    """Parameters keep their order; names are encoded like values."""
    query = encode_query({"xrfkey": "abcdefghij012345", "filter": "a eq 'b'", "a b": "&"})
    assert query == "xrfkey=abcdefghij012345&filter=a%20eq%20%27b%27&a%20b=%26"


def test_encode_query_of_nothing_is_empty() -> None:
    """No parameters give an empty string (no stray ``?`` or ``&``)."""
    assert encode_query({}) == ""


def test_encode_query_refuses_non_strings() -> None:
    """Values must already be text; bytes or numbers are a bug."""
    with pytest.raises(TypeError):
        encode_query({"take": 5})  # type: ignore[dict-item]
