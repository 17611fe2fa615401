"""``licsync explain USER [DIR]``: one user's whole story, read from the site (nothing written)."""

from __future__ import annotations

from enum import StrEnum
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
from licsync.cli.site_session import site_session
from licsync.explain import explain_user
from licsync.render.explained import render_story_json, render_story_text

__all__ = ["explain", "register"]


class ExplainFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add ``explain`` to the ``licsync`` app."""
    app.command()(explain)


def explain(
    user: Annotated[
        str, typer.Argument(metavar="USER", help="The user, DIRECTORY\\userid (any case).")
    ],
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: SiteOption = None,
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", help="text, or json (versioned).")
    ] = ExplainFormat.TEXT,
    qrs_url: QrsUrlOption = None,
    request_timeout: RequestTimeoutOption = None,
    denial_logs: DenialLogsOption = None,
    now: NowOption = None,
    quiet: QuietOption = False,
) -> int:
    """Tell one user's story: declared where, seats held, QRS flags, rules, denials, the plan."""
    with site_session(
        directory,
        site=site,
        qrs_url=qrs_url,
        request_timeout=request_timeout,
        denial_logs=denial_logs,
        now=now,
        quiet=quiet,
        progress="reading the site and planning",
    ) as session:
        run = session.plan()
    story = explain_user(
        user,
        desired=session.desired,
        actual=run.actual,
        signals=run.signals,
        plan=run.plan,
        coverage=run.coverage,
    )
    if output_format is ExplainFormat.JSON:
        typer.echo(render_story_json(story), nl=False)
    else:
        typer.echo(render_story_text(story), nl=False)
    return ExitCode.OK
