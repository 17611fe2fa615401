"""``like`` and ``matches``: matching semantics and defences against hostile patterns."""

from __future__ import annotations

import pytest

from licsync.errors import RuleSyntaxError
from licsync.rules import MAX_MATCH_INPUT, Verdict
from licsync.rules.patterns import compile_like, compile_regex

YES, NO, UNKNOWN = Verdict.YES, Verdict.NO, Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("pattern", "value", "verdict"),
    [
        ("Sales", "sales", YES),
        ("Sales", "Sales Team", NO),
        ("Sales*", "SALES team", YES),
        ("*@corp.example", "jdoe@CORP.example", YES),
        ("*@corp.example", "jdoe@corp.example.org", NO),
        ("*adm*", "sys-ADMIN-1", YES),
        ("*", "", YES),
        ("*", "anything", YES),
        ("", "", YES),
        ("", "a", NO),
        ("a*b*c", "abc", YES),
        ("a*b*c", "aXbYc", YES),
        ("a*b*c", "acb", NO),
        ("ab*ba", "aba", NO),
        ("ab*ba", "abba", YES),
        ("**a**", "xay", YES),
        ("a.b", "axb", NO),
        ("a.b", "a.b", YES),
        ("[Sales]", "S", NO),
        ("[Sales]", "[sales]", YES),
        ("a+", "aa", NO),
        ("Größe*", "GRÖSSE 1", YES),
        # Qlik documents no '?' wildcard: where its two readings disagree, UNKNOWN.
        ("J?n", "J?n", YES),
        ("J?n", "Jan", UNKNOWN),
        ("J?n", "Jn", NO),
        ("J?n", "Jaan", NO),
        ("*?", "", NO),
        ("*?", "x", UNKNOWN),
        ("*?", "x?", YES),
        ("a?*?b", "a??b", YES),
        ("a?*?b", "axyzb", UNKNOWN),
    ],
)
def test_like(pattern: str, value: str, verdict: Verdict) -> None:
    """``like``: whole-value, case-insensitive, ``*`` wildcard, ``?`` undecided."""
    assert compile_like(pattern).verdict(value.casefold()) is verdict


def test_like_hostile_pattern_is_linear() -> None:
    """A pattern of a thousand stars runs without regex backtracking (it would never finish)."""
    pattern = compile_like("*a" * 1000 + "b")
    assert pattern.verdict("a" * 2000) is NO
    assert pattern.verdict("a" * 1000 + "b") is YES


@pytest.mark.parametrize(
    ("pattern", "value", "verdict"),
    [
        ("Sales", "Sales", YES),
        ("Sales", "sales", NO),
        ("Sales", "Sales Team", NO),
        (".*Sales.*", "EMEA Sales Team", YES),
        ("(?i)sales", "SALES", YES),
        ("^(Fin|Acc).*", "Finance", YES),
        ("^(Fin|Acc).*", "Legal", NO),
        ("Fin|Acc", "Finance", NO),
        ("Fin|Acc", "Acc", YES),
        ("\\d{3}", "123", YES),
        ("", "", YES),
        ("a.c", "a\nc", NO),
    ],
)
def test_matches(pattern: str, value: str, verdict: Verdict) -> None:
    """``matches``: the whole value must match, case-sensitively unless the pattern says (?i)."""
    assert compile_regex(pattern, offset=0).verdict(value) is verdict


def test_matches_bounds_the_input() -> None:
    """Values longer than MAX_MATCH_INPUT are not run through the regex: UNKNOWN."""
    pattern = compile_regex(".*", offset=0)
    assert pattern.verdict("x" * MAX_MATCH_INPUT) is YES
    assert pattern.verdict("x" * (MAX_MATCH_INPUT + 1)) is UNKNOWN


NESTED = (
    "regular expression after 'matches' repeats a group that itself repeats or has alternatives "
    "(like '(a+)+' or '(a|b)*'), which can take exponential time; rewrite it without nested "
    "repetition"
)
AMBIGUOUS = (
    "regular expression after 'matches' is too ambiguous to evaluate safely (at most three "
    "open-ended repetitions such as '.*', or about twenty optional parts); simplify it"
)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a+)+", NESTED),
        ("(a*)*b", NESTED),
        ("(a|aa)*", NESTED),
        ("(a|b)+", NESTED),
        ("(\\w+\\.)+com", NESTED),
        ("((a|b)c)+", NESTED),
        ("(a?){30}", NESTED),
        ("(?:x+y?)+", NESTED),
        ("(?P<n>a+)*", NESTED),
        ("(?i:a+){2,}", NESTED),
        ("(ab{,})+", NESTED),
        (".*.*.*.*x", AMBIGUOUS),
        (".*a.*b.*c.*d", AMBIGUOUS),
        ("x{2,}y{2,}z{2,}w{2,}", AMBIGUOUS),
        ("a?" * 22, AMBIGUOUS),
        (".{0,250}.{0,250}.{0,250}.{0,250}", AMBIGUOUS),
    ],
)
def test_catastrophic_patterns_are_refused(pattern: str, reason: str) -> None:
    """Patterns that can backtrack exponentially or polynomially beyond budget are refused."""
    with pytest.raises(RuleSyntaxError) as caught:
        compile_regex(pattern, offset=7)
    assert caught.value.reason == reason
    assert caught.value.offset == 7


@pytest.mark.parametrize(
    "pattern",
    [
        ".*Admin.*",
        "^(Fin|Acc).*",
        "(?i).*(fin|acc).*",
        "[a-z]+\\.[a-z]+@[a-z]+\\.com",
        "(\\d{3}-){2}\\d{4}",
        "(?:ab)+",
        "(abc){3}",
        ".*.*.*x",
        "a?" * 21,
        "[(]+\\(+",
        "(?#comment)a*",
        "a{,}b",
        "x{2}",
        "(a)(?(1)b|c)",
        "Stream_\\w{8}-\\w{4}-\\w{4}-\\w{4}-\\w{12}",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    """Everyday patterns, including Qlik's own documentation example, pass the vetting."""
    compile_regex(pattern, offset=0)


def test_invalid_regex_reports_the_literal_offset() -> None:
    """A regex that does not compile is a RuleSyntaxError at its string literal."""
    with pytest.raises(RuleSyntaxError) as caught:
        compile_regex("(", offset=42)
    assert caught.value.offset == 42
    assert caught.value.reason.startswith("invalid regular expression after 'matches': ")


def test_regex_future_warnings_do_not_escape() -> None:
    """Python's FutureWarning about nested sets is not turned into an error or leaked."""
    assert compile_regex("[[a]", offset=0).verdict("[") is YES
