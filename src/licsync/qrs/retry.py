"""When and how long the QRS client waits before repeating a read.

Only reads (GET) are ever repeated: a write that got no answer may still have happened, so the
caller re-reads to learn what it did instead of sending it twice. Delays follow "exponential
backoff with full jitter" (a uniformly random wait between 0 and the exponential ceiling), which
spreads the retries of many clients instead of synchronising them. A ``Retry-After`` header on a
429 or 503 takes precedence over the computed delay, capped so a hostile or confused server cannot
park the client for hours.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy", "parse_retry_after", "wait"]


def wait(seconds: float) -> None:
    """How a client waits between retries unless it is given its own ``sleep``.

    Looked up at each wait, so the test suite can make every client's retries instant in one
    place (``tests/conftest.py``) without each test threading a ``sleep`` through the CLI.
    """
    time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how long to wait before repeating a failed read.

    Attributes:
        attempts: total tries of one read, the first included (1 disables retries).
        base_delay: seconds; the ceiling of the first wait, doubled for each further retry.
        max_delay: seconds; the ceiling never grows beyond this.
        max_retry_after: seconds; a server's ``Retry-After`` is honoured up to this value.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            msg = f"RetryPolicy.attempts must be at least 1, not {self.attempts}"
            raise ValueError(msg)

    def delay(
        self,
        retry: int,
        *,
        retry_after: float | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        Args:
            retry: 1-based number of the retry about to be made.
            retry_after: the server's ``Retry-After`` in seconds, when it sent one.
            uniform: the jitter source (``random.uniform``); injectable for tests.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP-date; None if unusable.

    Args:
        value: the header's value, or None when absent.
        now: the current time for an HTTP-date (defaults to the system clock; this is the I/O edge).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now if now is not None else dt.datetime.now(dt.UTC)
    return max((when - current).total_seconds(), 0.0)
