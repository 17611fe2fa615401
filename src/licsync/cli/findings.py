"""``--findings``: which findings ``plan`` and ``show`` list line by line.

Apart from :mod:`.options` because it names the planner's findings (``licsync.render.findings``
imports the planner), which the commands that do not plan should not import.
"""

from __future__ import annotations

from typing import Annotated

import typer

from licsync.render.findings import DEFAULT_PER_KIND, FindingsShown

__all__ = ["FindingsOption", "parse_findings"]


def parse_findings(text: str) -> FindingsShown:
    """``--findings``: all, none, some (the default bound) or kinds separated by commas.

    Raises:
        typer.BadParameter: a word that is none of these.
    """
    try:
        return FindingsShown.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


FindingsOption = Annotated[
    FindingsShown | None,
    typer.Option(
        "--findings",
        parser=parse_findings,
        metavar="all|none|some|KIND,...",
        help=f"Which findings to list line by line (their counts by kind are always shown): "
        f"some (default: {DEFAULT_PER_KIND} of each kind), all, none, or kinds separated by "
        "commas, e.g. denied-user,capacity-shortfall.",
    ),
]
