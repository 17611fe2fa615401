"""Snapshots: a whole :class:`~licsync.sim.store.SimStore` as one versioned JSON document.

``dump(store)`` and ``restore(data)`` round-trip exactly (``dump(restore(dump(s))) ==
dump(s)``), so a recorded organisation can be served again byte for byte. The document::

    {"format": "licsync-sim-snapshot", "version": 1,
     "clock": "<frozen time>" | null (wall clock), "deleteOfQuarantined": "keep",
     "licence": {"kind": "serial" | "key", "expired": false, "subscription": false},
     "capacity": {"professional": {"total": N, "enabled": true}, "analyzer": {...}},
     "customPropertyDefinitions": [...],
     "entities": {"user": [...], "license/professionalaccesstype": [...], ...},
     "selections": [...]}

Entities are stored exactly as QRS shapes them, so a snapshot is also readable test data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from licsync.errors import UsageError
from licsync.identity import AccessType
from licsync.sim.entities import ALLOCATION, COLLECTIONS, GROUP, SYSTEMRULE, USER
from licsync.sim.errors import SimRefusal
from licsync.sim.store import DELETE_OF_QUARANTINED, SimStore
from licsync.timeutil import format_qrs_datetime, parse_qrs_datetime

__all__ = ["SNAPSHOT_FORMAT", "SNAPSHOT_VERSION", "dump", "restore"]

SNAPSHOT_FORMAT = "licsync-sim-snapshot"
SNAPSHOT_VERSION = 1


def dump(store: SimStore) -> bytes:
    """The store as a snapshot (deterministic for a deterministic store)."""
    with store.consistent():
        document = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "clock": format_qrs_datetime(store.now()) if store.clock.frozen else None,
            "deleteOfQuarantined": store.delete_of_quarantined,
            "licence": {
                "kind": store.licence.kind,
                "expired": store.licence.expired,
                "subscription": store.licence.subscription,
            },
            "capacity": {
                t.value: {"total": store.capacity(t).total, "enabled": store.capacity(t).enabled}
                for t in AccessType
            },
            "customPropertyDefinitions": store.custom_property_definitions(),
            "entities": {c.route: store.entities(c)[1] for c in COLLECTIONS},
            "selections": store.selections(),
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def restore(data: bytes | str) -> SimStore:
    """A store from :func:`dump` output.

    Raises:
        UsageError: not a snapshot, one of an unknown version, or a damaged one.
    """
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"simulator snapshot is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise UsageError("not a licsync simulator snapshot (missing format marker)")
    if document.get("version") != SNAPSHOT_VERSION:
        raise UsageError(
            f"simulator snapshot version {document.get('version')!r} is not supported "
            f"(this licsync reads version {SNAPSHOT_VERSION})"
        )
    try:
        return _build(document)
    except (KeyError, TypeError, ValueError, AttributeError, SimRefusal) as exc:
        raise UsageError(f"simulator snapshot is damaged: {exc!r}") from exc


def _build(document: Mapping[str, Any]) -> SimStore:
    clock = document["clock"]
    mode = document.get("deleteOfQuarantined", DELETE_OF_QUARANTINED)
    if mode not in ("keep", "release"):
        raise ValueError(f"deleteOfQuarantined {mode!r}")
    store = SimStore(parse_qrs_datetime(clock) if clock else None, delete_of_quarantined=mode)
    licence = document.get("licence") or {}  # absent in snapshots older than the licence
    store.set_licence(
        licence.get("kind", "serial"),
        expired=bool(licence.get("expired", False)),
        subscription=bool(licence.get("subscription", False)),
    )
    for kind_value, cap in document["capacity"].items():
        store.set_capacity(kind_value, int(cap["total"]), enabled=bool(cap["enabled"]))
    for definition in document["customPropertyDefinitions"]:
        store.insert_custom_property_definition(definition)
    entities = document["entities"]
    for user in entities[USER.route]:
        store.insert_user(user)
    for kind in AccessType:
        for group in entities[GROUP[kind].route]:
            store.insert_group(kind, group)
        for allocation in entities[ALLOCATION[kind].route]:
            store.insert_allocation(kind, allocation)
    for rule in entities[SYSTEMRULE.route]:
        store.insert_system_rule(rule)
    for selection in document["selections"]:
        store.insert_selection(selection)
    return store
