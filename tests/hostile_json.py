"""Hostile JSON entities for the QRS parsing tests: every place in an entity, and the entity
with the value at one place replaced by raw JSON text (or removed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_MARK = "\x00HOSTILE\x00"


def places(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``value``: keys of objects, indexes of arrays, recursively."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from places(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from places(inner, (*prefix, index))


def replaced(entity: Any, where: tuple[Any, ...], raw: str | None) -> str:
    """``entity`` as JSON text with the value at ``where`` replaced by the raw JSON ``raw``
    (None: the field removed)."""
    copy = json.loads(json.dumps(entity))
    target = copy
    for step in where[:-1]:
        target = target[step]
    if raw is None:
        del target[where[-1]]
        return json.dumps(copy)
    target[where[-1]] = _MARK
    return json.dumps(copy).replace(json.dumps(_MARK), raw)
