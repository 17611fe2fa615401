"""Which users every licence rule would cover, for a whole site at once.

Evaluating hundreds of rules user by user is hundreds of thousands of tree walks. Instead, once per
user population:

- each property a rule compares is indexed as *value -> positions of the users holding it*
  (casefolded for the case-insensitive operators, exact for ``==``, ``!==`` and ``matches``);
- a comparison against a string is evaluated once per *distinct value* of its property (hundreds
  of group names rather than a hundred thousand users; ``=`` is a single dictionary look-up), and
  the positions of the values that match are set in a bitset -- a Python int with bit *i* for the
  user at position *i*, built from a bytearray in one conversion;
- comparisons are combined three-valued as pairs of bitsets ``(yes, maybe)`` with ``yes`` inside
  ``maybe`` (UNKNOWN is ``maybe`` minus ``yes``): ``and`` intersects both, ``or`` unites both,
  ``!`` maps ``(yes, maybe)`` to ``(all - maybe, all - yes)``;
- identical comparisons in different rules are evaluated once.

Comparisons between two user properties are rare in licence rules and fall back to evaluating
user by user. The verdicts are those of :func:`licsync.rules.evaluate.evaluate`.
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, repeat

from licsync.actual import ActualUser
from licsync.identity import user_key
from licsync.rules.evaluate import compare_values, evaluate_compare
from licsync.rules.patterns import LikePattern, RegexPattern
from licsync.rules.properties import Source, multi_values, scalar_values
from licsync.rules.syntax import (
    Always,
    And,
    Compare,
    Condition,
    Literal,
    Node,
    Not,
    Op,
    Or,
    Predicate,
    Property,
)
from licsync.rules.verdict import Verdict

__all__ = ["RuleCoverage"]

_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_BIT = tuple(bytes(1 if value >> bit & 1 else 0 for value in range(256)) for bit in range(8))
"""Per bit of a byte: the table mapping a byte to 1 when that bit is set, else to 0."""
_ONE = 1
_SORTED_INDEX_FROM = 4096
"""Distinct values from which a column is searched through sorted keys instead of scanned."""
_CASE_SENSITIVE = frozenset({Op.STRICT_EQ, Op.STRICT_NE, Op.MATCHES})
_SYMMETRIC = frozenset({Op.EQ, Op.STRICT_EQ, Op.NE, Op.STRICT_NE})


@dataclass(frozen=True, slots=True, eq=False)
class RuleCoverage:
    """Per-rule coverage of a user population, answered by user key or by rule name.

    Build with :meth:`build`. Users and rules are identified by ``user_key`` and rule name; a
    user outside the population is evaluated with :func:`licsync.rules.evaluate.evaluate`.
    Compared by identity: two builds are never worth comparing bit by bit.
    """

    names: tuple[str, ...]
    """Rule names, sorted."""
    # Bitsets are 12.5 KB per rule for 100,000 users: kept out of repr.
    _positions: Mapping[str, int] = field(repr=False)
    _yes: bytes = field(repr=False)  # byte-major (see _byte_major): rules that surely cover
    _unknown: bytes = field(repr=False)  # byte-major: rules that may cover
    _counts: Mapping[str, tuple[int, int]] = field(repr=False)
    _any: tuple[bytes, bytes] = field(repr=False)  # some rule surely covers; or only may

    @classmethod
    def build(
        cls, rules: Sequence[tuple[str, Condition]], users: Sequence[ActualUser]
    ) -> RuleCoverage:
        """Evaluate every rule for every user.

        Args:
            rules: (name, condition) pairs; names must be unique.
            users: the population; a key appearing twice is answered from its last user.

        Raises:
            ValueError: two rules share a name (a caller bug: answers by name would be ambiguous).
        """
        return cls.build_each((rules,), users)[0]

    @classmethod
    def build_each(
        cls, rule_sets: Sequence[Sequence[tuple[str, Condition]]], users: Sequence[ActualUser]
    ) -> tuple[RuleCoverage, ...]:
        """:meth:`build` of each rule set over the same users, in order.

        What depends on the users alone is built once and shared: their keys and positions,
        their property columns, and the comparisons several sets make alike. The planner builds
        one coverage per access type, and computing a 13,000-user site's keys again was the
        whole 4 ms of a build for a type without rules.

        Raises:
            ValueError: two rules of one set share a name.
        """
        for rules in rule_sets:
            names = [name for name, _ in rules]
            if len(set(names)) != len(names):
                duplicate = sorted(name for name in set(names) if names.count(name) > 1)[0]
                raise ValueError(f"duplicate rule name {duplicate!r}")
        index = _Index(users)
        positions = dict(
            zip(map(user_key, *_directories_and_ids(users)), range(len(users)), strict=True)
        )
        return tuple(cls._build(rules, index, positions) for rules in rule_sets)

    @classmethod
    def _build(
        cls, rules: Sequence[tuple[str, Condition]], index: _Index, positions: Mapping[str, int]
    ) -> RuleCoverage:
        size = (index.size + 7) // 8
        yes_bits: list[bytes] = []
        unknown_bits: list[bytes] = []
        counts: dict[str, tuple[int, int]] = {}
        any_yes = any_maybe = 0
        for name, condition in sorted(rules, key=lambda rule: rule[0]):
            yes, maybe = index.tri(condition.root)
            any_yes |= yes
            any_maybe |= maybe
            unknown = maybe ^ yes
            yes_bits.append(yes.to_bytes(size, "little"))
            unknown_bits.append(unknown.to_bytes(size, "little"))
            counts[name] = (yes.bit_count(), unknown.bit_count())
        return cls(
            names=tuple(sorted(name for name, _ in rules)),
            _positions=positions,
            _yes=_byte_major(yes_bits, size),
            _unknown=_byte_major(unknown_bits, size),
            _counts=counts,
            _any=(
                any_yes.to_bytes(size, "little"),
                (any_maybe & ~any_yes).to_bytes(size, "little"),
            ),
        )

    def __contains__(self, user_key: object) -> bool:
        """Whether the user (by ``user_key``) is in the population."""
        return user_key in self._positions

    def matching(self, user_key: str) -> tuple[str, ...]:
        """Names of the rules that certainly cover the user, sorted.

        Raises:
            KeyError: the user is not in the population (use ``evaluate`` for such users).
        """
        position = self._positions[user_key]
        if not self._any[0][position >> 3] & 1 << (position & 7):
            return ()  # no rule surely covers them (most users): one bit says so
        return self._select(self._yes, position)

    def unknown(self, user_key: str) -> tuple[str, ...]:
        """Names of the rules whose coverage of the user cannot be known before login, sorted.

        Raises:
            KeyError: the user is not in the population.
        """
        return self._select(self._unknown, self._positions[user_key])

    def verdict(self, user_key: str) -> Verdict:
        """Whether any rule covers the user: YES if one surely does, UNKNOWN if one may, else NO.

        Raises:
            KeyError: the user is not in the population.
        """
        position = self._positions[user_key]
        byte, bit = position >> 3, 1 << (position & 7)
        if self._any[0][byte] & bit:
            return Verdict.YES
        return Verdict.UNKNOWN if self._any[1][byte] & bit else Verdict.NO

    def count(self, rule_name: str) -> int:
        """How many users the rule certainly covers.

        Raises:
            KeyError: no rule has that name.
        """
        return self._counts[rule_name][0]

    def count_unknown(self, rule_name: str) -> int:
        """How many users the rule may or may not cover, depending on the login.

        Raises:
            KeyError: no rule has that name.
        """
        return self._counts[rule_name][1]

    def _select(self, matrix: bytes, position: int) -> tuple[str, ...]:
        width = len(self.names)
        start = (position >> 3) * width
        # One contiguous slice holds the user's byte of every rule; masked to 0/1 in C, it picks
        # the names in C too. Reading that byte from 300 separate bitsets instead cost a cache
        # miss each (29 us a user), and the planner asks for every denied user and reclaim.
        column = matrix[start : start + width].translate(_BIT[position & 7])
        return tuple(compress(self.names, column))


def _byte_major(bitsets: Sequence[bytes], size: int) -> bytes:
    """Per-rule bitsets of ``size`` bytes, interleaved: byte ``b`` of rule ``r`` at
    ``b * len(bitsets) + r``, so that one user's bits of every rule lie side by side."""
    width = len(bitsets)
    matrix = bytearray(size * width)
    for rule, bits in enumerate(bitsets):
        matrix[rule::width] = bits
    return bytes(matrix)


def _flags_to_bits(flags: bytearray) -> int:
    """The bitset of a bytearray holding 0 or 1 per user (position 0 is the lowest bit)."""
    if not flags:
        return 0
    # int() parses base 2 in linear time: one C-speed conversion instead of a shift per user.
    return int(flags[::-1].translate(_TO_DIGITS), 2)


class _Column:
    """One property of every user: positions by value, and which users hold values at all.

    Attributes:
        keys: positions of the users holding each value (exact or casefolded).
    """

    __slots__ = (
        "_bits",
        "_lists",
        "_merged",
        "_multi",
        "_nonempty",
        "_parent",
        "_reversed",
        "_sorted",
        "_universe",
        "keys",
    )

    def __init__(
        self,
        keys: dict[str, Sequence[int]],
        lists: list[tuple[str, ...]] | None,
        universe: int,
        *,
        parent: _Column | None = None,
        merged: frozenset[str] = frozenset(),
    ) -> None:
        self.keys = keys
        self._lists = lists  # each user's values; None for a single-valued property
        self._universe = universe
        self._parent = parent  # the exact column a casefolded one derives from
        self._merged = merged  # casefolded keys joining values that differ only in case
        self._nonempty: int | None = None
        self._multi: int | None = None
        self._bits: dict[str, int] = {}
        self._sorted: list[str] | None = None
        self._reversed: list[str] | None = None

    @classmethod
    def exact(cls, users: Sequence[ActualUser], source: Source, universe: int) -> _Column:
        """The column of exact values.

        The per-value work runs as ``map`` over bound methods and C-level constructors: no
        Python bytecode per user (4-5x faster than the equivalent loop).
        """
        if not source.multi_valued:
            return cls(_group(scalar_values(source, users), range(len(users))), None, universe)
        lists = multi_values(source, users)
        values = list(chain.from_iterable(lists))
        positions = chain.from_iterable(map(repeat, range(len(lists)), map(len, lists)))
        return cls(_group(values, positions), lists, universe)

    def folded(self) -> _Column:
        """The casefolded column, derived from this exact one key by key."""
        folded_keys = list(map(str.casefold, self.keys))
        if len(set(folded_keys)) == len(folded_keys):  # no two values differ only in case
            keys = dict(zip(folded_keys, self.keys.values(), strict=True))
            return _Column(keys, self._lists, self._universe, parent=self)
        joined: dict[str, Sequence[int]] = {}
        merged: set[str] = set()
        for folded, positions in zip(folded_keys, self.keys.values(), strict=True):
            held = joined.get(folded)
            if held is None:
                joined[folded] = positions
            else:
                joined[folded] = [*held, *positions]
                merged.add(folded)
        return _Column(joined, self._lists, self._universe, parent=self, merged=frozenset(merged))

    @property
    def nonempty(self) -> int:
        """Users holding at least one value (computed on first use: only some operators need it)."""
        if self._nonempty is None:
            lists = self._lists
            self._nonempty = (
                self._universe if lists is None else _flags_to_bits(bytearray(map(bool, lists)))
            )
        return self._nonempty

    @property
    def multi(self) -> int:
        """Users holding at least two distinct values (computed on first use, for ``!=``)."""
        if self._multi is None:
            self._multi = self._count_multi()
        return self._multi

    def _count_multi(self) -> int:
        lists = self._lists
        if lists is None:
            return 0
        if self._parent is not None:
            multi = self._parent.multi
            if not self._merged or not multi:
                return multi
            # Values differing only in case are one value here: recount those users' values.
            single = bytearray(len(lists))
            for folded in self._merged:
                for position in self.keys[folded]:
                    if len({value.casefold() for value in lists[position]}) < 2:
                        single[position] = 1
            return multi & ~_flags_to_bits(single)
        # C-level: the size of each user's value set, compared with 1.
        return _flags_to_bits(bytearray(map(_ONE.__lt__, map(len, map(set, lists)))))

    def key_bits(self, key: str, size: int) -> int:
        """The users holding ``key``, cached: ``=`` on a popular value recurs across rules."""
        bits = self._bits.get(key)
        if bits is None:
            bits = self._bits[key] = _union(self.keys.get(key, ()), size)
        return bits

    def union(self, keys: Iterable[str], size: int) -> int:
        """The users holding any of ``keys`` (which must be in the column)."""
        return _union(chain.from_iterable(map(self.keys.__getitem__, keys)), size)

    def candidates(self, prefix: str, suffix: str) -> Iterable[str]:
        """The values starting with ``prefix`` and ending with ``suffix``.

        Many distinct values (e-mail addresses, user ids) are searched in sorted order, by
        prefix or by reversed suffix, rather than scanned: an e-mail domain rule then costs the
        users it matches, not the whole site.
        """
        keys = self.keys
        if not prefix and not suffix:
            return keys
        if len(keys) < _SORTED_INDEX_FROM:
            return [key for key in keys if key.startswith(prefix) and key.endswith(suffix)]
        if len(prefix) >= len(suffix):
            if self._sorted is None:
                self._sorted = sorted(keys)
            found = _starting_with(self._sorted, prefix)
            return [key for key in found if key.endswith(suffix)] if suffix else found
        if self._reversed is None:
            self._reversed = sorted(key[::-1] for key in keys)
        found = [key[::-1] for key in _starting_with(self._reversed, suffix[::-1])]
        return [key for key in found if key.startswith(prefix)] if prefix else found


def _group(values: Sequence[str], positions: Iterable[int]) -> dict[str, Sequence[int]]:
    """Positions by value, for parallel ``values`` and ``positions``."""
    if len(set(values)) == len(values):
        # Every value held once (e-mail addresses, user ids): 1-tuples, no list per value.
        return dict(zip(values, zip(positions), strict=False))
    keys: defaultdict[str, list[int]] = defaultdict(list)
    _drain(map(list.append, map(keys.__getitem__, values), positions))
    return dict(keys)


def _starting_with(ordered: list[str], prefix: str) -> list[str]:
    """The run of sorted ``ordered`` that starts with non-empty ``prefix``."""
    low = bisect_left(ordered, prefix)
    last = ord(prefix[-1])
    if last < sys.maxunicode:
        # Every string with the prefix sorts before the prefix's successor.
        return ordered[low : bisect_left(ordered, prefix[:-1] + chr(last + 1), low)]
    high = low
    while high < len(ordered) and ordered[high].startswith(prefix):
        high += 1
    return ordered[low:high]


def _drain(iterator: Iterable[object]) -> None:
    """Run an iterator of side effects to its end at C speed."""
    deque(iterator, maxlen=0)


def _union(positions: Iterable[int], size: int) -> int:
    """The bitset of ``positions``."""
    flags = bytearray(size)
    _drain(map(flags.__setitem__, positions, repeat(1)))
    return _flags_to_bits(flags)


class _Index:
    """Columns built on first use, and the three-valued bitset evaluation of syntax trees."""

    def __init__(self, users: Sequence[ActualUser]) -> None:
        self.users = users
        self.size = len(users)
        self.universe = (1 << self.size) - 1
        self._columns: dict[tuple[Source, bool], _Column] = {}
        self._atoms: dict[Hashable, tuple[int, int]] = {}

    def column(self, source: Source, *, exact: bool) -> _Column:
        column = self._columns.get((source, exact))
        if column is None:
            if exact:
                column = _Column.exact(self.users, source, self.universe)
            else:
                column = self.column(source, exact=True).folded()
            self._columns[(source, exact)] = column
        return column

    def tri(self, node: Node) -> tuple[int, int]:
        """``(yes, maybe)`` bitsets of ``node`` over the population."""
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, And):
            yes, maybe = self.universe, self.universe
            for operand in node.operands:
                operand_yes, operand_maybe = self.tri(operand)
                yes &= operand_yes
                maybe &= operand_maybe
            return yes, maybe
        if isinstance(node, Or):
            yes, maybe = 0, 0
            for operand in node.operands:
                operand_yes, operand_maybe = self.tri(operand)
                yes |= operand_yes
                maybe |= operand_maybe
            return yes, maybe
        if isinstance(node, Not):
            yes, maybe = self.tri(node.operand)
            return self.universe ^ maybe, self.universe ^ yes
        if isinstance(node, Predicate):
            return 0, self.universe
        if isinstance(node, Always):
            return self.universe, self.universe
        raise AssertionError(f"unhandled node {node!r}")  # pragma: no cover - the union is closed

    def compare(self, node: Compare) -> tuple[int, int]:
        left, right, op = node.left, node.right, node.op
        if isinstance(left, Literal) and isinstance(right, Property) and op in _SYMMETRIC:
            left, right = right, left
        if isinstance(left, Literal) and isinstance(right, Literal):
            verdict = compare_values(op, (left.value,), (right.value,), node.pattern)
            return self._constant(verdict)
        if isinstance(left, Property) and left.source is not None and isinstance(right, Literal):
            key = (left.source, op, right.value)
            cached = self._atoms.get(key)
            if cached is None:
                cached = self._atoms[key] = self._against_literal(
                    left.source, op, right.value, node.pattern
                )
            return cached
        known = _known_side(left, right)
        if known is not None and op in (Op.EQ, Op.STRICT_EQ):
            # Unknowable against a known property: users without any value are certainly NO.
            return 0, self.column(known, exact=op is Op.STRICT_EQ).nonempty
        if known is not None or _unknowable(left) or _unknowable(right):
            return 0, self.universe
        return self._user_by_user(node)

    def _constant(self, verdict: Verdict) -> tuple[int, int]:
        if verdict is Verdict.YES:
            return self.universe, self.universe
        if verdict is Verdict.NO:
            return 0, 0
        return 0, self.universe

    def _against_literal(
        self, source: Source, op: Op, literal: str, pattern: LikePattern | RegexPattern | None
    ) -> tuple[int, int]:
        column = self.column(source, exact=op in _CASE_SENSITIVE)
        if op is Op.EQ or op is Op.STRICT_EQ:
            yes = column.key_bits(literal if op is Op.STRICT_EQ else literal.casefold(), self.size)
            return yes, yes
        if op is Op.NE or op is Op.STRICT_NE:
            equal = column.key_bits(
                literal if op is Op.STRICT_NE else literal.casefold(), self.size
            )
            # YES: has values, none equal. NO: every value equals (one distinct value: the literal).
            yes = column.nonempty & ~equal
            no = equal & ~column.multi
            return yes, self.universe ^ no
        if isinstance(pattern, LikePattern) and pattern.is_exact:
            yes = column.key_bits(pattern.segments[0], self.size)
            return yes, yes
        if pattern is None:  # pragma: no cover - the parser always compiles it
            raise AssertionError("like/matches without a compiled pattern")
        return self._by_value(column, pattern)

    def _by_value(self, column: _Column, pattern: LikePattern | RegexPattern) -> tuple[int, int]:
        """Match every distinct value once; users inherit their values' verdicts."""
        candidates: Iterable[str] = column.keys
        if isinstance(pattern, LikePattern):
            prefix, suffix = pattern.literal_prefix, pattern.literal_suffix
            candidates = column.candidates(prefix, suffix)
            if pattern.is_prefix_suffix:
                # The filter was the whole test, but for overlap: "ab*ba" must not match "aba".
                least = len(prefix) + len(suffix)
                matched = [key for key in candidates if len(key) >= least]
                yes = column.union(matched, self.size)
                return yes, yes
        if isinstance(pattern, RegexPattern):
            yes_keys, unknown_keys = pattern.sort(candidates)
            yes = column.union(yes_keys, self.size)
            return yes, (yes | column.union(unknown_keys, self.size)) if unknown_keys else yes
        verdict = pattern.verdict
        yes_keys = []
        unknown_keys = []
        for key in candidates:
            result = verdict(key)
            if result is Verdict.YES:
                yes_keys.append(key)
            elif result is Verdict.UNKNOWN:
                unknown_keys.append(key)
        yes = column.union(yes_keys, self.size)
        if not unknown_keys:
            return yes, yes
        return yes, yes | column.union(unknown_keys, self.size)

    def _user_by_user(self, node: Compare) -> tuple[int, int]:
        yes = bytearray(self.size)
        maybe = bytearray(self.size)
        for position, user in enumerate(self.users):
            verdict = evaluate_compare(node, user)
            if verdict is Verdict.YES:
                yes[position] = maybe[position] = 1
            elif verdict is Verdict.UNKNOWN:
                maybe[position] = 1
        return _flags_to_bits(yes), _flags_to_bits(maybe)


def _directories_and_ids(users: Sequence[ActualUser]) -> tuple[list[str], list[str]]:
    """Directories and user ids in population order (``ActualUser.key`` without a call per user)."""
    return [user.directory for user in users], [user.userid for user in users]


def _known_side(left: object, right: object) -> Source | None:
    """The source of a knowable property facing an unknowable operand, if that is the shape."""
    for known, other in ((left, right), (right, left)):
        if isinstance(known, Property) and known.source is not None and _unknowable(other):
            return known.source
    return None


def _unknowable(operand: object) -> bool:
    return not isinstance(operand, Literal) and not (
        isinstance(operand, Property) and operand.source is not None
    )
