"""Decode a large JSON array one element at a time.

``json.loads`` of ``/qrs/user/full`` for 100,000 users (213 MB) builds about 900 MB of dicts
before the first user can be modelled, and that is the peak memory of a whole ``plan``. Decoding
element by element with the standard library's own C scanner keeps one user's dict alive at a
time: the same parser, the same results, a fraction of the memory (and fewer allocations for
the cyclic collector to look at). :func:`iter_json_chunks` goes further: it reads the body in
the pieces it arrived in, decoding each as it is reached and letting it go once read, so that
neither the whole body nor its whole text ever exists (224 MB each for 100,000 users).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Generator, Iterator
from typing import Any

from licsync.errors import QrsResponseError

__all__ = [
    "OUT_OF_RANGE",
    "NotAnArray",
    "OutOfRange",
    "decode",
    "iter_json_array",
    "iter_json_chunks",
]

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's four whitespace characters, as json.decoder
_SPACE = " \t\n\r"
_TAIL = 8192  # characters: at most this much of a window's end is scanned from a copy


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


class JSONDecodeError(json.JSONDecodeError):
    """json's error at a place in a whole body the decoder saw only a window of: the message
    reads as json's own over the whole body would (line, column and character)."""

    def __init__(self, msg: str, pos: int, lineno: int, colno: int) -> None:
        ValueError.__init__(self, f"{msg}: line {lineno} column {colno} (char {pos})")
        self.msg = msg
        self.doc = ""
        self.pos = pos
        self.lineno = lineno
        self.colno = colno

    def __reduce__(self) -> tuple[type, tuple[str, int, int, int]]:
        return type(self), (self.msg, self.pos, self.lineno, self.colno)


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


def iter_json_chunks(chunks: list[bytes], *, method: str, path: str) -> Iterator[Any]:
    """The elements of the JSON array whose body arrived as ``chunks``, decoded lazily in order.

    The list is consumed: each chunk is decoded when the elements reach it and dropped once
    they are read. The values, and the errors, are those of :func:`iter_json_array` over the
    joined body; an error's character offset counts from the start of the body.

    Raises:
        NotAnArray: the body is some other JSON value (raised before the first element).
        QrsResponseError: the body is not JSON (raised where the problem is met).
    """
    if len(chunks) < 2:
        body = chunks[0] if chunks else b""
        chunks.clear()
        return iter_json_array(body, method=method, path=path)
    window = _Window(chunks, method, path)
    index = window.skip(0)
    if not window.text.startswith("[", index):
        raise NotAnArray(decode(window.whole(), method=method, path=path))
    window.started()
    return _chunked_elements(window, index + 1)


class _Window:
    """The part of a chunked body not read yet, as text, grown a chunk at a time."""

    def __init__(self, chunks: list[bytes], method: str, path: str) -> None:
        chunks.reverse()  # taken from the end: each pop is O(1)
        self.pending = chunks
        self.method = method
        self.path = path
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.base = 0  # characters of the body before text[0]
        # The lines of the body before text[0], and where the last of them ended: what an
        # error's line and column count from (json counts them in the text it was given).
        self.lines = 0
        self.line_start = 0
        self.fed = 0  # bytes handed to the decoder so far
        self.kept: list[bytes] | None = []  # chunks read before the array began, for whole()

    @property
    def final(self) -> bool:
        return not self.pending

    def grow(self, index: int, least: int = 0) -> int:
        """Drop ``text[:index]`` and decode chunks until ``least`` more characters are at hand
        (at least one chunk); returns where ``index`` now is (0)."""
        wanted = len(self.text) - index + max(least, 1)
        dropped = self.text.count("\n", 0, index)
        if dropped:
            self.lines += dropped
            self.line_start = self.base + self.text.rindex("\n", 0, index) + 1
        text = self.text[index:]
        self.base += index
        while self.pending and len(text) < wanted:
            chunk = self.pending.pop()
            if self.kept is not None:
                self.kept.append(chunk)
            # The decoder counts an error's place in what it was given: the bytes it held
            # back from the chunk before (a character cut in two), then this chunk.
            held = len(self.decoder.getstate()[0])
            try:
                text += self.decoder.decode(chunk, final=not self.pending)
            except UnicodeDecodeError as exc:
                raise self.not_utf8(exc, self.fed - held) from None
            except ValueError as exc:
                raise _not_json(self.method, self.path, exc) from None
            self.fed += len(chunk)
        self.text = text
        return 0

    def skip(self, index: int) -> int:
        """The first non-whitespace character at or after ``index``, growing as needed."""
        index = _skip(self.text, index)
        while index >= len(self.text) and not self.final:
            index = self.grow(index)
            index = _skip(self.text, index)
        return index

    def started(self) -> None:
        self.kept = None

    def whole(self) -> bytes:
        """The whole body (only before the array began: the chunks read so far were kept)."""
        assert self.kept is not None
        return b"".join([*self.kept, *reversed(self.pending)])

    def not_json(self, message: str, index: int) -> QrsResponseError:
        return _not_json(self.method, self.path, ValueError(f"{message} {self.base + index}"))

    def not_utf8(self, exc: UnicodeDecodeError, before: int) -> QrsResponseError:
        """``exc`` worded as the decoder of the whole body words it: at its byte in the body
        (``before``: the bytes of the body before what the decoder was given)."""
        start = before + exc.start
        if exc.end - exc.start == 1:
            where = f"byte 0x{exc.object[exc.start]:02x} in position {start}"
        else:
            where = f"bytes in position {start}-{before + exc.end - 1}"
        text = f"'{exc.encoding}' codec can't decode {where}: {exc.reason}"
        return _not_json_text(self.method, self.path, f"{exc.__class__.__name__}: {text}")

    def in_body(self, exc: Exception) -> Exception:
        """``exc`` with json's place in :attr:`text` told as its place in the whole body."""
        if not isinstance(exc, json.JSONDecodeError):
            return exc
        at = exc.pos
        before = self.text.count("\n", 0, at)
        if before:
            column = at - self.text.rindex("\n", 0, at)
        else:
            column = self.base + at - self.line_start + 1
        return JSONDecodeError(exc.msg, self.base + at, self.lines + before + 1, column)


def _chunked_elements(window: _Window, index: int) -> Iterator[Any]:
    index = window.skip(index)
    if window.text.startswith("]", index):
        yield from _chunked_rest(window, index + 1)
        return
    scan = _SCAN
    near = 0  # twice the last element's length, at most _TAIL: what "near the end" means
    misses = 0  # batches not found in a row (_BATCH_MISSES: no more batches)
    while True:
        text = window.text
        try:
            if len(text) - index < near and not window.final:
                # Near the window's end an element is often cut short, and the decoder's error
                # counts the lines of all the text before it (20 us for a 64 KB window, at
                # every chunk boundary): scanned from a copy of the rest, the same value, or
                # the same failure, costs little. The copies are at most twice the length of
                # the element before: linear in the body whatever its elements. (A final
                # window is scanned whole, so that its error reads as it always did.)
                value, end = scan(text[index:], 0)
                end += index
            else:
                value, end = scan(text, index)
        except RecursionError:
            raise _too_deep(window.method, window.path) from None
        except (StopIteration, ValueError) as exc:
            if window.final:
                if isinstance(exc, StopIteration):
                    raise window.not_json("no value at character", index) from None
                raise _not_json(window.method, window.path, window.in_body(exc)) from None
            # Cut short by the end of the window, most likely: read on, twice as far each
            # time, so that one huge element costs linear time, not quadratic.
            index = window.grow(index, least=len(text) - index)
            continue
        near = min(2 * (end - index), _TAIL)
        # QRS's own spelling, "},{" without whitespace: what the general steps below would
        # find (a comma, then the next element at once), without their calls.
        following = end + 1
        if following < len(text) and text[end] == "," and text[following] not in _SPACE:
            yield value
            if misses < _BATCH_MISSES and end - index >= _BATCH_MIN:
                # The next few elements, decoded in one call (see _batches).
                tail = text[end - _MARK : following]
                budget = min(_BATCH * (end - index), _BATCH_MAX)
                index, misses = yield from _batches(text, following, tail, budget, misses)
                continue
            index = following
            continue
        after = _skip(text, end)
        if not window.final and (after >= len(text) or text[after] not in ",]"):
            # Not followed by what follows an element: a number the window's end cut short
            # ("1.5" of "1.5e3") goes on in the next chunk. Decode it again with more at hand.
            index = window.grow(index)
            continue
        yield value
        if text.startswith(",", after):
            index = window.skip(after + 1)
            continue
        if text.startswith("]", after):
            yield from _chunked_rest(window, after + 1)
            return
        raise window.not_json("expected ',' or ']' at character", after)


# Batches: the decoder shares the keys of the objects it reads in one call (one "userId" string
# for all the users), and starts afresh at each call; QRS's objects repeat the same 20 to 30 keys
# each. Decoding a few elements in one call saves making those keys again and again.
_MARK = 24  # characters of an element's end (and the comma) marking where the next ones end
_BATCH = 4  # elements, about, in a batch: more makes more objects alive at once, and is slower
_BATCH_MIN = 64  # characters: a smaller element is not QRS's (nothing to gain)
_BATCH_MAX = 16384  # characters, at most, in a batch: bounded memory whatever the elements
_BATCH_MISSES = 16  # batches not found in a row: the elements' ends do not repeat, stop


def _scan_batch(text: str, index: int, tail: str, budget: int) -> tuple[list[Any], int] | None:
    """The elements from ``text[index]`` up to the last one within ``budget`` characters that
    ends like the element before (``tail``, its last characters and the comma), decoded as one
    array, and where the element after them starts; None when there is no such end.

    The end is only a guess (``tail`` may well occur inside an element), so the guess is
    checked: the elements and the commas between them, in brackets, must decode as one array
    that ends exactly there. Then they are the very elements :func:`_chunked_elements` would
    read one by one, as the decoder reads the same characters the same way up to there; they
    are followed by a comma and an element (no space), as in its compact case. A wrong guess
    raises as the decoder does (no partial result), and :func:`_chunked_elements` reads on one
    by one, as before: errors are found, and worded, as they always were.
    """
    cut = text.rfind(tail, index, index + budget)
    if cut < 0:
        return None
    comma = cut + len(tail) - 1
    following = comma + 1
    if following >= len(text) or text[following] in _SPACE:
        return None
    values, stop = _SCAN("[" + text[index:comma] + "]", 0)
    if stop != comma - index + 2:
        raise ValueError("not where the array ends")
    result: list[Any] = values
    return result, following


def _batches(
    text: str, index: int, tail: str, budget: int, misses: int
) -> Generator[Any, None, tuple[int, int]]:
    """The elements from ``text[index]`` in batches, while there are; returns where the next
    element starts and the batches not found in a row (:data:`_BATCH_MISSES` for no more)."""
    while True:
        try:
            batch = _scan_batch(text, index, tail, budget)
        except (StopIteration, ValueError, RecursionError):
            # A wrong guess: elements unlike each other. One by one from here.
            return index, _BATCH_MISSES
        if batch is None:
            # No end like the last one ahead: the window's end, or an element longer than
            # the last ones; one by one for the next element. Ends that never repeat: one by
            # one from the _BATCH_MISSES-th.
            return index, misses + 1
        values, index = batch
        misses = 0
        yield from values


def _chunked_rest(window: _Window, index: int) -> Iterator[Any]:
    at = window.base + index
    if window.skip(index) != len(window.text):
        message = f"extra data at character {at}"
        raise _not_json(window.method, window.path, ValueError(message))
    return iter(())


def _too_deep(method: str, path: str) -> QrsResponseError:
    message = (
        f"{method} {path}: the answer is nested too deeply to be a QRS answer (arrays or "
        "objects inside each other hundreds of levels deep)"
    )
    return QrsResponseError(message, method=method, path=path)


def _not_json(method: str, path: str, exc: Exception) -> QrsResponseError:
    return _not_json_text(method, path, f"{exc.__class__.__name__}: {exc}")


def _not_json_text(method: str, path: str, why: str) -> QrsResponseError:
    message = f"{method} {path}: the answer is not JSON ({why})"
    return QrsResponseError(message, method=method, path=path)
