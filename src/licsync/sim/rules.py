"""Licence rules: access groups and system rules (a QMC licence rule is one of each).

One way in per entity: :meth:`RulesMixin.insert_group` stores every access group and
:meth:`RulesMixin.insert_system_rule` every system rule; the HTTP operations and the builders
(:meth:`add_rule`, :meth:`add_group_only`, :meth:`add_system_rule`) go through them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from licsync.identity import AccessType, RuleContext
from licsync.sim.bodies import (
    LICENSE_RESOURCE_FILTER,
    put_identity,
    require_object,
    required_str,
    rule_from_body,
)
from licsync.sim.entities import (
    GROUP,
    SYSTEMRULE,
    Entity,
    access_type_of,
    make_group,
    qrs_time,
)
from licsync.sim.errors import SimRefusal
from licsync.sim.state import SERVICE_CALLER, StoreState, new_id

__all__ = ["RulesMixin"]


class RulesMixin(StoreState):
    """The access group and system rule operations of :class:`~licsync.sim.store.SimStore`."""

    def insert_group(self, access_type: AccessType | str, group: Entity) -> None:
        """Store a complete access group dict as is."""
        collection = GROUP[access_type_of(access_type)]
        with self._lock:
            self._entities[collection.route][group["id"]] = group
            self._touch(collection)

    def create_group(self, access_type: AccessType, body: Any, caller: str) -> Entity:
        """``POST /qrs/license/<type>accessgroup`` (``name`` required)."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            group = make_group(
                GROUP[access_type],
                new_id(),
                required_str(data, "name"),
                created=when,
                modified=when,
                by=caller,
            )
            self.insert_group(access_type, group)
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

    def add_group_only(self, access_type: AccessType | str, name: str) -> Entity:
        """Create only the access group of a rule: a half-created rule."""
        return copy.deepcopy(
            self.create_group(access_type_of(access_type), {"name": name}, SERVICE_CALLER)
        )

    def insert_system_rule(self, rule: Entity) -> None:
        """Store a complete system rule dict as is (no resource-filter check)."""
        with self._lock:
            self._entities[SYSTEMRULE.route][rule["id"]] = rule
            self._touch(SYSTEMRULE)

    def create_system_rule(self, body: Any, caller: str) -> Entity:
        """``POST /qrs/systemrule``."""
        data = require_object(body)
        with self._lock:
            self._maintain()
            when = qrs_time(self.now())
            rule = rule_from_body(data, new_id(), created=when, modified=when, by=caller)
            self._check_license_rule(rule)
            self.insert_system_rule(rule)
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
