"""``licsync github``: the ``ci`` commands with the forge fixed to GitHub (kept for the
workflows and scripts written before ``licsync ci``; see :mod:`licsync.cli.ci`).

Each reads ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL`` as Actions sets them
and talks to GitHub only through :mod:`licsync.forge.github`.
"""

from __future__ import annotations

import typer

from licsync.cli._click import Typer
from licsync.cli.ci import (
    COMMENT_HELP,
    ISSUE_HELP,
    REVIEWED_HELP,
    BeforeOption,
    BodyArg,
    KeyOption,
    OutDirOption,
    OutOption,
    PlanFileArg,
    PlanWorkflowOption,
    PrOption,
    ShaOption,
    SiteOption,
    TitleOption,
    do_comment,
    do_issue,
    do_reviewed_plan,
)
from licsync.cli.exitcodes import ExitCode

__all__ = ["github_app", "register"]

github_app = Typer(
    name="github",
    help="Pull-request comments, reviewed plans and tracking issues on GitHub (for CI). "
    "Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as Actions sets them. "
    "The same as `licsync ci ... --forge github`.",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add ``github comment``, ``github reviewed-plan`` and ``github issue`` to the app."""
    app.add_typer(github_app, name="github")


@github_app.command("comment", help=COMMENT_HELP)
def comment(plan_file: PlanFileArg, pull_request: PrOption) -> int:
    """Post the plan's Markdown as the site's sticky comment (help: COMMENT_HELP)."""
    do_comment("github", plan_file, pull_request)
    return ExitCode.OK


@github_app.command("reviewed-plan", help=REVIEWED_HELP)
def reviewed_plan(
    *,
    merge_sha: ShaOption,
    site: SiteOption,
    out: OutOption = None,
    out_dir: OutDirOption = None,
    before: BeforeOption = None,
    plan_workflow: PlanWorkflowOption = "",
) -> int:
    """Fetch, prove and write the reviewed plan of a merge (help: REVIEWED_HELP)."""
    do_reviewed_plan(
        "github", merge_sha, site, out, before=before, out_dir=out_dir, plan_workflow=plan_workflow
    )
    return ExitCode.OK


@github_app.command("issue", help=ISSUE_HELP)
def issue(body_file: BodyArg, title: TitleOption, key: KeyOption = None) -> int:
    """Open, update or reopen a tracking issue (help: ISSUE_HELP)."""
    do_issue("github", body_file, title, key)
    return ExitCode.OK
