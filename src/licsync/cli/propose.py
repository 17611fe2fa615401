"""``licsync propose``: edit the YAML so that a pull request ends what the signals say should go.

Prints a unified diff by default and writes nothing; ``--write`` edits the files in place.
"""

from __future__ import annotations

import contextlib
import difflib
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import (
    DenialLogsOption,
    DirectoryArgument,
    NowOption,
    QrsUrlOption,
    QuietOption,
    RequestTimeoutOption,
    SiteOption,
)
from licsync.cli.output import OutputError, check_target, write_atomically
from licsync.cli.site_session import site_session
from licsync.propose.body import render_body, summary_lines
from licsync.propose.outcome import ProposeRun
from licsync.propose.run import propose_site
from licsync.textsafe import escape_text

__all__ = ["propose", "register"]


def register(app: typer.Typer) -> None:
    """Add ``propose`` to the ``licsync`` app."""
    app.command()(propose)


def propose(
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: SiteOption = None,
    qrs_url: QrsUrlOption = None,
    request_timeout: RequestTimeoutOption = None,
    denial_logs: DenialLogsOption = None,
    now: NowOption = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write/--diff",
            help="--diff (default): print a unified diff, write nothing; --write: edit in place.",
        ),
    ] = False,
    body: Annotated[
        Path | None,
        typer.Option("--body", help="Write a Markdown pull-request body to this file."),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 2 when something is proposed (0: nothing, 1: error)."
        ),
    ] = False,
    quiet: QuietOption = False,
) -> int:
    """End the declared allocations the signals say should go; suggest seats for denied users."""
    if body is not None:
        check_target(body)  # before reading the site, not after
    with site_session(
        directory,
        site=site,
        qrs_url=qrs_url,
        request_timeout=request_timeout,
        denial_logs=denial_logs,
        now=now,
        quiet=quiet,
        progress="reading the site and proposing",
    ) as session:
        run = propose_site(session)
        clock_warning = session.clock_warning(session.now())
    if clock_warning is not None:
        typer.echo(f"licsync: warning: {clock_warning}", err=True)
    if write:
        _write_all(run)
    else:
        typer.echo(_diff(run), nl=False)
    if body is not None:
        write_atomically(body, render_body(run))
    for line in summary_lines(run, written=write):
        typer.echo(line, err=True)
    if write and run.edits:
        typer.echo(
            f"licsync: wrote {', '.join(escape_text(n) for n in sorted(run.edits))}", err=True
        )
    if detailed_exitcode and run.edits:
        return ExitCode.CHANGES
    return ExitCode.OK


def _write_all(run: ProposeRun) -> None:
    """Write every edited file, or none: a proposal half written (one file edited, the next
    refused) is one nobody reviewed.

    Raises:
        OutputError: a file cannot be written; those written before it are put back.
    """
    written: list[str] = []
    try:
        for name, (_, text) in sorted(run.edits.items()):
            write_atomically(Path(name), text)
            written.append(name)
    except OutputError as exc:
        for name in written:
            # The text as read: the file's own bytes again (UTF-8, its BOM and line breaks).
            with contextlib.suppress(OutputError):
                write_atomically(Path(name), run.edits[name][0])
        msg = f"{exc}; nothing written (the files already edited were put back)"
        raise OutputError(msg) from exc


def _diff(run: ProposeRun) -> str:
    """A unified diff of every edited file, each line escaped for a terminal. Line endings are
    not shown (a CRLF file's edits are CRLF too: the files keep their own style)."""
    out: list[str] = []
    for name, (before, after) in sorted(run.edits.items()):
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
        for line in lines:
            body = line.removesuffix("\n").removesuffix("\r")
            out.append(escape_text(body) + "\n")
    return "".join(out)
