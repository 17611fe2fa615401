"""A requests-per-second cap shared by every thread of one client (``--max-requests-per-second``).

Busy production sites ask automation to stay below a rate; the cap spaces request starts at
least ``1 / rate`` seconds apart, whatever the concurrency, without a burst at the start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimit"]


class RateLimit:
    """Spaces calls to :meth:`wait` at least ``1 / per_second`` seconds apart (thread-safe).

    Args:
        per_second: the most requests started in any second (greater than 0).
        clock, sleep: the monotonic clock and the sleep (injectable for tests).
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            msg = f"a rate must be greater than 0, not {per_second}"
            raise ValueError(msg)
        self.per_second = per_second
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the caller may start its request (each caller gets its own slot)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
