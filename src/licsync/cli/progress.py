"""A progress line on standard error while a long step runs, for people at a terminal only.

A read of a 100,000-user site takes seconds; a silent terminal looks hung. CI logs and captured
output are not terminals, so they get nothing: no carriage returns in a log, no output a test
has to ignore.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "is_terminal"]

_FIRST_AFTER = 1.0  # a quick step shows nothing at all
_EVERY = 0.5


class Progress:
    """``with Progress("reading the site and planning", sys.stderr): ...``.

    Shows ``licsync: WHAT... N s`` after the first second, updated in place, and clears the line
    at the end. Does nothing unless ``stream`` is a terminal.
    """

    current: Progress | None = None
    """The progress line being shown, which other output to standard error clears first."""

    def __init__(
        self,
        what: str,
        stream: TextIO,
        *,
        first_after: float = _FIRST_AFTER,
        quiet: bool = False,
    ) -> None:
        self.what = what
        self.stream = stream
        self.first_after = first_after
        self.active = not quiet and is_terminal(stream)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._width = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        Progress.current = self
        self._started = time.monotonic()
        if self.active:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if Progress.current is self:
            Progress.current = None
        if self._thread is not None:
            self._thread.join()
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()

    def clear(self) -> None:
        """Blank the line (before other lines are written to the same terminal); the next
        tick draws it again below them."""
        with self._lock:
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0

    def tick(self) -> None:
        """Write the line once, with the time elapsed so far."""
        line = f"licsync: {self.what}... {time.monotonic() - self._started:.0f} s"
        with self._lock:
            self.stream.write("\r" + line.ljust(self._width))
            self.stream.flush()
            self._width = max(self._width, len(line))

    def _run(self) -> None:
        if self._stop.wait(self.first_after):
            return
        while True:
            self.tick()
            if self._stop.wait(_EVERY):
                return


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or unusual stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream is no terminal
        return False
