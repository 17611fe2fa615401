"""A time limit for tests of input that used to hang licsync (a FIFO, a server that drips)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def watchdog(seconds: int = 20) -> Iterator[None]:
    """Fail with ``TimeoutError`` instead of hanging the suite (main thread, POSIX only)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
