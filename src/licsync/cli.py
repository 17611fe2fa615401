"""The ``licsync`` command line: thin commands over the library and one error boundary.

Exit codes (documented in the README):

- 0: success (validate: no errors; plan: no changes, or changes without --detailed-exitcode)
- 1: an error licsync recognises (bad input, QRS unreachable, ...), printed without traceback
- 2: plan --detailed-exitcode found changes (also click's code for a mistyped command line)
- 3: plan blocked by safety checks; or an unexpected crash, which says it is a bug
- 130: interrupted
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from typer.exceptions import TyperException

from licsync import __version__
from licsync.cli_sim import sim_app
from licsync.errors import LicsyncError, Problem, UsageError
from licsync.load import LoadReport, check_directory
from licsync.pipeline import PlanRequest, PlanRun, run_plan
from licsync.render import render_json, render_markdown, render_text

__all__ = ["app", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BLOCKED = 3
EXIT_BUG = 3
EXIT_INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("licsync")

app = typer.Typer(
    name="licsync",
    help="Qlik Sense licences as code: validate, plan and apply Professional and Analyzer "
    "allocations and licence rules kept as YAML in git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """The single error boundary: known errors print cleanly, anything else is a bug."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except LicsyncError as exc:
            typer.echo(f"licsync: error: {exc}", err=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            typer.echo("licsync: interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            log.debug("unexpected error", exc_info=True)
            typer.echo(
                f"licsync: unexpected error: {type(exc).__name__}: {exc}\n"
                "This is a bug in licsync. Please report it with the command you ran "
                "(run with --debug for the traceback).",
                err=True,
            )
            raise typer.Exit(EXIT_BUG) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"licsync {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log debug detail (and tracebacks of bugs) to stderr.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="licsync: %(levelname)s: %(name)s: %(message)s",
        stream=sys.stderr,
    )


DirectoryArgument = Annotated[
    Path, typer.Argument(help="Directory of desired-state YAML (default licenses/).")
]


class ValidateFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


@app.command()
@guarded
def validate(
    directory: DirectoryArgument = Path("licenses"),
    output_format: Annotated[
        ValidateFormat,
        typer.Option("--format", help="text, json, or github (workflow annotations)."),
    ] = ValidateFormat.TEXT,
) -> None:
    """Check desired-state files: YAML, schema and cross-file rules. Exit 1 on errors."""
    report = check_directory(directory, today=dt.datetime.now(dt.UTC).date())
    if output_format is ValidateFormat.JSON:
        typer.echo(json.dumps(_report_json(report), indent=2))
    elif output_format is ValidateFormat.GITHUB:
        for problem in report.problems:
            typer.echo(github_annotation(problem))
        typer.echo(_summary(report), err=True)
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        typer.echo(_summary(report))
    if report.errors:
        raise typer.Exit(EXIT_ERROR)


def _summary(report: LoadReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        return (
            f"{_count(errors, 'error')}, {_count(warnings, 'warning')} "
            f"in {_count(report.files, 'file')}"
        )
    parts = []
    for desired in report.sites:
        allocations = sum(len(desired.of(t).allocations) for t in desired.types)
        rules = sum(len(desired.of(t).rules) for t in desired.types)
        parts.append(
            f"site {desired.site.name}: {_count(allocations, 'allocation')}, "
            f"{_count(rules, 'rule')}"
        )
    warned = f", {_count(warnings, 'warning')}" if warnings else ""
    return f"valid: {_count(report.files, 'file')}{warned}; " + "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _report_json(report: LoadReport) -> dict[str, object]:
    return {
        "format_version": 1,
        "valid": not report.errors,
        "files": report.files,
        "sites": [d.site.name for d in report.sites],
        "problems": [
            {
                "file": p.file,
                "line": p.line,
                "col": p.col,
                "field": p.field,
                "message": p.message,
                "severity": p.severity,
            }
            for p in report.problems
        ],
    }


def github_annotation(problem: Problem) -> str:
    """A GitHub Actions workflow command that annotates the file at the problem's position."""
    level = "warning" if problem.severity == "warning" else "error"
    props = [f"file={_gh_property(problem.file)}"]
    if problem.line:
        props.append(f"line={problem.line}")
    if problem.col:
        props.append(f"col={problem.col}")
    text = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return f"::{level} {','.join(props)}::{_gh_data(text)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


class PlanFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


@app.command()
@guarded
def plan(
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: Annotated[
        str | None, typer.Option(help="The site to plan, when the directory holds several.")
    ] = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="text, json (versioned), or markdown (PR).")
    ] = PlanFormat.TEXT,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the plan to this file instead of standard output."),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 2 when the plan has changes (0: none, 1: error)."
        ),
    ] = False,
    qrs_url: Annotated[
        str | None,
        typer.Option("--qrs-url", help="Read this QRS instead of the site's qrs_url."),
    ] = None,
    denial_logs: Annotated[
        list[str] | None,
        typer.Option(
            "--denial-logs",
            help="A folder or file of licence logs to read denials from (repeatable), "
            "in addition to policy.denials.sources.",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Plan as of this ISO-8601 instant (default: now; the demo's clock)."
        ),
    ] = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Print where the time went to standard error.")
    ] = False,
) -> None:
    """Compare the desired state with the site and its signals; explain every change."""
    request = PlanRequest(
        directory=directory,
        site=site,
        qrs_url=qrs_url,
        denial_logs=tuple(denial_logs or ()),
        now=parse_now(now),
        env=os.environ,
    )
    run = run_plan(request)
    for warning in run.warnings:
        typer.echo(str(warning), err=True)
    started = time.perf_counter()
    if output_format is PlanFormat.JSON:
        text = render_json(run.plan)
    elif output_format is PlanFormat.MARKDOWN:
        text = render_markdown(run.plan)
    else:
        text = render_text(run.plan, color=out is None and _colour_wanted())
    render_seconds = time.perf_counter() - started
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(_plan_summary(run, out))
    else:
        typer.echo(text, nl=False)
    if timings:
        phases = {**run.timings, "render": render_seconds}
        spent = ", ".join(f"{name} {seconds:.3f}s" for name, seconds in phases.items())
        typer.echo(f"licsync: timings: {spent}; {run.requests} QRS requests", err=True)
    if run.plan.safety.blocked:
        raise typer.Exit(EXIT_BLOCKED)
    if detailed_exitcode and run.plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def parse_now(text: str | None) -> dt.datetime | None:
    """``--now``: an ISO-8601 instant; without an offset it is taken as UTC."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--now {text!r} is not an ISO-8601 date-time (e.g. 2026-11-20T09:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _plan_summary(run: PlanRun, out: Path) -> str:
    changes = len(run.plan.changes)
    verdict = "BLOCKED by safety checks" if run.plan.safety.blocked else "safety OK"
    return (
        f"licsync: plan for site {run.plan.site} written to {out}: {changes} change"
        f"{'' if changes == 1 else 's'}, {len(run.plan.findings)} findings, {verdict}, "
        f"checksum {run.plan.checksum}"
    )


def _colour_wanted() -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


app.add_typer(sim_app, name="sim")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="licsync")
