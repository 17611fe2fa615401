"""Evaluate a condition for one user, three-valued: would the rule cover this user at login?

Semantics, each shared with :mod:`licsync.rules.coverage` (a property test holds them equal):

- A property holds every value the user has (see :mod:`licsync.rules.properties`); a property
  the user lacks holds none. Literals hold one value.
- ``=`` / ``==`` hold when some left value equals some right value (casefolded for ``=``, exact
  for ``==``): Qlik: "The full list does not have to match when a value used in an expression
  exists in a list" (help.qlik.com/en-us/sense/2.2/Subsystems/ManagementConsole/Content/
  operator-equal.htm). With no values at all they are NO.
- ``like`` / ``matches`` hold when some left value matches the pattern; per-value verdicts come
  from :mod:`licsync.rules.patterns` and may be UNKNOWN there.
- ``!=`` / ``!==``: Qlik documents them with the same "full list does not have to match" wording
  (operator-not-equal.htm), which reads as "some value differs", and admins were told that
  ``!=`` "is not working" and to write ``!( ... = ...)`` instead
  (github.com/eapowertools-archive/iPortal/issues/29). Admins usually mean "has no such value".
  The two readings agree when the property holds exactly one value; they disagree for a user with
  no value, or with the value and another one. There we answer UNKNOWN rather than guess, and the
  parser leaves a caveat suggesting ``!(a = b)``, which is unambiguous.
- Operands that cannot be known before login (``user.environment.*``, ``resource.*``, function
  calls) make a comparison UNKNOWN -- except ``=`` / ``==`` against a known property the user
  has no value of, which no value could make true. A bare function call is UNKNOWN.
- ``!``, ``and``, ``or`` combine with Kleene logic; the empty condition is YES for everyone.
"""

from __future__ import annotations

from collections.abc import Callable

from licsync.actual import ActualUser
from licsync.rules.patterns import LikePattern, RegexPattern
from licsync.rules.properties import values_of
from licsync.rules.syntax import (
    Always,
    And,
    Compare,
    Condition,
    Literal,
    Node,
    Not,
    Op,
    Operand,
    Or,
    Predicate,
    Property,
)
from licsync.rules.verdict import Verdict, all_of, any_of

__all__ = ["compare_values", "evaluate", "evaluate_compare", "not_equal"]

_CASE_SENSITIVE = frozenset({Op.STRICT_EQ, Op.STRICT_NE, Op.MATCHES})


def evaluate(condition: Condition, user: ActualUser) -> Verdict:
    """Whether ``condition`` holds for ``user``: YES, NO, or UNKNOWN ahead of login."""
    return _node(condition.root, user)


def _node(node: Node, user: ActualUser) -> Verdict:
    if isinstance(node, Compare):
        return evaluate_compare(node, user)
    if isinstance(node, And):
        return all_of(_node(operand, user) for operand in node.operands)
    if isinstance(node, Or):
        return any_of(_node(operand, user) for operand in node.operands)
    if isinstance(node, Not):
        return _node(node.operand, user).negate()
    if isinstance(node, Predicate):
        return Verdict.UNKNOWN
    if isinstance(node, Always):
        return Verdict.YES
    raise AssertionError(f"unhandled node {node!r}")  # pragma: no cover - the union is closed


def _values(operand: Operand, user: ActualUser) -> tuple[str, ...] | None:
    """The operand's values for ``user``; None when unknowable ahead of login."""
    if isinstance(operand, Literal):
        return (operand.value,)
    if isinstance(operand, Property) and operand.source is not None:
        return values_of(operand.source, user)
    return None


def evaluate_compare(compare: Compare, user: ActualUser) -> Verdict:
    """One comparison for one user."""
    left = _values(compare.left, user)
    right = _values(compare.right, user)
    if left is None or right is None:
        known = left if right is None else right
        if compare.op in (Op.EQ, Op.STRICT_EQ) and known is not None and not known:
            return Verdict.NO
        return Verdict.UNKNOWN
    return compare_values(compare.op, left, right, compare.pattern)


def compare_values(
    op: Op,
    left: tuple[str, ...],
    right: tuple[str, ...],
    pattern: LikePattern | RegexPattern | None,
) -> Verdict:
    """Apply ``op`` to two known value lists (``pattern``: ``right`` compiled, like/matches)."""
    if op is Op.LIKE or op is Op.MATCHES:
        if pattern is None:  # pragma: no cover - the parser always compiles it
            raise AssertionError("like/matches without a compiled pattern")
        match: Callable[[str], Verdict] = pattern.verdict
        if op is Op.LIKE:
            return any_of(match(value.casefold()) for value in left)
        return any_of(match(value) for value in left)
    norm: Callable[[str], str] = _exact if op in _CASE_SENSITIVE else str.casefold
    left_keys = {norm(value) for value in left}
    right_keys = {norm(value) for value in right}
    if op is Op.EQ or op is Op.STRICT_EQ:
        return Verdict.YES if left_keys & right_keys else Verdict.NO
    return not_equal(left_keys, right_keys)


def not_equal(left: set[str], right: set[str]) -> Verdict:
    """``!=`` over normalised value sets: YES/NO where both readings agree, else UNKNOWN.

    "No value equals" (negation) and "some pair differs" (per value) agree exactly when both
    sides are non-empty and either share nothing (YES) or are the same single value (NO).
    """
    if not left or not right:
        return Verdict.UNKNOWN
    if not left & right:
        return Verdict.YES
    if len(left) == 1 and len(right) == 1:
        return Verdict.NO
    return Verdict.UNKNOWN


def _exact(value: str) -> str:
    return value
