"""Three-valued evaluation of licence-rule conditions for one user."""

from __future__ import annotations

import pytest

from licsync.actual import ActualUser
from licsync.rules import Verdict, evaluate, parse_condition
from licsync.rules.evaluate import not_equal
from licsync.rules.verdict import all_of, any_of

YES, NO, UNKNOWN = Verdict.YES, Verdict.NO, Verdict.UNKNOWN

JDOE = ActualUser(
    id="1",
    directory="CORP",
    userid="jdoe",
    name="John Doe",
    roles=("RootAdmin", "AuditAdmin"),
    attributes={
        "group": ("Sales", "Contractors"),
        "email": ("jdoe@corp.example",),
        "title": ("Engineer",),
    },
    custom_properties={"department": ("Finance",), "site": ("Oslo", "Bergen")},
)
SOLO = ActualUser(
    id="2",
    directory="EMEA",
    userid="solo",
    name="Solo",
    attributes={"group": ("Sales",), "email": ()},
)
NOBODY = ActualUser(id="3", directory="APAC", userid="nobody")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # = : case-insensitive, any value of a list.
        ('user.name = "john doe"', YES),
        ('user.name = "John"', NO),
        ('user.userId = "JDOE"', YES),
        ('user.userDirectory = "corp"', YES),
        ('user.userDirectory = "EMEA"', NO),
        ('user.group = "contractors"', YES),
        ('user.group = "Marketing"', NO),
        ('user.roles = "rootadmin"', YES),
        ('user.email = "JDOE@corp.example"', YES),
        ('user.@Department = "finance"', YES),
        ('user.@department = "Finance"', YES),
        ('user.@Site = "bergen"', YES),
        ('user.Title = "engineer"', YES),
        ('user.nosuch = "x"', NO),
        ('user.@nosuch = "x"', NO),
        ('"Sales" = user.group', YES),
        # == : exact case.
        ('user.name == "John Doe"', YES),
        ('user.name == "john doe"', NO),
        ('user.group == "sales"', NO),
        ('user.group == "Sales"', YES),
        # != on single-valued properties: plain inequality.
        ('user.name != "sa_repository"', YES),
        ('user.name != "JOHN DOE"', NO),
        ('user.name !== "JOHN DOE"', YES),
        ('user.name !== "John Doe"', NO),
        # != on a list: sure only when no value equals, or the only value equals.
        ('user.group != "Marketing"', YES),
        ('user.group != "Sales"', UNKNOWN),
        ('user.@site != "Oslo"', UNKNOWN),
        ('user.title != "engineer"', NO),
        ('user.nosuch != "x"', UNKNOWN),
        ('!(user.group = "Sales")', NO),
        ('!(user.group = "Marketing")', YES),
        # like: whole value, case-insensitive, any value of a list.
        ('user.email like "*@corp.example"', YES),
        ('user.email like "*@other.example"', NO),
        ('user.group like "contr*"', YES),
        ('user.name like "john*"', YES),
        ('user.nosuch like "*"', NO),
        ('user.name like "J?hn Doe"', UNKNOWN),
        # matches: whole value, case-sensitive.
        ('user.@Department matches "^(Fin|Acc).*"', YES),
        ('user.@Department matches "fin.*"', NO),
        ('user.@Department matches "(?i)fin.*"', YES),
        ('user.group matches "Con.*"', YES),
        ('user.group matches "Con"', NO),
        # Unknowable ahead of login.
        ('user.environment.browser = "Chrome"', UNKNOWN),
        ('resource.name = "App"', UNKNOWN),
        ('resource.HasPrivilege("read")', UNKNOWN),
        ("user.IsAnonymous()", UNKNOWN),
        ("user.group = resource.name", UNKNOWN),
        ("user.group != resource.name", UNKNOWN),
        ("user.nosuch = resource.name", NO),
        ('"x" = resource.name', UNKNOWN),
        ('user.environment.ip like "10.*"', UNKNOWN),
        # Kleene logic.
        ('user.group = "Sales" and resource.name = "x"', UNKNOWN),
        ('user.group = "Nope" and resource.name = "x"', NO),
        ('user.group = "Sales" or resource.name = "x"', YES),
        ('user.group = "Nope" or resource.name = "x"', UNKNOWN),
        ('!(resource.name = "x")', UNKNOWN),
        ('!(user.group = "Nope" and resource.name = "x")', YES),
        ('!!(user.group = "Sales")', YES),
        # Literals and properties on both sides.
        ('"a" = "A"', YES),
        ('"a" == "A"', NO),
        ('"a" != "b"', YES),
        ('"abc" like "A*"', YES),
        ('"abc" matches "a.c"', YES),
        ("user.name = user.name", YES),
        ("user.group = user.@Department", NO),
        ("user.userId != user.name", YES),
        # Empty condition: everyone.
        ("", YES),
    ],
)
def test_evaluate_jdoe(text: str, verdict: Verdict) -> None:
    """Every operator, property kind, list, absence and unknowable case for a well-filled user."""
    assert evaluate(parse_condition(text), JDOE) is verdict


@pytest.mark.parametrize(
    ("text", "solo", "nobody"),
    [
        ('user.group = "Sales"', YES, NO),
        ('user.group != "Sales"', NO, UNKNOWN),
        ('user.group != "Marketing"', YES, UNKNOWN),
        ('!(user.group = "Sales")', NO, YES),
        ('!(user.group = "Marketing")', YES, YES),
        ('user.email like "*"', NO, NO),
        ('user.roles = "RootAdmin"', NO, NO),
        ("user.group = resource.name", UNKNOWN, NO),
        ("user.group == resource.name", UNKNOWN, NO),
        ('user.group like "*" or user.IsAnonymous()', YES, UNKNOWN),
        ('user.name = ""', NO, YES),
    ],
)
def test_evaluate_single_valued_and_empty(text: str, solo: Verdict, nobody: Verdict) -> None:
    """A user with one group and a user with no attributes at all."""
    condition = parse_condition(text)
    assert evaluate(condition, SOLO) is solo
    assert evaluate(condition, NOBODY) is nobody


@pytest.mark.parametrize(
    ("left", "right", "verdict"),
    [
        (set(), {"a"}, UNKNOWN),
        ({"a"}, set(), UNKNOWN),
        ({"a"}, {"b"}, YES),
        ({"a", "c"}, {"b"}, YES),
        ({"a"}, {"a"}, NO),
        ({"a", "b"}, {"a"}, UNKNOWN),
        ({"a"}, {"a", "b"}, UNKNOWN),
    ],
)
def test_not_equal_readings(left: set[str], right: set[str], verdict: Verdict) -> None:
    """``!=`` is decided only where "no value equals" and "some value differs" agree."""
    assert not_equal(left, right) is verdict


def test_kleene_tables() -> None:
    """AND, OR and NOT follow Kleene's strong three-valued logic."""
    values = (YES, NO, UNKNOWN)
    rank = {NO: 0, UNKNOWN: 1, YES: 2}
    for a in values:
        for b in values:
            assert all_of((a, b)) is min(a, b, key=rank.__getitem__)
            assert any_of((a, b)) is max(a, b, key=rank.__getitem__)
    assert [v.negate() for v in values] == [NO, YES, UNKNOWN]
    assert all_of(()) is YES
    assert any_of(()) is NO


def test_references_unknowable_explains_unknown() -> None:
    """A condition that can be UNKNOWN says which operands are unknowable."""
    condition = parse_condition('user.group = "Sales" and user.environment.secureRequest = "true"')
    assert condition.references_unknowable
    assert condition.unknowable == ("user.environment.secureRequest",)
    assert not parse_condition('user.group != "Sales"').references_unknowable
