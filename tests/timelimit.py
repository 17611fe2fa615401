"""A time limit for tests of input that used to hang licsync (a FIFO, a server that drips)."""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def watchdog(seconds: int = 20) -> Iterator[None]:
    """Fail with ``TimeoutError`` instead of hanging the suite (from the main thread).

    POSIX: SIGALRM interrupts even a blocking system call. Windows has no SIGALRM: a timer
    thread interrupts the main thread (``KeyboardInterrupt`` there, turned into the timeout),
    which ends any Python-level wait; the tests using this bound work done in Python.
    """
    if hasattr(signal, "SIGALRM"):
        with _alarm(seconds):
            yield
        return
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _thread.interrupt_main()

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except KeyboardInterrupt:
        if expired.is_set():
            raise TimeoutError(f"still running after {seconds} s") from None
        raise
    finally:
        timer.cancel()


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
