"""List responses: ``filter``, ``orderby``, condensed or full shape, and a cache of the bytes.

With 100,000 users ``/qrs/user/full`` is a few hundred megabytes of JSON; serialising it takes
seconds, sending cached bytes a fraction of that. So the unfiltered body of each (collection,
shape, order) is cached together with the store version it was made from, and made again only
after the collection changed. Filtered bodies are not cached: filters vary too much to pay off.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from licsync.sim.entities import NEVER, Collection, Entity, condensed
from licsync.sim.errors import FilterSyntaxError, SimRefusal
from licsync.sim.filter import error_body, parse_filter

__all__ = [
    "ADMIN_PRIVILEGES",
    "LIVE_EMPTY_FIELDS",
    "LIVE_NEVER",
    "ListCache",
    "OrderKey",
    "ShapeStyle",
    "apply_filter",
    "live_shape",
    "parse_orderby",
    "serialise",
    "sort_entities",
]

ADMIN_PRIVILEGES = ("create", "read", "update", "delete")
"""What ``?privileges=true`` lists on each entity: every caller the simulator admits is an admin."""

_ORDER_TERM = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:\s+(asc|desc))?\s*$", re.I
)
_CACHE_ENTRIES = 24


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``orderby`` term: a dotted property path and its direction."""

    path: tuple[str, ...]
    descending: bool = False


def parse_orderby(text: str) -> tuple[OrderKey, ...]:
    """Parse ``prop [asc|desc], prop [asc|desc] ...`` (QRS's sorting syntax).

    Raises:
        SimRefusal: 400 when a term is not a property optionally followed by asc/desc.
    """
    keys = []
    for term in text.split(","):
        match = _ORDER_TERM.match(term)
        if match is None:
            raise SimRefusal(400, f"Cannot parse the orderby expression: {text[:200]}")
        keys.append(OrderKey(tuple(match[1].split(".")), (match[2] or "").lower() == "desc"))
    return tuple(keys)


def _lookup(entity: Any, path: Sequence[str]) -> Any:
    """A dotted path, property names matched case-insensitively; arrays give their first item."""
    current = entity
    for segment in path:
        if isinstance(current, list):
            current = current[0] if current else None
        if not isinstance(current, Mapping):
            return None
        if segment in current:
            current = current[segment]
            continue
        wanted = segment.lower()
        current = next((v for k, v in current.items() if k.lower() == wanted), None)
    return current


def _sort_value(value: Any) -> tuple[int, Any]:
    """Order nulls first, then booleans, numbers, strings (case-insensitively)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    return (3, str(value).casefold())


def sort_entities(entities: list[Entity], keys: Sequence[OrderKey]) -> list[Entity]:
    """Stable multi-key sort: the last key first, so earlier keys dominate."""
    result = list(entities)
    for key in reversed(keys):
        path = key.path

        def sort_key(entity: Entity, path: tuple[str, ...] = path) -> tuple[int, Any]:
            return _sort_value(_lookup(entity, path))

        result.sort(key=sort_key, reverse=key.descending)
    return result


def apply_filter(entities: Iterable[Entity], text: str) -> list[Entity]:
    """The entities matching a QRS filter.

    Raises:
        SimRefusal: 400 with a QRS-like body when the filter does not parse.
    """
    try:
        predicate = parse_filter(text)
    except FilterSyntaxError as exc:
        raise SimRefusal(400, error_body(text, exc)) from exc
    return [e for e in entities if predicate(e)]


ShapeStyle = Literal["live", "spec"]
"""How the simulator shapes what a live server and the spec disagree on (qrs-evidence §3):
``live`` (the default) as live servers answer: "never" is ``1753-01-01T00:00:00.000Z`` and a
living user's seat has ``""`` in ``deletedUserId`` / ``deletedUserDirectory``; ``spec`` as
the simulator answered before: ``0001-01-01T00:00:00.000Z`` and ``null``. licsync must plan
the same against both."""

LIVE_NEVER = "1753-01-01T00:00:00.000Z"
"""SQL Server's smallest datetime: "never" in live answers (Ctrl-Q's captured allocation)."""

_DATE_FIELDS = ("lastUsed", "quarantineEnd")
LIVE_EMPTY_FIELDS = ("deletedUserId", "deletedUserDirectory")
"""``""`` on a living user's seat in live answers (Ctrl-Q's capture), though the spec says
``minLength: 1``."""


def live_shape(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An allocation as a live server shapes it (see :data:`ShapeStyle`); other entities as
    they are (a copy only where something changes)."""
    if "quarantineEnd" not in entity:
        return entity if isinstance(entity, dict) else dict(entity)
    shaped = dict(entity)
    for field in _DATE_FIELDS:
        if shaped.get(field) == NEVER:
            shaped[field] = LIVE_NEVER
    if shaped.get("user") is not None:
        for field in LIVE_EMPTY_FIELDS:
            if shaped.get(field) is None:
                shaped[field] = ""
    return shaped


def serialise(
    entities: Iterable[Mapping[str, Any]],
    collection: Collection,
    *,
    full: bool,
    privileges: bool,
    shapes: ShapeStyle = "spec",
) -> bytes:
    """A JSON array of the entities in the requested shape."""
    if shapes == "live" and collection.access_type is not None and full:
        entities = [live_shape(e) for e in entities]
    shaped: Iterable[Mapping[str, Any]] = (
        entities if full else (condensed(e, collection) for e in entities)
    )
    if privileges:
        shaped = ({**e, "privileges": list(ADMIN_PRIVILEGES)} for e in shaped)
    return json.dumps(list(shaped), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ListCache:
    """Serialised unfiltered list bodies by key, valid for one store version each.

    Concurrent requests for the same missing body wait for one of them to make it (a cold
    ``/qrs/user/full`` costs seconds and hundreds of megabytes; making it twice at once
    would double both).
    """

    def __init__(self, entries: int = _CACHE_ENTRIES) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._bodies: OrderedDict[tuple[Any, ...], tuple[int, bytes]] = OrderedDict()
        self._making: dict[tuple[Any, ...], threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def _cached(self, key: tuple[Any, ...], version: int) -> bytes | None:
        with self._lock:
            found = self._bodies.get(key)
            if found is not None and found[0] == version:
                self._bodies.move_to_end(key)
                self.hits += 1
                return found[1]
            return None

    def get_or_make(self, key: tuple[Any, ...], version: int, make: Callable[[], bytes]) -> bytes:
        """The cached body for ``key`` at ``version``, made (outside the cache lock) when absent."""
        body = self._cached(key, version)
        if body is not None:
            return body
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            body = self._cached(key, version)
            if body is not None:
                return body
            with self._lock:
                self.misses += 1
            body = make()
            with self._lock:
                found = self._bodies.get(key)
                # A slow maker of an older version must not replace a newer body.
                if found is None or found[0] <= version:
                    self._bodies[key] = (version, body)
                    self._bodies.move_to_end(key)
                while len(self._bodies) > self._entries:
                    evicted, _ = self._bodies.popitem(last=False)
                    lock = self._making.get(evicted)
                    if lock is not None and not lock.locked():
                        del self._making[evicted]
            return body
