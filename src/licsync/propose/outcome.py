"""What one ``licsync propose`` run found and did, as plain values (no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from licsync.plan import Plan
from licsync.propose.decide import Kept, Proposal

__all__ = ["ProposeRun"]


@dataclass(frozen=True, slots=True)
class ProposeRun:
    """What a proposal found and did.

    Attributes:
        before / after: the plan of the desired state as it is, and as the edits leave it.
        edits: file name -> (text before, text after), for every file the proposal edits.
        skipped: what the policy says should go (or be suggested) that is left as it is.
        disagreements: removals the plan after does not reclaim (a bug if ever non-empty).
    """

    site: str
    now: dt.datetime
    proposal: Proposal
    before: Plan
    after: Plan
    edits: Mapping[str, tuple[str, str]]
    skipped: tuple[Kept, ...]
    disagreements: tuple[str, ...] = ()
