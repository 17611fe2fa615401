"""How much a problem (in the desired-state files) or a finding (in a plan) matters."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Severity"]


class Severity(StrEnum):
    """One scale for validation problems and plan findings.

    ``error`` fails ``validate`` (a problem) or makes a plan unsafe to apply as it is (a
    finding); ``warning`` needs a human; ``info`` is context.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
