"""Reading fields out of a forge's JSON answers, the same way for GitHub, GitLab and Azure
DevOps: a value of the wrong type is absent (text) or a :class:`ForgeError` naming the forge,
the endpoint and the field (numbers, objects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licsync.errors import ForgeError

__all__ = ["first_line", "json_object", "number", "text"]


def first_line(body: object) -> str:
    """The first line of a comment's body (a marker lives there), or "" when it is no text."""
    return body.split("\n", 1)[0].rstrip("\r") if isinstance(body, str) else ""


def json_object(data: Any, *, forge: str, method: str, path: str) -> dict[str, Any]:
    """``data`` when it is a JSON object, else a ForgeError naming the endpoint."""
    if not isinstance(data, dict):
        raise ForgeError(f"{method} {path}: {forge}'s answer is not a JSON object")
    return data


def number(data: Mapping[str, Any], name: str, where: str, *, forge: str) -> int:
    """The whole number ``data[name]`` (0 or more; a boolean is no number), else a ForgeError."""
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ForgeError(f"{where}: {forge}'s answer has no usable {name}")
    return value


def text(data: Mapping[str, Any], name: str) -> str:
    """``data[name]`` when it is a string, else ""."""
    value = data.get(name)
    return value if isinstance(value, str) else ""
