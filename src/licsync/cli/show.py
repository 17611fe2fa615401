"""``licsync show PLAN.json``: a saved plan rendered as ``plan`` would, after checking it.

The file is read by the one reader of saved plans (:mod:`licsync.planfile`, shared with
``apply --plan`` and ``github comment``) and checked against its own checksum: a plan edited
after it was made is refused, not shown as if it were the one reviewed.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.exitcodes import ExitCode
from licsync.cli.findings import FindingsOption
from licsync.cli.options import colour_wanted
from licsync.planfile import read_plan_json
from licsync.render import render_markdown, render_text
from licsync.render.findings import FindingsShown
from licsync.render.fromdata import plan_from_data

__all__ = ["register", "show"]


class ShowFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"


def register(app: typer.Typer) -> None:
    """Add ``show`` to the ``licsync`` app."""
    app.command()(show)


def show(
    plan_file: Annotated[
        Path,
        typer.Argument(metavar="PLAN.json", help="A JSON plan (licsync plan DIR --out plan.json)."),
    ],
    *,
    output_format: Annotated[
        ShowFormat, typer.Option("--format", help="text, or markdown (as the PR comment).")
    ] = ShowFormat.TEXT,
    findings: FindingsOption = None,
) -> int:
    """Show a saved JSON plan as plan would, after checking its checksum; nothing is read."""
    where = str(plan_file)
    plan = plan_from_data(read_plan_json(plan_file, where=where), where=where)
    shown = findings or FindingsShown()
    if output_format is ShowFormat.MARKDOWN:
        typer.echo(render_markdown(plan, findings=shown), nl=False)
    else:
        typer.echo(render_text(plan, color=colour_wanted(), findings=shown), nl=False)
    return ExitCode.OK
