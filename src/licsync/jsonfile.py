"""A JSON or text file someone hands licsync (a reviewed plan, an issue body), read without
trusting it: a regular file, capped in size, UTF-8, and every way it can fail a
:class:`~licsync.errors.UsageError` that names it (and the line and column of bad JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from licsync.errors import UsageError
from licsync.safefile import read_regular

__all__ = ["parse_json", "parse_plan_json", "read_json", "read_plan_json", "read_text"]


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


def read_plan_json(path: Path, *, where: str, limit: int) -> Any:
    """A JSON plan file, kept only as far as reading a reviewed plan needs it (see
    :func:`parse_plan_json`)."""
    return parse_plan_json(_read(path, where=where, limit=limit, what="the plan"), where)


def parse_plan_json(raw: bytes, where: str) -> Any:
    """A licsync JSON plan decoded into only what binding a review needs: the top level's
    scalars, ``safety.blocked`` and per change its ``id``, ``kind`` and ``diff`` (field and
    declared value). Findings, targets and entities as read are dropped as they are decoded,
    so the memory is a small multiple of the file's size whatever it holds (decoded whole, a
    30 MB plan took 850 MB)."""
    return parse_json(raw, where, object_hook=_plan_part)


_ID_KEYS = frozenset({"kind", "access_type", "subject", "reason"})


def _plan_part(obj: dict[str, Any]) -> Any:
    """Called for every JSON object, innermost first: what a plan reader keeps of it."""
    if isinstance(obj.get("id"), dict) and "kind" in obj:  # a change
        return {k: obj[k] for k in ("id", "kind", "diff") if k in obj}
    if "kind" in obj and obj.keys() <= _ID_KEYS:  # a change's identity
        return obj
    if "field" in obj:  # an entry of a rule change's diff
        return {k: obj[k] for k in ("field", "desired") if k in obj}
    if "format_version" in obj:  # the plan itself
        return {
            k: v
            for k, v in obj.items()
            if k in ("changes", "safety") or not isinstance(v, dict | list)
        }
    if "blocked" in obj:  # the safety verdict
        return {"blocked": obj["blocked"]}
    return None


def parse_json(raw: bytes, where: str, *, object_hook: Any = None) -> Any:
    """``raw`` decoded as UTF-8 JSON (a byte order mark before it allowed, as Windows tools
    write one), or a :class:`UsageError` saying where it is not. ``object_hook`` as for
    :func:`json.loads`."""
    try:
        return json.loads(raw.decode("utf-8-sig"), object_hook=object_hook)
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise UsageError(f"{where}: JSON nested too deeply") from None
