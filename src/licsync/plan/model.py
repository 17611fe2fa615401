"""The plan: changes, findings, capacity and the safety verdict, as frozen values.

A plan is what a reviewer reads in a pull request and what ``apply`` executes. Its checksum
covers the *decisions* (access type, subject, action, reason code, and the rule text a rule
change writes), never volatile values such as "idle for 143 days", so a plan made on Monday and
re-made on Tuesday hashes the same when it would do the same things.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from licsync.actual import ActualRule
from licsync.desired import DesiredRule
from licsync.identity import AccessType, Source
from licsync.policy import Ownership

__all__ = [
    "FORMAT_VERSION",
    "Action",
    "AllocationChange",
    "CapacityLine",
    "Change",
    "FieldDiff",
    "Finding",
    "FindingKind",
    "Plan",
    "Reason",
    "RuleChange",
    "Safety",
    "TypeSafety",
    "checksum",
]

FORMAT_VERSION = "1.0"
"""Version of the JSON plan (``schema/plan.schema.json``): minor additive, major breaking."""


class Action(StrEnum):
    """What a change does. The order is the order ``apply`` runs them in."""

    RECLAIM = "reclaim"  # first: frees seats the allocations may need
    REINSTATE = "reinstate"
    ALLOCATE = "allocate"
    CREATE_RULE = "create-rule"
    UPDATE_RULE = "update-rule"
    DELETE_RULE = "delete-rule"

    @property
    def order(self) -> int:
        return _ACTION_ORDER[self]

    @property
    def symbol(self) -> str:
        """Terraform's marks: + adds, ~ changes, - removes."""
        return _SYMBOLS[self]


_ACTION_ORDER = {action: index for index, action in enumerate(Action)}
_SYMBOLS = {
    Action.RECLAIM: "-",
    Action.REINSTATE: "~",
    Action.ALLOCATE: "+",
    Action.CREATE_RULE: "+",
    Action.UPDATE_RULE: "~",
    Action.DELETE_RULE: "-",
}


class Reason(StrEnum):
    """Why a change is proposed: stable codes (they are part of the checksum and the JSON)."""

    DECLARED = "declared"
    UNTIL_PASSED = "until-passed"
    REMOVED_EXTERNALLY = "removed-externally"
    BLOCKED = "blocked"
    INACTIVE = "inactive"
    USER_MISSING = "user-missing"
    HOLDS_PROFESSIONAL = "holds-professional"
    NOT_DECLARED = "not-declared"
    IDLE = "idle"
    RULE_MISSING = "rule-missing"
    RULE_HALF_CREATED = "rule-half-created"
    RULE_DRIFT = "rule-drift"
    RULE_NOT_DECLARED = "rule-not-declared"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    Reason.DECLARED: "declared",
    Reason.UNTIL_PASSED: "until date passed",
    Reason.REMOVED_EXTERNALLY: "user removed externally",
    Reason.BLOCKED: "user blocked",
    Reason.INACTIVE: "user inactive",
    Reason.USER_MISSING: "user no longer in QRS",
    Reason.HOLDS_PROFESSIONAL: "redundant: holds professional",
    Reason.NOT_DECLARED: "not declared",
    Reason.IDLE: "idle",
    Reason.RULE_MISSING: "declared rule missing on the site",
    Reason.RULE_HALF_CREATED: "half-created rule",
    Reason.RULE_DRIFT: "rule differs from its declaration",
    Reason.RULE_NOT_DECLARED: "rule not declared",
}


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """Allocate, reinstate or reclaim one user's access type.

    Attributes:
        user: ``DIRECTORY\\userid`` for display (the YAML's spelling when declared).
        key: :func:`licsync.identity.user_key`.
        detail: human context that may change from day to day ("last used 2026-06-28, 143
            days ago"); never part of the checksum.
        user_id / allocation_id: QRS GUIDs apply needs (None where not applicable).
        quarantine: for a reclaim, QRS quarantines the seat for 7 days (used within the last
            7 days) instead of freeing it now.
        covered_by: declared rules of this type that certainly cover the user.
        source: where the YAML asked for it.
    """

    action: Action
    access_type: AccessType
    user: str
    key: str
    reason: Reason
    detail: str = ""
    user_id: str | None = None
    allocation_id: str | None = None
    quarantine: bool = False
    last_used: dt.datetime | None = None
    covered_by: tuple[str, ...] = ()
    source: Source | None = None

    @property
    def subject(self) -> str:
        return self.user

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (_type_order(self.access_type), self.action.order, self.reason.value, self.key)

    def decision(self) -> list[str]:
        return [self.access_type.value, self.action.value, self.key, self.reason.value]


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field of a licence rule that a change writes: the site's value and the declared one."""

    field: str
    actual: str | bool | None
    desired: str | bool | None


@dataclass(frozen=True, slots=True)
class RuleChange:
    """Create, update or delete one licence rule (access group plus system rule).

    Attributes:
        name: the rule's name (declared spelling when declared).
        diff: the fields written (all of them for a create, the changed ones for an update).
        desired / actual: the declaration and the site's rule (either may be None).
    """

    action: Action
    access_type: AccessType
    name: str
    reason: Reason
    detail: str = ""
    diff: tuple[FieldDiff, ...] = ()
    desired: DesiredRule | None = None
    actual: ActualRule | None = None
    source: Source | None = None

    @property
    def subject(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return self.name.casefold()

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (_type_order(self.access_type), self.action.order, self.reason.value, self.key)

    def decision(self) -> list[str]:
        written = [f"{d.field}={json.dumps(d.desired)}" for d in self.diff]
        return [self.access_type.value, self.action.value, self.key, self.reason.value, *written]


Change = AllocationChange | RuleChange


class FindingKind(StrEnum):
    """Things a human should look at; none of them changes the site by itself."""

    BLOCKED_BY_SAFETY = "blocked-by-safety"
    CAPACITY_SHORTFALL = "capacity-shortfall"
    STALE_DENIAL_DATA = "stale-denial-data"
    NO_DENIAL_DATA = "no-denial-data"
    DENIED_USER = "denied-user"
    DECLARED_USER_UNKNOWN = "declared-user-unknown"
    DECLARED_USER_FLAGGED = "declared-user-flagged"
    RULE_WOULD_REALLOCATE = "rule-would-reallocate"
    COVERAGE_UNKNOWN = "coverage-unknown"
    HALF_CREATED_RULE = "half-created-rule"
    HOLDS_BOTH_TYPES = "holds-both-types"
    PROTECTED_USER_KEPT = "protected-user-kept"
    FLAGGED_USER = "flagged-user"
    IDLE_ALLOCATION = "idle-allocation"
    DECLARED_USER_IDLE = "declared-user-idle"
    UNDECLARED_RULE_KEPT = "undeclared-rule-kept"
    OBSERVE_ONLY = "observe-only"

    @property
    def order(self) -> int:
        return _FINDING_ORDER[self]


_FINDING_ORDER = {kind: index for index, kind in enumerate(FindingKind)}


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a human should look at.

    Attributes:
        subject: the user, rule or source concerned ("" for the site as a whole).
        message: one sentence, complete on its own.
        data: JSON-ready details (groups, counts, dates, rule names).
        stale: based on denial data older than the policy's maximum age.
    """

    kind: FindingKind
    access_type: AccessType | None
    subject: str
    message: str
    severity: str = "warning"
    data: Mapping[str, Any] = field(default_factory=dict)
    stale: bool = False

    @property
    def sort_key(self) -> tuple[int, int, str]:
        order = _type_order(self.access_type) if self.access_type is not None else -1
        return (self.kind.order, order, self.subject.casefold())


@dataclass(frozen=True, slots=True)
class CapacityLine:
    """An access type's seats now and after the plan.

    ``used`` counts allocated plus quarantined seats (a quarantined seat is not free);
    ``available`` is what QRS reports free. After the plan: allocations add, reclaims of seats
    unused for 7 days free seats now, reclaims of recently used seats move them to quarantine.
    """

    total: int
    used: int
    available: int
    used_after: int
    available_after: int
    needed: int
    freed_now: int
    quarantined_by_plan: int

    @property
    def shortfall(self) -> int:
        return max(0, -self.available_after)


@dataclass(frozen=True, slots=True)
class TypeSafety:
    """Reclaim counts against the caps for one access type."""

    reclaims: int
    allocations: int
    max_reclaims: int
    share_limit: int | None  # None when the share cap does not apply (below the floor)


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety verdict. A blocked plan still renders in full; ``apply`` refuses it."""

    blocked: bool
    reasons: tuple[str, ...]
    per_type: Mapping[AccessType, TypeSafety]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything ``plan`` decided, in deterministic order.

    Attributes:
        changes: sorted by access type, action (apply order), reason, subject.
        findings: sorted by kind, access type, subject.
        checksum: ``sha256:<hex>`` over the decisions (see the module docstring).
    """

    site: str
    now: dt.datetime
    ownership: Mapping[AccessType, Ownership]
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    capacity: Mapping[AccessType, CapacityLine]
    safety: Safety
    checksum: str
    build_version: str = ""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def changes_of(self, access_type: AccessType) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.access_type is access_type)

    def counts(self) -> dict[str, int]:
        """Changes per action (every action present, zero included)."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts


def checksum(site: str, changes: tuple[Change, ...]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the decisions."""
    payload = json.dumps(
        {"site": site, "decisions": [c.decision() for c in changes]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _type_order(access_type: AccessType) -> int:
    return 0 if access_type is AccessType.PROFESSIONAL else 1
