"""The simulated repository's state, and what every part of it shares.

:class:`StoreState` holds every entity as a QRS-shaped dict behind one re-entrant lock, the
indexes kept beside them (users by key, seats by user, quarantined seats and their heap), the
clock, the collections' versions and the generic reads. Each kind of entity's operations live
in their own module (:mod:`.users`, :mod:`.allocations`, :mod:`.rules`, :mod:`.selections`,
:mod:`.licence`); :class:`~licsync.sim.store.SimStore` is all of them together.

Seats are stored here, by :meth:`StoreState._put_allocation` (the one way a seat enters or
changes), because licence maintenance (:meth:`StoreState._maintain`, releasing seats whose
quarantine ended) runs before every read and write of any kind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from licsync.identity import AccessType
from licsync.sim.clock import SimClock
from licsync.sim.entities import (
    ALLOCATION,
    COLLECTIONS,
    Collection,
    Entity,
    qrs_time,
)
from licsync.sim.errors import SimRefusal
from licsync.timeutil import parse_qrs_datetime

__all__ = [
    "DELETE_OF_QUARANTINED",
    "SERVICE_CALLER",
    "Capacity",
    "DeleteOfQuarantined",
    "Licence",
    "LicenceKind",
    "StoreState",
    "new_id",
]

# The name the store had before it was split: --debug output names the same logger.
log = logging.getLogger("licsync.sim.store")

SERVICE_CALLER = "INTERNAL\\sa_repository"
"""Who changes entities when no caller is named (a certificate call without ``X-Qlik-User``)."""

DeleteOfQuarantined = Literal["keep", "release"]

DELETE_OF_QUARANTINED: DeleteOfQuarantined = "keep"
"""UNVERIFIED: what ``DELETE`` does to an already-quarantined seat. ``keep`` (default): 204 and
the seat stays quarantined until ``quarantineEnd`` (deallocating twice changes nothing, as the
QMC offers only "Reinstate" on such a row); ``release``: the seat is released at once."""

_ONE_MS = dt.timedelta(milliseconds=1)

LicenceKind = Literal["serial", "key"]


@dataclass(frozen=True, slots=True)
class Licence:
    """The site's licence as ``GET /qrs/license`` describes it.

    Attributes:
        kind: ``serial`` (a serial and control number: reclaimed recent seats are quarantined)
            or ``key`` (a signed licence key: seats are released at once, qrs-evidence §4).
        expired: ``isExpired``; no access can be added (400 ``<BrokenRules>``).
        subscription: ``isSubscription``.
    """

    kind: LicenceKind = "serial"
    expired: bool = False
    subscription: bool = False


@dataclass(frozen=True, slots=True)
class Capacity:
    """The licence's allotment for one access type."""

    total: int = 0
    enabled: bool = False


def new_id() -> str:
    """A new entity id: a random GUID, lower case, as QRS makes them."""
    return str(uuid.uuid4())


class StoreState:
    """The simulated QRS repository's state and generic reads (thread-safe).

    Args:
        now: freeze the clock at this aware datetime; None follows the wall clock.
        delete_of_quarantined: see :data:`DELETE_OF_QUARANTINED`.
    """

    def __init__(
        self,
        now: dt.datetime | None = None,
        *,
        delete_of_quarantined: DeleteOfQuarantined = DELETE_OF_QUARANTINED,
    ) -> None:
        self._lock = threading.RLock()
        self.clock = SimClock(now)
        self.clock_moved = dt.timedelta()
        """How far ``set_now`` and ``advance`` moved the clock, in all (the HTTP ``Date``
        header follows such moves; the clock's start is the seeding's business)."""
        self.created_at = qrs_time(self.now())
        """When the repository was made: the dates of entities the simulator does not date."""
        self._tag_ids: dict[str, str] = {}
        self.delete_of_quarantined: DeleteOfQuarantined = delete_of_quarantined
        self._entities: dict[str, dict[str, Entity]] = {c.route: {} for c in COLLECTIONS}
        self._versions: dict[str, int] = {c.route: 0 for c in COLLECTIONS}
        self._capacity: dict[AccessType, Capacity] = {t: Capacity() for t in AccessType}
        self._user_by_key: dict[str, str] = {}
        self._allocation_by_user: dict[AccessType, dict[str, str]] = {t: {} for t in AccessType}
        self._quarantined: dict[AccessType, int] = dict.fromkeys(AccessType, 0)
        # (quarantineEnd, access type, allocation id); stale entries are skipped when popped.
        self._quarantine_heap: list[tuple[dt.datetime, str, str]] = []
        self._selections: dict[str, Entity] = {}
        self._custom_property_definitions: dict[str, Entity] = {}
        self.licence = Licence()
        self.reinstate_by_allocation = True
        """Whether the QMC's allocation route gives a user's quarantined seat back (UNVERIFIED)."""

    def now(self) -> dt.datetime:
        """The simulated time (aware UTC, millisecond precision)."""
        return self.clock.now()

    def set_now(self, value: dt.datetime) -> None:
        """Freeze the clock at ``value`` and run licence maintenance."""
        with self._lock:
            self.clock_moved += value - self.clock.now()
            self.clock.set_now(value)
            self._maintain()

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock by ``delta`` and run licence maintenance."""
        with self._lock:
            self.clock_moved += delta
            self.clock.advance(delta)
            self._maintain()

    def version(self, collection: Collection) -> int:
        """A counter that changes whenever ``collection`` changes (for response caches)."""
        with self._lock:
            self._maintain()
            return self._versions[collection.route]

    def entities(self, collection: Collection) -> tuple[int, list[Entity]]:
        """The collection's version and its entities in creation order (treat as read-only)."""
        with self._lock:
            self._maintain()
            return self._versions[collection.route], list(self._entities[collection.route].values())

    def get(self, collection: Collection, entity_id: str) -> Entity:
        """One entity (read-only), or 404."""
        with self._lock:
            self._maintain()
            return self._get(collection, entity_id)

    def find(self, collection: Collection, entity_ids: Iterable[str]) -> list[Entity]:
        """The entities of these (lower-case) ids that exist, in the order asked (read-only)."""
        with self._lock:
            self._maintain()
            stored = self._entities[collection.route]
            return [e for i in entity_ids if (e := stored.get(i)) is not None]

    def count(self, collection: Collection) -> int:
        """How many entities the collection holds."""
        with self._lock:
            self._maintain()
            return len(self._entities[collection.route])

    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Hold the store still (no other thread reads or writes) for a multi-part read."""
        with self._lock:
            self._maintain()
            yield

    def _put_allocation(self, access_type: AccessType, allocation: Entity) -> None:
        """Store (insert or replace) an allocation, keeping every index in step."""
        route = ALLOCATION[access_type].route
        previous = self._entities[route].get(allocation["id"])
        if previous is not None and previous["quarantined"]:
            self._quarantined[access_type] -= 1
        self._entities[route][allocation["id"]] = allocation
        if allocation.get("user") is not None:
            self._allocation_by_user[access_type][allocation["user"]["id"]] = allocation["id"]
        if allocation["quarantined"]:
            self._quarantined[access_type] += 1
            end = parse_qrs_datetime(allocation["quarantineEnd"])
            if end is not None:
                heapq.heappush(self._quarantine_heap, (end, access_type.value, allocation["id"]))
        self._touch(ALLOCATION[access_type])

    def _release(self, access_type: AccessType, stored: Entity) -> None:
        route = ALLOCATION[access_type].route
        del self._entities[route][stored["id"]]
        if stored["quarantined"]:
            self._quarantined[access_type] -= 1
        if stored.get("user") is not None:
            self._allocation_by_user[access_type].pop(stored["user"]["id"], None)
        self._touch(ALLOCATION[access_type])
        log.debug("released %s %s", access_type.value, stored["id"])

    def _maintain(self) -> None:
        """Licence maintenance: release quarantined seats whose ``quarantineEnd`` has passed."""
        if not self._quarantine_heap:
            return
        now = self.now()
        while self._quarantine_heap and self._quarantine_heap[0][0] <= now:
            end, kind_value, allocation_id = heapq.heappop(self._quarantine_heap)
            kind = AccessType(kind_value)
            stored = self._entities[ALLOCATION[kind].route].get(allocation_id)
            # Stale heap entries (reinstated or already released seats) are skipped.
            if stored is None or not stored["quarantined"]:
                continue
            if parse_qrs_datetime(stored["quarantineEnd"]) != end:
                continue
            self._release(kind, stored)

    def _get(self, collection: Collection, entity_id: str) -> Entity:
        found = self._entities[collection.route].get(entity_id.lower())
        if found is None:
            raise SimRefusal(404, f"{collection.schema_path} {entity_id} does not exist")
        return found

    def _touch(self, collection: Collection) -> None:
        self._versions[collection.route] += 1

    def _bumped(self, previous: str) -> str:
        """A new ``modifiedDate``: now, but always after the previous one.

        With a frozen clock two writes would otherwise share a ``modifiedDate`` and a client
        holding the first version could overwrite the second without a 409.
        """
        now = self.now()
        before = parse_qrs_datetime(previous)
        if before is not None and now <= before:
            now = before + _ONE_MS
        return qrs_time(now)
