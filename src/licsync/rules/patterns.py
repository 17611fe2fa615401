"""The two pattern operators of Qlik rules: ``like`` (wildcards), ``matches`` (regular expressions).

``like`` -- Qlik documents it as not case sensitive, with ``*`` as wildcard, matching the whole
value (``resource.name like "mya*"`` is "names beginning with mya"):
https://help.qlik.com/en-us/sense/2.2/Subsystems/ManagementConsole/Content/operator-like.htm .
Qlik documents no ``?`` wildcard, so whether ``?`` is a wildcard or a literal question mark is an
assumption we refuse to make: a pattern with ``?`` is evaluated both ways and, where the two
readings disagree, the verdict is UNKNOWN. Every other character is literal. Values and pattern are
casefolded. Matching splits the pattern at ``*`` and looks for the fixed-length pieces left to
right (greedy leftmost is exact for such globs), which takes at most
O(len(value) * len(pattern)): no regex engine, so no backtracking blow-up whatever the pattern.

``matches`` -- Qlik documents it as case sensitive and as returning "only results that exactly
match your expression" (``resource.name matches ".*yAp.*"`` finds names containing yAp), so we use
:func:`re.fullmatch` without flags (``(?i)`` in the pattern asks for case-insensitivity):
https://help.qlik.com/en-us/sense/2.0/Subsystems/ManagementConsole/Content/operator-matches.htm .
Qlik's engine is .NET; Python's ``re`` agrees on the common syntax (classes, groups, alternation,
quantifiers, anchors, ``\\d \\w \\s``). A pattern Python cannot compile is reported as a syntax
error, so .NET-only constructs such as ``(?<name>...)`` would be flagged (an assumption that they do
not occur in licence rules).

Catastrophic backtracking. Python's ``re`` has no timeout and licsync adds no regex dependency, so
patterns are vetted before use and inputs are bounded:

1. A repeated group whose body itself repeats or has alternatives (``(a+)+``, ``(a|aa)*``,
   ``(\\w+\\.)+``) is rejected: that is the shape of exponential backtracking.
2. The remaining ambiguity is estimated as the number of ways a ``MAX_MATCH_INPUT``-long value can
   be split among the repetitions: ``L**k / k!`` for ``k`` open-ended quantifiers (``*``, ``+``,
   ``{n,}``), times 2 per ``?``, ``m - n + 1`` per ``{n,m}`` and the branch count per alternation;
   above ``L**3 / 6`` the pattern is rejected. Measured on CPython 3.11 with ``L = 256``:
   ``.*.*.*x`` takes 3 ms on a non-matching value, ``.*a.*a.*a.*x`` 190 ms, 21 ``a?`` 12 ms and
   24 ``a?`` 430 ms -- so three open-ended repetitions, or about twenty optional parts, is the
   budget.
3. A value longer than ``MAX_MATCH_INPUT`` characters is not matched at all: that value's
   comparison is UNKNOWN. Group names, e-mail addresses and custom property values are shorter.

Rejecting costs an admin a rewrite of an odd pattern; accepting would let one rule stall every plan.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress

from licsync.errors import RuleSyntaxError
from licsync.rules.verdict import Verdict

__all__ = ["MAX_MATCH_INPUT", "LikePattern", "RegexPattern", "compile_like", "compile_regex"]

MAX_MATCH_INPUT = 256
"""Longest value ``matches`` evaluates; longer values give UNKNOWN (see module docstring)."""
_FITS = MAX_MATCH_INPUT.__ge__
_TOO_LONG = MAX_MATCH_INPUT.__lt__

_AMBIGUITY_BUDGET = float(MAX_MATCH_INPUT) ** 3 / 6


@dataclass(frozen=True, slots=True)
class LikePattern:
    """A compiled ``like`` pattern.

    Attributes:
        text: the pattern as written (after string-literal escapes).
        segments: the casefolded pattern split at ``*``.
        has_question: whether ``?`` occurs, making the verdict depend on its unknown meaning.
    """

    text: str
    segments: tuple[str, ...]
    has_question: bool
    # `?`-as-wildcard versions of the segments (None where a segment has no `?`): fixed-length
    # regexes without quantifiers, so searching them cannot backtrack.
    _wild: tuple[re.Pattern[str] | None, ...] = field(default=(), compare=False, repr=False)

    @property
    def literal_prefix(self) -> str:
        """Casefolded text every match starts with, whatever ``?`` means."""
        return self.segments[0].split("?", 1)[0]

    @property
    def literal_suffix(self) -> str:
        """Casefolded text every match ends with, whatever ``?`` means."""
        return self.segments[-1].rsplit("?", 1)[-1] if len(self.segments) > 1 else ""

    @property
    def is_prefix_suffix(self) -> bool:
        """Whether the pattern is ``prefix*suffix`` without ``?``: then those two decide alone."""
        return len(self.segments) == 2 and not self.has_question

    @property
    def is_exact(self) -> bool:
        """Whether the pattern has no wildcard of either kind (then it is plain ``=``)."""
        return len(self.segments) == 1 and not self.has_question

    def verdict(self, folded: str) -> Verdict:
        """Whether casefolded ``folded`` matches; UNKNOWN when the meaning of ``?`` decides."""
        if self._match(folded, wild=False):
            # A literal-`?` match is also a wildcard-`?` match: both readings agree.
            return Verdict.YES
        if self.has_question and self._match(folded, wild=True):
            return Verdict.UNKNOWN
        return Verdict.NO

    def _match(self, value: str, *, wild: bool) -> bool:
        segments = self.segments
        if len(segments) == 1:
            return len(value) == len(segments[0]) and self._at(0, value, 0, wild=wild)
        first, last = segments[0], segments[-1]
        if len(value) < len(first) + len(last):
            return False
        end = len(value) - len(last)
        if not self._at(0, value, 0, wild=wild) or not self._at(
            len(segments) - 1, value, end, wild=wild
        ):
            return False
        pos = len(first)
        for index in range(1, len(segments) - 1):
            segment = segments[index]
            if not segment:
                continue
            found = self._find(index, value, pos, end, wild=wild)
            if found < 0:
                return False
            pos = found + len(segment)
        return True

    def _at(self, index: int, value: str, pos: int, *, wild: bool) -> bool:
        compiled = self._wild[index] if wild else None
        if compiled is None:
            return value.startswith(self.segments[index], pos)
        return compiled.match(value, pos) is not None

    def _find(self, index: int, value: str, start: int, end: int, *, wild: bool) -> int:
        compiled = self._wild[index] if wild else None
        if compiled is None:
            return value.find(self.segments[index], start, end)
        found = compiled.search(value, start, end)
        return -1 if found is None else found.start()


@dataclass(frozen=True, slots=True)
class RegexPattern:
    """A compiled, vetted ``matches`` pattern (whole-value, case-sensitive)."""

    text: str
    compiled: re.Pattern[str] = field(compare=False, repr=False)

    def verdict(self, value: str) -> Verdict:
        """Whether ``value`` matches as a whole; UNKNOWN for values too long to match safely."""
        if len(value) > MAX_MATCH_INPUT:
            return Verdict.UNKNOWN
        return Verdict.YES if self.compiled.fullmatch(value) is not None else Verdict.NO

    def sort(self, values: Iterable[str]) -> tuple[list[str], list[str]]:
        """The values whose :meth:`verdict` is YES, and those whose verdict is UNKNOWN.

        The same verdicts, reached without Python bytecode per value: an e-mail rule over
        100,000 distinct addresses was 100,000 calls of :meth:`verdict`.
        """
        values = values if isinstance(values, list) else list(values)
        lengths = list(map(len, values))
        short = list(compress(values, map(_FITS, lengths)))
        long = list(compress(values, map(_TOO_LONG, lengths)))
        return list(compress(short, map(self.compiled.fullmatch, short))), long


def compile_like(text: str) -> LikePattern:
    """Compile a ``like`` pattern (never fails: every string is a valid pattern)."""
    segments = tuple(text.casefold().split("*"))
    wild = tuple(
        re.compile("".join("." if ch == "?" else re.escape(ch) for ch in segment), re.DOTALL)
        if "?" in segment
        else None
        for segment in segments
    )
    return LikePattern(text, segments, "?" in text, wild)


def compile_regex(text: str, *, offset: int) -> RegexPattern:
    """Compile and vet a ``matches`` pattern; ``offset`` locates its literal in the condition.

    Raises:
        RuleSyntaxError: the pattern does not compile, or could backtrack catastrophically.
    """
    try:
        with warnings.catch_warnings():
            # FutureWarnings about possible future set syntax concern Python, not the rule.
            warnings.simplefilter("ignore")
            compiled = re.compile(text)
    except re.error as exc:
        raise RuleSyntaxError(
            f"invalid regular expression after 'matches': {exc.msg}", offset=offset
        ) from exc
    problem = _backtracking_risk(text)
    if problem:
        raise RuleSyntaxError(problem, offset=offset)
    return RegexPattern(text, compiled)


@dataclass(slots=True)
class _Group:
    """Bookkeeping for one open group while scanning a regular expression."""

    repeats: bool = False  # the body holds a variable quantifier
    branches: int = 1  # alternatives directly in this group
    alternates: bool = False  # the body holds an alternation (here or nested)


_NESTED = (
    "regular expression after 'matches' repeats a group that itself repeats or has alternatives "
    "(like '(a+)+' or '(a|b)*'), which can take exponential time; rewrite it without nested "
    "repetition"
)
_TOO_AMBIGUOUS = (
    "regular expression after 'matches' is too ambiguous to evaluate safely (at most three "
    "open-ended repetitions such as '.*', or about twenty optional parts); simplify it"
)
_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")
_INFINITE = -1


def _backtracking_risk(pattern: str) -> str:
    """Why ``pattern`` could backtrack catastrophically, or "" when it is safe to run.

    The pattern has already compiled, so the scan can be lenient about malformed constructs.
    """
    stack = [_Group()]
    open_ended = 0  # count of *, + and {n,}
    other = 1  # product of the bounded choices: ?, {n,m}, alternations
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        closed: _Group | None = None
        if ch == "\\":
            i += 2
        elif ch == "[":
            i = _skip_class(pattern, i)
        elif ch == "(":
            i = _skip_group_header(pattern, i)
            if i > 0:
                stack.append(_Group())
            i = abs(i)  # negative: (?#comment), (?P=name) or (?flags) opens no group
            continue
        elif ch == ")" and len(stack) > 1:
            closed = stack.pop()
            other *= closed.branches
            i += 1
        elif ch == "|":
            stack[-1].branches += 1
            stack[-1].alternates = True
            i += 1
            continue
        else:
            i += 1
        quantifier = _read_quantifier(pattern, i)
        if quantifier is None:
            if closed is not None:
                stack[-1].repeats |= closed.repeats
                stack[-1].alternates |= closed.alternates
            continue
        low, high, length = quantifier
        i += length
        if i < n and pattern[i] in "?+":  # lazy or possessive form of the same quantifier
            i += 1
        if closed is not None:
            if (high == _INFINITE or high > 1) and (closed.repeats or closed.alternates):
                return _NESTED
            stack[-1].repeats |= closed.repeats
            stack[-1].alternates |= closed.alternates
        if high == _INFINITE:
            open_ended += 1
        elif high > low:
            other *= min(high - low + 1, MAX_MATCH_INPUT)
        stack[-1].repeats |= high != low
        if _ambiguity(open_ended, other) > _AMBIGUITY_BUDGET:
            return _TOO_AMBIGUOUS
    too_ambiguous = _ambiguity(open_ended, other * stack[0].branches) > _AMBIGUITY_BUDGET
    return _TOO_AMBIGUOUS if too_ambiguous else ""


def _ambiguity(open_ended: int, other: int) -> float:
    """Estimated ways to split a ``MAX_MATCH_INPUT``-long value among the pattern's repetitions.

    ``k`` open-ended repetitions can split ``L`` characters in about ``L**k / k!`` ways; each
    bounded choice multiplies that.
    """
    return float(MAX_MATCH_INPUT) ** open_ended / math.factorial(open_ended) * other


def _read_quantifier(pattern: str, i: int) -> tuple[int, int, int] | None:
    """``(min, max, length)`` of a quantifier at ``i`` (max ``_INFINITE`` for open-ended)."""
    if i >= len(pattern):
        return None
    ch = pattern[i]
    if ch == "*":
        return 0, _INFINITE, 1
    if ch == "+":
        return 1, _INFINITE, 1
    if ch == "?":
        return 0, 1, 1
    if ch == "{":
        found = _QUANTIFIER.match(pattern, i)
        if found is None or found.group() == "{}":
            return None  # a literal brace, as in Python's re ("{,}" is {0,} there)
        low = int(found.group(1) or 0)
        if not found.group(2):
            high = low
        elif found.group(3):
            high = int(found.group(3))
        else:
            high = _INFINITE
        return low, high, found.end() - i
    return None


def _skip_class(pattern: str, i: int) -> int:
    """Index just past the character class opening at ``i``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ] is literal
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def _skip_group_header(pattern: str, i: int) -> int:
    """Index of the body of the group opening at ``i``; negated when no group opens there."""
    j = i + 1
    if j >= len(pattern) or pattern[j] != "?":
        return j
    rest = pattern[j + 1 : j + 4]
    if rest.startswith(("#", "P=")):
        end = pattern.find(")", j)
        return -(len(pattern) if end < 0 else end + 1)
    if rest.startswith("P<"):
        end = pattern.find(">", j)
        return len(pattern) if end < 0 else end + 1
    if rest.startswith("("):  # conditional (?(1)yes|no): the body follows the condition
        end = pattern.find(")", j)
        return len(pattern) if end < 0 else end + 1
    if rest.startswith(("<=", "<!")):
        return j + 3
    if rest[:1] in (":", "=", "!", ">"):
        return j + 2
    # Inline flags: (?i) applies globally and opens nothing; (?i:...) opens a group.
    k = j + 1
    while k < len(pattern) and (pattern[k].isalpha() or pattern[k] == "-"):
        k += 1
    if k < len(pattern) and pattern[k] == ":":
        return k + 1
    return -(k + 1)
