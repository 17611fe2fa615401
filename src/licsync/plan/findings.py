"""Findings: what a plan asks a human to look at. None of them changes the site by itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from licsync.identity import AccessType
from licsync.severity import Severity
from licsync.slots import slot_setters

__all__ = ["Finding", "FindingKind", "new_finding"]


class FindingKind(StrEnum):
    """Things a human should look at; none of them changes the site by itself."""

    BLOCKED_BY_SAFETY = "blocked-by-safety"
    LICENCE_EXPIRED = "licence-expired"
    CAPACITY_SHORTFALL = "capacity-shortfall"
    UNREADABLE_SEAT = "unreadable-seat"
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
    QUARANTINED_SEAT = "quarantined-seat"
    IDLE_ALLOCATION = "idle-allocation"
    DECLARED_USER_IDLE = "declared-user-idle"
    UNDECLARED_RULE_KEPT = "undeclared-rule-kept"
    OBSERVE_ONLY = "observe-only"
    SERVICE_ACCOUNT_DENIALS = "service-account-denials"

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
    severity: Severity = Severity.WARNING
    data: Mapping[str, Any] = field(default_factory=dict)
    stale: bool = False

    @property
    def sort_key(self) -> tuple[int, int, str]:
        # Tables rather than the members' properties: a plan sorts thousands of findings.
        return (
            _FINDING_ORDER[self.kind],
            _TYPE_ORDER[self.access_type],
            self.subject.casefold(),
        )


_TYPE_ORDER: dict[AccessType | None, int] = {None: -1} | {t: t.order for t in AccessType}


# A large plan says thousands of findings: a fast constructor (see licsync.slots).
_new = object.__new__
(
    _finding_kind,
    _finding_access_type,
    _finding_subject,
    _finding_message,
    _finding_severity,
    _finding_data,
    _finding_stale,
) = slot_setters(
    Finding, ("kind", "access_type", "subject", "message", "severity", "data", "stale")
)


def new_finding(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    kind: FindingKind,
    access_type: AccessType | None,
    subject: str,
    message: str,
    severity: Severity,
    data: Mapping[str, Any],
    stale: bool,
    /,
) -> Finding:
    """``Finding(...)`` with every field, faster (see :mod:`licsync.slots`)."""
    finding: Finding = _new(Finding)
    _finding_kind(finding, kind)
    _finding_access_type(finding, access_type)
    _finding_subject(finding, subject)
    _finding_message(finding, message)
    _finding_severity(finding, severity)
    _finding_data(finding, data)
    _finding_stale(finding, stale)
    return finding
