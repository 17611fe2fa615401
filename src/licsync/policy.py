"""Policy: how licsync treats what it finds (ownership, flagged and idle users, protection,
safety caps, denial sources). See the README's format reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from licsync.identity import AccessType, Source

__all__ = [
    "DenialSource",
    "DenialSourceKind",
    "IdlePolicy",
    "Ownership",
    "Policy",
    "ProposalPolicy",
    "ProposalStyle",
    "Protection",
    "ProtectionKind",
    "SafetyPolicy",
    "UserAction",
    "as_protection",
    "protection_from_yaml",
]


class Ownership(StrEnum):
    """How much of an access type licsync owns on the site."""

    AUTHORITATIVE = "authoritative"  # undeclared explicit allocations and rules are removed
    ADDITIVE = "additive"  # only adds and changes what is declared
    OBSERVE = "observe"  # reports only


class UserAction(StrEnum):
    """What to do with an allocation held by an inactive / removed / blocked or idle user."""

    RECLAIM = "reclaim"
    REPORT = "report"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class IdlePolicy:
    """Allocations unused for ``days`` (never-used ones count from creation)."""

    days: int = 90
    action: UserAction = UserAction.REPORT


class ProtectionKind(StrEnum):
    """What a ``policy.protected`` entry matches a user by."""

    USER = "user"  # a DIRECTORY\\userid pattern with * and ? wildcards
    TAG = "tag"  # a QRS tag on the user (``tags[].name``)
    CUSTOM_PROPERTY = "custom_property"  # a custom property value on the user
    DIRECTORY = "directory"  # the user's user directory
    ROLE = "role"  # an admin role in the user's ``roles`` (RootAdmin, ...)


@dataclass(frozen=True, slots=True)
class Protection:
    """One ``policy.protected`` entry: users it matches are never reclaimed.

    Every comparison is case-insensitive, as QRS compares names. ``value`` is the pattern, tag
    name, directory or role; ``property_value`` the wanted value of custom property ``value``.
    """

    kind: ProtectionKind
    value: str
    property_value: str = ""

    def describe(self) -> str:
        """How the plan names this protection: ``tag KeepLicense``, ``user INTERNAL\\*``."""
        if self.kind is ProtectionKind.CUSTOM_PROPERTY:
            return f"custom property {self.value}={self.property_value}"
        return f"{self.kind.value} {self.value}"

    def data(self) -> dict[str, str]:
        """JSON-ready form, as it is written in the policy."""
        if self.kind is ProtectionKind.CUSTOM_PROPERTY:
            return {"custom_property": self.value, "value": self.property_value}
        return {self.kind.value: self.value}


def as_protection(entry: str | Protection) -> Protection:
    """A ``protected`` entry as a :class:`Protection` (a bare string is a user pattern)."""
    return entry if isinstance(entry, Protection) else Protection(ProtectionKind.USER, entry)


def protection_from_yaml(entry: Any) -> Protection:
    """One schema-valid ``protected`` item: a pattern string or a one-key mapping."""
    if isinstance(entry, str):
        return Protection(ProtectionKind.USER, entry)
    ((key, value),) = entry.items()
    kind = ProtectionKind(key)
    if kind is ProtectionKind.CUSTOM_PROPERTY:
        return Protection(kind, str(value["name"]), str(value["value"]))
    return Protection(kind, str(value))


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """Caps on reclaims per run.

    Attributes:
        max_reclaims: absolute cap per access type.
        max_reclaim_share: cap as a share (0..1) of the type's current allocations ...
        share_floor: ... applied only when the type has at least this many allocations,
            so a small site is not blocked forever.
    """

    max_reclaims: int = 25
    max_reclaim_share: float = 0.10
    share_floor: int = 50


class ProposalStyle(StrEnum):
    """How ``licsync propose`` suggests a seat for a user denied access."""

    COMMENT = "comment"  # a commented-out entry with the evidence: a human uncomments it
    UNTIL = "until"  # an entry that ends ``until_days`` days ahead
    IGNORE = "ignore"  # no suggestion (the plan still reports the denial)


@dataclass(frozen=True, slots=True)
class ProposalPolicy:
    """``policy.proposals``: what ``licsync propose`` suggests for users denied access.

    Attributes:
        denied: the style of the suggestion.
        access_type: the list it goes into.
        until_days: with ``until``: how many days ahead the entry ends.
    """

    denied: ProposalStyle = ProposalStyle.COMMENT
    access_type: AccessType = AccessType.ANALYZER
    until_days: int = 30


class DenialSourceKind(StrEnum):
    """What a denial source is: a folder of licence logs, or a License Monitor CSV export."""

    LOGS = "logs"  # *_License_Repository*.txt / .log under Repository\\Trace
    CSV = "csv"  # the License Monitor app's "Denied Access" table exported as CSV


@dataclass(frozen=True, slots=True)
class DenialSource:
    """A place denials are read from.

    Attributes:
        kind: ``logs`` (a folder of ``*_License_Repository*`` files) or ``csv`` (a License
            Monitor export).
        path: resolved against the directory of the YAML file that names it.
        source: where the YAML names it; None for ``--denial-logs``.
        field: the dotted field that names it (``policy.denials.sources[0].csv``).
    """

    kind: DenialSourceKind
    path: str
    source: Source | None = None
    field: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """How licsync treats what it finds; see the README's format reference."""

    ownership: Mapping[AccessType, Ownership] = field(
        default_factory=lambda: dict.fromkeys(AccessType, Ownership.ADDITIVE)
    )
    inactive: UserAction = UserAction.REPORT
    removed_externally: UserAction = UserAction.REPORT
    blocked: UserAction = UserAction.REPORT
    idle: IdlePolicy = field(default_factory=IdlePolicy)
    protected: tuple[str | Protection, ...] = ()
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    proposals: ProposalPolicy = field(default_factory=ProposalPolicy)
    denial_sources: tuple[DenialSource, ...] = ()
    denial_lookback_days: int = 30
    denial_max_age_days: int = 3
    service_accounts: tuple[str, ...] = ("INTERNAL\\*",)
    audit_log: str | None = None
    """Where ``apply`` appends its audit log (``policy.audit_log``, relative to the file that
    says it); None: ``.licsync/audit/<site>.jsonl`` under the working directory."""
