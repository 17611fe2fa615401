"""``licsync plan``: compare the desired state with the site and its signals; nothing is written."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from licsync.cli.exitcodes import ExitCode
from licsync.cli.findings import FindingsOption
from licsync.cli.options import (
    DenialLogsOption,
    DirectoryArgument,
    NowOption,
    QrsUrlOption,
    QuietOption,
    RequestTimeoutOption,
    SiteOption,
    colour_wanted,
    count,
)
from licsync.cli.output import check_target, write_atomically
from licsync.errors import Blocked
from licsync.render import render_json, render_markdown, render_text
from licsync.render.findings import FindingsShown

if TYPE_CHECKING:
    from licsync.session import PlanRun

__all__ = ["plan", "register"]


class PlanFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the ``licsync`` app."""
    app.command()(plan)


def plan(
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: SiteOption = None,
    output_format: Annotated[
        PlanFormat | None,
        typer.Option(
            "--format",
            help="text, json (versioned), or markdown (PR). Default: text, or what --out's "
            "name says (.json, .md).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the plan to this file instead of standard output; FILE.json is JSON "
            "and FILE.md Markdown unless --format says otherwise.",
        ),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 2 when the plan has changes (0: none, 1: error; 3, with or without "
            "this option: blocked by a safety cap).",
        ),
    ] = False,
    qrs_url: QrsUrlOption = None,
    request_timeout: RequestTimeoutOption = None,
    denial_logs: DenialLogsOption = None,
    now: NowOption = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Print where the time went to standard error.")
    ] = False,
    findings: FindingsOption = None,
    quiet: QuietOption = False,
) -> int:
    """Compare the desired state with the site and its signals; explain every change."""
    output_format = output_format or format_for(out)
    # The session (the QRS client, httpx, the loader) when a plan is made: not for plan --help
    # or the completion of its options.
    from licsync.cli.site_session import site_session  # noqa: PLC0415

    shown_findings = findings or FindingsShown()
    if out is not None:
        check_target(out)  # before reading the site, not after
    with site_session(
        directory,
        site=site,
        qrs_url=qrs_url,
        request_timeout=request_timeout,
        denial_logs=denial_logs,
        now=now,
        quiet=quiet,
        progress="loading the files, reading the site and planning",
    ) as session:
        run = session.plan()
        clock_warning = session.clock_warning(run.now)
    if clock_warning is not None:
        typer.echo(f"licsync: warning: {clock_warning}", err=True)
    started = time.perf_counter()
    if output_format is PlanFormat.JSON:
        text = render_json(run.plan)
    elif output_format is PlanFormat.MARKDOWN:
        text = render_markdown(run.plan, findings=shown_findings)
    else:
        text = render_text(run.plan, color=out is None and colour_wanted(), findings=shown_findings)
    render_seconds = time.perf_counter() - started
    if out is not None:
        write_atomically(out, text)
        typer.echo(_summary(run, out))
    else:
        typer.echo(text, nl=False)
    if timings:
        phases = {**run.timings, "render": render_seconds}
        spent = ", ".join(f"{name} {seconds:.3f}s" for name, seconds in phases.items())
        typer.echo(f"licsync: timings: {spent}; {run.requests} QRS requests", err=True)
    if run.plan.safety.blocked:
        raise Blocked  # the plan printed says why: BLOCKED by safety checks
    if detailed_exitcode and run.plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


def format_for(out: Path | None) -> PlanFormat:
    """The format an output file's name asks for: ``.json`` JSON (what ``apply --plan`` and
    ``show`` read), ``.md`` Markdown, anything else text."""
    suffix = out.suffix.lower() if out is not None else ""
    if suffix == ".json":
        return PlanFormat.JSON
    if suffix in (".md", ".markdown"):
        return PlanFormat.MARKDOWN
    return PlanFormat.TEXT


def _summary(run: PlanRun, out: Path) -> str:
    verdict = "BLOCKED by safety checks" if run.plan.safety.blocked else "safety OK"
    return (
        f"licsync: plan for site {run.plan.site} written to {out}: "
        f"{count(len(run.plan.changes), 'change')}, {len(run.plan.findings)} findings, "
        f"{verdict}, checksum {run.plan.checksum}"
    )
