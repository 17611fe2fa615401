"""``licsync validate``: check desired-state files (YAML, schema, cross-file rules)."""

from __future__ import annotations

import datetime as dt
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.annotations import azure_logissue, gitlab_code_quality
from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import DirectoryArgument, count
from licsync.errors import Problem
from licsync.load import LoadReport, check_directory
from licsync.severity import Severity
from licsync.textsafe import escape_text

__all__ = ["github_annotation", "register", "validate"]


class ValidateFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    GITLAB = "gitlab"
    AZURE = "azure"


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the ``licsync`` app."""
    app.command()(validate)


def validate(
    directory: DirectoryArgument = Path("licenses"),
    output_format: Annotated[
        ValidateFormat,
        typer.Option(
            "--format",
            help="text, json, github (workflow annotations), gitlab (a Code Quality report on "
            "stdout) or azure (##vso[task.logissue] commands).",
        ),
    ] = ValidateFormat.TEXT,
) -> int:
    """Check desired-state files: YAML, schema and cross-file rules. Exit 1 on errors."""
    report = check_directory(directory, today=dt.datetime.now(dt.UTC).date(), check_paths=True)
    if output_format is ValidateFormat.JSON:
        typer.echo(json.dumps(_report_json(report), indent=2))
    elif output_format is ValidateFormat.GITHUB:
        for problem in report.problems:
            typer.echo(github_annotation(problem))
        typer.echo(_summary(report), err=True)
    elif output_format is ValidateFormat.GITLAB:
        typer.echo(gitlab_code_quality(report.problems))
        typer.echo(_summary(report), err=True)
    elif output_format is ValidateFormat.AZURE:
        for problem in report.problems:
            typer.echo(azure_logissue(problem))
        typer.echo(_summary(report), err=True)
    else:
        for problem in report.problems:
            typer.echo(escape_text(str(problem)))  # one line, whatever a file name holds
        typer.echo(_summary(report))
    if report.errors:
        return ExitCode.ERROR
    return ExitCode.OK


def _summary(report: LoadReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        return (
            f"{count(errors, 'error')}, {count(warnings, 'warning')} "
            f"in {count(report.files, 'file')}"
        )
    parts = []
    for desired in report.sites:
        allocations = sum(len(desired.of(t).allocations) for t in desired.types)
        rules = sum(len(desired.of(t).rules) for t in desired.types)
        parts.append(
            f"site {desired.site.name}: {count(allocations, 'allocation')}, {count(rules, 'rule')}"
        )
    warned = f", {count(warnings, 'warning')}" if warnings else ""
    return f"valid: {count(report.files, 'file')}{warned}; " + "; ".join(parts)


VALIDATE_FORMAT_VERSION = "1.0"
"""``validate --format json``: "MAJOR.MINOR" as a string, versioned like the plan JSON (a new
field bumps MINOR, a changed or removed one MAJOR)."""


def _report_json(report: LoadReport) -> dict[str, object]:
    return {
        "format_version": VALIDATE_FORMAT_VERSION,
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
    level = problem.severity.value if problem.severity is Severity.WARNING else "error"
    # GitHub matches the file to the repository's paths, which use "/" on every runner.
    props = [f"file={_gh_property(problem.file.replace(os.sep, '/'))}"]
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
