"""The plan as a whole: changes, findings, capacity, the safety verdict and the checksum.

A plan is what a reviewer reads in a pull request and what ``apply`` executes. Its checksum
covers the *decisions* (access type, subject, action, reason code, and the rule text a rule
change writes), never volatile values such as "idle for 143 days", so a plan made on Monday and
re-made on Tuesday hashes the same when it would do the same things.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from licsync.identity import AccessType
from licsync.plan.changes import Action, Change, ChangeId
from licsync.plan.findings import Finding
from licsync.plan.safety import CapacityLine, Safety
from licsync.policy import Ownership

__all__ = ["FORMAT_VERSION", "Plan", "checksum", "checksum_of_decisions"]

FORMAT_VERSION = "1.5"
"""Version of the JSON plan (``schema/plan.schema.json``): minor additive, major breaking.

1.1 added each change's ``id`` and ``depends_on``, the ``complete-rule`` action, and the safety
reasons' numbers (``safety.reasons`` became objects; their ``message`` is the 1.0 text).
1.4 added each capacity line's ``licence`` (``serial``, ``key`` or ``unknown``: whether reclaimed
seats are quarantined) and ``unreadable`` (seats QRS listed that licsync could not read), and
the findings ``licence-expired`` and ``unreadable-seat``.
1.5 added ``idle_ages``: per access type, the seats in each bucket of days since last use.
"""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything ``plan`` decided, in deterministic order.

    Attributes:
        changes: sorted by access type, action, reason, subject (display order; the order
            ``apply`` runs them in is :func:`licsync.plan.changes.execution_order`).
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
    idle_ages: Mapping[AccessType, tuple[int, ...]] = field(default_factory=dict)
    """Per access type, its seats in each bucket of :data:`licsync.plan.idleages.IDLE_BUCKETS`
    (not part of the checksum: a display value)."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def changes_of(self, access_type: AccessType) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.access_type is access_type)

    def ids(self) -> frozenset[ChangeId]:
        return frozenset(c.id for c in self.changes)

    def counts(self) -> dict[str, int]:
        """Changes per action (every action present, zero included)."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts


def checksum(site: str, changes: Iterable[Change]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the decisions."""
    return _checksum(site, [c.decision() for c in changes])  # lists already: no copies


def checksum_of_decisions(site: str, decisions: Sequence[Sequence[str]]) -> str:
    """The checksum of decisions given as lists (how a JSON plan is checked without planning)."""
    return _checksum(site, [list(d) for d in decisions])


def _checksum(site: str, decisions: list[list[str]]) -> str:
    payload = json.dumps(
        {"site": site, "decisions": decisions},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
