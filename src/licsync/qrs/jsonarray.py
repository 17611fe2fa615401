"""Decode a large JSON array one element at a time.

``json.loads`` of ``/qrs/user/full`` for 100,000 users (213 MB) builds about 900 MB of dicts
before the first user can be modelled, and that is the peak memory of a whole ``plan``. Decoding
element by element with the standard library's own C scanner keeps one user's dict alive at a
time: the same parser, the same results, a fraction of the memory (and fewer allocations for
the cyclic collector to look at).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from licsync.errors import QrsResponseError

__all__ = ["OUT_OF_RANGE", "NotAnArray", "OutOfRange", "decode", "iter_json_array"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's four whitespace characters, as json.decoder


def _skip(text: str, index: int) -> int:
    """The index of the first non-whitespace character at or after ``index``."""
    match = _WHITESPACE.match(text, index)
    return match.end() if match is not None else index


class OutOfRange:
    """Stands in for a number no QRS field holds: ``1e400``, ``NaN``, a 5,000-digit integer.

    The decoder never fails on such a number (that would name only a character offset); the
    parsers, which check every field they use, then name the entity and the field holding it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUT_OF_RANGE"


OUT_OF_RANGE = OutOfRange()
_MAX_DIGITS = 19  # an int64, the widest integer QRS (.NET) writes


def _parse_int(text: str) -> int | OutOfRange:
    # Python refuses to convert more than 4,300 digits, and slowly; QRS never sends 20.
    digits = len(text) - (text[0] == "-")
    return int(text) if digits <= _MAX_DIGITS else OUT_OF_RANGE


def _parse_float(text: str) -> float | OutOfRange:
    if len(text) > 64:  # a double never needs more characters than this
        return OUT_OF_RANGE
    value = float(text)
    return value if math.isfinite(value) else OUT_OF_RANGE


def _parse_constant(text: str) -> OutOfRange:
    return OUT_OF_RANGE  # NaN, Infinity, -Infinity: not JSON at all


_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]


def decode(content: bytes, *, method: str, path: str) -> Any:
    """The JSON value of ``content``, with numbers out of range as :data:`OUT_OF_RANGE`.

    Raises:
        QrsResponseError: not UTF-8 JSON, or nested too deeply to decode.
    """
    try:
        value = _DECODER.decode(content.decode("utf-8"))
    except RecursionError:
        raise _too_deep(method, path) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise _not_json(method, path, exc) from None
    return value


class NotAnArray(ValueError):
    """The body is valid JSON but not an array; callers report what they expected."""

    def __init__(self, value: Any) -> None:
        self.value = value
        super().__init__("not a JSON array")


def iter_json_array(content: bytes, *, method: str, path: str) -> Iterator[Any]:
    """The elements of the JSON array ``content``, decoded lazily in order.

    Raises:
        NotAnArray: the body is some other JSON value (raised before the first element).
        QrsResponseError: the body is not JSON (raised where the problem is met).
    """
    try:
        text = content.decode("utf-8", errors="strict") if content else ""
    except ValueError as exc:
        raise _not_json(method, path, exc) from None
    index = _skip(text, 0)
    if not text.startswith("[", index):
        raise NotAnArray(decode(content, method=method, path=path))
    index = _skip(text, index + 1)
    if text.startswith("]", index):
        return _rest_is_empty(text, index + 1, method, path)
    return _elements(text, index, method, path)


def _elements(text: str, index: int, method: str, path: str) -> Iterator[Any]:
    while True:
        try:
            value, index = _SCAN(text, index)
        except StopIteration:
            raise _not_json(method, path, ValueError(f"no value at character {index}")) from None
        except RecursionError:
            raise _too_deep(method, path) from None
        except ValueError as exc:
            raise _not_json(method, path, exc) from None
        yield value
        index = _skip(text, index)
        if text.startswith(",", index):
            index = _skip(text, index + 1)
            continue
        if text.startswith("]", index):
            yield from _rest_is_empty(text, index + 1, method, path)
            return
        raise _not_json(method, path, ValueError(f"expected ',' or ']' at character {index}"))


def _rest_is_empty(text: str, index: int, method: str, path: str) -> Iterator[Any]:
    if _skip(text, index) != len(text):
        raise _not_json(method, path, ValueError(f"extra data at character {index}"))
    return iter(())


def _too_deep(method: str, path: str) -> QrsResponseError:
    message = (
        f"{method} {path}: the answer is nested too deeply to be a QRS answer (arrays or "
        "objects inside each other hundreds of levels deep)"
    )
    return QrsResponseError(message, method=method, path=path)


def _not_json(method: str, path: str, exc: Exception) -> QrsResponseError:
    message = f"{method} {path}: the answer is not JSON ({exc.__class__.__name__}: {exc})"
    return QrsResponseError(message, method=method, path=path)
