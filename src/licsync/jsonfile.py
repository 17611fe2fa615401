"""A JSON or text file someone hands licsync (a reviewed plan, an issue body), read without
trusting it: a regular file, capped in size, UTF-8, and every way it can fail a
:class:`~licsync.errors.UsageError` that names it (and the line and column of bad JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from licsync.errors import UsageError
from licsync.safefile import read_regular

__all__ = ["parse_json", "read_json", "read_text"]


def read_json(path: Path, *, where: str, limit: int, what: str = "") -> Any:
    """The decoded JSON of the file ``path`` (shown as ``where``; ``what`` names it in a read
    error: ``the plan``)."""
    return parse_json(_read(path, where=where, limit=limit, what=what), where)


def read_text(path: Path, *, where: str, limit: int) -> str:
    """The UTF-8 text of the file ``path`` (an issue body, say), checked as JSON files are."""
    try:
        return _read(path, where=where, limit=limit).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text") from None


def _read(path: Path, *, where: str, limit: int, what: str = "") -> bytes:
    try:
        return read_regular(path, limit=limit)
    except OSError as exc:
        subject = f"cannot read {what}" if what else "cannot read"
        raise UsageError(f"{where}: {subject}: {exc.strerror or exc}") from None


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
