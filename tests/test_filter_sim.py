"""The simulator's QRS filter parser and evaluator: ``licsync.sim.filter``."""

from __future__ import annotations

import types
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.sim.errors import FilterSyntaxError
from licsync.sim.filter import (
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    Predicate,
    error_body,
    ids_named,
    parse_filter,
)

USER_GUID = "7c07f0a4-2f2b-4d6e-9b47-0e3f6f2a1d10"
TAG_GUID = "0b5a4c1e-96f1-4c55-8d7e-1f2a3b4c5d6e"

# One user as /qrs/user/full would return it, plus a few fields of other entity types so every
# property type QRS's operator table names (String, Int, Enum, GUID, DateTime, Boolean) is here.
ENTITY: dict[str, Any] = {
    "id": USER_GUID,
    "userId": "JDoe",
    "userDirectory": "CORP",
    "name": "Jane Doe",
    "inactive": False,
    "blacklisted": True,
    "roles": ["AuditAdmin", "ContentAdmin"],
    "tags": [{"id": TAG_GUID, "name": "Sales"}, {"id": USER_GUID, "name": "EMEA"}],
    "customProperties": [{"value": "Gold", "definition": {"name": "Tier"}}],
    "attributes": [{"attributeType": "Group", "attributeValue": "Finance"}],
    "emptyList": [],
    "nested": [["a", "b"], [["x"]]],
    "groups": [{"members": [{"name": "Ann"}, {"name": "Bob"}]}, None, "scalar"],
    "modifiedDate": "2024-01-31T12:00:00.000Z",
    "quarantineEnd": None,
    "owner": None,
    "user": {"id": USER_GUID, "userId": "jdoe", "userDirectory": "CORP"},
    "actions": 15,
    "score": 2.5,
    "delta": -3,
    "serviceType": "Engine",
    "quote": "o'brien",
    "backslash": "a\\b",
}


def short_id(text: str) -> str:
    """A readable pytest id for a filter text."""
    if not text:
        return "<empty>"
    return text if len(text) <= 60 else text[:57] + "..."


def matches(text: str, entity: dict[str, Any] | None = None) -> bool:
    """Parse ``text`` and apply it to ``entity`` (``ENTITY`` by default)."""
    return parse_filter(text)(ENTITY if entity is None else entity)


CASES = [
    # strings: every operator valid for String, case-insensitive both ways
    ("userId eq 'jdoe'", True),
    ("userId eq 'JDOE'", True),
    ("userId eq 'jdo'", False),
    ("userId ne 'jdoe'", False),
    ("userId ne 'someone'", True),
    ("name sw 'JANE'", True),
    ("name sw 'doe'", False),
    ("name ew 'DOE'", True),
    ("name ew 'jane'", False),
    ("name so 'e d'", True),
    ("name so 'xyz'", False),
    ("name so ''", True),
    ("quote eq 'O\\'Brien'", True),
    ("backslash eq 'A\\\\B'", True),
    # GUIDs: bare, any case, and quoted
    (f"id eq {USER_GUID}", True),
    (f"id eq {USER_GUID.upper()}", True),
    (f"id ne {USER_GUID}", False),
    (f"id eq {TAG_GUID}", False),
    (f"id eq '{USER_GUID}'", True),
    (f"user.id eq {USER_GUID}", True),
    # booleans: bare in any case; a quoted literal is converted to the property's type
    ("blacklisted eq true", True),
    ("blacklisted eq True", True),
    ("Blacklisted eq FALSE", False),
    ("inactive eq false", True),
    ("inactive ne false", False),
    ("inactive eq 'false'", True),
    ("inactive eq 'no'", False),
    ("inactive eq 0", False),
    # date-times: quoted ISO (Butler's Z form, Qlik's space form, date only, offsets), as instants
    ("modifiedDate eq '2024-01-31T12:00:00.000Z'", True),
    ("modifiedDate eq '2024-01-31 12:00:00'", True),
    ("modifiedDate eq '2024-01-31T14:00:00+02:00'", True),
    ("modifiedDate ne '2024-01-31T12:00:00Z'", False),
    ("modifiedDate gt '2024-01-31'", True),
    ("modifiedDate gt '2024-01-31T12:00:00.000Z'", False),
    ("modifiedDate ge '2024-01-31T12:00:00.000Z'", True),
    ("modifiedDate lt '2024-01-31T12:00:00.001Z'", True),
    ("modifiedDate lt '2024-01-31 12:00:00'", False),
    ("modifiedDate le '2024-01-31T23:59:59.999Z'", True),
    ("modifiedDate le '2024-01-31T11:59:59.999Z'", False),
    ("modifiedDate le '2024-01-31T11:59:59.9999999Z'", False),
    ("modifiedDate sw '2024-01'", True),
    ("name gt '2024-01-01'", False),
    # numbers: Int and floats, every ordering operator
    ("actions eq 15", True),
    ("actions ne 15", False),
    ("actions gt 14", True),
    ("actions gt 15", False),
    ("actions ge 15", True),
    ("actions lt 16", True),
    ("actions lt 15", False),
    ("actions le 15", True),
    ("actions eq 15.0", True),
    ("actions eq '15'", True),
    ("actions eq '" + "1" * 5000 + "'", False),
    ("score gt 2", True),
    ("score le 2.4", False),
    ("delta lt -2", True),
    ("delta eq +3", False),
    ("userId gt 3", False),
    # enums as bare words (matched by name against a string value)
    ("serviceType eq engine", True),
    ("ServiceType eq Proxy", False),
    ("serviceType ne Proxy", True),
    ("serviceType gt Engine", False),
    # null: a null value, a missing property, a path through null
    ("quarantineEnd eq null", True),
    ("quarantineEnd ne null", False),
    ("quarantineEnd eq NULL", True),
    ("noSuchProperty eq null", True),
    ("noSuchProperty eq 'x'", False),
    ("owner.name eq null", True),
    ("owner.name sw 'a'", False),
    ("userId eq null", False),
    ("userId ne null", True),
    ("quarantineEnd eq 'x'", False),
    ("quarantineEnd ne 'x'", True),
    ("quarantineEnd gt '2024-01-01'", False),
    ("user eq null", False),
    ("user ne null", True),
    # paths through arrays match when any element does; nested objects; name case
    ("tags.name eq 'emea'", True),
    ("tags.name eq 'apac'", False),
    ("tags.name ne 'Sales'", True),
    ("tags.name sw 'SAL'", True),
    (f"tags.id eq {TAG_GUID}", True),
    ("roles eq 'auditadmin'", True),
    ("roles so 'content'", True),
    ("roles eq 'RootAdmin'", False),
    ("customProperties.definition.name eq 'tier'", True),
    ("customProperties.value eq 'gold'", True),
    ("customProperties.definition.name eq 'gold'", False),
    ("attributes.attributeValue so 'nanc'", True),
    ("emptyList.name eq null", False),
    ("nested eq 'X'", True),
    ("nested eq 'c'", False),
    ("groups.members.name eq 'bob'", True),
    ("groups.members.name eq 'cy'", False),
    ("groups.members.name eq null", True),
    ("roles.name eq null", True),
    ("emptyList.name ne 'x'", False),
    ("user.userDirectory eq 'corp'", True),
    ("user.UserId eq 'JDOE'", True),
    ("USERID eq 'jdoe'", True),
    ("Name eq 'jane doe'", True),
    ("userId.length eq null", True),
    # conjunctions, keyword case, whitespace, parentheses, the outer (...) some clients add
    ("userId eq 'jdoe' and userDirectory eq 'corp'", True),
    ("userId eq 'jdoe' and userDirectory eq 'ext'", False),
    ("userId eq 'x' or userDirectory eq 'corp'", True),
    ("userId eq 'x' or userDirectory eq 'ext'", False),
    ("userId eq 'jdoe' AND name sw 'j' Or actions eq 0", True),
    ("userId  EQ\t'jdoe'\nand  name  sw  'j'", True),
    ("(userId eq 'jdoe')", True),
    ("((userId eq 'jdoe'))", True),
    ("(userId eq 'jdoe' and (name sw 'jane' or name sw 'x'))", True),
    ("(userId eq 'jdoe')and(name sw 'jane')", True),
    ("userId eq'jdoe'", True),
    ("a eq 1 or b eq 2 or c eq 3 or userId eq 'jdoe'", True),
    ("userId eq 'a' or userId eq 'b' or userId eq 'JDOE'", True),
    ("userId eq 'a' or userId eq 'b' or userId eq 'c'", False),
    ("roles eq 'a' or roles eq 'b' or roles eq 'contentadmin'", True),
    ("actions eq 'a' or actions eq 'b' or actions eq 'c'", False),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[short_id(c[0]) for c in CASES])
def test_filter_matches_entity(text: str, expected: bool) -> None:
    """Each operator, literal type, path shape and conjunction evaluates as documented."""
    assert matches(text) is expected


PRECEDENCE = [
    # inactive eq false: T, blacklisted eq false: F, actions eq 0: F
    ("inactive eq false or blacklisted eq false and actions eq 0", True),
    ("blacklisted eq false and actions eq 0 or inactive eq false", True),
    ("(inactive eq false or blacklisted eq false) and actions eq 0", False),
    ("inactive eq false and blacklisted eq false or actions eq 15", True),
    ("inactive eq false and (blacklisted eq false or actions eq 0)", False),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE, ids=[short_id(c[0]) for c in PRECEDENCE])
def test_and_binds_tighter_than_or(text: str, expected: bool) -> None:
    """``a or b and c`` is ``a or (b and c)``; parentheses override it (assumed, see module)."""
    assert matches(text) is expected


ERRORS = [
    ("", "empty filter", 0),
    ("   ", "empty filter", 0),
    ("userId xx 'a'", "unknown operator 'xx'", 7),
    ("userId contains 'a'", "unknown operator 'contains'", 7),
    ("userId eq 'abc", "unterminated string", 10),
    ("userId eq 'abc\\'", "unterminated string", 10),
    ("userId eq 'a' and", "expected a condition after 'and'", 17),
    ("userId eq 'a' or ", "expected a condition after 'or'", 17),
    ("userId eq 'a' and )", "expected a condition after 'and'", 18),
    ("name gt 'a'", "operator 'gt' is not valid for strings", 5),
    ("name le 'x'", "operator 'le' is not valid for strings", 5),
    (f"id gt {USER_GUID}", "operator 'gt' is not valid for GUIDs", 3),
    ("inactive lt true", "operator 'lt' is not valid for booleans", 9),
    ("owner ge null", "operator 'ge' is not valid for null", 6),
    ("name sw 5", "operator 'sw' is valid only for strings", 5),
    ("name so Engine", "operator 'so' is valid only for strings", 5),
    (f"id ew {USER_GUID}", "operator 'ew' is valid only for strings", 3),
    ("userId", "expected an operator after 'userId'", 6),
    ("userId eq", "expected a value after 'eq'", 9),
    ("userId eq (", "expected a value after 'eq'", 10),
    ("'a' eq 'a'", "expected a property name", 0),
    ("user-id eq 'a'", "invalid property name 'user-id'", 0),
    ("user..id eq 'a'", "invalid property name 'user..id'", 0),
    ("userId eq a-b", "invalid value 'a-b'", 10),
    ("userId eq 'a' 'b'", "expected 'and' or 'or'", 14),
    ("userId eq 'a' xor b eq 1", "expected 'and' or 'or'", 14),
    ("userId eq 'a')", "unexpected ')'", 13),
    ("(userId eq 'a'", "unclosed '('", 0),
    ("(userId eq 'a' 'b')", "expected 'and', 'or' or ')'", 15),
    ("()", "expected a condition", 1),
    ("actions eq " + "9" * 5000, "number too long '" + "9" * 40 + "...'", 11),
    (
        "userId eq 'o''brien'",
        "unexpected string right after a string; a quote inside a string is written \\'",
        13,
    ),
    ("userId eq 'a\\b'", "invalid escape sequence '\\b' (only \\' and \\\\ are allowed)", 12),
]


@pytest.mark.parametrize(("text", "reason", "offset"), ERRORS, ids=[short_id(e[0]) for e in ERRORS])
def test_syntax_errors_carry_reason_and_offset(text: str, reason: str, offset: int) -> None:
    """Every malformed filter raises FilterSyntaxError with an exact reason and 0-based offset."""
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert (caught.value.reason, caught.value.offset) == (reason, offset)


def test_error_message_counts_characters_from_one() -> None:
    """The exception's message gives the 1-based character, like RuleSyntaxError."""
    with pytest.raises(FilterSyntaxError, match=r"^unknown operator 'xx' \(at character 8\)$"):
        parse_filter("userId xx 'a'")


def test_error_reason_does_not_echo_a_huge_token() -> None:
    """A hostile multi-kilobyte token is cut in the reason."""
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("userId " + "x" * 5000 + " 'a'")
    assert len(caught.value.reason) < 100


def test_error_body_imitates_qrs() -> None:
    """The 400 body starts as QRS's does and names the reason and position."""
    text = "userId eq 'o''brien'"
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    body = error_body(text, caught.value)
    assert body.startswith(f"Cannot parse the expression: {text} (")
    assert "at character 14" in body


def test_error_body_cuts_long_filters() -> None:
    """A long filter is shortened in the body."""
    text = "userId eq 'a' and " * 100 + "x"
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert len(error_body(text, caught.value)) < 400


def test_nesting_up_to_the_limit_is_accepted() -> None:
    """``MAX_FILTER_DEPTH`` nested parentheses parse and evaluate."""
    text = "(" * MAX_FILTER_DEPTH + "userId eq 'jdoe'" + ")" * MAX_FILTER_DEPTH
    assert matches(text)


def test_nesting_beyond_the_limit_is_refused() -> None:
    """One parenthesis more than ``MAX_FILTER_DEPTH`` is refused at that parenthesis."""
    text = "(" * (MAX_FILTER_DEPTH + 1) + "userId eq 'jdoe'" + ")" * (MAX_FILTER_DEPTH + 1)
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert caught.value.reason == f"parentheses nested more than {MAX_FILTER_DEPTH} deep"
    assert caught.value.offset == MAX_FILTER_DEPTH


def test_deep_hostile_nesting_fails_fast_without_recursion_error() -> None:
    """Thousands of open parentheses give a FilterSyntaxError, not a RecursionError."""
    with pytest.raises(FilterSyntaxError):
        parse_filter("(" * 10_000)


def test_overlong_filter_is_refused() -> None:
    """A filter longer than ``MAX_FILTER_LENGTH`` is refused before tokenising."""
    text = "userId eq '" + "a" * MAX_FILTER_LENGTH + "'"
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert caught.value.reason == f"filter longer than {MAX_FILTER_LENGTH} characters"
    assert caught.value.offset == MAX_FILTER_LENGTH


def test_too_many_conditions_are_refused() -> None:
    """More than ``MAX_FILTER_CONDITIONS`` conditions are refused at the first one too many."""
    text = " or ".join(["a eq 1"] * (MAX_FILTER_CONDITIONS + 1))
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert caught.value.reason == f"more than {MAX_FILTER_CONDITIONS} conditions"
    assert caught.value.offset == MAX_FILTER_CONDITIONS * len("a eq 1 or ")


def test_long_flat_conjunction_does_not_recurse() -> None:
    """A chain of the maximum number of conditions evaluates (chains are loops, not recursion)."""
    text = " and ".join(["a eq 1"] * MAX_FILTER_CONDITIONS)
    assert parse_filter(text)({"a": 1})


def test_predicate_accepts_any_mapping() -> None:
    """Entities need only be Mappings, at the top and nested."""
    entity = types.MappingProxyType(
        {"userId": "JDoe", "user": types.MappingProxyType({"userDirectory": "CORP"})}
    )
    assert parse_filter("userid eq 'jdoe' and User.UserDirectory eq 'corp'")(entity)


def test_case_insensitive_key_lookup_adapts_per_entity() -> None:
    """The remembered key spelling does not stop other entities' spellings from matching."""
    predicate = parse_filter("USERID eq 'a'")
    assert predicate({"userId": "a"})
    assert predicate({"UserID": "A"})
    assert predicate({"userid": "a"})
    assert not predicate({"userId": "b"})
    assert not predicate({})


def test_predicate_is_reusable_across_entities() -> None:
    """One compiled predicate filters a list of entities."""
    users = [{"userId": f"u{i}", "userDirectory": "CORP" if i % 2 else "EXT"} for i in range(10)]
    predicate = parse_filter("userDirectory eq 'corp' and userId ne 'u1'")
    assert [u["userId"] for u in users if predicate(u)] == ["u3", "u5", "u7", "u9"]


def parse_or_offset(text: str) -> Predicate | int:
    """The compiled filter, or the offset of its FilterSyntaxError (any other error propagates)."""
    try:
        return parse_filter(text)
    except FilterSyntaxError as exc:
        return exc.offset


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(["a", "B", "c", "2024-01-01T00:00:00.000Z", ""]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


@given(value=VALUES, wanted=st.lists(st.sampled_from(["a", "b", "C", "d"]), min_size=3, max_size=6))
def test_or_of_equalities_agrees_with_separate_conditions(value: Any, wanted: list[str]) -> None:
    """The set lookup used for ``p eq 'a' or p eq 'b' or ...`` agrees with the general path."""
    grouped = parse_filter(" or ".join(f"p eq '{w}'" for w in wanted))
    # Parenthesising every condition defeats the grouping, so this takes the general path.
    general = parse_filter(" or ".join(f"(p eq '{w}' and p ne null)" for w in wanted))
    assert grouped({"p": value}) == general({"p": value})


@given(text=st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    """No input makes the parser fail with anything but FilterSyntaxError."""
    outcome = parse_or_offset(text)
    if isinstance(outcome, int):
        assert 0 <= outcome <= len(text)
    else:
        assert outcome(ENTITY) in (True, False)


TOKENS = st.sampled_from(
    [
        "(",
        ")",
        " ",
        "and",
        "or",
        "eq",
        "gt",
        "so",
        "userId",
        "tags.name",
        "'a'",
        "'",
        "\\",
        "null",
        "1",
    ]
)


@given(parts=st.lists(TOKENS, max_size=30))
def test_token_soup_parses_or_raises_filter_syntax_error(parts: list[str]) -> None:
    """Random sequences of filter tokens either evaluate or raise FilterSyntaxError."""
    text = " ".join(parts)
    outcome = parse_or_offset(text)
    if isinstance(outcome, int):
        assert 0 <= outcome <= len(text)
    else:
        assert outcome(ENTITY) in (True, False)


_GUIDS = st.uuids().map(str)


@given(
    st.lists(_GUIDS, min_size=1, max_size=8),
    st.lists(_GUIDS, max_size=4),
    st.booleans(),
    st.sampled_from(["{}", "({})", "({}", "{})", "{} and name eq 'x'"]),
)
def test_ids_named_is_what_the_predicate_matches(
    named: list[str], others: list[str], upper: bool, shape: str
) -> None:
    """``ids_named`` (the simulator's look-up by id) names exactly the entities the compiled
    filter matches, or gives up (None), or refuses what the parser refuses."""
    clauses = " or ".join(f"id eq {g.upper() if upper else g}" for g in named)
    text = shape.format(clauses)
    try:
        predicate = parse_filter(text)
    except FilterSyntaxError:
        with pytest.raises(FilterSyntaxError):
            ids_named(text)
        return
    found = ids_named(text)
    if found is None:
        return
    entities = [{"id": g, "name": "x"} for g in [*named, *others]]
    assert set(found) == {e["id"] for e in entities if predicate(e)}
    assert len(found) == len(set(found))
