"""``licsync github``: the pull-request comment, the reviewed plan of a merge, tracking issues.

The commands the workflows run on GitHub Actions (any runner: they need no other tool). Each
reads ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL`` as Actions sets them and
talks to GitHub only through :mod:`licsync.forge.github`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from licsync.apply.reviewed import MAX_PLAN_BYTES
from licsync.cli.options import count, shown
from licsync.cli.output import check_target, write_atomically
from licsync.errors import ForgeError, UsageError
from licsync.forge import (
    COMMIT_SHA,
    SITE_NAME,
    Forge,
    issue_marker,
    plan_marker_prefix,
    slug,
)
from licsync.forge.bodies import issue_body, plan_comment
from licsync.forge.github import GitHub, settings_from_env
from licsync.jsonfile import parse_json, read_json, read_text
from licsync.render.escape import escape_text
from licsync.render.fromdata import plan_from_data

__all__ = ["github_app", "register"]

MAX_ISSUE_FILE = 4 * 1024 * 1024  # an issue body is cut to 65,536 characters anyway

github_app = typer.Typer(
    name="github",
    help="Pull-request comments, reviewed plans and tracking issues on GitHub (for CI). "
    "Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as Actions sets them.",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add ``github comment``, ``github reviewed-plan`` and ``github issue`` to the app."""
    app.add_typer(github_app, name="github")


def _forge() -> Forge:
    """The repository's forge, from the environment (GitHub: the only one so far)."""
    return GitHub(settings_from_env(os.environ))


# GitHub numbers issues and pull requests with 32-bit integers; a larger number is a typo.
MAX_PR = 2**31 - 1


def _pr_number(value: int) -> int:
    if not 1 <= value <= MAX_PR:
        shown_value = str(value) if len(str(value)) <= 20 else f"{str(value)[:20]}..."
        raise typer.BadParameter(f"{shown_value}: a pull request number is from 1 to {MAX_PR:,}")
    return value


_COMMENT_HELP = (
    "Create or update the plan comment of the plan's site on a pull request.\n\n"
    "One comment per site, found by its hidden first line "
    "(<!-- licsync:plan site=SITE checksum=... -->) and replaced on each push."
)
_REVIEWED_HELP = (
    "Write the JSON plan reviewed on the pull request a merge commit belongs to.\n\n"
    "Finds the pull request merged as MERGE_SHA, then the artifact licsync-plan-SITE-HEAD_SHA "
    "the plan workflow uploaded for its head commit, and checks that the plan.json in it is an "
    "intact plan of SITE. None found: says which pull request, head and artifact name, and "
    "exits 1 (apply must not run on a guess)."
)
_ISSUE_HELP = (
    "Open or update the tracking issue for KEY (reopening it if it was closed).\n\n"
    "Found by its hidden first line (<!-- licsync:issue key=KEY -->)."
)


@github_app.command("comment", help=_COMMENT_HELP)
def comment(
    plan_file: Annotated[
        Path, typer.Argument(metavar="PLAN.json", help="A JSON plan (plan --format json --out).")
    ],
    pull_request: Annotated[
        int,
        typer.Option(
            "--pr", metavar="N", callback=_pr_number, help="The pull request to comment on."
        ),
    ],
) -> None:
    """Post the plan's Markdown as the site's sticky comment (help: _COMMENT_HELP)."""
    plan = plan_from_data(
        read_json(plan_file, where=str(plan_file), limit=MAX_PLAN_BYTES), where=str(plan_file)
    )
    body = plan_comment(plan)
    with _forge() as forge:
        posted = forge.put_comment(pull_request, plan_marker_prefix(plan.site), body)
    changes = count(len(plan.changes), "change") if plan.changes else "no changes"
    where = f": {escape_text(posted.url)}" if posted.url else ""  # GitHub's text: one line
    typer.echo(
        shown(
            f"{posted.action} the plan comment of site {plan.site} ({changes}) on pull request "
            f"#{pull_request}{where}"
        )
    )


def _sha(value: str) -> str:
    if not COMMIT_SHA.fullmatch(value.lower()):
        raise typer.BadParameter(f"{escape_text(value)!r} is not a full commit sha (40 hex)")
    return value.lower()


def _site(value: str) -> str:
    if not SITE_NAME.fullmatch(value):
        raise typer.BadParameter(
            f"{escape_text(value)!r}: a site name is letters, digits, '.', '_' and '-'"
        )
    return value


@github_app.command("reviewed-plan", help=_REVIEWED_HELP)
def reviewed_plan(
    sha: Annotated[
        str,
        typer.Option(
            "--sha", metavar="MERGE_SHA", callback=_sha, help="The merge commit (github.sha)."
        ),
    ],
    site: Annotated[str, typer.Option("--site", metavar="NAME", callback=_site, help="The site.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="PLAN.json", help="Where to write the plan.")
    ],
) -> None:
    """Fetch, check and write the reviewed plan of a merge (help: _REVIEWED_HELP)."""
    check_target(out)
    with _forge() as forge:
        found = forge.reviewed_plan(sha, site)
    where = f"artifact {found.artifact}: plan.json"
    plan = plan_from_data(parse_json(found.plan_json, where), where=where)
    if plan.site != site:
        raise ForgeError(f"{where}: a plan of site {plan.site}, not {site}")
    write_atomically(out, found.plan_json.decode("utf-8"))
    changes = count(len(plan.changes), "change") if plan.changes else "no changes"
    typer.echo(
        f"wrote {out}: the plan of site {site} reviewed on pull request #{found.pull_request} "
        f"(head {found.head_sha}), {changes}, {plan.checksum}"
    )


def _title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise typer.BadParameter("the title is empty")
    if len(title) > 256 or not title.isprintable():
        raise typer.BadParameter("at most 256 printable characters")
    return title


@github_app.command("issue", help=_ISSUE_HELP)
def issue(
    body_file: Annotated[
        Path, typer.Argument(metavar="BODY.md", help="The issue's body (Markdown).")
    ],
    title: Annotated[
        str, typer.Option("--title", metavar="TITLE", callback=_title, help="The issue's title.")
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            help="Which tracking issue (default: a slug of the title): "
            "lower-case letters, digits, '.', '_' and '-'.",
        ),
    ] = None,
) -> None:
    """Open, update or reopen a tracking issue (help: _ISSUE_HELP)."""
    try:
        chosen = key if key is not None else slug(title)
        marker = issue_marker(chosen)
    except UsageError as exc:
        hint = "'--key'" if key is not None else "'--title'"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    text = read_text(body_file, where=str(body_file), limit=MAX_ISSUE_FILE)
    with _forge() as forge:
        posted = forge.put_issue(title, marker, issue_body(chosen, text))
    where = f": {escape_text(posted.url)}" if posted.url else ""  # GitHub's text: one line
    typer.echo(shown(f"{posted.action} issue #{posted.id} ({chosen}){where}"))
