"""Seats (allocations of an access type to a user): allocating (one, a batch, the QMC's
selection), updating (reinstating a quarantined seat), deallocating (quarantine or release).

One way in: every seat is stored by :meth:`~licsync.sim.state.StoreState._put_allocation`,
whichever of :meth:`AllocationsMixin.add_allocation` (builder), :meth:`insert_allocation`
(seeding, snapshots) or the HTTP operations made it.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from licsync.identity import QUARANTINE, AccessType
from licsync.sim.bodies import (
    optional_bool,
    parse_guid,
    put_identity,
    require_object,
)
from licsync.sim.entities import (
    ALLOCATION,
    NEVER,
    USER,
    Entity,
    access_type_of,
    make_allocation,
    qrs_time,
)
from licsync.sim.errors import SimRefusal
from licsync.sim.licence import BROKEN_RULES, LicenceMixin
from licsync.sim.selections import SelectionsMixin
from licsync.sim.state import SERVICE_CALLER, new_id
from licsync.timeutil import parse_qrs_datetime

__all__ = ["AllocationsMixin", "reinstate"]


# The name the store had before it was split: --debug output names the same logger.
log = logging.getLogger("licsync.sim.store")


class AllocationsMixin(SelectionsMixin, LicenceMixin):
    """The seat operations of :class:`~licsync.sim.store.SimStore`."""

    def insert_allocation(self, access_type: AccessType | str, allocation: Entity) -> None:
        """Store a complete allocation dict as is (seeding and snapshots; no capacity check)."""
        with self._lock:
            self._put_allocation(access_type_of(access_type), allocation)

    def add_allocation(
        self,
        access_type: AccessType | str,
        user_id: str,
        *,
        last_used: dt.datetime | None = None,
        created: dt.datetime | None = None,
        quarantined_until: dt.datetime | None = None,
    ) -> Entity:
        """Allocate a seat to the user with QRS GUID ``user_id`` and return it (a copy).

        Unlike ``POST``, the builder does not check capacity (seed first, then
        :meth:`set_capacity`); it does refuse an unknown user and a second seat of a type.
        ``quarantined_until`` makes a quarantined seat ending then.
        """
        kind = access_type_of(access_type)
        with self._lock:
            user = self._get(USER, user_id)
            self._check_no_seat(kind, user)
            when = qrs_time(created or self.now())
            allocation = make_allocation(
                ALLOCATION[kind],
                new_id(),
                user,
                created=when,
                modified=when,
                by=SERVICE_CALLER,
                last_used=qrs_time(last_used),
                quarantined=quarantined_until is not None,
                quarantine_end=qrs_time(quarantined_until),
            )
            self._put_allocation(kind, allocation)
            return copy.deepcopy(allocation)

    def record_use(
        self, access_type: AccessType | str, user_id: str, when: dt.datetime | None = None
    ) -> Entity:
        """Simulate the user opening an app: the seat's ``lastUsed`` becomes ``when`` (or now)."""
        kind = access_type_of(access_type)
        with self._lock:
            self._maintain()
            allocation_id = self._allocation_by_user[kind].get(parse_guid(user_id, "user id"))
            if allocation_id is None:
                raise SimRefusal(400, f"User {user_id} holds no {kind.value} access")
            stored = self._entities[ALLOCATION[kind].route][allocation_id]
            updated = {**stored, "lastUsed": qrs_time(when or self.now())}
            self._put_allocation(kind, updated)
            return copy.deepcopy(updated)

    def allocate(self, access_type: AccessType, body: Any, caller: str) -> Entity:
        """``POST /qrs/license/<type>accesstype``: allocate one seat (400 when it cannot)."""
        return self.allocate_many(access_type, [body], caller)[0]

    def allocate_many(
        self, access_type: AccessType, bodies: Sequence[Any], caller: str
    ) -> list[Entity]:
        """``POST /qrs/license/<type>accesstype/many``: all seats or none.

        Every item is checked (body shape, user exists, no seat yet, no user twice in the
        batch) and the batch must fit in the available capacity before anything is created.
        """
        with self._lock:
            self._maintain()
            users: list[Entity] = []
            seen: set[str] = set()
            for index, body in enumerate(bodies):
                where = f"item {index}: " if len(bodies) > 1 else ""
                try:
                    user = self._allocation_user(body)
                    self._check_no_seat(access_type, user)
                except SimRefusal as refusal:
                    raise SimRefusal(refusal.status, where + refusal.reason) from None
                if user["id"] in seen:
                    raise SimRefusal(400, f"{where}user {user['id']} appears twice in the batch")
                seen.add(user["id"])
                users.append(user)
            available = self._available(access_type)
            if self.licence.expired:
                raise SimRefusal(400, BROKEN_RULES)
            if len(users) > available:
                cap = self._capacity[access_type]
                raise SimRefusal(
                    400,
                    f"No {access_type.value} access available: {len(users)} requested, "
                    f"{available} of {cap.total} available (allocated and quarantined seats count)",
                )
            when = qrs_time(self.now())
            created = []
            for user in users:
                allocation = make_allocation(
                    ALLOCATION[access_type], new_id(), user, created=when, modified=when, by=caller
                )
                self._put_allocation(access_type, allocation)
                created.append(allocation)
            return created

    def allocate_selected(
        self, access_type: AccessType, selection_id: str, body: Any, caller: str
    ) -> list[Entity]:
        """``POST /qrs/selection/{id}/user/license/<type>accesstype``: the QMC's allocation.

        Every user in the selection gets a seat, or the whole request is refused with 400
        ``<BrokenRules>`` and nothing is done: an expired licence, too few seats, a user who
        already holds a seat. A user holding a *quarantined* seat gets it back (UNVERIFIED:
        the body the QMC sends, ``{"quarantined": "false"}``, suggests the route reinstates;
        with ``reinstate_by_allocation`` False it is refused like a second seat). Answers the
        access types created or reinstated, in selection order.
        """
        data = require_object(body)
        quarantined = data.get("quarantined", "false")
        if str(quarantined).casefold() not in ("false", "true"):
            raise SimRefusal(400, "Property 'quarantined' must be true or false")
        with self._lock:
            self._maintain()
            selection = self.get_selection(selection_id)
            users = [
                self._entities[USER.route][item["objectID"]]
                for item in selection["items"]
                if str(item.get("type", "")).casefold() == "user"
                and item["objectID"] in self._entities[USER.route]
            ]
            route = ALLOCATION[access_type].route
            new: list[Entity] = []
            back: list[Entity] = []
            for user in users:
                held = self._allocation_by_user[access_type].get(user["id"])
                if held is None:
                    new.append(user)
                    continue
                seat = self._entities[route][held]
                if not seat["quarantined"] or not self.reinstate_by_allocation:
                    raise SimRefusal(400, BROKEN_RULES)
                back.append(seat)
            if self.licence.expired or len(new) > self._available(access_type):
                raise SimRefusal(400, BROKEN_RULES)
            when = qrs_time(self.now())
            done = []
            for seat in back:
                updated = reinstate(seat, modified=self._bumped(seat["modifiedDate"]), by=caller)
                self._put_allocation(access_type, updated)
                done.append(updated)
            for user in new:
                allocation = make_allocation(
                    ALLOCATION[access_type], new_id(), user, created=when, modified=when, by=caller
                )
                self._put_allocation(access_type, allocation)
                done.append(allocation)
            return done

    def _allocation_user(self, body: Any) -> Entity:
        """The stored user an allocation body names (``{"user": {"id": ...}}`` or fuller)."""
        data = require_object(body)
        user_ref = require_object(data.get("user"), "Property 'user'")
        if user_ref.get("id") is None:
            raise SimRefusal(400, "Property 'user.id' is required to allocate access")
        user_id = parse_guid(user_ref["id"], "user.id")
        user = self._entities[USER.route].get(user_id)
        if user is None:
            raise SimRefusal(400, f"User {user_id} does not exist")
        for field in ("userId", "userDirectory"):
            sent = user_ref.get(field)
            if sent is not None and (
                not isinstance(sent, str) or sent.casefold() != user[field].casefold()
            ):
                raise SimRefusal(400, f"user.{field} does not match user {user_id}")
        return user

    def _check_no_seat(self, access_type: AccessType, user: Mapping[str, Any]) -> None:
        held = self._allocation_by_user[access_type].get(user["id"])
        if held is None:
            return
        state = (
            "a quarantined"
            if self._entities[ALLOCATION[access_type].route][held]["quarantined"]
            else "an"
        )
        raise SimRefusal(
            400,
            f"User {user['userDirectory']}\\{user['userId']} already has {state} "
            f"{access_type.value} access allocation ({held})",
        )

    def update_allocation(
        self, access_type: AccessType, allocation_id: str, body: Any, caller: str
    ) -> Entity:
        """``PUT /qrs/license/<type>accesstype/{id}``.

        The server manages ``lastUsed``, ``quarantineEnd`` and ``excess``; the seat's user
        cannot change. The one effective change is ``quarantined: false`` on a quarantined
        seat: reinstatement (see :func:`reinstate`).
        """
        data = require_object(body)
        with self._lock:
            self._maintain()
            stored = self._get(ALLOCATION[access_type], allocation_id)
            put_identity(data, stored["id"], stored["modifiedDate"])
            user_ref = data.get("user")
            if user_ref is not None and stored.get("user") is not None:
                sent_id = require_object(user_ref, "Property 'user'").get("id")
                if sent_id is not None and parse_guid(sent_id, "user.id") != stored["user"]["id"]:
                    raise SimRefusal(400, "The user of an allocation cannot be changed")
            wanted = optional_bool(data, "quarantined", stored["quarantined"])
            modified = self._bumped(stored["modifiedDate"])
            if stored["quarantined"] and not wanted:
                if "user" not in stored:
                    raise SimRefusal(400, "The user of this quarantined allocation was deleted")
                updated = reinstate(stored, modified=modified, by=caller)
            elif wanted and not stored["quarantined"]:
                raise SimRefusal(400, "Deallocate with DELETE to quarantine an allocation")
            else:
                updated = {**stored, "modifiedDate": modified, "modifiedByUserName": caller}
            self._put_allocation(access_type, updated)
            return updated

    def deallocate(self, access_type: AccessType, allocation_id: str, caller: str) -> None:
        """``DELETE /qrs/license/<type>accesstype/{id}``: quarantine or release (204 either way)."""
        with self._lock:
            self._maintain()
            stored = self._get(ALLOCATION[access_type], allocation_id)
            self._deallocate(access_type, stored, caller)

    def _deallocate(self, access_type: AccessType, stored: Entity, caller: str) -> None:
        now = self.now()
        if stored["quarantined"]:
            if self.delete_of_quarantined == "release":
                self._release(access_type, stored)
            return
        last_used = parse_qrs_datetime(stored["lastUsed"])
        recent = last_used is not None and now - last_used < QUARANTINE
        if recent and self.licence.kind == "serial":
            quarantined = {
                **stored,
                "modifiedDate": self._bumped(stored["modifiedDate"]),
                "modifiedByUserName": caller,
                "quarantined": True,
                "quarantineEnd": qrs_time(now + QUARANTINE),
            }
            self._put_allocation(access_type, quarantined)
            log.debug("quarantined %s %s", access_type.value, stored["id"])
        else:
            self._release(access_type, stored)

    def deallocate_many(
        self, access_type: AccessType, allocation_ids: Iterable[str], caller: str
    ) -> None:
        """``DELETE /qrs/selection/{id}/license/<type>``: deallocate each (quarantine applies)."""
        with self._lock:
            self._maintain()
            route = ALLOCATION[access_type].route
            for allocation_id in allocation_ids:
                stored = self._entities[route].get(allocation_id)
                if stored is not None:
                    self._deallocate(access_type, stored, caller)


def reinstate(allocation: Mapping[str, Any], *, modified: str, by: str) -> Entity:
    """Reinstate a quarantined seat: back to allocated for the same user.

    UNVERIFIED on a real server (reference §4.4, open question 2). The simulator takes the
    likeliest form, ``PUT`` of the entity as read with ``quarantined: false``; this function
    is the one place that decides what reinstatement does to the entity.
    """
    return {
        **allocation,
        "modifiedDate": modified,
        "modifiedByUserName": by,
        "quarantined": False,
        "quarantineEnd": NEVER,
    }
