"""GitLab (gitlab.com and self-managed) as a :class:`~licsync.forge.Forge`, over its REST API v4.

Settings come from the variables GitLab CI/CD sets: ``CI_API_V4_URL``
(``https://gitlab.example.com/api/v4``) and ``CI_PROJECT_ID``; the token is a project (or
group) access token with the ``api`` scope in ``LICSYNC_GITLAB_TOKEN`` (or ``GITLAB_TOKEN``),
a masked and protected CI/CD variable: the job's own ``CI_JOB_TOKEN`` may neither write notes
nor issues. It is sent as ``PRIVATE-TOKEN`` to that origin only.

The pieces of the loop, in GitLab's words:

- the plan comment is a merge-request **note**, found by its first line and edited in place;
- the reviewed plan is the file ``licsync-plan-<site>-<head sha>/plan.json`` in the **job
  artifacts** of the plan job (``licsync-plan-<site>`` by default) of a pipeline of the merged
  merge request. It is trusted only when the pipeline is a merge-request pipeline
  (``source: merge_request_event``) of this project (not a fork's) on the merge request's
  head, listed among the merge request's pipelines, and the plan's checksum is the one the
  merge request's plan note shows, written by the identity of this token (``GET /user``);
- the tracking issue is a project **issue**, found by the first line of its description.

Endpoints used:

- ``GET /projects/:id/merge_requests/:iid/notes``, ``POST`` there,
  ``PUT .../notes/:note_id``; ``GET /user``
- ``GET /projects/:id/repository/commits/:sha/merge_requests``,
  ``GET /projects/:id/repository/compare?from=&to=``
- ``GET /projects/:id/merge_requests/:iid/pipelines``, ``GET /projects/:id/pipelines/:id``,
  ``GET /projects/:id/pipelines/:id/jobs``,
  ``GET /projects/:id/jobs/:job_id/artifacts/*artifact_path``
- ``GET /projects/:id/issues?state=all``, ``POST /projects/:id/issues``,
  ``PUT /projects/:id/issues/:iid``

Pagination follows the ``Link`` header; a 429 is waited out by ``Retry-After`` or
``RateLimit-Reset``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from licsync.errors import ForgeError, ReviewedPlanMissing, ReviewedPlanRefused, UsageError
from licsync.forge import (
    COMMIT_SHA,
    Posted,
    ReviewedArtifact,
    fields,
    plan_artifact_name,
    plan_marker_prefix,
)
from licsync.forge.artifact import MAX_UNZIPPED_PLAN, PLAN_NAME
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
)
from licsync.forge.rest import (
    DEFAULT_DEADLINE,
    RateLimitPolicy,
    RestApi,
    RestClient,
    api_url,
    token_value,
)

__all__ = ["DEFAULT_PLAN_JOB", "GitLab", "GitLabSettings", "settings_from_env"]

DEFAULT_PLAN_JOB = "licsync-plan"
"""The plan job of site S is named ``licsync-plan-S`` (``--plan-workflow`` names the prefix)."""
MERGE_REQUEST_EVENTS = ("merge_request_event",)
_PROJECT_ID = re.compile(r"^[1-9][0-9]{0,18}$")


@dataclass(frozen=True, slots=True)
class GitLabSettings:
    """Where the project is and how to authenticate.

    Attributes:
        api_url: ``CI_API_V4_URL``, without a trailing slash.
        project_id: ``CI_PROJECT_ID``.
        token: never shown.
    """

    api_url: str
    project_id: str
    token: str = field(repr=False)


def settings_from_env(env: Mapping[str, str]) -> GitLabSettings:
    """Settings from the environment as GitLab CI/CD sets it.

    Raises:
        UsageError: a variable is missing or not what GitLab would set.
    """
    token = token_value(
        env,
        ("LICSYNC_GITLAB_TOKEN", "GITLAB_TOKEN"),
        "a project access token with the api scope, as a masked CI/CD variable",
    )
    project = env.get("CI_PROJECT_ID", "")
    if not _PROJECT_ID.fullmatch(project):
        shown = repr(project[:40]) if project else "(not set)"
        raise UsageError(f"CI_PROJECT_ID {shown}: expected the project's number as GitLab sets it")
    url = env.get("CI_API_V4_URL", "")
    if not url:
        raise UsageError("CI_API_V4_URL is not set: expected https://HOST/api/v4 as GitLab sets it")
    return GitLabSettings(
        api_url=api_url(url, "CI_API_V4_URL", "https://HOST/api/v4"),
        project_id=project,
        token=token,
    )


class GitLab(RestClient):
    """The GitLab REST API v4 for one project. Use as a context manager."""

    def __init__(
        self,
        settings: GitLabSettings,
        *,
        policy: RateLimitPolicy | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self._settings = settings
        self._project = f"/projects/{settings.project_id}"
        self._api = RestApi(
            "GitLab",
            settings.api_url,
            {"PRIVATE-TOKEN": settings.token, "Accept": "application/json"},
            token=settings.token,
            reset_header="ratelimit-reset",
            hints={
                401: " (is LICSYNC_GITLAB_TOKEN a valid access token?)",
                403: " (does the token have the api scope and a role that may do this?)",
                404: " (wrong CI_PROJECT_ID, or a token that cannot see the project?)",
            },
            policy=policy,
            deadline=deadline,
        )
        self._me: int | None = None

    # --- the Forge operations ---------------------------------------------------------------

    def put_comment(self, pull_request: int, marker_prefix: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_comment`: a merge-request note. Notes by this
        token's user are tried first; one it may not edit (403, 404) is passed over."""
        path = f"{self._project}/merge_requests/{pull_request}/notes"
        me = self._user_id()
        marked = [
            n
            for n in self._api.pages(path, _ASC)
            if not n.get("system") and _first_line(n.get("body")).startswith(marker_prefix)
        ]
        marked.sort(key=lambda n: _author(n) != me)
        for note in marked:
            edit = f"{path}/{_number(note, 'id', path)}"
            answer = self._api.send(
                "PUT", self._api.url(edit), body={"body": body}, passes=(403, 404)
            )
            if answer.status in (403, 404):
                continue
            data = _object(answer.json("PUT", edit, "GitLab"), "PUT", edit)
            return Posted("updated", _number(data, "id", edit), "")
        data = _object(self._api.call("POST", path, {"body": body}), "POST", path)
        # A note's answer carries no web address of its own.
        return Posted("created", _number(data, "id", path), "")

    def reviewed_plans(
        self, merge_sha: str, site: str, *, before: str | None = None, plan_workflow: str = ""
    ) -> list[ReviewedArtifact]:
        """See :meth:`licsync.forge.Forge.reviewed_plans`."""
        job = f"{plan_workflow or DEFAULT_PLAN_JOB}-{site}"
        if before is None or set(before) == {"0"} or before == merge_sha:
            requests = [self._merged_request(merge_sha)]
        else:
            requests = self._pushed_requests(before, merge_sha)
        return proven_plans(requests, lambda request: self._proven_plan(request, site, job))

    def put_issue(self, title: str, marker: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_issue`."""
        path = f"{self._project}/issues"
        query = {"state": "all", "order_by": "created_at", "sort": "asc", "per_page": "100"}
        for issue in self._api.pages(path, query):
            if _first_line(issue.get("description")) != marker:
                continue
            iid = _number(issue, "iid", path)
            update: dict[str, Any] = {"title": title, "description": body}
            reopen = issue.get("state") == "closed"
            if reopen:
                update["state_event"] = "reopen"
            data = _object(self._api.call("PUT", f"{path}/{iid}", update), "PUT", path)
            return Posted("reopened" if reopen else "updated", iid, _text(data, "web_url"))
        data = _object(
            self._api.call("POST", path, {"title": title, "description": body}), "POST", path
        )
        return Posted("created", _number(data, "iid", path), _text(data, "web_url"))

    # --- the reviewed plan --------------------------------------------------------------------

    def _merged_request(self, merge_sha: str) -> dict[str, Any]:
        path = f"{self._project}/repository/commits/{merge_sha}/merge_requests"
        requests = list(self._api.pages(path, {"per_page": "100"}))
        merged = [r for r in requests if r.get("state") == "merged" and _merged_as(r, merge_sha)]
        if len(merged) == 1:
            return merged[0]
        done = [r for r in requests if r.get("state") == "merged"]
        if not merged and len(requests) == 1 and done:
            return done[0]
        if not requests:
            raise ReviewedPlanMissing(
                f"no reviewed plan: commit {merge_sha} belongs to no merge request (pushed "
                "directly?); apply must not run on a guess"
            )
        numbers = ", ".join(f"!{r.get('iid')}" for r in requests[:10])
        raise ReviewedPlanMissing(
            f"no reviewed plan: commit {merge_sha} belongs to {len(requests)} merge request(s) "
            f"({numbers}) and none was merged as it; apply must not run on a guess"
        )

    def _pushed_requests(self, before: str, after: str) -> list[dict[str, Any]]:
        path = f"{self._project}/repository/compare"
        data = _object(self._api.get(path, {"from": before, "to": after}), "GET", path)
        commits = data.get("commits")
        if not isinstance(commits, list):
            raise ForgeError(f"GET {path}: GitLab's answer has no list of commits")
        requests = pushed_merges(
            before,
            after,
            [c.get("id") for c in commits if isinstance(c, dict)],
            added=len(commits),
            merges_of=lambda sha: self._api.pages(
                f"{self._project}/repository/commits/{sha}/merge_requests", {"per_page": "100"}
            ),
            number="iid",
            merged=lambda request, pushed: (
                request.get("state") == "merged" and any(_merged_as(request, s) for s in pushed)
            ),
        )
        return requests or [self._merged_request(after)]

    def _proven_plan(self, request: dict[str, Any], site: str, job_name: str) -> ReviewedArtifact:
        iid = _number(request, "iid", "merge request")
        head_sha = request.get("sha")
        if not isinstance(head_sha, str) or not COMMIT_SHA.fullmatch(head_sha):
            raise ForgeError(f"merge request !{iid}: GitLab gave no usable head sha")
        name = plan_artifact_name(site, head_sha)
        file_path = f"{name}/{PLAN_NAME}"
        expected = Expected(
            workflow=job_name,
            events=MERGE_REQUEST_EVENTS,
            repository=self._settings.project_id,
            pull_request=iid,
            head_sha=head_sha,
        )
        pipelines_path = f"{self._project}/merge_requests/{iid}/pipelines"
        pipelines = sorted(
            (
                p
                for p in self._api.pages(pipelines_path, {"per_page": "100"})
                if isinstance(p.get("id"), int)
            ),
            key=lambda p: p["id"],
            reverse=True,
        )
        refusals: list[str] = []
        candidates = 0
        sticky = CommentChecksum(
            lambda: self._sticky_checksum(iid, site), f"note on merge request !{iid}"
        )
        for pipeline in pipelines:
            if candidates >= MAX_CANDIDATES:
                break
            pid = pipeline["id"]
            jobs_path = f"{self._project}/pipelines/{pid}/jobs"
            for job in self._api.pages(jobs_path, {"per_page": "100"}):
                if _job_key(job) != job_name:
                    continue
                if not isinstance(job.get("artifacts_file"), dict):
                    continue
                job_id = _number(job, "id", jobs_path)
                content = self._artifact_file(job_id, file_path)
                if content is None:
                    continue
                candidates += 1
                what = f"artifact {name} (job {job_id})"
                run = self._run(pid, job, iid)
                problems = run_problems(run, expected)
                if problems:
                    refusals.append(f"{what}, pipeline {pid}: " + "; ".join(problems))
                    continue
                refusal = sticky.refusal(content, name, what)
                if refusal is not None:
                    refusals.append(refusal)
                    continue
                return ReviewedArtifact(iid, head_sha, name, content)
        if not refusals:
            raise ReviewedPlanMissing(
                f"no reviewed plan: merge request !{iid} (head {head_sha}) has no job "
                f"{job_name} with the artifact {file_path} (was it merged before its plan "
                "finished, or did the plan fail or expire?); apply must not run on a guess"
            )
        raise ReviewedPlanRefused(
            f"no proven reviewed plan for merge request !{iid} (head {head_sha}): "
            + " | ".join(refusals)
            + "; apply must not run on a plan whose origin is not proven"
        )

    def _artifact_file(self, job_id: int, file_path: str) -> bytes | None:
        path = f"{self._project}/jobs/{job_id}/artifacts/{file_path}"
        answer = self._api.send("GET", self._api.url(path), passes=(404,))
        if answer.status == 404:
            return None
        if answer.status in (301, 302, 303, 307, 308):
            with self._api.download(path) as stream:
                content = stream.read(MAX_UNZIPPED_PLAN + 1)
        else:
            content = answer.content
        if len(content) > MAX_UNZIPPED_PLAN:
            raise ForgeError(f"GET {path}: {PLAN_NAME} is over {MAX_UNZIPPED_PLAN:,} bytes")
        return content

    def _run(self, pipeline_id: int, job: dict[str, Any], iid: int) -> PlanRun:
        path = f"{self._project}/pipelines/{pipeline_id}"
        pipeline = _object(self._api.get(path), "GET", path)
        ref = pipeline.get("ref")
        mine = isinstance(ref, str) and ref in (
            f"refs/merge-requests/{iid}/head",
            f"refs/merge-requests/{iid}/merge",
        )
        project = pipeline.get("project_id")
        source_project = self._source_project(iid)
        return PlanRun(
            id=str(pipeline_id),
            workflow=_job_key(job) or None,
            event=_text(pipeline, "source") or None,
            head_sha=_text(pipeline, "sha") or None,
            repository=str(project) if isinstance(project, int) else None,
            head_repository=source_project,
            pull_requests=(iid,) if mine else (),
        )

    def _source_project(self, iid: int) -> str | None:
        path = f"{self._project}/merge_requests/{iid}"
        request = _object(self._api.get(path), "GET", path)
        source = request.get("source_project_id")
        return str(source) if isinstance(source, int) else None

    def _sticky_checksum(self, iid: int, site: str) -> tuple[str | None, str]:
        prefix = plan_marker_prefix(site)
        me = self._user_id()
        path = f"{self._project}/merge_requests/{iid}/notes"
        comments = [
            PlanComment(str(n.get("id")), _author(n) == me, _first_line(n.get("body")))
            for n in self._api.pages(path, _ASC)
            if not n.get("system") and _first_line(n.get("body")).startswith(prefix)
        ]
        shown, why = comment_checksum(comments)
        return shown, why.replace("by the plan job", "by this token's user").replace(
            "pull request", "merge request"
        )

    def _user_id(self) -> int:
        if self._me is None:
            self._me = _number(_object(self._api.get("/user"), "GET", "/user"), "id", "GET /user")
        return self._me


_ASC = {"sort": "asc", "order_by": "created_at", "per_page": "100"}


def _job_key(job: Mapping[str, Any]) -> str:
    # parallel:matrix names a job "licsync-plan: [prod]" (the site its one value): the same job
    # as one written out per site, "licsync-plan-prod".
    name = job.get("name")
    if not isinstance(name, str):
        return ""
    return name[: -len("]")].replace(": [", "-", 1) if name.endswith("]") else name


def _merged_as(request: Mapping[str, Any], sha: str) -> bool:
    return sha in (
        request.get("merge_commit_sha"),
        request.get("squash_commit_sha"),
        request.get("sha"),
    )


def _author(note: Mapping[str, Any]) -> int | None:
    author = note.get("author")
    value = author.get("id") if isinstance(author, dict) else None
    return value if isinstance(value, int) else None


_first_line = fields.first_line
_text = fields.text


def _object(data: Any, method: str, path: str) -> dict[str, Any]:
    return fields.json_object(data, forge="GitLab", method=method, path=path)


def _number(data: Mapping[str, Any], name: str, where: str) -> int:
    return fields.number(data, name, where, forge="GitLab")
