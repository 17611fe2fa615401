"""The session that ``plan``, ``apply`` and ``propose`` open on a site, from their shared
options, and the loader's warnings as they show them, on standard error.

A warning repeated for many entries of one field (every user of a dumped site of 100,000 people
who holds both types, say) would bury the plan under hundreds of lines on every run: past
:data:`PER_FIELD` of one field, one line counts the rest. ``licsync validate`` lists them all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import typer

from licsync.cli.options import shown
from licsync.cli.progress import Progress
from licsync.errors import Problem
from licsync.session import Session, SessionRequest, open_session

__all__ = ["PER_FIELD", "echo_warnings", "site_session"]

PER_FIELD = 5
"""Warnings shown of one field (its list indices aside) before the rest are counted."""

_INDEX = re.compile(r"\[\d+\]")


def echo_warnings(warnings: Iterable[Problem]) -> None:
    """Each warning on a line of its own (escaped), the rest of a busy field counted."""
    if Progress.current is not None:
        Progress.current.clear()
    seen: Counter[str] = Counter()
    for warning in warnings:
        field = _INDEX.sub("", warning.field)
        seen[field] += 1
        if seen[field] <= PER_FIELD:
            typer.echo(shown(str(warning)), err=True)
    for field, count in seen.items():
        if count > PER_FIELD:
            more = count - PER_FIELD
            typer.echo(
                f"licsync: {more} more warning{'s' if more != 1 else ''} of "
                f"{shown(field) or 'the files'} (licsync validate lists them all)",
                err=True,
            )


@contextlib.contextmanager
def site_session(
    directory: Path,
    *,
    site: str | None,
    qrs_url: str | None,
    request_timeout: float | None,
    denial_logs: Sequence[str] | None,
    now: dt.datetime | None,
    writable: bool = False,
    quiet: bool = False,
    progress: str | None = None,
) -> Iterator[Session]:
    """The command's session (secrets from this process's environment), its warnings shown
    unless ``quiet``; with ``progress``, that line on standard error while the session is open
    (unless ``quiet``)."""
    request = SessionRequest(
        directory=directory,
        site=site,
        qrs_url=qrs_url,
        request_timeout=request_timeout,
        denial_logs=tuple(denial_logs or ()),
        now=now,
        env=os.environ,
        writable=writable,
    )
    with contextlib.ExitStack() as stack:
        if progress is not None:
            stack.enter_context(Progress(progress, sys.stderr, quiet=quiet))
        session = stack.enter_context(open_session(request))
        if not quiet:
            echo_warnings(session.warnings)
        yield session
