"""The reviewed plans of a push to GitHub, each proven to come from the plan workflow's run.

From the merge commit (and, given the push's ``before``, every commit the push added) to the
pull requests it merged; for each, the artifacts ``licsync-plan-<site>-<head sha>``, newest
first; for each artifact, the workflow run that uploaded it (``GET /actions/runs/{id}``: its
``path``, ``event``, ``head_sha``, ``repository``, ``head_repository`` and ``pull_requests``)
and the checksum its plan states against the pull request's sticky plan comment. The first
artifact that passes is the reviewed plan; none passing refuses with what each one was.

Endpoints (REST API version 2022-11-28), beside those of :mod:`licsync.forge.github`:

- ``GET /repos/{o}/{r}/compare/{before}...{after}`` (the commits a push added)
- ``GET /repos/{o}/{r}/actions/runs/{run_id}``
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from licsync.errors import ForgeError, ReviewedPlanMissing, ReviewedPlanRefused
from licsync.forge import COMMIT_SHA, ReviewedArtifact, plan_artifact_name, plan_marker_prefix
from licsync.forge.artifact import plan_from_zip
from licsync.forge.provenance import (
    MAX_CANDIDATES,
    CommentChecksum,
    Expected,
    PlanComment,
    PlanRun,
    comment_checksum,
    proven_plans,
    pushed_merges,
    run_problems,
    shown_value,
)

if TYPE_CHECKING:
    from licsync.forge.github import GitHub

__all__ = ["DEFAULT_PLAN_WORKFLOW", "PULL_REQUEST_EVENTS", "reviewed_plans"]

DEFAULT_PLAN_WORKFLOW = ".github/workflows/licenses-plan.yml"
PULL_REQUEST_EVENTS = ("pull_request",)
"""A plan run of a merge queue (``merge_group``) or by hand is never the reviewed one."""
_NO_COMMIT = re.compile(r"^0+$")


def reviewed_plans(
    gh: GitHub,
    merge_sha: str,
    site: str,
    *,
    before: str | None = None,
    plan_workflow: str = DEFAULT_PLAN_WORKFLOW,
) -> list[ReviewedArtifact]:
    """The proven reviewed plan of every pull request the push merged, oldest merge first.

    Without ``before`` only the pull request merged as ``merge_sha`` (or the commit's only
    merged one) counts. With it, a pull request of the push without any plan artifact (it
    changed nothing under ``licenses/``, so no plan ran) is passed over, as long as one has a
    plan; an artifact that fails a check is never passed over.

    Raises:
        ReviewedPlanMissing: no pull request, or none with a plan artifact.
        ReviewedPlanRefused: an artifact exists but none is proven.
    """
    if before is None or _NO_COMMIT.fullmatch(before) or before == merge_sha:
        pulls = [_merged_pull(gh, merge_sha)]
    else:
        pulls = _pushed_pulls(gh, before, merge_sha)
    return proven_plans(pulls, lambda pull: _proven_plan(gh, pull, site, plan_workflow))


def _merged_pull(gh: GitHub, merge_sha: str) -> dict[str, Any]:
    path = f"{gh.repo_path}/commits/{merge_sha}/pulls"
    pulls = list(gh.paginate(path, {"per_page": "100"}))
    merged = [p for p in pulls if p.get("merged_at") and p.get("merge_commit_sha") == merge_sha]
    if len(merged) == 1:
        return merged[0]
    if not merged and len(pulls) == 1 and pulls[0].get("merged_at"):
        # Merged, but GitHub names another merge commit (a rebase that was rewritten): the
        # commit's only pull request. An open one never counts.
        return pulls[0]
    if not pulls:
        raise ReviewedPlanMissing(
            f"no reviewed plan: commit {merge_sha} belongs to no pull request (pushed "
            "directly?); apply must not run on a guess"
        )
    numbers = ", ".join(f"#{p.get('number')}" for p in pulls[:10])
    some = "pull request" if len(pulls) == 1 else "pull requests"
    raise ReviewedPlanMissing(
        f"no reviewed plan: commit {merge_sha} belongs to {len(pulls)} {some} "
        f"({numbers}) and none was merged as it; apply must not run on a guess"
    )


def _pushed_pulls(gh: GitHub, before: str, after: str) -> list[dict[str, Any]]:
    """Every pull request merged by the push ``before..after``, in the order of its merge
    commit in the push (a merge queue's batch: several)."""
    path = f"{gh.repo_path}/compare/{before}...{after}"
    data = gh.get(path, {"per_page": "100"})
    commits = data.get("commits")
    if not isinstance(commits, list):
        raise ForgeError(f"GET {path}: GitHub's answer has no list of commits")
    total = data.get("total_commits")
    pulls = pushed_merges(
        before,
        after,
        [c.get("sha") for c in commits if isinstance(c, dict)],
        added=max(total if isinstance(total, int) else 0, len(commits)),
        merges_of=lambda sha: gh.paginate(
            f"{gh.repo_path}/commits/{sha}/pulls", {"per_page": "100"}
        ),
        number="number",
        merged=lambda pull, pushed: (
            bool(pull.get("merged_at")) and pull.get("merge_commit_sha") in pushed
        ),
    )
    return pulls or [_merged_pull(gh, after)]


def _proven_plan(
    gh: GitHub, pull: dict[str, Any], site: str, plan_workflow: str
) -> ReviewedArtifact:
    number = pull.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ForgeError("a pull request in GitHub's answer has no usable number")
    head = pull.get("head")
    head_sha = head.get("sha") if isinstance(head, dict) else None
    if not isinstance(head_sha, str) or not COMMIT_SHA.fullmatch(head_sha):
        raise ForgeError(f"pull request #{number}: GitHub gave no usable head sha")
    name = plan_artifact_name(site, head_sha)
    candidates = _artifacts(gh, name)
    if not candidates:
        raise ReviewedPlanMissing(
            f"no reviewed plan: pull request #{number} (head {head_sha}) has no unexpired "
            f"artifact named {name} (was it merged before its plan finished, or did the "
            "plan fail?); apply must not run on a guess"
        )
    expected = Expected(
        workflow=plan_workflow,
        events=PULL_REQUEST_EVENTS,
        repository=gh.repository,
        pull_request=number,
        head_sha=head_sha,
    )
    sticky = CommentChecksum(
        lambda: _sticky_checksum(gh, number, site), f"comment on pull request #{number}"
    )
    refusals: list[str] = []
    for artifact in candidates[:MAX_CANDIDATES]:
        artifact_id = artifact["id"]
        what = f"artifact {name} (id {artifact_id})"
        listed = artifact.get("workflow_run")
        listed_sha = listed.get("head_sha") if isinstance(listed, dict) else None
        if listed_sha is not None and listed_sha != head_sha:
            refusals.append(f"{what}: uploaded by a run on commit {shown_value(listed_sha)}")
            continue
        run = _run_of(gh, artifact)
        problems = run_problems(run, expected) if run is not None else ["names no workflow run"]
        if problems:
            refusals.append(f"{what}, run {run.id if run else '?'}: " + "; ".join(problems))
            continue
        with gh.download(f"{gh.repo_path}/actions/artifacts/{artifact_id}/zip") as stream:
            content = plan_from_zip(stream, what=f"artifact {name}")
        refusal = sticky.refusal(content, name, what)
        if refusal is not None:
            refusals.append(refusal)
            if sticky.shown is None:
                break  # no artifact can be proven without the comment: none more downloaded
            continue
        return ReviewedArtifact(number, head_sha, name, content)
    more = len(candidates) - MAX_CANDIDATES
    tail = f" ({more} older artifacts not looked at)" if more > 0 else ""
    raise ReviewedPlanRefused(
        f"no proven reviewed plan for pull request #{number} (head {head_sha}): "
        + " | ".join(refusals)
        + f"{tail}; apply must not run on a plan whose origin is not proven"
    )


def _artifacts(gh: GitHub, name: str) -> list[dict[str, Any]]:
    """Unexpired artifacts of ``name``, newest first (by creation time, then id)."""
    path = f"{gh.repo_path}/actions/artifacts"
    found = []
    for artifact in gh.paginate(path, {"name": name, "per_page": "100"}, key="artifacts"):
        if artifact.get("name") != name or artifact.get("expired") is not False:
            continue
        artifact_id = artifact.get("id")
        if not isinstance(artifact_id, int) or isinstance(artifact_id, bool) or artifact_id < 0:
            raise ForgeError(f"GET {path}: an artifact has no usable id")
        found.append(artifact)
    found.sort(key=lambda a: (str(a.get("created_at") or ""), a["id"]), reverse=True)
    return found


def _run_of(gh: GitHub, artifact: dict[str, Any]) -> PlanRun | None:
    summary = artifact.get("workflow_run")
    run_id = summary.get("id") if isinstance(summary, dict) else None
    if not isinstance(run_id, int) or isinstance(run_id, bool) or run_id < 1:
        return None
    run = gh.get(f"{gh.repo_path}/actions/runs/{run_id}", None)
    pulls = run.get("pull_requests")
    numbers = (
        tuple(
            p["number"]
            for p in pulls
            if isinstance(p, dict)
            and isinstance(p.get("number"), int)
            # A pull request listed with another head is another push's run.
            and _head_of(p) in (None, run.get("head_sha"))
        )
        if isinstance(pulls, list)
        else None
    )
    return PlanRun(
        id=str(run_id),
        workflow=_str(run.get("path")),
        event=_str(run.get("event")),
        head_sha=_str(run.get("head_sha")),
        repository=_full_name(run.get("repository")),
        head_repository=_full_name(run.get("head_repository")),
        pull_requests=numbers,
    )


def _head_of(pull: dict[str, Any]) -> str | None:
    head = pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) else None


def _sticky_checksum(gh: GitHub, number: int, site: str) -> tuple[str | None, str]:
    prefix = plan_marker_prefix(site)
    comments = []
    path = f"{gh.repo_path}/issues/{number}/comments"
    for comment in gh.paginate(path, {"per_page": "100"}):
        body = comment.get("body")
        first = body.split("\n", 1)[0].rstrip("\r") if isinstance(body, str) else ""
        if not first.startswith(prefix):
            continue
        user = comment.get("user")
        by_bot = isinstance(user, dict) and user.get("type") == "Bot"
        comments.append(PlanComment(str(comment.get("id")), by_bot, first))
    return comment_checksum(comments)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _full_name(repository: object) -> str | None:
    return _str(repository.get("full_name")) if isinstance(repository, dict) else None
