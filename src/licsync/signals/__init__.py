"""Signals: what the site says beyond its allocations.

QRS's own flags (inactive, removed externally, blocked) and ``lastUsed`` arrive with the actual
state; users denied access come from Qlik's licence logs or a License Monitor export, read by
:mod:`licsync.signals.denials`. :class:`Signals` carries the latter into the pure planner.
"""

from __future__ import annotations

from dataclasses import dataclass

from licsync.signals.denials import Denial, DenialReport, SourceReport

__all__ = ["Denial", "DenialReport", "Signals", "SourceReport"]


@dataclass(frozen=True, slots=True)
class Signals:
    """Signal sources' data for one plan.

    Attributes:
        denials: users denied access and the freshness of each source; None when the policy
            names no denial source.
    """

    denials: DenialReport | None = None
