"""The QRS filter language, simulator side: parse a ``filter=`` expression and evaluate it.

``parse_filter(text)`` turns the text of a QRS ``filter`` query parameter into a ``Predicate``, a
plain function taking one entity as QRS serialises it (a JSON object) and answering whether it
matches. Parsing and compiling happen once; the predicate is then applied to every entity, so the
per-entity path does no parsing, no regex work for plain strings, and resolves property paths with
cached keys.

Syntax, and where each fact comes from (**verified** = stated by Qlik's documentation or measured on
a live QRS by a public client; **assumed** = our best reading, to be confirmed on a live server):

- ``[property] [operator] [value]`` joined by ``and`` / ``or``; operators ``eq ne gt ge lt le sw ew
  so``; ``gt ge lt le`` are not valid for String and GUID, ``sw ew so`` only for String; "Strings
  that are specified with relational operators are case insensitive". **Verified**: help.qlik.com,
  Repository Service API, "Filtering" (May 2023 .. November 2025 editions).
- ``so`` is "Substring of" in the docs; read here as "the property contains the value".
  **Assumed** (the docs name it only).
- Property names are matched case-insensitively (``Name`` finds ``name``; Qlik-Cli scripts write
  ``Published eq False``, ``userid eq '...'``); bare booleans in any case. **Verified** by usage in
  public scripts (Qlik-Cli, Qlik's own doc examples ``Name eq 'MyappName'``). Operators and
  ``and``/``or`` in any case: **assumed**. Case-insensitive string comparison is done with
  ``str.lower()`` (**assumed** to approximate the repository database's comparison).
- Dotted paths (``tags.name``, ``user.userDirectory``, ``stream.id``), bare GUIDs (``id eq
  7c07...``), bare booleans, parentheses, an outer ``(...)`` around the whole filter. **Verified**
  by use in Ctrl-Q, Butler, Qlik-Cli, Informatiqal; butler-sheet-icons measured that a live QRS
  treats ``(name eq 'x')`` like ``name eq 'x'``.
- A quote inside a string literal is written ``\\'``; doubling it (``''``, the OData habit) is
  *rejected* by a live QRS with ``400 Cannot parse the expression``. **Verified**:
  ptarmiganlabs/butler-sheet-icons ``src/lib/qseow/qrs-filter.js`` and PR #899 ("measured against
  a live QSEoW"). So this parser refuses ``''`` inside a literal too, with a hint. ``\\\\`` for a
  backslash is **assumed** (the same client escapes it, without saying it was measured); any other
  ``\\x`` is refused here (**assumed**; the real parser may keep it literally).
- ``and`` binds tighter than ``or`` (``a or b and c`` is ``a or (b and c)``). **Assumed**: the
  filtering page is silent; it is the usual convention and the one Qlik documents for security-rule
  conditions. The client builders in ``licsync.qrs.filters`` parenthesise so they never rely on it.
- Dates are quoted ISO strings, ``'2024-01-31T23:59:59.999Z'`` (Butler) or ``'2012-05-09
  12:00:00'`` (Qlik docs), compared as instants when the property holds a date-time. A date-time
  without offset is read as UTC (**assumed**; QRS stores and returns UTC with ``Z``).
- A path through an array matches when *any* element does, for every operator including ``ne``
  (**assumed**: the LINQ ``Any`` reading of ``tags.name eq 'x'``). A missing property is null.
  ``ne`` is the negation of ``eq`` on one value, so ``x ne 'a'`` holds when ``x`` is null
  (**assumed**: .NET null semantics).
- There is no schema here, so a property's type is read from the entity's value: a JSON string that
  is an ISO date-time is a DateTime, other strings are String/GUID, JSON booleans and numbers are
  Boolean and Int. A quoted literal is converted to the property's type (``inactive eq 'true'``,
  ``actions eq '1'``) (**assumed**). Enum words (``ServiceType eq Engine``) match a string value of
  that name case-insensitively; they do not match QRS's integer enum values (no enum table here).

Errors raise ``FilterSyntaxError(reason, offset=...)`` with a 0-based offset into the text;
``error_body`` gives the text of the 400 answer, which starts like the real one
(``Cannot parse the expression:``). Hostile input is bounded by ``MAX_FILTER_LENGTH``,
``MAX_FILTER_DEPTH`` and ``MAX_FILTER_CONDITIONS``: the limits are the simulator's own, not QRS's.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from licsync.sim.errors import FilterSyntaxError

__all__ = [
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LENGTH",
    "Predicate",
    "error_body",
    "ids_named",
    "parse_filter",
]

Predicate: TypeAlias = Callable[[Mapping[str, Any]], bool]
"""A compiled filter: takes one QRS entity (decoded JSON) and answers whether it matches."""

MAX_FILTER_LENGTH: Final = 16_384
"""Longest filter text accepted, in characters (a guard of the simulator, not a QRS limit)."""

MAX_FILTER_DEPTH: Final = 32
"""Deepest nesting of parentheses accepted (bounds recursion in parser and predicate)."""

MAX_FILTER_CONDITIONS: Final = 1_000
"""Most ``property operator value`` conditions in one filter (bounds the work per entity)."""

_ERROR_TEXT_SHOWN: Final = 200

_OPERATORS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "sw", "ew", "so"})
_ORDERING: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}

_PROPERTY_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", re.ASCII)
_GUID_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII
)
_ID_CLAUSE = r"id eq [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_LIST = rf"{_ID_CLAUSE}(?: or {_ID_CLAUSE})*"
_ID_LIST_RE: Final = re.compile(rf"\({_ID_LIST}\)|{_ID_LIST}", re.ASCII)
_NUMBER_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_WORD_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_MISSING: Final = object()
_SHOWN_IN_REASON: Final = 40  # a hostile 16 KiB "operator" is not echoed whole

# Token kinds.
_WORD, _STRING, _LPAREN, _RPAREN, _END = range(5)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: int
    text: str  # raw text of a word; the decoded value of a string
    offset: int
    end: int


@dataclass(frozen=True, slots=True)
class _Literal:
    """A value from the filter in every form a property of some type may need it."""

    kind: str  # "string", "guid", "bool", "null", "number", "word"
    text: str | None  # lower-cased comparison text; None for null
    number: int | float | None
    boolean: bool | None
    instant: datetime | None


@dataclass(frozen=True, slots=True)
class _Compare:
    path: tuple[str, ...]
    op: str
    literal: _Literal


@dataclass(frozen=True, slots=True)
class _Junction:
    is_and: bool
    children: tuple[_Compare | _Junction, ...]


_Node: TypeAlias = _Compare | _Junction


def parse_filter(text: str) -> Predicate:
    """Parse and compile a QRS filter expression into a predicate over entities.

    Args:
        text: the decoded value of the ``filter`` query parameter.

    Returns:
        A function ``(entity) -> bool``; compile once per request, call it per entity. Identical
        texts share one compiled predicate (a small LRU cache).

    An empty or blank text is an error here; whether a request with ``filter=`` and nothing
    after it means "no filter" on a real QRS is not known, so that is the caller's decision.

    Raises:
        FilterSyntaxError: the text is empty, malformed, uses an operator on a value it does not
            apply to, or exceeds the simulator's size limits. ``offset`` is 0-based.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(
            f"filter longer than {MAX_FILTER_LENGTH} characters", offset=MAX_FILTER_LENGTH
        )
    return _compile_text(text)


@functools.lru_cache(maxsize=64)
def ids_named(text: str) -> tuple[str, ...] | None:
    """The lower-cased GUIDs, in order and once each, of a filter that is only ``id eq G``
    clauses joined by ``or`` (the client's selection shape), else None. A caller holding
    entities by id looks them up instead of testing every one (a repository database uses its
    primary key the same way).

    Raises:
        FilterSyntaxError: as :func:`parse_filter`.
    """
    if len(text) > MAX_FILTER_LENGTH:
        return None  # parse_filter says why
    if _ID_LIST_RE.fullmatch(text):
        # Exactly the client's spelling: the GUIDs are all there is (the tokenizer, char by
        # char, was most of the simulator's time per reclaim batch).
        return tuple(dict.fromkeys(g.lower() for g in _GUID_RE.findall(text)))
    node = _Parser(text).parse()
    clauses = node.children if isinstance(node, _Junction) and not node.is_and else (node,)
    ids: dict[str, None] = {}
    for clause in clauses:
        if not (
            isinstance(clause, _Compare)
            and clause.op == "eq"
            and len(clause.path) == 1
            and clause.path[0].lower() == "id"
            and clause.literal.kind == "guid"
            and clause.literal.text is not None
        ):
            return None
        ids[clause.literal.text] = None
    return tuple(ids)


def error_body(text: str, error: FilterSyntaxError) -> str:
    """The body of the simulator's 400 answer to a filter that does not parse.

    A real QRS answers ``Cannot parse the expression:`` followed by the expression (observed by
    butler-sheet-icons); the reason and position are added for whoever debugs against the
    simulator. Long filters are cut so the body stays small.
    """
    shown = text if len(text) <= _ERROR_TEXT_SHOWN else text[:_ERROR_TEXT_SHOWN] + "..."
    return f"Cannot parse the expression: {shown} ({error})"


# -- parsing ---------------------------------------------------------------------------------------


# Clients repeat the same few filters; a compiled predicate is immutable apart from its key
# cache, so sharing it between requests is safe. Errors are not cached (lru_cache re-raises).
@functools.lru_cache(maxsize=256)
def _compile_text(text: str) -> Predicate:
    parser = _Parser(text)
    return _compile(parser.parse())


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(_Token(_LPAREN, c, i, i + 1))
            i += 1
        elif c == ")":
            tokens.append(_Token(_RPAREN, c, i, i + 1))
            i += 1
        elif c == "'":
            value, end = _read_string(text, i)
            tokens.append(_Token(_STRING, value, i, end))
            i = end
        else:
            start = i
            while i < n and not (text[i].isspace() or text[i] in "()'"):
                i += 1
            tokens.append(_Token(_WORD, text[start:i], start, i))
    tokens.append(_Token(_END, "", n, n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode the quoted literal opening at ``start``; return its value and the end offset."""
    parts: list[str] = []
    i = start + 1
    n = len(text)
    # find() keeps the common case (no escapes) out of a per-character Python loop; the quote is
    # searched again only once an escape has consumed it, so many escapes stay linear.
    quote = text.find("'", i)
    while True:
        if 0 <= quote < i:
            quote = text.find("'", i)
        backslash = text.find("\\", i, quote if quote >= 0 else n)
        if backslash >= 0:
            parts.append(text[i:backslash])
            if backslash + 1 >= n:
                raise FilterSyntaxError("unterminated string", offset=start)
            escaped = text[backslash + 1]
            if escaped not in "'\\":
                raise FilterSyntaxError(
                    f"invalid escape sequence '\\{escaped}' (only \\' and \\\\ are allowed)",
                    offset=backslash,
                )
            parts.append(escaped)
            i = backslash + 2
            continue
        if quote < 0:
            raise FilterSyntaxError("unterminated string", offset=start)
        parts.append(text[i:quote])
        return "".join(parts), quote + 1


class _Parser:
    """Recursive descent over the token list: or_expr := and_expr ('or' and_expr)*."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.conditions = 0

    def parse(self) -> _Node:
        if self.tokens[0].kind == _END:
            raise FilterSyntaxError("empty filter", offset=0)
        node = self._or_expr(depth=0)
        token = self.tokens[self.pos]
        if token.kind == _RPAREN:
            raise FilterSyntaxError("unexpected ')'", offset=token.offset)
        if token.kind != _END:
            raise self._junk(token, "expected 'and' or 'or'")
        return node

    def _junk(self, token: _Token, reason: str) -> FilterSyntaxError:
        previous = self.tokens[self.pos - 1] if self.pos else None
        if (
            token.kind == _STRING
            and previous is not None
            and previous.kind == _STRING
            and previous.end == token.offset
        ):
            # Someone doubled a quote the OData way; say how QRS wants it.
            return FilterSyntaxError(
                "unexpected string right after a string; a quote inside a string is written \\'",
                offset=token.offset,
            )
        return FilterSyntaxError(reason, offset=token.offset)

    def _keyword(self, word: str) -> bool:
        token = self.tokens[self.pos]
        if token.kind == _WORD and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def _or_expr(self, depth: int) -> _Node:
        children = [self._and_expr(depth)]
        while self._keyword("or"):
            children.append(self._and_expr(depth, after="or"))
        return children[0] if len(children) == 1 else _junction(False, children)

    def _and_expr(self, depth: int, after: str | None = None) -> _Node:
        children = [self._primary(depth, after)]
        while self._keyword("and"):
            children.append(self._primary(depth, after="and"))
        return children[0] if len(children) == 1 else _junction(True, children)

    def _primary(self, depth: int, after: str | None) -> _Node:
        token = self.tokens[self.pos]
        if token.kind == _LPAREN:
            if depth >= MAX_FILTER_DEPTH:
                raise FilterSyntaxError(
                    f"parentheses nested more than {MAX_FILTER_DEPTH} deep", offset=token.offset
                )
            self.pos += 1
            node = self._or_expr(depth + 1)
            closing = self.tokens[self.pos]
            if closing.kind == _END:
                raise FilterSyntaxError("unclosed '('", offset=token.offset)
            if closing.kind != _RPAREN:
                raise self._junk(closing, "expected 'and', 'or' or ')'")
            self.pos += 1
            return node
        if token.kind != _WORD:
            if after is not None:
                raise FilterSyntaxError(
                    f"expected a condition after '{after}'", offset=token.offset
                )
            if token.kind in (_END, _RPAREN):
                raise FilterSyntaxError("expected a condition", offset=token.offset)
            raise FilterSyntaxError("expected a property name", offset=token.offset)
        return self._comparison()

    def _comparison(self) -> _Compare:
        prop = self.tokens[self.pos]
        if not _PROPERTY_RE.fullmatch(prop.text):
            raise FilterSyntaxError(
                f"invalid property name '{_shorten(prop.text)}'", offset=prop.offset
            )
        self.conditions += 1
        if self.conditions > MAX_FILTER_CONDITIONS:
            raise FilterSyntaxError(
                f"more than {MAX_FILTER_CONDITIONS} conditions", offset=prop.offset
            )
        self.pos += 1
        op_token = self.tokens[self.pos]
        if op_token.kind != _WORD:
            raise FilterSyntaxError(
                f"expected an operator after '{_shorten(prop.text)}'", offset=op_token.offset
            )
        op = op_token.text.lower()
        if op not in _OPERATORS:
            raise FilterSyntaxError(
                f"unknown operator '{_shorten(op_token.text)}'", offset=op_token.offset
            )
        self.pos += 1
        value_token = self.tokens[self.pos]
        if value_token.kind not in (_WORD, _STRING):
            raise FilterSyntaxError(
                f"expected a value after '{op_token.text}'", offset=value_token.offset
            )
        self.pos += 1
        literal = _literal(value_token)
        _check_operator(op, op_token, literal)
        return _Compare(tuple(prop.text.split(".")), op, literal)


def _junction(is_and: bool, children: list[_Node]) -> _Junction:
    # Flatten (a and (b and c)) into one level: fewer closures to call per entity.
    flat: list[_Node] = []
    for child in children:
        if isinstance(child, _Junction) and child.is_and == is_and:
            flat.extend(child.children)
        else:
            flat.append(child)
    return _Junction(is_and, tuple(flat))


def _literal(token: _Token) -> _Literal:
    if token.kind == _STRING:
        value = token.text
        lowered = value.lower()
        return _Literal(
            kind="string",
            text=lowered,
            number=_number(value),
            boolean={"true": True, "false": False}.get(lowered),
            instant=_instant(value),
        )
    word = token.text
    lowered = word.lower()
    if lowered in ("true", "false"):
        return _Literal("bool", lowered, None, lowered == "true", None)
    if lowered == "null":
        return _Literal("null", None, None, None, None)
    if _GUID_RE.fullmatch(word):
        return _Literal("guid", lowered, None, None, None)
    if _NUMBER_RE.fullmatch(word):
        number = _number(word)
        if number is None:
            raise FilterSyntaxError(f"number too long '{_shorten(word)}'", offset=token.offset)
        return _Literal("number", lowered, number, None, None)
    if _WORD_RE.fullmatch(word):
        return _Literal("word", lowered, None, None, None)
    raise FilterSyntaxError(f"invalid value '{_shorten(word)}'", offset=token.offset)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_IN_REASON else text[:_SHOWN_IN_REASON] + "..."


def _number(text: str) -> int | float | None:
    if not _NUMBER_RE.fullmatch(text):
        return None
    try:
        return float(text) if "." in text else int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return None


def _check_operator(op: str, token: _Token, literal: _Literal) -> None:
    """Refuse what Qlik's operator table marks invalid, as far as the literal tells the type."""
    if op in _ORDERING:
        if literal.kind == "string" and literal.instant is None:
            raise FilterSyntaxError(
                f"operator '{op}' is not valid for strings", offset=token.offset
            )
        if literal.kind in ("guid", "bool", "null"):
            plural = {"guid": "GUIDs", "bool": "booleans", "null": "null"}[literal.kind]
            raise FilterSyntaxError(
                f"operator '{op}' is not valid for {plural}", offset=token.offset
            )
    elif op in ("sw", "ew", "so") and literal.kind != "string":
        raise FilterSyntaxError(f"operator '{op}' is valid only for strings", offset=token.offset)


def _instant(value: str) -> datetime | None:
    """The instant a date-time string denotes (UTC when it has no offset), or None.

    The shape check (``YYYY-MM-DD`` then end, ``T`` or space) keeps strings such as ``20240101``
    or ``2024-W01-1``, which ``fromisoformat`` would also accept, from being read as dates, and
    is cheaper than a regex on the per-entity path.
    """
    if (
        len(value) < 10
        or value[4] != "-"
        or value[7] != "-"
        or (len(value) > 10 and value[10] not in "T ")
        or not value.isascii()
    ):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # shaped like a date but not one, e.g. month 13
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# -- compiling -------------------------------------------------------------------------------------


def _compile(node: _Node) -> Predicate:
    if isinstance(node, _Compare):
        return _compile_compare(node)
    if not node.is_and:
        grouped = _compile_in_set(node)
        if grouped is not None:
            return grouped
    parts = tuple(_compile(child) for child in node.children)
    if node.is_and:
        if len(parts) == 2:
            first, second = parts
            return lambda entity: first(entity) and second(entity)

        # A plain loop, not all(<generator>): the generator costs more per entity than the test.
        def all_match(entity: Mapping[str, Any]) -> bool:
            for part in parts:  # noqa: SIM110
                if not part(entity):
                    return False
            return True

        return all_match
    if len(parts) == 2:
        first, second = parts
        return lambda entity: first(entity) or second(entity)

    def any_match(entity: Mapping[str, Any]) -> bool:
        for part in parts:  # noqa: SIM110 (see all_match)
            if part(entity):
                return True
        return False

    return any_match


def _compile_in_set(node: _Junction) -> Predicate | None:
    """Compile ``p eq 'a' or p eq 'b' or ...`` into one set lookup (the client's batch shape)."""
    if len(node.children) < 3:
        return None
    paths: set[tuple[str, ...]] = set()
    texts: set[str] = set()
    for child in node.children:
        if not (
            isinstance(child, _Compare)
            and child.op == "eq"
            and _is_plain_text(child.literal)
            and child.literal.text is not None
        ):
            return None
        paths.add(tuple(segment.lower() for segment in child.path))
        texts.add(child.literal.text)
    if len(paths) != 1:
        return None
    first = node.children[0]
    assert isinstance(first, _Compare)  # checked in the loop; narrows the type for mypy
    members = frozenset(texts)

    # Plain-text literals never equal null, booleans or numbers (see _eq_test), so only strings.
    def in_set(value: Any) -> bool:
        return type(value) is str and value.lower() in members

    return _over_path(first.path, in_set)


def _is_plain_text(literal: _Literal) -> bool:
    """A string/GUID literal that no other property type could claim (not a number, bool, date)."""
    return (
        literal.kind in ("string", "guid", "word")
        and literal.number is None
        and literal.boolean is None
        and literal.instant is None
    )


def _compile_compare(node: _Compare) -> Predicate:
    test = _test(node.op, node.literal)
    if node.op == "eq" and _is_plain_text(node.literal) and node.literal.text is not None:
        general, wanted = test, node.literal.text

        # The simulator's hot path (userId, userDirectory, tags.name lookups): a string value
        # skips the general type dispatch.
        def eq_text(value: Any) -> bool:
            if type(value) is str:
                return value.lower() == wanted
            return general(value)

        test = eq_text
    return _over_path(node.path, test)


def _test(op: str, literal: _Literal) -> Callable[[Any], bool]:
    """The comparison of one scalar property value against the literal."""
    if op == "eq":
        return _eq_test(literal)
    if op == "ne":
        eq = _eq_test(literal)
        return lambda value: not eq(value)
    if op in _ORDERING:
        return _ordering_test(_ORDERING[op], literal)
    return _string_test(op, literal)


def _eq_test(literal: _Literal) -> Callable[[Any], bool]:
    text, number, boolean, instant = literal.text, literal.number, literal.boolean, literal.instant
    is_null = literal.kind == "null"

    def eq(value: Any) -> bool:
        if value is None:
            return is_null
        kind = type(value)
        if kind is str:
            if instant is not None:
                when = _instant(value)
                if when is not None:
                    return when == instant
            return text is not None and value.lower() == text
        if kind is bool:
            return boolean is not None and value is boolean
        if kind is int or kind is float:
            return number is not None and value == number
        return False

    return eq


def _ordering_test(compare: Callable[[Any, Any], bool], literal: _Literal) -> Callable[[Any], bool]:
    number, instant = literal.number, literal.instant

    def ordered(value: Any) -> bool:
        kind = type(value)
        if kind is str:
            if instant is None:
                return False
            when = _instant(value)
            return when is not None and compare(when, instant)
        if (kind is int or kind is float) and number is not None:
            return compare(value, number)
        return False

    return ordered


def _string_test(op: str, literal: _Literal) -> Callable[[Any], bool]:
    text = literal.text or ""
    if op == "sw":
        return lambda value: type(value) is str and value.lower().startswith(text)
    if op == "ew":
        return lambda value: type(value) is str and value.lower().endswith(text)
    return lambda value: type(value) is str and text in value.lower()


def _over_path(path: tuple[str, ...], test: Callable[[Any], bool]) -> Predicate:
    """The predicate "some value at ``path`` passes ``test``".

    Arrays anywhere on the path (or at its end) are walked element by element and the first
    passing element ends the walk, so nothing is collected per entity. A missing key, or a path
    through null or past a scalar, yields null. Each segment is looked up by its spelling in the
    filter first, then case-insensitively; the key found is remembered, so after the first entity
    a lookup is one dict access.
    """
    cells = [[segment] for segment in path]
    lowered = [segment.lower() for segment in path]
    if len(path) == 1:
        cell, wanted = cells[0], lowered[0]

        # The entity itself is always a mapping (the Predicate contract), so no type check here.
        def at_key(entity: Mapping[str, Any]) -> bool:
            value = entity.get(cell[0], _MISSING)
            if value is _MISSING:
                value = _lookup_slow(entity, cell, wanted)
            if type(value) is list:
                return _any_item(value, test)
            return test(value)

        return at_key

    steps = tuple(zip(cells, lowered, strict=True))
    last = len(steps)

    def walk(current: Any, i: int) -> bool:
        if type(current) is list:
            for item in current:  # noqa: SIM110 (see all_match)
                if walk(item, i):
                    return True
            return False
        if i == last:
            return test(current)
        cell, wanted = steps[i]
        # type() first: isinstance() against an ABC costs several times more per entity.
        if type(current) is dict or isinstance(current, Mapping):
            value = current.get(cell[0], _MISSING)
            if value is _MISSING:
                value = _lookup_slow(current, cell, wanted)
        else:
            value = None
        return walk(value, i + 1)

    def at_path(entity: Mapping[str, Any]) -> bool:
        return walk(entity, 0)

    return at_path


def _any_item(values: list[Any], test: Callable[[Any], bool]) -> bool:
    for item in values:
        if type(item) is list:
            if _any_item(item, test):
                return True
        elif test(item):
            return True
    return False


def _lookup_slow(obj: Mapping[str, Any], cell: list[str], wanted: str) -> Any:
    for key in obj:
        if key.lower() == wanted:
            cell[0] = key
            return obj[key]
    return None
