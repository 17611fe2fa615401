"""How long the seats on the site have gone unused: the spread a monthly review looks at.

Pure: allocations and ``now`` in, per access type one count per bucket out. Quarantined seats
are left out (they are nobody's until their quarantine ends); a seat never used is counted
apart, whatever its age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from licsync.actual import Actual
from licsync.identity import AccessType

__all__ = ["IDLE_BUCKETS", "idle_ages"]

IDLE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-7 days", 7),
    ("8-30 days", 30),
    ("31-90 days", 90),
    ("91-180 days", 180),
    ("181-365 days", 365),
    ("over 365 days", None),
    ("never used", None),
)
"""(label, upper bound in days since last use, inclusive): a seat falls in the first bucket
whose bound it is within; ``over 365 days`` takes the rest; ``never used`` the seats without
a use."""


def idle_ages(actual: Actual, now: dt.datetime) -> Mapping[AccessType, tuple[int, ...]]:
    """Per access type with any seat, the seats in each of :data:`IDLE_BUCKETS`."""
    spread: dict[AccessType, tuple[int, ...]] = {}
    bounded = [bound for _, bound in IDLE_BUCKETS if bound is not None]
    for access_type in AccessType:
        counts = [0] * len(IDLE_BUCKETS)
        seats = [a for a in actual.allocations_of(access_type) if not a.quarantined]
        for seat in seats:
            if seat.last_used is None:
                counts[-1] += 1
                continue
            days = max(0, (now - seat.last_used).days)
            at = next((i for i, bound in enumerate(bounded) if days <= bound), len(bounded))
            counts[at] += 1
        if seats:
            spread[access_type] = tuple(counts)
    return spread
