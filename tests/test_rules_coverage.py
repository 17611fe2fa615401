"""Bulk rule coverage over a user population, and its agreement with one-user evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.actual import ActualUser
from licsync.identity import user_key
from licsync.rules import Condition, RuleCoverage, Verdict, evaluate, parse_condition
from licsync.rules.verdict import any_of

YES, NO, UNKNOWN = Verdict.YES, Verdict.NO, Verdict.UNKNOWN


def _user(
    userid: str,
    *,
    directory: str = "CORP",
    groups: tuple[str, ...] = (),
    email: str | None = None,
    roles: tuple[str, ...] = (),
    dept: tuple[str, ...] = (),
) -> ActualUser:
    attributes: dict[str, tuple[str, ...]] = {"group": groups}
    if email is not None:
        attributes["email"] = (email,)
    return ActualUser(
        id=userid,
        directory=directory,
        userid=userid,
        name=userid.title(),
        roles=roles,
        attributes=attributes,
        custom_properties={"department": dept} if dept else {},
    )


USERS = [
    _user("ann", groups=("Sales",), email="ann@corp.example", dept=("Finance",)),
    _user("bob", groups=("Sales", "Contractors"), email="bob@corp.example"),
    _user("cid", directory="EMEA", groups=("Marketing",), email="cid@other.example"),
    _user("dee", roles=("RootAdmin",)),
]
RULES = [
    ("sales", parse_condition('((user.group="Sales"))')),
    ("staff", parse_condition('!(user.group = "Contractors") and user.userDirectory = "CORP"')),
    ("corp-mail", parse_condition('user.email like "*@corp.example"')),
    ("not-contractor", parse_condition('user.group != "Contractors"')),
    ("chrome", parse_condition('user.environment.browser like "Chrome*" and user.group = "Sales"')),
    ("admins", parse_condition('user.roles = "rootadmin"')),
    ("finance", parse_condition('user.@Department matches "Fin.*"')),
    ("everyone", parse_condition("")),
]


@pytest.fixture(scope="module")
def coverage() -> RuleCoverage:
    """Coverage of the small fixed population."""
    return RuleCoverage.build(RULES, USERS)


@pytest.mark.parametrize(
    ("userid", "matching", "unknown"),
    [
        (
            "ann",
            ("corp-mail", "everyone", "finance", "not-contractor", "sales", "staff"),
            ("chrome",),
        ),
        ("bob", ("corp-mail", "everyone", "sales"), ("chrome", "not-contractor")),
        ("cid", ("everyone", "not-contractor"), ()),
        ("dee", ("admins", "everyone", "staff"), ("not-contractor",)),
    ],
)
def test_matching_and_unknown(
    coverage: RuleCoverage, userid: str, matching: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    """Each user gets the sorted names of the rules that surely cover them, and of the unsure."""
    key = user_key("EMEA" if userid == "cid" else "CORP", userid)
    assert coverage.matching(key) == matching
    assert coverage.unknown(key) == unknown


def test_verdict_over_all_rules() -> None:
    """verdict() is YES if some rule surely covers the user, else UNKNOWN if one may, else NO."""
    rules = [
        ("sales", parse_condition('user.group = "Sales"')),
        ("maybe", parse_condition('user.group = "Marketing" and user.IsAnonymous()')),
    ]
    coverage = RuleCoverage.build(rules, USERS)
    assert [coverage.verdict(user.key) for user in USERS] == [YES, YES, UNKNOWN, NO]
    with pytest.raises(KeyError):
        coverage.verdict("corp\\zed")


def test_counts(coverage: RuleCoverage) -> None:
    """count() is the users surely covered, count_unknown() those that depend on the login."""
    assert {name: coverage.count(name) for name in coverage.names} == {
        "admins": 1,
        "chrome": 0,
        "corp-mail": 2,
        "everyone": 4,
        "finance": 1,
        "not-contractor": 2,
        "sales": 2,
        "staff": 2,
    }
    assert coverage.count_unknown("chrome") == 2
    assert coverage.count_unknown("not-contractor") == 2


def test_names_are_sorted(coverage: RuleCoverage) -> None:
    """Rule names come back sorted whatever the input order."""
    assert coverage.names == tuple(sorted(name for name, _ in RULES))


def test_user_keys_are_case_insensitive(coverage: RuleCoverage) -> None:
    """Lookups use user_key, so differently cased directory and id find the same user."""
    assert user_key("corp", "ANN") in coverage
    assert coverage.matching(user_key("corp", "ANN")) == coverage.matching(user_key("CORP", "ann"))


def test_unknown_user_and_rule_raise_key_error(coverage: RuleCoverage) -> None:
    """A user outside the population, or an unknown rule name, is a KeyError."""
    assert "corp\\zed" not in coverage
    with pytest.raises(KeyError):
        coverage.matching("corp\\zed")
    with pytest.raises(KeyError):
        coverage.unknown("corp\\zed")
    with pytest.raises(KeyError):
        coverage.count("no such rule")


def test_duplicate_rule_names_are_refused() -> None:
    """Two rules with one name would make answers by name ambiguous."""
    condition = parse_condition('user.group = "a"')
    with pytest.raises(ValueError, match="duplicate rule name 'x'"):
        RuleCoverage.build([("x", condition), ("y", condition), ("x", condition)], USERS)


def test_empty_population_and_no_rules() -> None:
    """No users and no rules build fine and answer emptily."""
    empty = RuleCoverage.build(RULES, [])
    assert empty.count("everyone") == 0
    assert "corp\\ann" not in empty
    none = RuleCoverage.build([], USERS)
    assert none.names == ()
    assert none.matching(USERS[0].key) == ()


def test_duplicate_user_key_answers_from_the_last_user() -> None:
    """A key appearing twice is answered from its last user."""
    first = _user("ann", groups=("Sales",))
    second = _user("ANN", groups=("Marketing",))
    coverage = RuleCoverage.build(
        [("sales", parse_condition('user.group = "Sales"'))], [first, second]
    )
    assert coverage.matching(first.key) == ()


def _assert_agrees(rules: Sequence[tuple[str, Condition]], users: Sequence[ActualUser]) -> None:
    coverage = RuleCoverage.build(rules, users)
    for user in users:
        matching, unknown = set(coverage.matching(user.key)), set(coverage.unknown(user.key))
        verdicts = []
        for name, condition in rules:
            bulk = YES if name in matching else UNKNOWN if name in unknown else NO
            verdicts.append(evaluate(condition, user))
            assert bulk is verdicts[-1], (name, condition.text, user)
        assert coverage.verdict(user.key) is any_of(verdicts)
    for name, condition in rules:
        verdicts = [evaluate(condition, user) for user in users]
        assert coverage.count(name) == verdicts.count(YES)
        assert coverage.count_unknown(name) == verdicts.count(UNKNOWN)


# Value pools with case variants and near-misses, so that casefolding, lists and '?' all matter.
VALUES = [
    "Sales",
    "sales",
    "SALES",
    "Fin",
    "fin-1",
    "Größe",
    "GRÖSSE",
    "a?c",
    "abc",
    "aba",
    "",
    "x",
]
PROPERTIES = [
    "user.name",
    "user.userId",
    "user.userDirectory",
    "user.group",
    "user.roles",
    "user.email",
    "user.@dept",
    "user.title",
    "user.environment.ip",
    "resource.name",
]
LIKES = ["*", "s*", "*s", "*a*", "S?les", "?", "", "sa*es", "*@corp.example", "ab*ba", "a?c*", "x"]
REGEXES = [".*", "Sales", "(?i)sales", "S.*", "[a-z]+", "F.*|s.*", "", "a.c"]

values = st.sampled_from(VALUES)
properties = st.sampled_from(PROPERTIES)
equality = st.sampled_from(["=", "==", "!=", "!=="])

atoms = st.one_of(
    st.builds(lambda p, o, v: f'{p} {o} "{v}"', properties, equality, values),
    st.builds(lambda v, o, p: f'"{v}" {o} {p}', values, equality, properties),
    st.builds(lambda p, o, q: f"{p} {o} {q}", properties, equality, properties),
    st.builds(lambda p, v: f'{p} like "{v}"', properties, st.sampled_from(LIKES)),
    st.builds(lambda p, v: f'{p} matches "{v}"', properties, st.sampled_from(REGEXES)),
    st.builds(lambda v, w: f'"{v}" like "{w}"', values, st.sampled_from(LIKES)),
    st.builds(lambda v, o, w: f'"{v}" {o} "{w}"', values, equality, values),
    st.sampled_from(["user.IsAnonymous()", 'resource.HasPrivilege("read")']),
)
conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        inner.map(lambda a: f"!({a})"),
        inner.map(lambda a: f"({a})"),
    ),
    max_leaves=6,
)
value_lists = st.lists(values, max_size=3).map(tuple)
users = st.builds(
    ActualUser,
    id=st.just("id"),
    directory=st.sampled_from(["CORP", "corp", "EMEA"]),
    userid=st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]),
    name=values,
    roles=value_lists,
    attributes=st.fixed_dictionaries(
        {}, optional={"group": value_lists, "email": value_lists, "title": value_lists}
    ),
    custom_properties=st.fixed_dictionaries({}, optional={"dept": value_lists}),
)


@given(
    texts=st.lists(st.one_of(conditions, st.just("")), min_size=1, max_size=6),
    population=st.lists(users, max_size=12, unique_by=lambda user: user.key),
)
def test_bulk_agrees_with_single_user_evaluation(
    texts: list[str], population: list[ActualUser]
) -> None:
    """Random conditions over random small populations: bulk and one-by-one verdicts are equal."""
    rules = [(f"rule-{i}", parse_condition(text)) for i, text in enumerate(texts)]
    _assert_agrees(rules, population)


def test_prefix_and_suffix_may_not_overlap() -> None:
    """``ab*ba`` needs four characters: "aba" starts with ab and ends with ba yet fails."""
    population = [_user(userid) for userid in ("aba", "abba", "abxba", "ab", "ba")]
    coverage = RuleCoverage.build([("r", parse_condition('user.userId like "ab*ba"'))], population)
    assert [coverage.matching(user.key) for user in population] == [(), ("r",), ("r",), (), ()]


def test_repeated_values_count_once() -> None:
    """A value listed twice, or twice in different case, is one value for ``!=`` and ``!==``."""
    population = [
        _user("twice", groups=("Sales", "Sales")),
        _user("cased", groups=("Sales", "SALES")),
        _user("two", groups=("Sales", "Marketing")),
    ]
    rules = [
        ("ne", parse_condition('user.group != "sales"')),
        ("strict", parse_condition('user.group !== "Sales"')),
    ]
    coverage = RuleCoverage.build(rules, population)
    assert [coverage.unknown(user.key) for user in population] == [
        (),
        ("strict",),
        ("ne", "strict"),
    ]
    assert [coverage.matching(user.key) for user in population] == [(), (), ()]
    _assert_agrees(rules, population)


def test_bulk_agrees_on_a_large_population() -> None:
    """With thousands of distinct values the sorted-index path answers like evaluate() too."""
    population = [
        _user(
            f"u{i:05d}",
            directory=("CORP", "EMEA", "APAC")[i % 3],
            groups=(f"G{i % 40}", f"g{i % 7}") if i % 5 else (),
            email=f"u{i:05d}@{('corp', 'Corp', 'other')[i % 3]}.example" if i % 11 else None,
            dept=("Finance",) if i % 2 else (),
        )
        for i in range(5000)
    ]
    population.append(_user("edge", email="a\U0010ffffz@corp.example"))
    population.extend(_user(userid) for userid in ("aba", "abba", "ab", "ba"))
    texts = [
        'user.email like "*@corp.example"',
        'user.email like "u001*"',
        'user.email like "U00*@OTHER.example"',
        'user.email like "u0*1@corp.*"',
        'user.email like "u00?0*"',
        'user.email like "a\U0010ffff*"',
        'user.email like "*z@corp.example"',
        'user.userId like "u04*"',
        'user.userId like "*99"',
        'user.userId like "ab*ba"',
        'user.name like "AB*A"',
        'user.email matches "u000[0-9]@corp\\.example"',
        'user.email = "U00001@CORP.example"',
        'user.group != "G1"',
        'user.group !== "g1"',
        'user.group like "G1*" and !(user.userDirectory = "EMEA")',
        'user.@department = resource.name or user.group = "G3"',
        "user.group = user.userDirectory",
        "user.name != user.userId",
    ]
    rules = [(f"rule-{i:02d}", parse_condition(text)) for i, text in enumerate(texts)]
    _assert_agrees(rules, population)
