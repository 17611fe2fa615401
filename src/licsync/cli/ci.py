"""``licsync ci``: the pull-request comment, the reviewed plan of a merge, tracking issues, on
whichever forge the job runs (GitHub, GitLab, Azure DevOps).

The forge is ``--forge`` or detected from the CI's own variables
(:mod:`licsync.forge.select`); its settings come from that CI's variables. ``licsync github``
is the same commands with the forge fixed to GitHub (:mod:`licsync.cli.github`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli._click import Typer
from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import count, shown
from licsync.cli.output import check_target, write_atomically
from licsync.errors import ForgeError, UsageError
from licsync.forge import (
    COMMIT_SHA,
    SITE_NAME,
    Forge,
    ReviewedArtifact,
    issue_marker,
    plan_marker_prefix,
    slug,
)
from licsync.forge.bodies import issue_body, plan_comment
from licsync.forge.select import FORGES, open_forge
from licsync.forge.summary import append_step_summary, audit_summary
from licsync.jsonfile import parse_json, read_text
from licsync.planfile import read_plan_json
from licsync.render.escape import escape_text, md_text
from licsync.render.fromdata import plan_from_data

__all__ = [
    "ForgeOption",
    "ci_app",
    "do_comment",
    "do_issue",
    "do_reviewed_plan",
    "register",
]

MAX_ISSUE_FILE = 4 * 1024 * 1024  # an issue body is cut to 65,536 characters anyway
# Forges number pull requests, merge requests and work items with 32-bit integers.
MAX_PR = 2**31 - 1

ci_app = Typer(
    name="ci",
    help="Pull-request comments, reviewed plans and tracking issues on GitHub, GitLab or "
    "Azure DevOps (for CI). The forge is --forge or the CI the job runs in.",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add ``ci comment``, ``ci reviewed-plan`` and ``ci issue`` to the app."""
    app.add_typer(ci_app, name="ci")


def _forge_name(value: str | None) -> str | None:
    if value is not None and value not in FORGES:
        raise typer.BadParameter(f"{escape_text(value)!r}: one of {', '.join(FORGES)}")
    return value


ForgeOption = Annotated[
    str | None,
    typer.Option(
        "--forge",
        metavar="github|gitlab|azure",
        callback=_forge_name,
        help="The forge (default: the CI the job runs in: GITHUB_ACTIONS, GITLAB_CI, TF_BUILD).",
    ),
]


def pr_number(value: int) -> int:
    """A pull request (merge request) number from the command line."""
    if not 1 <= value <= MAX_PR:
        shown_value = str(value) if len(str(value)) <= 20 else f"{str(value)[:20]}..."
        raise typer.BadParameter(f"{shown_value}: a pull request number is from 1 to {MAX_PR:,}")
    return value


def sha(value: str) -> str:
    """A full commit sha from the command line, lower case."""
    if not COMMIT_SHA.fullmatch(value.lower()):
        raise typer.BadParameter(f"{escape_text(value)!r} is not a full commit sha (40 hex)")
    return value.lower()


def optional_sha(value: str | None) -> str | None:
    """``--before``: a full sha, or nothing (an empty variable: a new branch)."""
    return sha(value) if value else None


def site_name(value: str) -> str:
    """A site name from the command line."""
    if not SITE_NAME.fullmatch(value):
        raise typer.BadParameter(
            f"{escape_text(value)!r}: a site name is letters, digits, '.', '_' and '-'"
        )
    return value


def title_text(value: str) -> str:
    """An issue title from the command line: one line of at most 256 characters."""
    title = " ".join(value.split())
    if not title:
        raise typer.BadParameter("the title is empty")
    if len(title) > 256 or not title.isprintable():
        raise typer.BadParameter("at most 256 printable characters")
    return title


def _open(forge: str | None) -> Forge:
    return open_forge(forge, os.environ)


def do_comment(forge: str | None, plan_file: Path, pull_request: int) -> None:
    """Post the plan's Markdown as the site's sticky comment."""
    plan = plan_from_data(read_plan_json(plan_file, where=str(plan_file)), where=str(plan_file))
    body = plan_comment(plan)
    with _open(forge) as client:
        posted = client.put_comment(pull_request, plan_marker_prefix(plan.site), body)
    append_step_summary(os.environ, body)
    changes = count(len(plan.changes), "change") if plan.changes else "no changes"
    where = f": {escape_text(posted.url)}" if posted.url else ""  # the forge's text: one line
    typer.echo(
        shown(
            f"{posted.action} the plan comment of site {plan.site} ({changes}) on pull request "
            f"#{pull_request}{where}"
        )
    )


def do_reviewed_plan(
    forge: str | None,
    merge_sha: str,
    site: str,
    out: Path | None,
    *,
    before: str | None = None,
    out_dir: Path | None = None,
    plan_workflow: str = "",
) -> None:
    """Fetch, prove, check and write the reviewed plan(s) of a merge."""
    if (out is None) == (out_dir is None):
        raise typer.BadParameter("give one of --out FILE and --out-dir DIR", param_hint="'--out'")
    if out is not None:
        check_target(out)
    elif out_dir is not None and not out_dir.is_dir():
        raise typer.BadParameter(f"{out_dir}: not a folder", param_hint="'--out-dir'")
    with _open(forge) as client:
        found = client.reviewed_plans(merge_sha, site, before=before, plan_workflow=plan_workflow)
    if out is not None and len(found) > 1:
        numbers = ", ".join(f"#{a.pull_request}" for a in found)
        raise UsageError(
            f"the push merged {len(found)} pull requests with plans of site {site} ({numbers}): "
            "give --out-dir DIR to write each, and apply them in that order"
        )
    for index, artifact in enumerate(found, start=1):
        target = out if out is not None else _numbered(out_dir, index, artifact)
        _write_reviewed(artifact, site, target)


def _numbered(folder: Path | None, index: int, artifact: ReviewedArtifact) -> Path:
    assert folder is not None
    return folder / f"{index:02d}-pr{artifact.pull_request}.json"


def _write_reviewed(found: ReviewedArtifact, site: str, out: Path) -> None:
    where = f"artifact {found.artifact}: plan.json"
    plan = plan_from_data(parse_json(found.plan_json, where), where=where)
    if plan.site != site:
        raise ForgeError(f"{where}: a plan of site {plan.site}, not {site}")
    write_atomically(out, found.plan_json.decode("utf-8"))
    changes = count(len(plan.changes), "change") if plan.changes else "no changes"
    said = (
        f"the plan of site {site} reviewed on pull request #{found.pull_request} "
        f"(head {found.head_sha}), {changes}, {plan.checksum}"
    )
    append_step_summary(os.environ, f"licsync: {md_text(said)}\n")
    typer.echo(f"wrote {out}: {said}")


def do_issue(forge: str | None, body_file: Path, title: str, key: str | None) -> None:
    """Open, update or reopen a tracking issue (a work item on Azure DevOps)."""
    try:
        chosen = key if key is not None else slug(title)
        marker = issue_marker(chosen)
    except UsageError as exc:
        hint = "'--key'" if key is not None else "'--title'"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    text = read_text(body_file, where=str(body_file), limit=MAX_ISSUE_FILE)
    with _open(forge) as client:
        posted = client.put_issue(title, marker, issue_body(chosen, text))
    where = f": {escape_text(posted.url)}" if posted.url else ""  # the forge's text: one line
    typer.echo(shown(f"{posted.action} issue #{posted.id} ({chosen}){where}"))


COMMENT_HELP = (
    "Create or update the plan comment of the plan's site on a pull request.\n\n"
    "One comment per site, found by its hidden first line "
    "(<!-- licsync:plan site=SITE checksum=... -->) and replaced on each push."
)
REVIEWED_HELP = (
    "Write the JSON plan reviewed on the pull request a merge commit belongs to.\n\n"
    "Finds the pull request merged as MERGE_SHA (with --before, every pull request the push "
    "merged), then the artifact licsync-plan-SITE-HEAD_SHA of its head commit. An artifact is "
    "trusted only when the forge says it was made by the plan workflow's run for a pull-request "
    "event of this repository (not a fork) on that head, and the plan's checksum is the one in "
    "the pull request's plan comment. None found, or none proven: says what was found and "
    "exits 1 (apply must not run on a guess)."
)
ISSUE_HELP = (
    "Open or update the tracking issue for KEY (reopening it if it was closed).\n\n"
    "Found by its hidden first line (<!-- licsync:issue key=KEY -->)."
)

PlanFileArg = Annotated[
    Path, typer.Argument(metavar="PLAN.json", help="A JSON plan (plan --format json --out).")
]
PrOption = Annotated[
    int,
    typer.Option("--pr", metavar="N", callback=pr_number, help="The pull request to comment on."),
]
ShaOption = Annotated[
    str,
    typer.Option("--sha", metavar="MERGE_SHA", callback=sha, help="The merge commit (pushed)."),
]
SiteOption = Annotated[
    str, typer.Option("--site", metavar="NAME", callback=site_name, help="The site.")
]
OutOption = Annotated[
    Path | None, typer.Option("--out", metavar="PLAN.json", help="Where to write the plan.")
]
OutDirOption = Annotated[
    Path | None,
    typer.Option(
        "--out-dir",
        metavar="DIR",
        help="Write each pull request's plan as DIR/NN-prN.json (a push that merged several).",
    ),
]
BeforeOption = Annotated[
    str | None,
    typer.Option(
        "--before",
        metavar="SHA",
        callback=optional_sha,
        help="The commit before the push: every pull request the push merged is resolved.",
    ),
]
PlanWorkflowOption = Annotated[
    str,
    typer.Option(
        "--plan-workflow",
        metavar="PATH",
        help="The plan workflow (pipeline) file whose runs are trusted "
        "(default: .github/workflows/licenses-plan.yml; GitLab: the plan job's name prefix; "
        "Azure: the pipeline's YAML path).",
    ),
]
BodyArg = Annotated[Path, typer.Argument(metavar="BODY.md", help="The issue's body (Markdown).")]
TitleOption = Annotated[
    str, typer.Option("--title", metavar="TITLE", callback=title_text, help="The issue's title.")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="KEY",
        help="Which tracking issue (default: a slug of the title): "
        "lower-case letters, digits, '.', '_' and '-'.",
    ),
]


@ci_app.command("comment", help=COMMENT_HELP)
def comment(plan_file: PlanFileArg, pull_request: PrOption, forge: ForgeOption = None) -> int:
    """Post the plan's Markdown as the site's sticky comment (help: COMMENT_HELP)."""
    do_comment(forge, plan_file, pull_request)
    return ExitCode.OK


@ci_app.command("reviewed-plan", help=REVIEWED_HELP)
def reviewed_plan(
    *,
    merge_sha: ShaOption,
    site: SiteOption,
    out: OutOption = None,
    out_dir: OutDirOption = None,
    before: BeforeOption = None,
    plan_workflow: PlanWorkflowOption = "",
    forge: ForgeOption = None,
) -> int:
    """Fetch, prove and write the reviewed plan of a merge (help: REVIEWED_HELP)."""
    do_reviewed_plan(
        forge, merge_sha, site, out, before=before, out_dir=out_dir, plan_workflow=plan_workflow
    )
    return ExitCode.OK


@ci_app.command("issue", help=ISSUE_HELP)
def issue(
    body_file: BodyArg, title: TitleOption, key: KeyOption = None, forge: ForgeOption = None
) -> int:
    """Open, update or reopen a tracking issue (help: ISSUE_HELP)."""
    do_issue(forge, body_file, title, key)
    return ExitCode.OK


SUMMARY_HELP = (
    "Summarise an apply from its audit log, as Markdown: to $GITHUB_STEP_SUMMARY in GitHub "
    "Actions (the run's page), else to standard output."
)
MAX_AUDIT_FILE = 512 * 1024 * 1024


@ci_app.command("summary", help=SUMMARY_HELP)
def summary(
    audit_log: Annotated[
        Path, typer.Argument(metavar="AUDIT.jsonl", help="apply's --audit-log file.")
    ],
    site: SiteOption,
) -> int:
    """Write an apply's summary (help: SUMMARY_HELP)."""
    text = read_text(audit_log, where=str(audit_log), limit=MAX_AUDIT_FILE)
    markdown = audit_summary(text.splitlines(), site=site)
    if not append_step_summary(os.environ, markdown):
        typer.echo(markdown)
    return ExitCode.OK
