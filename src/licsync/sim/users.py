"""Users and the custom property definitions their ``customProperties`` name.

One way in: :meth:`UsersMixin.insert_user` stores every user (the builder :meth:`add_user`, the
HTTP ``POST`` :meth:`create_user`, seeding and snapshots all end there), refusing a second user
of the same ``DIRECTORY\\userid`` or id; :meth:`insert_custom_property_definition` likewise.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from licsync.identity import AccessType, user_key
from licsync.sim.bodies import (
    parse_guid,
    put_identity,
    require_object,
    user_from_body,
)
from licsync.sim.entities import (
    ALLOCATION,
    ATTRIBUTE_EMAIL,
    ATTRIBUTE_GROUP,
    USER,
    Entity,
    make_allocation,
    make_attribute,
    make_custom_property,
    make_user,
    qrs_time,
    user_condensed,
)
from licsync.sim.errors import SimRefusal
from licsync.sim.state import SERVICE_CALLER, StoreState, new_id

__all__ = ["UsersMixin"]

_ADMIN_ROLES = frozenset({"rootadmin", "deploymentadmin"})


class UsersMixin(StoreState):
    """The user operations of :class:`~licsync.sim.store.SimStore`."""

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

    def define_custom_property(
        self, name: str, choice_values: Iterable[str] = (), *, value_type: str = "Text"
    ) -> Entity:
        """Register a custom property definition (users' ``customProperties`` refer to it)."""
        with self._lock:
            for definition in self._custom_property_definitions.values():
                if definition["name"].casefold() == name.casefold():
                    return copy.deepcopy(definition)
            definition = {
                "id": new_id(),
                "name": name,
                "valueType": value_type,
                "choiceValues": list(choice_values),
            }
            self.insert_custom_property_definition(definition)
            return copy.deepcopy(definition)

    def insert_custom_property_definition(self, definition: Entity) -> None:
        """Register a complete ``CustomPropertyDefinition`` dict (id, name, valueType, ...)."""
        with self._lock:
            self._custom_property_definitions[definition["id"]] = definition

    def custom_property_definitions(self) -> list[Entity]:
        """Every registered custom property definition (read-only)."""
        with self._lock:
            return list(self._custom_property_definitions.values())

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
            rows = [make_attribute(new_id(), ATTRIBUTE_GROUP, g, when=when, by=by) for g in groups]
            if email:
                rows.append(make_attribute(new_id(), ATTRIBUTE_EMAIL, email, when=when, by=by))
            rows.extend(make_attribute(new_id(), t, v, when=when, by=by) for t, v in attributes)
            properties = [
                make_custom_property(
                    new_id(),
                    self._definition_condensed(self.define_custom_property(key)["id"]),
                    value,
                    when=when,
                    by=by,
                )
                for key, value in (custom_properties or {}).items()
            ]
            user = make_user(
                parse_guid(entity_id, "id") if entity_id else new_id(),
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
                    {"id": self._tag_ids.setdefault(t.casefold(), new_id()), "name": t}
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

    def create_user(self, body: Any, caller: str) -> Entity:
        """``POST /qrs/user``."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            user = user_from_body(
                data,
                new_id(),
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
