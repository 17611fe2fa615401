"""The simulator's own errors: they never leave the simulator as product exceptions.

``SimRefusal`` becomes an HTTP error answer (the app turns it into a plain-text body with its
status); ``FilterSyntaxError`` is the ``400 Cannot parse the expression`` of a bad ``filter``.
Neither derives from :class:`licsync.errors.LicsyncError`: the product's exception tree is about
what licsync does, and the simulator is a stand-in for the server licsync talks to.
"""

from __future__ import annotations

__all__ = ["FilterSyntaxError", "SimRefusal"]


class SimRefusal(Exception):
    """The simulated QRS refuses a request (or a builder call) with an HTTP error status.

    Attributes:
        status: the HTTP status QRS would answer with (400, 404, 409, ...).
        reason: the plain-text body, worded like QRS's own messages where they are known.
    """

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status}: {reason}")


class FilterSyntaxError(Exception):
    """A QRS filter expression does not parse; the simulator answers 400 with it.

    Attributes:
        reason: the message without position.
        offset: 0-based character offset into the filter text where the problem is.
    """

    def __init__(self, reason: str, *, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"{reason} (at character {offset + 1})")
