"""Policy: how licsync treats what it finds (ownership, flagged and idle users, protection,
safety caps, denial sources). See the README's format reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from licsync.identity import AccessType, Source

__all__ = [
    "DenialSource",
    "DenialSourceKind",
    "IdlePolicy",
    "Ownership",
    "Policy",
    "SafetyPolicy",
    "UserAction",
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
    protected: tuple[str, ...] = ()
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    denial_sources: tuple[DenialSource, ...] = ()
    denial_lookback_days: int = 30
    denial_max_age_days: int = 3
    service_accounts: tuple[str, ...] = ("INTERNAL\\*",)
    audit_log: str | None = None
    """Where ``apply`` appends its audit log (``policy.audit_log``, relative to the file that
    says it); None: ``.licsync/audit/<site>.jsonl`` under the working directory."""
