"""Signals: what the site says beyond its allocations.

QRS's own flags (inactive, removed externally, blocked) and ``lastUsed`` arrive with the actual
state; users denied access come from Qlik's licence logs or a License Monitor export, read by
:mod:`licsync.signals.denials`. :class:`Signals` carries the latter into the pure planner.

This package imports only :mod:`licsync.signals.model` (the value types, no I/O), so that the
planner importing it does not import the readers.
"""

from __future__ import annotations

from licsync.signals.model import Denial, DenialReport, Signals, SourceReport

__all__ = ["Denial", "DenialReport", "Signals", "SourceReport"]
