"""Progress of a long apply: a bar on a terminal, a plain line now and then in a CI log.

Both go to standard error, so that ``--format json`` on standard output stays clean.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from licsync.cli.progress import is_terminal
from licsync.plan.changes import Change
from licsync.results import Outcome, WriteResult

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ApplyProgress"]

_LINE_EVERY_SECONDS = 10.0  # a CI log gets a line at most this often


class ApplyProgress:
    """Counts results as they arrive and shows them (use as a context manager)."""

    def __init__(self, *, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._total = 0
        self._done = 0
        self._outcomes: Counter[Outcome] = Counter()  # by member: .value is a Python call
        self._last_line = time.monotonic()

    def __enter__(self) -> ApplyProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, total: int) -> None:
        """The run is about to execute ``total`` changes."""
        self._total = total
        if total == 0:
            return
        if is_terminal(self._stream):
            # rich only for a terminal: a CI run (and the bench) does not pay for importing it
            from rich.console import Console  # noqa: PLC0415
            from rich.progress import (  # noqa: PLC0415
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[outcomes]}"),
                TimeElapsedColumn(),
                # We checked the stream is a terminal: say so, or rich, seeing a wrapped
                # stream, draws once and never refreshes (the clock stood at 0:00:00).
                console=Console(file=self._stream, force_terminal=True),
                transient=True,
                refresh_per_second=4,
            )
            self._task = self._bar.add_task("apply", total=total, outcomes="")
            self._bar.start()

    def result(self, change: Change, result: WriteResult) -> None:
        """One change's result is known."""
        self._done += 1
        self._outcomes[result.outcome] += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(
                self._task, completed=min(self._done, self._total), outcomes=self._tally()
            )
            return
        now = time.monotonic()
        if now - self._last_line >= _LINE_EVERY_SECONDS:
            self._last_line = now
            print(
                f"licsync: apply: {min(self._done, self._total)} of {self._total} changes done "
                f"({self._tally()})",
                file=self._stream,
                flush=True,
            )

    def _tally(self) -> str:
        return ", ".join(f"{self._outcomes[o]} {o.value}" for o in Outcome if self._outcomes[o])
