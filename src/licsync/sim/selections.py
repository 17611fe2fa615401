"""Selections: the QMC's way to act on many entities at once (``POST /qrs/selection``, then a
request on the selection). One way in: :meth:`SelectionsMixin.insert_selection`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from licsync.sim.bodies import (
    parse_guid,
    require_object,
)
from licsync.sim.entities import (
    COLLECTIONS,
    SELECTION,
    Collection,
    Entity,
    qrs_time,
)
from licsync.sim.errors import SimRefusal
from licsync.sim.state import StoreState, new_id

__all__ = ["SelectionsMixin", "object_name"]


class SelectionsMixin(StoreState):
    """The selection operations of :class:`~licsync.sim.store.SimStore`."""

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
                        "id": new_id(),
                        "type": collection.schema_path,
                        "objectID": entity_id,
                        "objectName": object_name(entity),
                        "schemaPath": "SelectionItem",
                    }
                )
            return self._store_selection(items, caller)

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
                        "id": new_id(),
                        "type": collection.schema_path,
                        "objectID": object_id,
                        "objectName": object_name(entity),
                        "schemaPath": "SelectionItem",
                    }
                )
            return self._store_selection(chosen, caller)

    def _store_selection(self, items: list[Entity], caller: str) -> Entity:
        when = qrs_time(self.now())
        selection: Entity = {
            "id": new_id(),
            "createdDate": when,
            "modifiedDate": when,
            "modifiedByUserName": caller,
            "items": items,
            "schemaPath": SELECTION.schema_path,
        }
        self.insert_selection(selection)
        return selection

    def insert_selection(self, selection: Entity) -> None:
        """Store a complete ``Selection`` dict as is (snapshots)."""
        with self._lock:
            self._selections[selection["id"]] = selection

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

    def delete_selection(self, selection_id: str) -> None:
        """``DELETE /qrs/selection/{id}``."""
        with self._lock:
            if self._selections.pop(selection_id.lower(), None) is None:
                raise SimRefusal(404, f"Selection {selection_id} does not exist")

    def selections(self) -> list[Entity]:
        """Every selection (read-only)."""
        with self._lock:
            return list(self._selections.values())


def object_name(entity: Mapping[str, Any]) -> str:
    """A selection item's ``objectName``: the (deleted) user's name, else the entity's."""
    user = entity.get("user")
    if isinstance(user, Mapping):
        return f"{user['userDirectory']}\\{user['userId']}"
    if entity.get("deletedUserId"):
        return f"{entity['deletedUserDirectory']}\\{entity['deletedUserId']}"
    return str(entity.get("name", entity["id"]))
