"""Options and helpers more than one command shares.

Every command imports this module, ``validate`` and ``key`` too: it imports no more than they
need (no QRS client, no planner); ``--findings`` is in :mod:`.findings`, with the planner's
findings it names.

A value the command line gets wrong is refused here, by the parser, as a click ``BadParameter``:
the boundary prints it in click's style with a hint and exits 64 (see :mod:`.exitcodes`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.console import shown  # here too: the commands' one place for options
from licsync.site import EMBEDDED, AuthMode

__all__ = [
    "NOW_MAX",
    "NOW_MIN",
    "ApplyDenialLogsOption",
    "DenialLogsOption",
    "DirectoryArgument",
    "NowOption",
    "QrsUrlOption",
    "QuietOption",
    "RequestTimeoutOption",
    "SiteOption",
    "colour_wanted",
    "count",
    "parse_now",
    "parse_qrs_url",
    "shown",
]

SiteOption = Annotated[
    str | None,
    typer.Option("--site", metavar="NAME", help="The site, when the directory holds several."),
]

DenialLogsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--denial-logs",
        metavar="PATH",
        help="A folder or file of licence logs to read denials from (repeatable), in addition "
        "to policy.denials.sources.",
    ),
]

ApplyDenialLogsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--denial-logs",
        metavar="PATH",
        help="A folder or file of licence logs to read denials from (repeatable), in addition "
        "to policy.denials.sources: the same ones as the plan that was reviewed.",
    ),
]

DirectoryArgument = Annotated[
    Path, typer.Argument(help="Directory of desired-state YAML (default licenses/).")
]

# --now is a what-if instant, not a calendar: Qlik Sense Enterprise first shipped in 2014, so no
# QRS record or licence log predates 2000, and nobody plans licences a millennium ahead. Planning
# moves away from `now` by at most the policy's day counts (the schema caps them at 3650 days) and
# QRS's 7-day quarantine; keeping `now` within [2000, 3000) keeps all of that date arithmetic far
# from datetime's limits (years 1..9999), where it would overflow.
NOW_MIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
NOW_MAX = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
NOW_EXAMPLE = "2026-11-20T09:00:00Z"


def parse_now(text: str) -> dt.datetime:
    """``--now``: an ISO-8601 instant from 2000 up to (not including) 3000; no offset is UTC.

    Raises:
        typer.BadParameter: not ISO-8601, or outside the range.
    """
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        msg = f"{text!r} is not an ISO-8601 date-time (e.g. {NOW_EXAMPLE})"
        raise typer.BadParameter(msg) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        in_range = NOW_MIN <= value < NOW_MAX
    except OverflowError:  # pragma: no cover - comparing aware datetimes does not overflow today
        in_range = False
    if not in_range:
        msg = f"{text!r} is outside the years 2000 to 2999 that licsync plans for"
        raise typer.BadParameter(msg)
    return value


NowOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--now",
        parser=parse_now,
        metavar="ISO-8601",
        help=f"Plan as of this instant, e.g. {NOW_EXAMPLE} (default: now; the demo's clock).",
    ),
]


def parse_qrs_url(text: str) -> str:
    """``--qrs-url``: ``embedded``, or ``http(s)://host[:port][/path]`` (checked, kept as given).

    Raises:
        typer.BadParameter: not such a URL.
    """
    if text == EMBEDDED:
        return text
    # A refused URL is echoed without what stands before an '@': a password typed into the URL
    # must not reach a CI log through the message that refuses it.
    shown_url = _USERINFO.sub("[credentials]@", text)
    if any(c.isspace() or not c.isprintable() for c in text):
        # urlsplit keeps a space in a host name, so the site's file would be blamed later.
        msg = (
            f"{shown_url!r}: a URL has no spaces or control characters "
            "(e.g. https://qlik.example.com)"
        )
        raise typer.BadParameter(msg)
    # The QRS client (and httpx) only when a URL is given: every command imports this module.
    from licsync.qrs.auth import effective_base_url  # noqa: PLC0415

    try:
        effective_base_url(text, AuthMode.HEADER)  # the checks every auth mode shares
        urllib.parse.urlsplit(text.strip()).port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        msg = f"{shown_url!r}: {exc} (e.g. https://qlik.example.com:4242, or {EMBEDDED})"
        raise typer.BadParameter(msg) from None
    return text


_USERINFO = re.compile(r"(?<=//)[^/?#]*@")


QrsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--qrs-url",
        parser=parse_qrs_url,
        metavar="URL",
        help=f"Use this QRS instead of the site's qrs_url ({EMBEDDED}: the built-in simulator).",
    ),
]


# A day: anything longer is a typo (milliseconds?), not a wish to wait.
REQUEST_TIMEOUT_MAX = 86_400.0


def parse_request_timeout(text: str) -> float:
    """``--request-timeout``: seconds, more than 0 and at most a day.

    Raises:
        typer.BadParameter: not a number, or out of range.
    """
    try:
        value = float(text)
    except ValueError:
        msg = f"{text!r} is not a number of seconds (e.g. 300)"
        raise typer.BadParameter(msg) from None
    if not 0 < value <= REQUEST_TIMEOUT_MAX:  # NaN fails this too
        msg = f"{text!r} must be more than 0 and at most {REQUEST_TIMEOUT_MAX:g} seconds"
        raise typer.BadParameter(msg)
    return value


RequestTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--request-timeout",
        parser=parse_request_timeout,
        metavar="SECONDS",
        help="The most one QRS request may take in all, retries included "
        "(default: the site's request_timeout, else 300).",
    ),
]


def colour_wanted() -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org: any non-empty value)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def count(n: int, noun: str) -> str:
    """``1 change``, ``2 changes``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Leave out what is not the result: the desired-state files' warnings (licsync "
        "validate lists them), progress and notes on standard error. Errors stay.",
    ),
]
