"""Planning: the pure function from desired, actual, signals, policy and time to a Plan."""

from __future__ import annotations

from licsync.plan.model import (
    FORMAT_VERSION,
    Action,
    AllocationChange,
    CapacityLine,
    Change,
    FieldDiff,
    Finding,
    FindingKind,
    Plan,
    Reason,
    RuleChange,
    Safety,
    TypeSafety,
)
from licsync.plan.planner import QUARANTINE, plan

__all__ = [
    "FORMAT_VERSION",
    "QUARANTINE",
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
    "plan",
]
