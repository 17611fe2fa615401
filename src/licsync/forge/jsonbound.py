"""Decoding a forge's JSON answer with memory a small multiple of its size.

``json.loads`` turns every value into a Python object: a 31.5 MB page of ``{}`` and ``0``
costs about 1.6 GB, fifty times its size, while a real page (100 comments, pull requests or
workflow runs) holds a few tens of thousands of values, most of them strings that cost about
their own length. So before decoding, the values of the answer are counted outside its strings
(the strings are blanked by one regular expression, the rest counted with ``bytes.count``, all
in C: about 0.1 s for 30 MB) and an answer with more than :data:`MAX_VALUES` is refused. What
is decoded then costs at most its size plus ``MAX_VALUES`` small objects.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from licsync.errors import ForgeError

__all__ = ["MAX_VALUES", "decode", "value_count"]

MAX_VALUES: Final = 500_000
"""Values one answer may hold. A page of 100 workflow runs or pull requests (each with two
nested repositories of about 90 fields) holds about 40,000; ten times that is still a few tens
of megabytes of objects."""

_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def value_count(content: bytes) -> int:
    """An upper bound of the JSON values in ``content``: separators and containers outside
    strings, plus one."""
    outside = _STRING.sub(b'""', content)
    return outside.count(b",") + outside.count(b"[") + outside.count(b"{") + 1


def decode(content: bytes, *, forge: str, method: str, path: str) -> Any:
    """``content`` decoded as JSON, or a :class:`ForgeError` saying why not (not UTF-8, not
    JSON, HTML, nested too deeply, too many values for its size)."""
    count = value_count(content)
    if count > MAX_VALUES:
        msg = (
            f"{method} {path}: {forge}'s answer holds more than {MAX_VALUES:,} JSON values "
            f"in {len(content):,} bytes; a real page holds far fewer: not read"
        )
        raise ForgeError(msg)
    try:
        return json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ForgeError(f"{method} {path}: {forge}'s answer is not UTF-8") from None
    except json.JSONDecodeError as exc:
        start = content[:20].lstrip().lower()
        what = "HTML, not JSON" if start.startswith((b"<!doctype", b"<html")) else exc.msg
        raise ForgeError(f"{method} {path}: {forge}'s answer is not JSON ({what})") from None
    except RecursionError:
        raise ForgeError(f"{method} {path}: {forge}'s answer is nested too deeply") from None
