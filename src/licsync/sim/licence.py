"""The simulated licence: its kind, the capacity of each access type, and the overview QRS
computes from the seats (``GET /qrs/license``, ``GET /qrs/license/accesstypeoverview``)."""

from __future__ import annotations

from licsync.identity import AccessType
from licsync.sim.entities import (
    ALLOCATION,
    NEVER,
    Entity,
    access_type_of,
)
from licsync.sim.errors import SimRefusal
from licsync.sim.state import SERVICE_CALLER, Capacity, Licence, LicenceKind, StoreState

__all__ = ["BROKEN_RULES", "LicenceMixin"]

BROKEN_RULES = "<BrokenRules>"
"""The message a live QRS answers (400) when access cannot be added from the licence: too few
seats, an expired or deny-listed licence (help.qlik.com, "Add user access from license"). The
simulator answers the QMC's allocation route with exactly this, whatever the cause, for the
whole request (nothing is done), so no client can read a cause into its wording."""


class LicenceMixin(StoreState):
    """The licence and capacity operations of :class:`~licsync.sim.store.SimStore`."""

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
