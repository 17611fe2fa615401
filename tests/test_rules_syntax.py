"""Parsing licence-rule conditions: the forms the QMC writes, exact errors, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.errors import RuleSyntaxError
from licsync.rules import MAX_DEPTH, MAX_LENGTH, parse_condition
from licsync.rules.properties import Source, SourceKind
from licsync.rules.syntax import (
    Always,
    And,
    Call,
    Compare,
    Literal,
    Not,
    Op,
    Or,
    Predicate,
    Property,
)

VALID = [
    # What the QMC's basic editor writes (doubled parentheses for backtracking).
    '((user.group="Sales"))',
    '((user.userDirectory="INTERNAL" and user.name="sa_repository"))',
    '((user.roles="RootAdmin"))',
    '((user.group="Sales" or user.group="Marketing"))',
    # Written by hand in the advanced editor.
    'user.userDirectory = "CORP" and user.roles = "RootAdmin"',
    'user.email like "*@corp.example"',
    'user.@Department matches "^(Fin|Acc).*"',
    '!(user.group = "Contractors")',
    'user.name != "sa_scheduler"',
    'user.userId == "JDoe"',
    'user.userId !== "JDoe"',
    # From Qlik's preinstalled rules: NOT before a comparison, functions, resource properties.
    'user.roles = "AuditAdmin" and !(resource.resourcetype = "TransientObject" and '
    'resource.name like "QmcSection_*")',
    'resource.ContentLibrarys.HasPrivilege("Read")',
    '!resource.objectType = "app_appscript"',
    "resource.@AppExceptionFromStream.empty()",
    "user.IsAnonymous()",
    'user.environment.browser like "Chrome*"',
    '"Sales" = user.group',
    'resource.HasPrivilege("read", "update")',
    # Whitespace and case variants.
    '  user.group="Sales"  ',
    'user.group\t=\n"Sales"',
    'user.group = "Sales" AND user.name = "x"',
    'user.group = "Sales" Or user.name = "x"',
    'user.name LIKE "a*"',
    'user.name Matches "a.*"',
    'user.USERDIRECTORY = "corp"',
    'user.group\u00a0=\u00a0"Sales"',
    '!!(user.group = "Sales")',
    '((((user.group = "a"))))',
    'user.title = "Größe 北京"',
    'user.name = "say \\"hi\\" \\\\ there"',
]


@pytest.mark.parametrize("text", VALID)
def test_valid_conditions_parse(text: str) -> None:
    """Conditions the QMC writes and hand-written variants all parse."""
    condition = parse_condition(text)
    assert condition.text == text


def test_empty_condition_applies_to_all() -> None:
    """An empty or blank condition is the Always node: Qlik applies the rule to every user."""
    for text in ("", "   ", "\n\t"):
        condition = parse_condition(text)
        assert condition.root == Always()
        assert condition.applies_to_all


def test_qmc_form_parses_to_a_simple_tree() -> None:
    """Doubled parentheses only group: the tree is an And of two comparisons."""
    condition = parse_condition('((user.userDirectory="INTERNAL" and user.name="sa_repository"))')
    assert condition.root == And(
        (
            Compare(Property(("user", "userDirectory"), 2), Op.EQ, Literal("INTERNAL", 21), 20),
            Compare(Property(("user", "name"), 36), Op.EQ, Literal("sa_repository", 46), 45),
        )
    )
    assert not condition.references_unknowable
    assert condition.caveats == ()


def test_precedence_not_then_and_then_or() -> None:
    """``a or b and !c`` groups as ``a or (b and (!c))``, as Qlik documents."""
    root = parse_condition('user.name = "a" or user.name = "b" and !user.name = "c"').root
    assert isinstance(root, Or)
    first, second = root.operands
    assert isinstance(first, Compare)
    assert isinstance(second, And)
    assert isinstance(second.operands[1], Not)
    assert isinstance(second.operands[1].operand, Compare)


def test_chains_are_flat() -> None:
    """A chain of ``or`` is one node with all operands, not a deep binary tree."""
    text = " or ".join(f'user.group = "g{i}"' for i in range(50))
    root = parse_condition(text).root
    assert isinstance(root, Or)
    assert len(root.operands) == 50


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ('user.name = "a"', Op.EQ),
        ('user.name == "a"', Op.STRICT_EQ),
        ('user.name != "a"', Op.NE),
        ('user.name !== "a"', Op.STRICT_NE),
        ('user.name like "a"', Op.LIKE),
        ('user.name LIKE "a"', Op.LIKE),
        ('user.name matches "a"', Op.MATCHES),
        ('user.name=="a"', Op.STRICT_EQ),
        ('user.name!=="a"', Op.STRICT_NE),
    ],
)
def test_operators(text: str, op: Op) -> None:
    """Each of the six comparison operators parses, with or without spaces, in any case."""
    root = parse_condition(text).root
    assert isinstance(root, Compare)
    assert root.op is op


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("user.name", Source(SourceKind.NAME)),
        ("user.Name", Source(SourceKind.NAME)),
        ("user.userId", Source(SourceKind.USERID)),
        ("user.userDirectory", Source(SourceKind.DIRECTORY)),
        ("user.roles", Source(SourceKind.ROLES)),
        ("user.group", Source(SourceKind.ATTRIBUTE, "group")),
        ("user.email", Source(SourceKind.ATTRIBUTE, "email")),
        ("user.@Department", Source(SourceKind.CUSTOM, "department")),
        ("user.Title", Source(SourceKind.ATTRIBUTE, "title")),
        ("user.environment.browser", None),
        ("user.environment", None),
        ("user.name.first", None),
        ("resource.name", None),
        ("resource.@Dept", None),
    ],
)
def test_property_resolution(path: str, source: Source | None) -> None:
    """Property paths resolve to the user field the mapping names, or to unknowable."""
    root = parse_condition(f'{path} = "x"').root
    assert isinstance(root, Compare)
    assert isinstance(root.left, Property)
    assert root.left.source == source
    assert parse_condition(f'{path} = "x"').references_unknowable is (source is None)


def test_function_calls_parse_as_unknowable() -> None:
    """Calls parse with their arguments and are listed as unknowable, once each."""
    condition = parse_condition(
        'resource.stream.HasPrivilege("read") and user.IsAnonymous() or user.IsAnonymous() '
        "or resource.name = user.name"
    )
    assert condition.unknowable == (
        "resource.stream.HasPrivilege(...)",
        "user.IsAnonymous()",
        "resource.name",
    )
    root = condition.root
    assert isinstance(root, Or)
    first = root.operands[0]
    assert isinstance(first, And)
    call = first.operands[0]
    assert call == Predicate(
        Call(("resource", "stream", "HasPrivilege"), (Literal("read", 29),), 0)
    )


def test_string_escapes() -> None:
    """Backslash escapes a quote and a backslash; any other backslash is kept as written."""
    root = parse_condition(r'user.name = "a\"b\\c\d"').root
    assert isinstance(root, Compare)
    assert root.right == Literal('a"b\\c\\d', 12)


ERRORS = [
    (
        "user.group = ",
        "expected a property or a string after '=', found the end of the condition",
        13,
    ),
    (
        "user.group == ",
        "expected a property or a string after '==', found the end of the condition",
        14,
    ),
    ("user.group like", "expected a string after 'like'", 15),
    ("user.group like user.name", "expected a string after 'like'", 16),
    ("user.group matches user.name", "expected a string after 'matches'", 19),
    ('user.group like ("a*")', "expected a string after 'like'", 16),
    ('(user.group = "a"', "unbalanced parenthesis: '(' is never closed", 0),
    ('((user.group = "a")', "unbalanced parenthesis: '(' is never closed", 0),
    ('user.group = "a")', "unbalanced parenthesis: ')' has no matching '('", 16),
    (")", "unbalanced parenthesis: ')' has no matching '('", 0),
    ("()", "empty parentheses: expected a condition inside", 1),
    (
        'user.group === "a"',
        "unknown operator '===': write '==' (case-sensitive) or '=' (case-insensitive)",
        11,
    ),
    ('user.group <> "a"', "unknown operator '<>': write '!='", 11),
    ('user.group = "a" && user.name = "b"', "unknown operator '&&': write 'and'", 17),
    ('user.group = "a" || user.name = "b"', "unknown operator '||': write 'or'", 17),
    (
        'user.group < "a"',
        "unknown operator '<': conditions compare with =, ==, !=, !==, like and matches",
        11,
    ),
    ('user.group =~ "a"', "unknown operator '=~': write 'like' or 'matches'", 11),
    (
        'not user.group = "a"',
        "unknown operator 'not': Qlik writes NOT as '!', e.g. !(user.group = \"X\")",
        0,
    ),
    ("user.group = 'a'", "strings are written in double quotes, not single quotes", 13),
    ('user.group = "a', "unterminated string: the closing '\"' is missing", 13),
    (
        'user.group "a"',
        "'user.group' on its own is not a condition: expected an operator such as '=' or "
        "'like' after it, found the string \"a\"",
        11,
    ),
    (
        "user.group",
        "'user.group' on its own is not a condition: expected an operator such as '=' or "
        "'like' after it, found the end of the condition",
        10,
    ),
    (
        '"a"',
        "a string on its own is not a condition: expected an operator such as '=' or 'like' "
        "after it, found the end of the condition",
        3,
    ),
    (
        'user.group = "a" user.name = "b"',
        "expected 'and' or 'or' between conditions, found 'user.name'",
        17,
    ),
    ('user.group = "a" = "b"', "expected 'and' or 'or' between conditions, found '='", 17),
    ('user.group = "a" and', "expected a condition after 'and'", 20),
    ('user.group = "a" or', "expected a condition after 'or'", 19),
    ('user.group = "a" AND or', "expected a condition after 'AND', found 'or'", 21),
    ('and user.group = "a"', "expected a condition, found 'and'", 0),
    ('= "a"', "expected a condition, found '='", 0),
    ("!", "expected a condition after '!'", 1),
    ('(user.group = "a" user.name = "b")', "expected 'and', 'or' or ')', found 'user.name'", 18),
    ("user.", "expected a property name after '.'", 5),
    ('user..name = "a"', "expected a property name after '.'", 5),
    ('user.@ = "a"', "expected a property name after '@'", 6),
    ('.name = "a"', "unexpected '.': a property path starts with user. or resource.", 0),
    ('user.group = "a" # comment', "unexpected character '#'", 17),
    ("user.group = {a}", "unexpected character '{'", 13),
    ('user.group = "a" ,', "expected 'and' or 'or' between conditions, found ','", 17),
    (
        'user.HasPrivilege("a" "b")',
        "expected ',' or ')' in the arguments of 'user.HasPrivilege', found the string \"b\"",
        22,
    ),
    ('user.HasPrivilege("a"', "unbalanced parenthesis: '(' is never closed", 17),
    ("user.HasPrivilege(", "unbalanced parenthesis: '(' is never closed", 17),
    ("user.HasPrivilege(and)", "expected a property or a string, found 'and'", 18),
    (
        'user.name matches "(abc"',
        "invalid regular expression after 'matches': missing ), unterminated subpattern",
        18,
    ),
    (
        'user.name matches "[a-"',
        "invalid regular expression after 'matches': unterminated character set",
        18,
    ),
    ('user.name matches "*a"', "invalid regular expression after 'matches': nothing to repeat", 18),
]


@pytest.mark.parametrize(("text", "reason", "offset"), ERRORS)
def test_syntax_errors(text: str, reason: str, offset: int) -> None:
    """Each malformed condition fails with the exact reason at the exact 0-based offset."""
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text)
    assert caught.value.reason == reason
    assert caught.value.offset == offset
    assert str(caught.value) == f"{reason} (at character {offset + 1})"


def test_too_long_condition_is_refused_before_parsing() -> None:
    """A 100 KB condition fails at once with the QRS limit, not after a slow parse."""
    text = 'user.group = "a" or ' * 5000 + 'user.group = "b"'
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text)
    assert (
        caught.value.reason == f"condition is {len(text)} characters long; QRS accepts at most 2048"
    )
    assert caught.value.offset == MAX_LENGTH


def test_condition_of_exactly_the_limit_parses() -> None:
    """A condition of exactly 2048 characters is accepted."""
    text = 'user.name = "' + "x" * (MAX_LENGTH - 14) + '"'
    assert len(text) == MAX_LENGTH
    parse_condition(text)


def test_deep_parentheses_fail_cleanly() -> None:
    """Nesting beyond MAX_DEPTH is a RuleSyntaxError at the first parenthesis too deep."""
    text = "(" * 1000 + 'user.name = "a"' + ")" * 1000
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text)
    assert caught.value.reason == "condition nests deeper than 64 levels of parentheses and '!'"
    assert caught.value.offset == MAX_DEPTH


def test_deep_negation_fails_cleanly() -> None:
    """A long run of '!' counts as nesting too."""
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition("!" * 2000 + 'user.name = "a"')
    assert caught.value.offset == MAX_DEPTH


def test_nesting_at_the_limit_parses() -> None:
    """Exactly MAX_DEPTH levels are accepted."""
    parse_condition("(" * MAX_DEPTH + 'user.name = "a"' + ")" * MAX_DEPTH)


@pytest.mark.parametrize(
    ("text", "reason", "offset"),
    [
        ("\x00", "NUL character (U+0000) is not allowed in a condition", 0),
        ('user.name = "a\x00b"', "NUL character (U+0000) is not allowed in a condition", 14),
        ('user.name = "a" \x07', "unexpected non-printing character U+0007", 16),
        ('user.name\x1c= "a"', "unexpected non-printing character U+001C", 9),
        ('user.name = "a" \u200b', "unexpected non-printing character U+200B", 16),
        ('user.name = "a" \U0001f600', "unexpected character '\U0001f600'", 16),
    ],
)
def test_hostile_characters(text: str, reason: str, offset: int) -> None:
    """NUL bytes, control characters and stray symbols are syntax errors with their position."""
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text)
    assert (caught.value.reason, caught.value.offset) == (reason, offset)


def test_unicode_in_values_and_names() -> None:
    """Non-ASCII property names and values parse and keep their text."""
    root = parse_condition('user.@Abteilung = "Größe" and user.部署 = "営業"').root
    assert isinstance(root, And)
    first, second = root.operands
    assert isinstance(first, Compare)
    assert first.right == Literal("Größe", 18)
    assert isinstance(second, Compare)
    assert isinstance(second.left, Property)
    assert second.left.source == Source(SourceKind.ATTRIBUTE, "部署")


def test_caveat_for_upper_case_keywords() -> None:
    """Upper-case operators parse but leave a caveat: Qlik asks for lower case."""
    condition = parse_condition('user.group = "a" AND user.name LIKE "b*"')
    assert [(c.offset, c.message) for c in condition.caveats] == [
        (17, "Qlik expects lower-case operators: write 'and', not 'AND'"),
        (31, "Qlik expects lower-case operators: write 'like', not 'LIKE'"),
    ]


def test_caveat_for_not_equal_on_multi_valued_property() -> None:
    """``!=`` on a list property leaves a caveat pointing to ``!(... = ...)``; on a scalar none."""
    condition = parse_condition('user.group != "Contractors"')
    assert len(condition.caveats) == 1
    assert condition.caveats[0].offset == 11
    assert "!(user.group = ...)" in condition.caveats[0].message
    assert parse_condition('user.name != "sa"').caveats == ()


def test_caveat_for_question_mark_in_like() -> None:
    """A '?' in a like pattern leaves a caveat: Qlik documents only '*'."""
    condition = parse_condition('user.name like "J?n*"')
    assert [c.offset for c in condition.caveats] == [15]


def test_caveat_for_unknown_object() -> None:
    """A property of neither user nor resource parses as unknowable with a caveat."""
    condition = parse_condition('environment.ip = "1.2.3.4"')
    assert condition.unknowable == ("environment.ip",)
    assert "neither a user nor a resource property" in condition.caveats[0].message


def test_condition_values_are_hashable_and_comparable() -> None:
    """Parsing the same text twice gives equal, hashable conditions."""
    text = 'user.name matches "a.*" and user.email like "*@x"'
    assert parse_condition(text) == parse_condition(text)
    assert len({parse_condition(text), parse_condition(text)}) == 1


@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_rule_syntax_error(text: str) -> None:
    """Whatever the input, parsing returns a Condition or raises RuleSyntaxError, nothing else."""
    try:
        parse_condition(text)
    except RuleSyntaxError as exc:
        offset = exc.offset
    else:
        return
    assert 0 <= offset <= len(text)


TOKENS = st.sampled_from(
    [
        "(",
        ")",
        "!",
        "=",
        "==",
        "!=",
        " and ",
        " or ",
        " like ",
        " matches ",
        "user.group",
        "user.@d",
        'resource.f("x")',
        '"a*"',
        '"(a"',
        '"x"',
        ",",
        " ",
    ]
)


@given(st.lists(TOKENS, max_size=30).map("".join))
def test_token_soup_parses_or_raises_rule_syntax_error(text: str) -> None:
    """Random sequences of real tokens never crash the parser."""
    try:
        parse_condition(text)
    except RuleSyntaxError as exc:
        offset = exc.offset
    else:
        return
    assert 0 <= offset <= len(text)
