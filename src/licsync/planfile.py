"""A saved plan handed back to licsync (``show``, ``apply --plan``, ``github comment``): the
one way its file is read, so all three accept and refuse the same files with the same words.

A plan saved as text or Markdown (``plan --out plan.txt``, or ``--format text`` before
``--out NAME.json`` implied JSON) is refused saying how to make the JSON one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from licsync import jsonfile
from licsync.errors import UsageError
from licsync.jsonfile import read_json
from licsync.safefile import read_regular

__all__ = ["MAX_PLAN_BYTES", "read_plan_json"]

MAX_PLAN_BYTES = 512 * 1024 * 1024
"""A JSON plan of 200,000 changes is about 250 MB; anything larger is not a plan of ours."""

_TEXT_STARTS = (b"licsync plan for site", b"\x1b[", b"<!-- licsync:plan", b"<!-- licsync-plan")


def read_plan_json(
    path: Path, *, where: str, limit: int = MAX_PLAN_BYTES, for_review: bool = False
) -> Any:
    """The decoded JSON of a saved plan; ``for_review``: only what binding a review needs
    (:func:`licsync.jsonfile.read_plan_json`, memory bounded), else all of it.

    Raises:
        UsageError: the file cannot be read or is not JSON; a plan saved as text or Markdown
            says how to save it as JSON.
    """
    try:
        if for_review:
            return jsonfile.read_plan_json(path, where=where, limit=limit)
        return read_json(path, where=where, limit=limit, what="the plan")
    except UsageError as exc:
        if "not JSON" not in str(exc) and "not UTF-8" not in str(exc):
            raise
        try:
            head = read_regular(path, limit=limit)[:64].lstrip(b"\xef\xbb\xbf")
        except OSError:
            raise exc from None
        if head.startswith(_TEXT_STARTS):
            kind = "Markdown" if head.startswith(b"<!--") else "text"
            msg = (
                f"{where}: a plan saved as {kind}, not JSON; save the plan as JSON, which is "
                "what apply --plan, show and github comment read: licsync plan DIR --out "
                "plan.json (a .json name implies --format json)"
            )
            raise UsageError(msg) from None
        raise
