"""How long the seats on the site have gone unused: the spread a monthly review looks at.

Pure: allocations and ``now`` in, per access type one count per bucket out. Quarantined seats
are left out (they are nobody's until their quarantine ends); a seat never used is counted
apart, whatever its age.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
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
    bounded = [bound for _, bound in IDLE_BUCKETS if bound is not None]
    # A seat is within a bound when (now - last_used).days <= bound, that is when it was last
    # used after now - (bound + 1) days: comparing with these instants, oldest first, finds its
    # bucket by bisection instead of a subtraction and a scan per seat.
    after = sorted(now - dt.timedelta(days=bound + 1) for bound in bounded)
    spread: dict[AccessType, tuple[int, ...]] = {}
    for access_type in AccessType:
        counts = [0] * len(IDLE_BUCKETS)
        seats = [a for a in actual.allocations_of(access_type) if not a.quarantined]
        for seat in seats:
            if seat.last_used is None:
                counts[-1] += 1
            else:
                counts[len(bounded) - bisect_left(after, seat.last_used)] += 1
        if seats:
            spread[access_type] = tuple(counts)
    return spread
