"""Three-valued verdicts: does a licence rule cover a user? YES, NO, or UNKNOWN ahead of login.

UNKNOWN propagates with Kleene's strong logic (``NO and UNKNOWN`` is NO, ``YES or UNKNOWN`` is YES,
``!UNKNOWN`` is UNKNOWN), so an unknowable part decides nothing it does not have to.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["Verdict", "all_of", "any_of"]


class Verdict(enum.Enum):
    """Whether a condition holds for a user: certainly, certainly not, or not knowable now."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    def negate(self) -> Verdict:
        """Kleene NOT: YES and NO swap, UNKNOWN stays UNKNOWN."""
        if self is Verdict.YES:
            return Verdict.NO
        if self is Verdict.NO:
            return Verdict.YES
        return Verdict.UNKNOWN


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Kleene AND: NO if any is NO, else UNKNOWN if any is UNKNOWN, else YES."""
    result = Verdict.YES
    for verdict in verdicts:
        if verdict is Verdict.NO:
            return Verdict.NO
        if verdict is Verdict.UNKNOWN:
            result = Verdict.UNKNOWN
    return result


def any_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Kleene OR: YES if any is YES, else UNKNOWN if any is UNKNOWN, else NO."""
    result = Verdict.NO
    for verdict in verdicts:
        if verdict is Verdict.YES:
            return Verdict.YES
        if verdict is Verdict.UNKNOWN:
            result = Verdict.UNKNOWN
    return result
