"""The simulated repository: entities, capacity, quarantine and the rules QRS enforces on them.

:class:`SimStore` is thread-safe (one re-entrant lock) and holds every entity as a QRS-shaped
dict. Two kinds of callers use it:

* the HTTP app (:mod:`licsync.sim.app`) calls the operations named after what a QRS request
  does (``allocate``, ``deallocate``, ``update_user``, ...). They validate like QRS and raise
  :class:`~licsync.sim.errors.SimRefusal` with the status QRS would answer;
* tests, the synthetic seeding and the lead's demo organisation use the builder methods
  (``add_user``, ``add_allocation``, ``add_rule``, ``add_group_only``, ``set_capacity``).

Stored dicts are never mutated once stored: every write builds a new dict and swaps it in.
That lets :meth:`SimStore.entities` hand out a consistent list of references cheaply, which
the app filters and serialises without holding the lock.

Semantics (see the package docstring for which of them are assumptions):

* capacity: ``available = total - allocated - quarantined`` (never below 0); a quarantined
  seat still counts against capacity; an allocation that does not fit fails with 400;
* one allocation per user and access type, quarantined or not;
* deallocation quarantines a seat used within the last 7 days (until now + 7 days) and
  releases any other seat at once;
* licence maintenance releases quarantined seats once ``quarantineEnd`` has passed; it runs
  whenever the clock is moved and before every read or write;
* every write bumps ``modifiedDate`` (strictly increasing per entity, millisecond precision)
  and sets ``modifiedByUserName`` to the caller.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import heapq
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from licsync.errors import UsageError
from licsync.identity import QUARANTINE, AccessType, RuleContext, user_key
from licsync.sim.bodies import (
    DEFAULT_RULE_CATEGORY,
    LICENSE_RESOURCE_FILTER,
    optional_bool,
    parse_guid,
    put_identity,
    require_object,
    required_str,
    rule_from_body,
    user_from_body,
)
from licsync.sim.clock import SimClock
from licsync.sim.entities import (
    ALLOCATION,
    ATTRIBUTE_EMAIL,
    ATTRIBUTE_GROUP,
    COLLECTIONS,
    GROUP,
    NEVER,
    SELECTION,
    SYSTEMRULE,
    USER,
    Collection,
    Entity,
    access_type_of,
    make_allocation,
    make_attribute,
    make_custom_property,
    make_group,
    make_user,
    qrs_time,
    user_condensed,
)
from licsync.sim.errors import SimRefusal
from licsync.timeutil import parse_qrs_datetime

__all__ = [
    "DEFAULT_RULE_CATEGORY",
    "DELETE_OF_QUARANTINED",
    "SERVICE_CALLER",
    "Capacity",
    "DeleteOfQuarantined",
    "SimStore",
]

log = logging.getLogger(__name__)

SERVICE_CALLER = "INTERNAL\\sa_repository"
"""Who changes entities when no caller is named (a certificate call without ``X-Qlik-User``)."""

DeleteOfQuarantined = Literal["keep", "release"]

DELETE_OF_QUARANTINED: DeleteOfQuarantined = "keep"
"""UNVERIFIED: what ``DELETE`` does to an already-quarantined seat. ``keep`` (default): 204 and
the seat stays quarantined until ``quarantineEnd`` (deallocating twice changes nothing, as the
QMC offers only "Reinstate" on such a row); ``release``: the seat is released at once."""

_ONE_MS = dt.timedelta(milliseconds=1)
_ADMIN_ROLES = frozenset({"rootadmin", "deploymentadmin"})


BROKEN_RULES = "<BrokenRules>"
"""The message a live QRS answers (400) when access cannot be added from the licence: too few
seats, an expired or deny-listed licence (help.qlik.com, "Add user access from license"). The
simulator answers the QMC's allocation route with exactly this, whatever the cause, for the
whole request (nothing is done), so no client can read a cause into its wording."""

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


class SimStore:
    """The simulated QRS repository (thread-safe).

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

    # ------------------------------------------------------------------ clock

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

    # ------------------------------------------------------------------ reads

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

    def find_user(self, directory: str, userid: str) -> Entity | None:
        """The user ``directory\\userid`` (case-insensitive, as QRS compares), or None."""
        with self._lock:
            found = self._user_by_key.get(user_key(directory, userid))
            return self._entities[USER.route][found] if found else None

    def is_admin(self, directory: str, userid: str) -> bool:
        """True when the user exists and holds ``RootAdmin`` or ``DeploymentAdmin``."""
        user = self.find_user(directory, userid)
        return user is not None and any(
            str(role).casefold() in _ADMIN_ROLES for role in user.get("roles", ())
        )

    def capacity(self, access_type: AccessType | str) -> Capacity:
        """The allotment of one access type."""
        with self._lock:
            return self._capacity[access_type_of(access_type)]

    def overview(self) -> Entity:
        """``GET /qrs/license/accesstypeoverview``: an ``AccessTypeOverview``.

        Per access type: ``allocated`` = seats not quarantined, ``quarantined`` = quarantined
        seats, ``used`` = allocated seats used at least once, ``available`` = ``total -
        allocated - quarantined`` (never below 0), ``excess`` = seats beyond ``total`` (only
        possible after the capacity was lowered under the allocations).
        """
        with self._lock:
            self._maintain()
            details = {t: self._details(t) for t in AccessType}
        return {
            "schemaPath": "AccessTypeOverview",
            "totalTokens": 0,
            "availableTokens": 0,
            "tokensEnabled": False,
            "userAccess": {
                "schemaPath": "AccessTypeOverview.UserAccessDetails",
                "enabled": False,
                "tokenCost": 1.0,
                "allocatedTokens": 0,
                "usedTokens": 0,
                "quarantinedTokens": 0,
            },
            "loginAccess": {
                "schemaPath": "AccessTypeOverview.LoginAccessDetails",
                "enabled": False,
                "tokenCost": 0.1,
                "allocatedTokens": 0,
                "usedTokens": 0,
                "unavailableTokens": 0,
            },
            "professionalAccess": details[AccessType.PROFESSIONAL],
            "analyzerAccess": details[AccessType.ANALYZER],
            "analyzerTimeAccess": {
                "schemaPath": "AccessTypeOverview.AnalyzerTimeAccessDetails",
                "enabled": False,
                "allocatedMinutes": 0,
                "usedMinutes": 0,
                "unavailableMinutes": 0,
            },
        }

    def _details(self, access_type: AccessType) -> Entity:
        rows = self._entities[ALLOCATION[access_type].route].values()
        quarantined = self._quarantined[access_type]
        allocated = len(self._entities[ALLOCATION[access_type].route]) - quarantined
        used = sum(1 for r in rows if not r["quarantined"] and r["lastUsed"] != NEVER)
        cap = self._capacity[access_type]
        return {
            "schemaPath": "AccessTypeOverview.Details",
            "enabled": cap.enabled,
            "total": cap.total,
            "allocated": allocated,
            "used": used,
            "quarantined": quarantined,
            "excess": max(0, allocated + quarantined - cap.total),
            "available": max(0, cap.total - allocated - quarantined),
        }

    def _available(self, access_type: AccessType) -> int:
        taken = len(self._entities[ALLOCATION[access_type].route])
        return max(0, self._capacity[access_type].total - taken)

    # ------------------------------------------------------------------ builder API

    def set_capacity(
        self, access_type: AccessType | str, total: int, *, enabled: bool = True
    ) -> None:
        """Set the licence's allotment of an access type (not checked against allocations)."""
        if total < 0:
            raise SimRefusal(400, "capacity cannot be negative")
        with self._lock:
            self._capacity[access_type_of(access_type)] = Capacity(total, enabled)

    def set_licence(
        self, kind: LicenceKind = "serial", *, expired: bool = False, subscription: bool = False
    ) -> None:
        """Choose the site's licence: its kind (quarantine or not) and whether it expired."""
        if kind not in ("serial", "key"):
            raise SimRefusal(400, f"licence kind must be serial or key, not {kind!r}")
        with self._lock:
            self.licence = Licence(kind, expired, subscription)

    def licence_entity(self) -> Entity:
        """``GET /qrs/license``: a ``License``; the secrets are made-up but shaped like them."""
        licence = self.licence
        serial = licence.kind == "serial"
        return {
            "id": "5c5a0d5e-0000-4000-8000-00000000115e",
            "createdDate": self.created_at,
            "modifiedDate": self.created_at,
            "modifiedByUserName": SERVICE_CALLER,
            "privileges": None,
            "schemaPath": "License",
            "lef": "",
            "serial": "9999000000000001" if serial else "",
            "check": "12345" if serial else "",
            "key": "" if serial else "eyJhbGciOiJFUzM4NCJ9.simulated.signature",
            "keyDetails": "" if serial else "Valid To: 2099-12-31",
            "name": "licsync simulator",
            "organization": "licsync",
            "product": 0,
            "numberOfCores": -1,
            "isExpired": licence.expired,
            "expiredReason": "The license has expired" if licence.expired else "",
            "isBlacklisted": False,
            "isInvalid": False,
            "isSubscription": licence.subscription,
            "isCloudServices": False,
            "isElastic": False,
            "updated": self.created_at,
        }

    def define_custom_property(
        self, name: str, choice_values: Iterable[str] = (), *, value_type: str = "Text"
    ) -> Entity:
        """Register a custom property definition (users' ``customProperties`` refer to it)."""
        with self._lock:
            for definition in self._custom_property_definitions.values():
                if definition["name"].casefold() == name.casefold():
                    return copy.deepcopy(definition)
            definition = {
                "id": _new_id(),
                "name": name,
                "valueType": value_type,
                "choiceValues": list(choice_values),
            }
            self._custom_property_definitions[definition["id"]] = definition
            return copy.deepcopy(definition)

    def add_user(
        self,
        directory: str,
        userid: str,
        *,
        name: str | None = None,
        groups: Iterable[str] = (),
        email: str | None = None,
        attributes: Iterable[tuple[str, str]] = (),
        roles: Iterable[str] = (),
        custom_properties: Mapping[str, str] | None = None,
        tags: Iterable[str] = (),
        inactive: bool = False,
        removed_externally: bool = False,
        blacklisted: bool = False,
        delete_prohibited: bool = False,
        created: dt.datetime | None = None,
        entity_id: str | None = None,
    ) -> Entity:
        """Add a user and return it (a copy).

        ``groups`` become ``Group`` attributes and ``email`` an ``email`` attribute, as a user
        directory connector delivers them; ``attributes`` adds any other (type, value) pairs.
        """
        with self._lock:
            when = qrs_time(created or self.now())
            by = SERVICE_CALLER
            rows = [make_attribute(_new_id(), ATTRIBUTE_GROUP, g, when=when, by=by) for g in groups]
            if email:
                rows.append(make_attribute(_new_id(), ATTRIBUTE_EMAIL, email, when=when, by=by))
            rows.extend(make_attribute(_new_id(), t, v, when=when, by=by) for t, v in attributes)
            properties = [
                make_custom_property(
                    _new_id(),
                    self._definition_condensed(self.define_custom_property(key)["id"]),
                    value,
                    when=when,
                    by=by,
                )
                for key, value in (custom_properties or {}).items()
            ]
            user = make_user(
                parse_guid(entity_id, "id") if entity_id else _new_id(),
                directory,
                userid,
                name=name if name is not None else userid,
                created=when,
                modified=when,
                by=by,
                roles=roles,
                attributes=rows,
                custom_properties=properties,
                # One tag entity per name, as in QRS, so /qrs/tag lists each tag once.
                tags=[
                    {"id": self._tag_ids.setdefault(t.casefold(), _new_id()), "name": t}
                    for t in tags
                ],
                inactive=inactive or removed_externally,
                removed_externally=removed_externally,
                blacklisted=blacklisted,
                delete_prohibited=delete_prohibited,
                connector=directory,
            )
            self.insert_user(user)
            return copy.deepcopy(user)

    def insert_user(self, user: Entity) -> None:
        """Store a complete ``User`` dict as is (seeding's fast path; the dict is kept)."""
        with self._lock:
            key = user_key(user["userDirectory"], user["userId"])
            if key in self._user_by_key:
                raise SimRefusal(
                    400, f"User {user['userDirectory']}\\{user['userId']} already exists"
                )
            if user["id"] in self._entities[USER.route]:
                raise SimRefusal(400, f"An entity with id {user['id']} already exists")
            self._entities[USER.route][user["id"]] = user
            self._user_by_key[key] = user["id"]
            self._touch(USER)

    def insert_allocation(self, access_type: AccessType | str, allocation: Entity) -> None:
        """Store a complete allocation dict as is (seeding and snapshots; no capacity check)."""
        with self._lock:
            self._put_allocation(access_type_of(access_type), allocation)

    def insert_group(self, access_type: AccessType | str, group: Entity) -> None:
        """Store a complete access group dict as is."""
        collection = GROUP[access_type_of(access_type)]
        with self._lock:
            self._entities[collection.route][group["id"]] = group
            self._touch(collection)

    def insert_system_rule(self, rule: Entity) -> None:
        """Store a complete system rule dict as is (no resource-filter check)."""
        with self._lock:
            self._entities[SYSTEMRULE.route][rule["id"]] = rule
            self._touch(SYSTEMRULE)

    def insert_custom_property_definition(self, definition: Entity) -> None:
        """Register a complete ``CustomPropertyDefinition`` dict (id, name, valueType, ...)."""
        with self._lock:
            self._custom_property_definitions[definition["id"]] = definition

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
                _new_id(),
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

    def add_rule(
        self,
        access_type: AccessType | str,
        name: str,
        condition: str,
        *,
        context: RuleContext | int = RuleContext.HUB,
        disabled: bool = False,
        comment: str = "",
        actions: int = 1,
    ) -> tuple[Entity, Entity]:
        """Create a licence rule the way the QMC does: an access group, then its system rule."""
        kind = access_type_of(access_type)
        rule_context = context.qrs_value if isinstance(context, RuleContext) else context
        with self._lock:
            group = self.add_group_only(kind, name)
            rule = self.create_system_rule(
                {
                    "category": "License",
                    "subcategory": "",
                    "type": "Custom",
                    "name": name,
                    "rule": condition,
                    "resourceFilter": f"License.{kind.title}AccessGroup_{group['id']}",
                    "actions": actions,
                    "comment": comment,
                    "disabled": disabled,
                    "ruleContext": rule_context,
                },
                SERVICE_CALLER,
            )
            return group, copy.deepcopy(rule)

    def add_group_only(self, access_type: AccessType | str, name: str) -> Entity:
        """Create only the access group of a rule: a half-created rule."""
        return copy.deepcopy(
            self.create_group(access_type_of(access_type), {"name": name}, SERVICE_CALLER)
        )

    def add_system_rule(
        self,
        name: str,
        condition: str,
        resource_filter: str,
        *,
        category: str = "Security",
        actions: int = 2,
        context: int = 0,
        disabled: bool = False,
        comment: str = "",
    ) -> Entity:
        """Create any system rule (security rules make ``category eq 'License'`` filters real)."""
        return copy.deepcopy(
            self.create_system_rule(
                {
                    "category": category,
                    "name": name,
                    "rule": condition,
                    "resourceFilter": resource_filter,
                    "actions": actions,
                    "comment": comment,
                    "disabled": disabled,
                    "ruleContext": context,
                },
                SERVICE_CALLER,
            )
        )

    # ------------------------------------------------------------------ users (HTTP)

    def create_user(self, body: Any, caller: str) -> Entity:
        """``POST /qrs/user``."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            user = user_from_body(
                data,
                _new_id(),
                created=when,
                modified=when,
                by=caller,
                definitions=self._definitions_condensed(),
            )
            self.insert_user(user)
            return user

    def update_user(self, user_id: str, body: Any, caller: str) -> Entity:
        """``PUT /qrs/user/{id}``: replace the user; omitted fields take their defaults.

        That is QRS's documented "implicit update": send the whole entity you read.
        """
        data = require_object(body)
        with self._lock:
            self._maintain()
            stored = self._get(USER, user_id)
            put_identity(data, stored["id"], stored["modifiedDate"])
            user = user_from_body(
                data,
                stored["id"],
                created=stored["createdDate"],
                modified=self._bumped(stored["modifiedDate"]),
                by=caller,
                definitions=self._definitions_condensed(),
            )
            old_key = user_key(stored["userDirectory"], stored["userId"])
            new_key = user_key(user["userDirectory"], user["userId"])
            if new_key != old_key and new_key in self._user_by_key:
                raise SimRefusal(
                    400, f"User {user['userDirectory']}\\{user['userId']} already exists"
                )
            del self._user_by_key[old_key]
            self._user_by_key[new_key] = user["id"]
            self._entities[USER.route][user["id"]] = user
            self._touch(USER)
            self._refresh_embedded_user(user)
            return user

    def delete_user(self, user_id: str, caller: str = SERVICE_CALLER) -> None:
        """``DELETE /qrs/user/{id}``.

        The user's quarantined seats stay (until their quarantine ends) with
        ``deletedUserId``/``deletedUserDirectory`` and no ``user``; its other seats go.
        """
        with self._lock:
            self._maintain()
            user = self._get(USER, user_id)
            if user.get("deleteProhibited"):
                raise SimRefusal(400, f"User {user['id']} may not be deleted (deleteProhibited)")
            for kind in AccessType:
                allocation_id = self._allocation_by_user[kind].pop(user["id"], None)
                if allocation_id is None:
                    continue
                route = ALLOCATION[kind].route
                stored = self._entities[route][allocation_id]
                if stored["quarantined"]:
                    kept = make_allocation(
                        ALLOCATION[kind],
                        stored["id"],
                        None,
                        created=stored["createdDate"],
                        modified=self._bumped(stored["modifiedDate"]),
                        by=caller,
                        last_used=stored["lastUsed"],
                        quarantined=True,
                        quarantine_end=stored["quarantineEnd"],
                        excess=stored["excess"],
                        deleted_user=(user["userDirectory"], user["userId"]),
                    )
                    self._entities[route][allocation_id] = kept
                else:
                    del self._entities[route][allocation_id]
                self._touch(ALLOCATION[kind])
            del self._entities[USER.route][user["id"]]
            del self._user_by_key[user_key(user["userDirectory"], user["userId"])]
            self._touch(USER)

    def _definition_condensed(self, definition_id: str) -> Entity:
        definition = self._custom_property_definitions[definition_id]
        return {
            "id": definition["id"],
            "name": definition["name"],
            "valueType": definition["valueType"],
            "choiceValues": list(definition["choiceValues"]),
        }

    def _definitions_condensed(self) -> dict[str, Entity]:
        return {d: self._definition_condensed(d) for d in self._custom_property_definitions}

    def _refresh_embedded_user(self, user: Entity) -> None:
        """Allocations embed a ``UserCondensed``: keep it in step with the user."""
        for kind in AccessType:
            allocation_id = self._allocation_by_user[kind].get(user["id"])
            if allocation_id is None:
                continue
            route = ALLOCATION[kind].route
            stored = self._entities[route][allocation_id]
            self._entities[route][allocation_id] = {**stored, "user": user_condensed(user)}
            self._touch(ALLOCATION[kind])

    # ------------------------------------------------------------------ allocations (HTTP)

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
                    ALLOCATION[access_type], _new_id(), user, created=when, modified=when, by=caller
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
                    ALLOCATION[access_type], _new_id(), user, created=when, modified=when, by=caller
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

    # ------------------------------------------------------------------ groups and rules (HTTP)

    def create_group(self, access_type: AccessType, body: Any, caller: str) -> Entity:
        """``POST /qrs/license/<type>accessgroup`` (``name`` required)."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            group = make_group(
                GROUP[access_type],
                _new_id(),
                required_str(data, "name"),
                created=when,
                modified=when,
                by=caller,
            )
            self._entities[GROUP[access_type].route][group["id"]] = group
            self._touch(GROUP[access_type])
            return group

    def update_group(
        self, access_type: AccessType, group_id: str, body: Any, caller: str
    ) -> Entity:
        """``PUT /qrs/license/<type>accessgroup/{id}``."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            stored = self._get(GROUP[access_type], group_id)
            put_identity(data, stored["id"], stored["modifiedDate"])
            group = make_group(
                GROUP[access_type],
                stored["id"],
                required_str(data, "name"),
                created=stored["createdDate"],
                modified=self._bumped(stored["modifiedDate"]),
                by=caller,
            )
            self._entities[GROUP[access_type].route][group["id"]] = group
            self._touch(GROUP[access_type])
            return group

    def delete_group(self, access_type: AccessType, group_id: str) -> None:
        """``DELETE /qrs/license/<type>accessgroup/{id}``; rules naming it stay (orphaned)."""
        with self._lock:
            self._maintain()
            stored = self._get(GROUP[access_type], group_id)
            del self._entities[GROUP[access_type].route][stored["id"]]
            self._touch(GROUP[access_type])

    def create_system_rule(self, body: Any, caller: str) -> Entity:
        """``POST /qrs/systemrule``."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            rule = rule_from_body(data, _new_id(), created=when, modified=when, by=caller)
            self._check_license_rule(rule)
            self._entities[SYSTEMRULE.route][rule["id"]] = rule
            self._touch(SYSTEMRULE)
            return rule

    def update_system_rule(self, rule_id: str, body: Any, caller: str) -> Entity:
        """``PUT /qrs/systemrule/{id}`` (same checks as creation)."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            stored = self._get(SYSTEMRULE, rule_id)
            put_identity(data, stored["id"], stored["modifiedDate"])
            rule = rule_from_body(
                data,
                stored["id"],
                created=stored["createdDate"],
                modified=self._bumped(stored["modifiedDate"]),
                by=caller,
            )
            self._check_license_rule(rule)
            self._entities[SYSTEMRULE.route][rule["id"]] = rule
            self._touch(SYSTEMRULE)
            return rule

    def delete_system_rule(self, rule_id: str) -> None:
        """``DELETE /qrs/systemrule/{id}``; seats the rule handed out stay allocated."""
        with self._lock:
            self._maintain()
            stored = self._get(SYSTEMRULE, rule_id)
            del self._entities[SYSTEMRULE.route][stored["id"]]
            self._touch(SYSTEMRULE)

    def _check_license_rule(self, rule: Mapping[str, Any]) -> None:
        """A ``License`` rule must name an existing access group of the type it names."""
        if str(rule["category"]).casefold() != "license":
            return
        resource_filter = rule["resourceFilter"]
        match = LICENSE_RESOURCE_FILTER.match(resource_filter)
        if match is None:
            raise SimRefusal(
                400,
                "A License rule's resourceFilter must be License.ProfessionalAccessGroup_<id> "
                f"or License.AnalyzerAccessGroup_<id>, not {resource_filter[:120]!r}",
            )
        kind = AccessType(match["title"].lower())
        group_id = match["id"].lower()
        if group_id not in self._entities[GROUP[kind].route]:
            raise SimRefusal(
                400,
                f"resourceFilter names {kind.title} access group {group_id}, which does not exist",
            )

    # ------------------------------------------------------------------ selections (HTTP)

    def create_selection(
        self, collection: Collection, entity_ids: Iterable[str], caller: str
    ) -> Entity:
        """``POST /qrs/selection/<type>``: remember which entities were selected."""
        with self._lock:
            self._maintain()
            items = []
            for entity_id in entity_ids:
                entity = self._entities[collection.route].get(entity_id)
                if entity is None:
                    continue
                items.append(
                    {
                        "id": _new_id(),
                        "type": collection.schema_path,
                        "objectID": entity_id,
                        "objectName": _object_name(entity),
                        "schemaPath": "SelectionItem",
                    }
                )
            return self._store_selection(items, caller)

    def _store_selection(self, items: list[Entity], caller: str) -> Entity:
        when = qrs_time(self.now())
        selection: Entity = {
            "id": _new_id(),
            "createdDate": when,
            "modifiedDate": when,
            "modifiedByUserName": caller,
            "items": items,
            "schemaPath": SELECTION.schema_path,
        }
        self._selections[selection["id"]] = selection
        return selection

    def create_selection_of_items(self, body: Any, caller: str) -> Entity:
        """``POST /qrs/selection`` with ``{"items": [{"type": ..., "objectID": ...}, ...]}``:
        the QMC's way (a selection of users to allocate, of allocations to deallocate).

        Items naming nothing that exists are left out, as a selection made by filter would.
        """
        data = require_object(body)
        items = data.get("items")
        if not isinstance(items, list):
            raise SimRefusal(400, "Property 'items' must be an array of selection items")
        by_type = {c.schema_path.casefold(): c for c in COLLECTIONS}
        with self._lock:
            self._maintain()
            chosen = []
            for index, item in enumerate(items):
                entry = require_object(item, f"items[{index}]")
                kind = entry.get("type")
                collection = by_type.get(kind.casefold()) if isinstance(kind, str) else None
                if collection is None:
                    raise SimRefusal(400, f"items[{index}].type {str(kind)[:80]!r} is unknown")
                object_id = parse_guid(entry.get("objectID"), f"items[{index}].objectID")
                entity = self._entities[collection.route].get(object_id)
                if entity is None:
                    continue
                chosen.append(
                    {
                        "id": _new_id(),
                        "type": collection.schema_path,
                        "objectID": object_id,
                        "objectName": _object_name(entity),
                        "schemaPath": "SelectionItem",
                    }
                )
            return self._store_selection(chosen, caller)

    def get_selection(self, selection_id: str) -> Entity:
        """A selection, or 404."""
        with self._lock:
            found = self._selections.get(selection_id.lower())
            if found is None:
                raise SimRefusal(404, f"Selection {selection_id} does not exist")
            return found

    def selected(self, selection_id: str, collection: Collection) -> list[Entity]:
        """The entities of ``collection`` in the selection that still exist, in selection order."""
        with self._lock:
            self._maintain()
            selection = self.get_selection(selection_id)
            stored = self._entities[collection.route]
            return [
                stored[item["objectID"]]
                for item in selection["items"]
                if str(item["type"]).casefold() == collection.schema_path.casefold()
                and item["objectID"] in stored
            ]

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

    def delete_selection(self, selection_id: str) -> None:
        """``DELETE /qrs/selection/{id}``."""
        with self._lock:
            if self._selections.pop(selection_id.lower(), None) is None:
                raise SimRefusal(404, f"Selection {selection_id} does not exist")

    # ------------------------------------------------------------------ snapshots

    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Hold the store still (no other thread reads or writes) for a multi-part read."""
        with self._lock:
            self._maintain()
            yield

    def custom_property_definitions(self) -> list[Entity]:
        """Every registered custom property definition (read-only)."""
        with self._lock:
            return list(self._custom_property_definitions.values())

    def selections(self) -> list[Entity]:
        """Every selection (read-only)."""
        with self._lock:
            return list(self._selections.values())

    def insert_selection(self, selection: Entity) -> None:
        """Store a complete ``Selection`` dict as is (snapshots)."""
        with self._lock:
            self._selections[selection["id"]] = selection

    def to_json(self) -> bytes:
        """The whole store as a versioned snapshot (see :mod:`licsync.sim.snapshot`)."""
        from licsync.sim.snapshot import dump  # noqa: PLC0415 (snapshot imports this module)

        return dump(self)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_bytes(self.to_json())

    @classmethod
    def from_json(cls, data: bytes | str) -> SimStore:
        """Rebuild a store from :meth:`to_json` output.

        Raises:
            UsageError: not a snapshot, one of an unknown version, or a damaged one.
        """
        from licsync.sim.snapshot import restore  # noqa: PLC0415 (see to_json)

        return restore(data)

    @classmethod
    def load(cls, path: str | Path) -> SimStore:
        """Read a snapshot written by :meth:`save`.

        Raises:
            UsageError: the file is unreadable or not a snapshot.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read simulator snapshot {path}: {exc.strerror}") from exc
        return cls.from_json(data)

    # ------------------------------------------------------------------ helpers

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


def _object_name(entity: Mapping[str, Any]) -> str:
    user = entity.get("user")
    if isinstance(user, Mapping):
        return f"{user['userDirectory']}\\{user['userId']}"
    if entity.get("deletedUserId"):
        return f"{entity['deletedUserDirectory']}\\{entity['deletedUserId']}"
    return str(entity.get("name", entity["id"]))


def _new_id() -> str:
    return str(uuid.uuid4())
