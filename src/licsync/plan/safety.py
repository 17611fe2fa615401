"""Capacity and the safety verdict: the numbers a reviewer checks before a plan is applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from licsync.identity import AccessType

__all__ = ["CapacityLine", "Safety", "SafetyCap", "SafetyReason", "TypeSafety"]


@dataclass(frozen=True, slots=True)
class CapacityLine:
    """An access type's seats now and after the plan, in the QMC's terms.

    ``allocated`` and ``quarantined`` are what QRS's overview reports (the QMC's "Allocated"
    and "Quarantined"); ``used`` is their sum, since a quarantined seat still counts against
    the licence; ``available`` is what QRS reports free. After the plan: allocations add,
    reinstates move seats from quarantine back to allocated, reclaims of seats unused for 7
    days free seats now, reclaims of recently used seats move them to quarantine.
    """

    total: int
    used: int
    available: int
    used_after: int
    available_after: int
    needed: int
    freed_now: int
    quarantined_by_plan: int
    allocated: int = 0
    quarantined: int = 0
    allocated_after: int = 0
    quarantined_after: int = 0
    unreadable: int = 0
    """Seats QRS listed that licsync could not read: counted as taken, never freed."""
    licence: str = "unknown"
    """The licence kind (:class:`~licsync.actual.LicenceKind` value): ``serial`` quarantines
    recently used reclaimed seats, ``key`` frees them at once, ``unknown`` is taken as serial."""

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


class SafetyCap(StrEnum):
    """Which cap of ``policy.safety`` a plan exceeds."""

    MAX_RECLAIMS = "max_reclaims"
    MAX_RECLAIM_SHARE = "max_reclaim_share"


@dataclass(frozen=True, slots=True)
class SafetyReason:
    """One cap one access type exceeds, with the numbers ("12 reclaims, cap 10").

    Attributes:
        limit: the number of reclaims allowed (for the share cap: the share of allocations,
            rounded down).
        share / share_floor: the configured share and floor (share cap only).
    """

    access_type: AccessType
    cap: SafetyCap
    reclaims: int
    limit: int
    allocations: int
    share: float | None = None
    share_floor: int | None = None

    @property
    def message(self) -> str:
        if self.cap is SafetyCap.MAX_RECLAIMS:
            return (
                f"{self.access_type}: {self.reclaims} reclaims exceed safety.max_reclaims "
                f"{self.limit}"
            )
        share = self.reclaims / self.allocations if self.allocations else 1.0
        return (
            f"{self.access_type}: {self.reclaims} reclaims are {share:.1%} of "
            f"{self.allocations} allocations, over safety.max_reclaim_share "
            f"{self.share or 0:.0%} (at most {self.limit}; applies from {self.share_floor} "
            "allocations)"
        )

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety verdict. A blocked plan still renders in full; ``apply`` refuses it."""

    blocked: bool
    reasons: tuple[SafetyReason, ...]
    per_type: Mapping[AccessType, TypeSafety]
