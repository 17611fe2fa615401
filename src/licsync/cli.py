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
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from typer.exceptions import TyperException

from licsync import __version__
from licsync.errors import ConfigError, LicsyncError, PlanBlocked, Problem
from licsync.load import LoadReport, check_directory

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
        except PlanBlocked as exc:
            typer.echo(f"licsync: {exc}", err=True)
            raise typer.Exit(EXIT_BLOCKED) from None
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


class ValidateFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


@app.command()
@guarded
def validate(
    directory: Annotated[
        Path, typer.Argument(help="Directory of desired-state YAML (default licenses/).")
    ] = Path("licenses"),
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


def config_error_lines(exc: ConfigError) -> Sequence[str]:
    """One line per problem, as ``validate`` prints them."""
    return [str(p) for p in exc.problems]


def main() -> None:
    """Console-script entry point."""
    app(prog_name="licsync")
