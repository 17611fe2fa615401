"""The one place the QRS client builds filter expressions and query strings.

Every value that reaches a QRS ``filter`` goes through ``literal``, and every query string through
``encode_query``; nothing else in the client formats either. Two things must both be right, and
public clients learnt each the hard way (ptarmiganlabs/butler-sheet-icons, PR #899 and
``docs/to-doc-site/qrs-tag-names-with-special-characters.md``, measured on a live QSEoW):

1. **The literal.** Strings sit in single quotes. A quote inside is escaped with a backslash
   (``name eq 'Q1\\'25'``); the OData habit of doubling it (``''``) and double-quoted values are
   *rejected* with ``400 Cannot parse the expression``. (Verified by that client. Escaping the
   backslash itself as ``\\\\`` is assumed: the same client does it, without saying it measured
   it.) GUIDs and booleans are bare; date-times are quoted ISO 8601 in UTC with milliseconds and
   ``Z``, the form QRS returns and Butler sends (``lastUsed le '2024-01-31T23:59:59.999Z'``).
2. **The query string.** The filter must be percent-encoded as a whole. Left raw, ``&`` ends the
   parameter (``400 Missing parameter value(s)``), ``#`` cuts off the xrfkey that follows
   (``403 XSRF prevention check failed``), ``?`` and ``/`` give ``Request path contains unescaped
   characters`` and ``%`` gives ``URI malformed``. ``encode_query`` encodes everything outside RFC
   3986 "unreserved", space as ``%20`` (a ``+`` would be read back as a space).

Builders validate field names (identifier or dotted path), so no syntax can enter through a
field. ``all_of`` and ``any_of`` parenthesise whatever could otherwise depend on the relative
precedence of ``and`` and ``or``, which Qlik does not document.

Programming mistakes (a naive datetime, a float, an invalid field name, an empty ``any_of``) raise
``ValueError`` or ``TypeError``: they are bugs in licsync, not problems of the user's data, and the
CLI reports them as bugs.

Pass the result of ``encode_query`` to httpx as part of the URL string (``f"{path}?{query}"``):
httpx keeps an already-encoded query as it is.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Final, TypeAlias
from urllib.parse import quote

__all__ = [
    "FilterValue",
    "all_of",
    "any_of",
    "encode_query",
    "eq",
    "ew",
    "ge",
    "gt",
    "le",
    "literal",
    "lt",
    "ne",
    "so",
    "sw",
]

FilterValue: TypeAlias = str | bool | int | uuid.UUID | datetime.datetime | None
"""What ``literal`` can write: text, boolean, integer, GUID, aware date-time, or null."""

_FIELD_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", re.ASCII)


def literal(value: FilterValue) -> str:
    """Write a value as a QRS filter literal.

    ``str`` → ``'...'`` with ``\\`` and ``'`` backslash-escaped; ``uuid.UUID`` → bare lower-case
    GUID; ``bool`` → ``true``/``false``; ``int`` → bare digits; aware ``datetime`` →
    ``'YYYY-MM-DDTHH:MM:SS.fffZ'`` in UTC (sub-millisecond digits are dropped); ``None`` →
    ``null``. A string that happens to look like a GUID stays quoted: pass a ``uuid.UUID`` for
    GUID properties.

    Raises:
        ValueError: a naive datetime (its instant is unknown).
        TypeError: any other type (floats, dates, bytes ...).
    """
    # bool before int: bool is a subclass of int.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))  # int() strips an IntEnum's custom __str__
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} in a QRS filter: give a timezone")
        utc = value.astimezone(datetime.UTC)
        # Fields by hand: strftime's %Y drops leading zeros of years before 1000 on glibc.
        return (
            f"'{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z'"
        )
    if isinstance(value, str):
        # Backslash first, so the escape added for a quote is not itself escaped.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"cannot write a {type(value).__name__} as a QRS filter value")


def eq(field: str, value: FilterValue) -> str:
    """``field eq value``; strings compare case-insensitively on QRS."""
    return f"{_field(field)} eq {literal(value)}"


def ne(field: str, value: FilterValue) -> str:
    """``field ne value``."""
    return f"{_field(field)} ne {literal(value)}"


def gt(field: str, value: int | datetime.datetime) -> str:
    """``field gt value``; QRS allows ordering only on numbers, enums and date-times."""
    return _ordering(field, "gt", value)


def ge(field: str, value: int | datetime.datetime) -> str:
    """``field ge value``; numbers and date-times only."""
    return _ordering(field, "ge", value)


def lt(field: str, value: int | datetime.datetime) -> str:
    """``field lt value``; numbers and date-times only."""
    return _ordering(field, "lt", value)


def le(field: str, value: int | datetime.datetime) -> str:
    """``field le value``; numbers and date-times only."""
    return _ordering(field, "le", value)


def sw(field: str, value: str) -> str:
    """``field sw 'value'``: starts with, case-insensitive; strings only."""
    return _text(field, "sw", value)


def ew(field: str, value: str) -> str:
    """``field ew 'value'``: ends with, case-insensitive; strings only."""
    return _text(field, "ew", value)


def so(field: str, value: str) -> str:
    """``field so 'value'``: Qlik's "substring of", read as "field contains value"; strings only."""
    return _text(field, "so", value)


def all_of(*clauses: str) -> str:
    """Join clauses with ``and``; a clause with a top-level ``or`` is parenthesised.

    Raises:
        ValueError: no clause, an empty clause, or one with unbalanced quotes or parentheses.
    """
    return _join("and", clauses, wrap_if="or")


def any_of(*clauses: str) -> str:
    """Join clauses with ``or`` and parenthesise the result (when there is more than one).

    A clause with a top-level ``and`` is parenthesised too, so the result means the same whatever
    precedence QRS gives ``and`` and ``or``. There is no QRS expression for "match nothing", so an
    empty ``any_of`` is refused rather than turned into a filter that matches everything.

    Raises:
        ValueError: no clause, an empty clause, or one with unbalanced quotes or parentheses.
    """
    joined = _join("or", clauses, wrap_if="and")
    return joined if len(clauses) == 1 else f"({joined})"


def encode_query(params: Mapping[str, str]) -> str:
    """Percent-encode a query string: ``k=v&k=v`` with every byte outside ``A-Za-z0-9-._~`` escaped.

    Space becomes ``%20`` (not ``+``), and ``'``, ``#``, ``&``, ``%``, ``?``, ``/``, ``=``, ``+``
    and all non-ASCII (as UTF-8) are escaped, in keys and values alike. The order of ``params`` is
    kept. No leading ``?``.
    """
    parts = []
    for key, value in params.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("query parameter names and values must be str")
        # safe="" leaves exactly the RFC 3986 unreserved set unescaped (quote() never escapes it).
        parts.append(f"{quote(key, safe='')}={quote(value, safe='')}")
    return "&".join(parts)


# -- helpers ---------------------------------------------------------------------------------------


def _field(field: str) -> str:
    if not isinstance(field, str) or not _FIELD_RE.fullmatch(field):
        raise ValueError(f"invalid QRS filter field name {field!r}")
    return field


def _ordering(field: str, op: str, value: int | datetime.datetime) -> str:
    # QRS's operator table: gt/ge/lt/le are invalid for String and GUID; booleans are no order.
    if isinstance(value, bool) or not isinstance(value, int | datetime.datetime):
        raise TypeError(f"'{op}' needs an int or a datetime, not {type(value).__name__}")
    return f"{_field(field)} {op} {literal(value)}"


def _text(field: str, op: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{op}' needs a str, not {type(value).__name__}")
    return f"{_field(field)} {op} {literal(value)}"


def _join(keyword: str, clauses: tuple[str, ...], *, wrap_if: str) -> str:
    if not clauses:
        raise ValueError(f"no clauses to join with '{keyword}'")
    parts = []
    for clause in clauses:
        text = clause.strip() if isinstance(clause, str) else ""
        if not text:
            raise ValueError(f"empty clause in a filter joined with '{keyword}'")
        needs_parentheses = wrap_if in _top_level_keywords(text)
        parts.append(f"({text})" if needs_parentheses and len(clauses) > 1 else text)
    return f" {keyword} ".join(parts)


def _top_level_keywords(clause: str) -> set[str]:
    """The ``and`` / ``or`` outside any parentheses and string; refuses a malformed clause.

    A clause with an open string or parenthesis would swallow or break whatever it is joined
    with, so it is refused here rather than sent.
    """
    if "'" not in clause and "(" not in clause and ")" not in clause:
        # No string and no parenthesis (a GUID or number clause, e.g. each of a reclaim's 50
        # ``id eq G``): the words are what whitespace separates, all at the top level.
        return {word for word in clause.lower().split() if word in ("and", "or")}
    found: set[str] = set()
    depth = 0
    i = 0
    n = len(clause)
    while i < n:
        c = clause[i]
        if c == "'":
            i += 1
            while i < n and clause[i] != "'":
                i += 2 if clause[i] == "\\" else 1
            if i >= n:
                raise ValueError(f"unterminated string in filter clause {clause!r}")
            i += 1
        elif c == "(":
            depth += 1
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ')' in filter clause {clause!r}")
            i += 1
        elif c.isspace():
            i += 1
        else:
            start = i
            while i < n and not (clause[i].isspace() or clause[i] in "()'"):
                i += 1
            word = clause[start:i].lower()
            if depth == 0 and word in ("and", "or"):
                found.add(word)
    if depth:
        raise ValueError(f"unclosed '(' in filter clause {clause!r}")
    return found
