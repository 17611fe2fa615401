"""A JSON file someone hands licsync (a reviewed plan, a downloaded artifact), read without
trusting it: a regular file, capped in size, UTF-8, and every way it can fail a
:class:`~licsync.errors.UsageError` that names it (and the line and column of bad JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from licsync.errors import UsageError
from licsync.safefile import read_regular

__all__ = ["parse_json", "read_json"]


def read_json(path: Path, *, where: str, limit: int, what: str = "") -> Any:
    """The decoded JSON of the file ``path`` (shown as ``where``; ``what`` names it in a read
    error: ``the plan``)."""
    try:
        raw = read_regular(path, limit=limit)
    except OSError as exc:
        subject = f"cannot read {what}" if what else "cannot read"
        raise UsageError(f"{where}: {subject}: {exc.strerror or exc}") from None
    return parse_json(raw, where)


def parse_json(raw: bytes, where: str) -> Any:
    """``raw`` decoded as UTF-8 JSON, or a :class:`UsageError` saying where it is not."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise UsageError(f"{where}: JSON nested too deeply") from None
