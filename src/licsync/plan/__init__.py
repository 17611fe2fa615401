"""Planning: the pure function from desired, actual, signals and time to a Plan."""

from __future__ import annotations

from licsync.plan.changes import (
    PHASES,
    Action,
    Allocate,
    AllocationChange,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    FieldDiff,
    Phase,
    Reason,
    Reclaim,
    Reinstate,
    RuleChange,
    UpdateRule,
    UserTarget,
    execution_order,
)
from licsync.plan.document import FORMAT_VERSION, Plan, checksum
from licsync.plan.findings import Finding, FindingKind
from licsync.plan.planner import QUARANTINE, plan
from licsync.plan.safety import CapacityLine, Safety, SafetyCap, SafetyReason, TypeSafety

__all__ = [
    "FORMAT_VERSION",
    "PHASES",
    "QUARANTINE",
    "Action",
    "Allocate",
    "AllocationChange",
    "CapacityLine",
    "Change",
    "ChangeId",
    "CompleteRule",
    "CreateRule",
    "DeleteRule",
    "FieldDiff",
    "Finding",
    "FindingKind",
    "Phase",
    "Plan",
    "Reason",
    "Reclaim",
    "Reinstate",
    "RuleChange",
    "Safety",
    "SafetyCap",
    "SafetyReason",
    "TypeSafety",
    "UpdateRule",
    "UserTarget",
    "checksum",
    "execution_order",
    "plan",
]
