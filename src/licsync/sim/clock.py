"""The simulator's clock: frozen for tests, or following the wall clock for demos.

Everything time-dependent in the simulator (``modifiedDate``, quarantine, ``lastUsed`` windows,
JWT expiry) reads this clock, never ``datetime.now()`` directly, so a test can move time and
watch quarantines end.
"""

from __future__ import annotations

import datetime as dt
import threading

from licsync.timeutil import require_aware

__all__ = ["SimClock", "truncate_ms"]


def truncate_ms(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC cut to whole milliseconds, the precision QRS stores."""
    utc = require_aware(value).astimezone(dt.UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


class SimClock:
    """A thread-safe clock.

    Constructed with a datetime it is frozen there and moves only through :meth:`set_now` and
    :meth:`advance`. Constructed with None it follows the wall clock; :meth:`advance` then adds
    an offset and :meth:`set_now` freezes it (a test that sets the time wants it to stay put).
    """

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: dt.datetime | None = truncate_ms(now) if now is not None else None
        self._offset = dt.timedelta()

    @property
    def frozen(self) -> bool:
        """True when the clock moves only when told to."""
        with self._lock:
            return self._frozen is not None

    def now(self) -> dt.datetime:
        """The current simulated time: aware UTC, millisecond precision."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return truncate_ms(dt.datetime.now(dt.UTC) + self._offset)

    def set_now(self, value: dt.datetime) -> None:
        """Freeze the clock at ``value`` (aware)."""
        with self._lock:
            self._frozen = truncate_ms(value)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock by ``delta`` (may be negative, though quarantines never un-end)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen = truncate_ms(self._frozen + delta)
            else:
                self._offset += delta
