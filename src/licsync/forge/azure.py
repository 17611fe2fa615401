"""Azure DevOps (Services and Server) as a :class:`~licsync.forge.Forge`, over its REST API 7.1.

Settings come from the variables Azure Pipelines sets: ``SYSTEM_COLLECTIONURI``
(``https://dev.azure.com/ORG/``), ``SYSTEM_TEAMPROJECT`` and ``BUILD_REPOSITORY_ID``; the token
is the job's ``System.AccessToken``, which a step must map into its environment as
``SYSTEM_ACCESSTOKEN`` (Azure Pipelines never exposes it unasked). It is sent as a bearer token
to the collection's origin only.

The pieces of the loop, in Azure DevOps' words:

- the plan comment is the first comment of a **pull-request thread** (created closed, so it
  never blocks completion), found by its first line and edited in place;
- the reviewed plan is the **build artifact** ``licsync-plan-<site>-<head sha>`` (holding
  ``plan.json``) of a build of the merged pull request. It is trusted only when the build ran
  for the pull request (``reason: pullRequest``, ``triggerInfo["pr.number"]``, not a fork:
  ``triggerInfo["pr.isFork"]``) in this repository on the pull request's head
  (``triggerInfo["pr.sourceSha"]``), its pipeline's YAML file is the plan pipeline's
  (``GET _apis/build/definitions/{id}``: ``process.yamlFilename``), and the plan's checksum is
  the one the pull request's plan thread shows, written by this token's identity
  (``GET _apis/connectionData``);
- the tracking issue is a **work item** (type ``Issue`` unless ``LICSYNC_AZURE_WORK_ITEM_TYPE``
  says another) tagged ``licsync-issue-<key>``, found by WIQL; reopened by moving it to its
  type's first *Proposed* state.

Endpoints used (``api-version=7.1``):

- ``GET/POST {project}/_apis/git/repositories/{repo}/pullRequests/{id}/threads``,
  ``PATCH .../threads/{thread}/comments/{comment}``; ``GET {collection}/_apis/connectionData``
- ``POST {project}/_apis/git/repositories/{repo}/pullrequestquery`` (the pull request that
  made a merge commit), ``GET .../commits?searchCriteria.itemVersion...`` is not needed: a push's
  commits come from ``GET .../commits?searchCriteria.compareVersion...``
- ``GET {project}/_apis/build/builds?reasonFilter=pullRequest&branchName=refs/pull/{id}/merge``,
  ``GET .../build/builds/{id}/artifacts?artifactName=``, ``GET .../build/definitions/{id}``,
  the artifact's ``resource.downloadUrl`` (a zip) on the collection's origin
- ``POST {project}/_apis/wit/wiql``, ``GET .../wit/workitems/{id}``,
  ``POST .../wit/workitems/$Type``, ``PATCH .../wit/workitems/{id}`` (JSON Patch),
  ``GET .../wit/workitemtypes/{type}/states``
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from licsync.errors import ForgeError, ReviewedPlanMissing, ReviewedPlanRefused, UsageError
from licsync.forge import (
    COMMIT_SHA,
    Posted,
    ReviewedArtifact,
    fields,
    plan_artifact_name,
    plan_marker_prefix,
)
from licsync.forge.artifact import plan_from_zip
from licsync.forge.provenance import (
    MAX_CANDIDATES,
    MAX_PUSHED_COMMITS,
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
    Answer,
    RateLimitPolicy,
    RestApi,
    RestClient,
    api_url,
    token_value,
)

__all__ = ["DEFAULT_PLAN_PIPELINE", "AzureDevOps", "AzureSettings", "settings_from_env"]

API_VERSION = "7.1"
DEFAULT_PLAN_PIPELINE = "azure-pipelines.yml"
PULL_REQUEST_REASONS = ("pullRequest",)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_KEY_TAG = "licsync-issue-"
_THREAD_CLOSED = 4  # CommentThreadStatus.closed: shown, never blocking completion
_CONTINUATION = "x-ms-continuationtoken"


@dataclass(frozen=True, slots=True)
class AzureSettings:
    """Where the repository is and how to authenticate.

    Attributes:
        collection_url: ``SYSTEM_COLLECTIONURI`` without a trailing slash.
        project: ``SYSTEM_TEAMPROJECT`` (a name or an id).
        repository_id: ``BUILD_REPOSITORY_ID`` (a GUID).
        work_item_type: the tracking issue's work item type.
        token: never shown.
    """

    collection_url: str
    project: str
    repository_id: str
    work_item_type: str
    token: str = field(repr=False)


def settings_from_env(env: Mapping[str, str]) -> AzureSettings:
    """Settings from the environment as Azure Pipelines sets it.

    Raises:
        UsageError: a variable is missing or not what Azure Pipelines would set.
    """
    token = token_value(
        env,
        ("SYSTEM_ACCESSTOKEN", "LICSYNC_AZURE_TOKEN"),
        "map it in the step: `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`",
    )
    collection = env.get("SYSTEM_COLLECTIONURI", "")
    if not collection:
        raise UsageError("SYSTEM_COLLECTIONURI is not set: expected https://dev.azure.com/ORG/")
    project = env.get("SYSTEM_TEAMPROJECT", "")
    if not project or len(project) > 64 or not project.isprintable() or "/" in project:
        raise UsageError(
            "SYSTEM_TEAMPROJECT: expected the project's name as Azure Pipelines sets it"
        )
    repository = env.get("BUILD_REPOSITORY_ID", "")
    if not _GUID.fullmatch(repository):
        shown = repr(repository[:40]) if repository else "(not set)"
        raise UsageError(f"BUILD_REPOSITORY_ID {shown}: expected the repository's GUID")
    kind = env.get("LICSYNC_AZURE_WORK_ITEM_TYPE", "Issue")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 ._-]{0,63}", kind):
        raise UsageError(f"LICSYNC_AZURE_WORK_ITEM_TYPE {kind[:64]!r}: not a work item type name")
    return AzureSettings(
        collection_url=api_url(collection, "SYSTEM_COLLECTIONURI", "https://dev.azure.com/ORG/"),
        project=project,
        repository_id=repository.lower(),
        work_item_type=kind,
        token=token,
    )


class AzureDevOps(RestClient):
    """The Azure DevOps REST API for one repository. Use as a context manager."""

    def __init__(self, settings: AzureSettings, *, policy: RateLimitPolicy | None = None) -> None:
        self._settings = settings
        self._project = "/" + quote(settings.project, safe="")
        self._repo = f"{self._project}/_apis/git/repositories/{settings.repository_id}"
        self._api = RestApi(
            "Azure DevOps",
            settings.collection_url,
            {"Authorization": f"Bearer {settings.token}", "Accept": "application/json"},
            token=settings.token,
            hints={
                401: " (is SYSTEM_ACCESSTOKEN mapped into the step's env?)",
                203: "",
                403: " (does the build service identity have this permission?)",
                404: " (wrong project or repository, or a token that cannot see it?)",
            },
            policy=policy,
        )
        self._me: str | None = None

    # --- the Forge operations ---------------------------------------------------------------

    def put_comment(self, pull_request: int, marker_prefix: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_comment`: the first comment of a thread."""
        path = f"{self._repo}/pullRequests/{pull_request}/threads"
        me = self._identity()
        marked: list[tuple[int, dict[str, Any]]] = []
        for thread in self._listing(path):
            first = _first_comment(thread)
            if first is not None and _first_line(first.get("content")).startswith(marker_prefix):
                marked.append((_number(thread, "id", path), first))
        marked.sort(key=lambda pair: _author(pair[1]) != me)
        for thread_id, first in marked:
            edit = f"{path}/{thread_id}/comments/{_number(first, 'id', path)}"
            answer = self._send("PATCH", edit, {"content": body}, passes=(403, 404))
            if answer.status in (403, 404):
                continue
            data = _object(answer.json("PATCH", edit, "Azure DevOps"), "PATCH", edit)
            return Posted("updated", _number(data, "id", edit), "")
        thread = {
            "comments": [{"parentCommentId": 0, "content": body, "commentType": 1}],
            "status": _THREAD_CLOSED,
        }
        data = _object(
            self._send("POST", path, thread).json("POST", path, "Azure DevOps"), "POST", path
        )
        return Posted("created", _number(data, "id", path), "")

    def reviewed_plans(
        self, merge_sha: str, site: str, *, before: str | None = None, plan_workflow: str = ""
    ) -> list[ReviewedArtifact]:
        """See :meth:`licsync.forge.Forge.reviewed_plans`."""
        pipeline = plan_workflow or DEFAULT_PLAN_PIPELINE
        if before is None or set(before) == {"0"} or before == merge_sha:
            pulls = [self._merged_pull(merge_sha)]
        else:
            pulls = self._pushed_pulls(before, merge_sha)
        return proven_plans(pulls, lambda pull: self._proven_plan(pull, site, pipeline))

    def put_issue(self, title: str, marker: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_issue`: a work item tagged with the key."""
        key = marker.removeprefix("<!-- licsync:issue key=").removesuffix(" -->")
        tag = _KEY_TAG + key
        description = _html(body)
        wiql = f"{self._project}/_apis/wit/wiql"
        # The tag is a key licsync checked ([a-z0-9._-]): nothing in it can end the quote.
        where = f"[System.TeamProject] = @project AND [System.Tags] CONTAINS '{tag}'"
        query = "SELECT [System.Id] FROM WorkItems WHERE " + where + " ORDER BY [System.Id]"  # noqa: S608
        data = _object(
            self._send("POST", wiql, {"query": query}).json("POST", wiql, "Azure DevOps"),
            "POST",
            wiql,
        )
        items = data.get("workItems")
        ids = (
            [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)]
            if isinstance(items, list)
            else []
        )
        for item_id in ids:
            path = f"{self._project}/_apis/wit/workitems/{item_id}"
            item = _object(self._api.get(path, {"api-version": API_VERSION}), "GET", path)
            raw_fields = item.get("fields")
            fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
            tags = str(fields.get("System.Tags") or "")
            if tag not in [t.strip() for t in tags.split(";")]:
                continue  # CONTAINS matched a longer tag
            patch: list[dict[str, Any]] = [
                {"op": "add", "path": "/fields/System.Title", "value": title},
                {"op": "add", "path": "/fields/System.Description", "value": description},
            ]
            state = str(fields.get("System.State") or "")
            kind = str(fields.get("System.WorkItemType") or self._settings.work_item_type)
            reopen_to = self._reopen_state(kind, state)
            if reopen_to is not None:
                patch.append({"op": "add", "path": "/fields/System.State", "value": reopen_to})
            answer = self._send("PATCH", path, patch, content_type="application/json-patch+json")
            updated = _object(answer.json("PATCH", path, "Azure DevOps"), "PATCH", path)
            action = "reopened" if reopen_to is not None else "updated"
            return Posted(action, item_id, _html_link(updated))
        create = f"{self._project}/_apis/wit/workitems/${quote(self._settings.work_item_type)}"
        patch = [
            {"op": "add", "path": "/fields/System.Title", "value": title},
            {"op": "add", "path": "/fields/System.Description", "value": description},
            {"op": "add", "path": "/fields/System.Tags", "value": tag},
        ]
        answer = self._send("POST", create, patch, content_type="application/json-patch+json")
        created = _object(answer.json("POST", create, "Azure DevOps"), "POST", create)
        return Posted("created", _number(created, "id", create), _html_link(created))

    # --- the reviewed plan --------------------------------------------------------------------

    def _merged_pull(self, merge_sha: str) -> dict[str, Any]:
        pulls = self._pulls_of(merge_sha)
        completed = [p for p in pulls if p.get("status") == "completed"]
        if len(completed) == 1:
            return completed[0]
        if not pulls:
            raise ReviewedPlanMissing(
                f"no reviewed plan: commit {merge_sha} is the merge commit of no pull request "
                "(pushed directly?); apply must not run on a guess"
            )
        numbers = ", ".join(f"#{p.get('pullRequestId')}" for p in pulls[:10])
        raise ReviewedPlanMissing(
            f"no reviewed plan: commit {merge_sha} belongs to {len(pulls)} pull request(s) "
            f"({numbers}) and not one completed; apply must not run on a guess"
        )

    def _pulls_of(self, merge_sha: str) -> list[dict[str, Any]]:
        path = f"{self._repo}/pullrequestquery"
        body = {"queries": [{"type": "lastMergeCommit", "items": [merge_sha]}]}
        data = _object(
            self._send("POST", path, body).json("POST", path, "Azure DevOps"), "POST", path
        )
        results = data.get("results")
        pulls: list[dict[str, Any]] = []
        if isinstance(results, list):
            for result in results:
                if isinstance(result, dict):
                    listed = result.get(merge_sha)
                    if isinstance(listed, list):
                        pulls.extend(p for p in listed if isinstance(p, dict))
        return pulls

    def _pushed_pulls(self, before: str, after: str) -> list[dict[str, Any]]:
        path = f"{self._repo}/commits"
        query = {
            "searchCriteria.itemVersion.version": after,
            "searchCriteria.itemVersion.versionType": "commit",
            "searchCriteria.compareVersion.version": before,
            "searchCriteria.compareVersion.versionType": "commit",
            "searchCriteria.$top": str(MAX_PUSHED_COMMITS + 1),
            "api-version": API_VERSION,
        }
        data = _object(self._api.get(path, query), "GET", path)
        commits = data.get("value")
        if not isinstance(commits, list):
            raise ForgeError(f"GET {path}: Azure DevOps' answer has no list of commits")
        pulls = pushed_merges(
            before,
            after,
            # Newest first in the answer: merge order is oldest first.
            [c.get("commitId") for c in reversed(commits) if isinstance(c, dict)],
            added=len(commits),
            merges_of=self._pulls_of,
            number="pullRequestId",
            merged=lambda pull, _pushed: pull.get("status") == "completed",
        )
        return pulls or [self._merged_pull(after)]

    def _proven_plan(self, pull: dict[str, Any], site: str, pipeline: str) -> ReviewedArtifact:
        number = _number(pull, "pullRequestId", "pull request")
        source = pull.get("lastMergeSourceCommit")
        head_sha = source.get("commitId") if isinstance(source, dict) else None
        if not isinstance(head_sha, str) or not COMMIT_SHA.fullmatch(head_sha):
            raise ForgeError(f"pull request #{number}: Azure DevOps gave no usable head sha")
        name = plan_artifact_name(site, head_sha)
        expected = Expected(
            workflow=pipeline,
            events=PULL_REQUEST_REASONS,
            repository=self._settings.repository_id,
            pull_request=number,
            head_sha=head_sha,
        )
        builds_path = f"{self._project}/_apis/build/builds"
        query = {
            "reasonFilter": "pullRequest",
            "branchName": f"refs/pull/{number}/merge",
            "repositoryId": self._settings.repository_id,
            "repositoryType": "TfsGit",
            "queryOrder": "queueTimeDescending",
            "$top": "100",
            "api-version": API_VERSION,
        }
        refusals: list[str] = []
        sticky = CommentChecksum(
            lambda: self._sticky_checksum(number, site), f"comment on pull request #{number}"
        )
        looked = 0
        for build in self._listing(builds_path, query):
            if looked >= MAX_CANDIDATES:
                break
            build_id = _number(build, "id", builds_path)
            artifact = self._artifact(build_id, name)
            if artifact is None:
                continue
            looked += 1
            what = f"artifact {name} (build {build_id})"
            problems = run_problems(self._run(build), expected)
            if problems:
                refusals.append(f"{what}: " + "; ".join(problems))
                continue
            content = self._download_plan(artifact, name, what)
            refusal = sticky.refusal(content, name, what)
            if refusal is not None:
                refusals.append(refusal)
                continue
            return ReviewedArtifact(number, head_sha, name, content)
        if not refusals:
            raise ReviewedPlanMissing(
                f"no reviewed plan: pull request #{number} (head {head_sha}) has no build with "
                f"the artifact {name} (was it completed before its plan finished, or did the "
                "plan fail?); apply must not run on a guess"
            )
        raise ReviewedPlanRefused(
            f"no proven reviewed plan for pull request #{number} (head {head_sha}): "
            + " | ".join(refusals)
            + "; apply must not run on a plan whose origin is not proven"
        )

    def _artifact(self, build_id: int, name: str) -> dict[str, Any] | None:
        path = f"{self._project}/_apis/build/builds/{build_id}/artifacts"
        answer = self._api.send(
            "GET",
            self._api.url(path),
            params={"artifactName": name, "api-version": API_VERSION},
            passes=(404,),
        )
        if answer.status == 404:
            return None
        data = _object(answer.json("GET", path, "Azure DevOps"), "GET", path)
        return data if data.get("name") == name else None

    def _run(self, build: dict[str, Any]) -> PlanRun:
        raw_info = build.get("triggerInfo")
        info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        number = str(info.get("pr.number") or "")
        branch = _text(build, "sourceBranch")
        pulls = (int(number),) if number.isdigit() and branch == f"refs/pull/{number}/merge" else ()
        repository = build.get("repository")
        repo_id = _text(repository, "id").lower() if isinstance(repository, dict) else ""
        fork = str(info.get("pr.isFork") or "").casefold() == "true"
        definition = build.get("definition")
        definition_id = definition.get("id") if isinstance(definition, dict) else None
        return PlanRun(
            id=str(build.get("id")),
            workflow=self._yaml_path(definition_id) if isinstance(definition_id, int) else None,
            event=_text(build, "reason") or None,
            head_sha=str(info.get("pr.sourceSha") or "") or None,
            repository=repo_id or None,
            head_repository="a fork" if fork else (repo_id or None),
            pull_requests=pulls,
        )

    def _yaml_path(self, definition_id: int) -> str | None:
        path = f"{self._project}/_apis/build/definitions/{definition_id}"
        data = _object(self._api.get(path, {"api-version": API_VERSION}), "GET", path)
        process = data.get("process")
        value = process.get("yamlFilename") if isinstance(process, dict) else None
        return value if isinstance(value, str) else None

    def _download_plan(self, artifact: dict[str, Any], name: str, what: str) -> bytes:
        resource = artifact.get("resource")
        url = resource.get("downloadUrl") if isinstance(resource, dict) else None
        if not isinstance(url, str) or not url:
            raise ForgeError(f"{what}: Azure DevOps gave no download URL")
        parts = urlsplit(url)
        base = urlsplit(self._api.base_url)
        if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
            # The token goes to the collection's origin only; a pipeline artifact served from
            # another host is not fetched with it.
            raise ForgeError(
                f"{what}: its download is on another host ({parts.hostname}); publish the plan "
                "as a build artifact (PublishBuildArtifacts@1) so it is served by the collection"
            )
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._api.download(
            path.removeprefix(urlsplit(self._api.base_url).path), query=query
        ) as stream:
            return plan_from_zip(stream, what=f"artifact {name}", member=f"{name}/plan.json")

    def _sticky_checksum(self, number: int, site: str) -> tuple[str | None, str]:
        prefix = plan_marker_prefix(site)
        me = self._identity()
        path = f"{self._repo}/pullRequests/{number}/threads"
        comments = []
        for thread in self._listing(path):
            first = _first_comment(thread)
            if first is None:
                continue
            line = _first_line(first.get("content"))
            if line.startswith(prefix):
                comments.append(PlanComment(str(first.get("id")), _author(first) == me, line))
        shown, why = comment_checksum(comments)
        return shown, why.replace("by the plan job", "by this token's identity")

    def _reopen_state(self, kind: str, state: str) -> str | None:
        path = f"{self._project}/_apis/wit/workitemtypes/{quote(kind)}/states"
        data = _object(self._api.get(path, {"api-version": API_VERSION}), "GET", path)
        states = [s for s in data.get("value") or [] if isinstance(s, dict)]
        category = {str(s.get("name")): str(s.get("category")) for s in states}
        if category.get(state) not in ("Completed", "Resolved", "Removed"):
            return None
        proposed = [str(s.get("name")) for s in states if s.get("category") == "Proposed"]
        if not proposed:
            raise ForgeError(
                f"GET {path}: work item type {kind!r} has no Proposed state to reopen to"
            )
        return proposed[0]

    def _identity(self) -> str:
        if self._me is None:
            path = "/_apis/connectionData"
            # connectionData exists only as a preview API version.
            answer = self._api.get(path, {"api-version": f"{API_VERSION}-preview"})
            data = _object(answer, "GET", path)
            user = data.get("authenticatedUser")
            value = user.get("id") if isinstance(user, dict) else None
            if not isinstance(value, str) or not value:
                raise ForgeError(f"GET {path}: Azure DevOps named no authenticated identity")
            self._me = value.lower()
        return self._me

    # --- HTTP -------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        content_type: str = "",
        passes: tuple[int, ...] = (),
    ) -> Answer:
        return self._api.send(
            method,
            self._api.url(path),
            params={"api-version": API_VERSION},
            body=body,
            content_type=content_type,
            passes=passes,
        )

    def _listing(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        params = dict(query or {"api-version": API_VERSION})

        def following(answer: Answer, asked: Mapping[str, str]) -> Mapping[str, str] | None:
            token = answer.headers.get(_CONTINUATION)
            if not token:
                return None
            return {**asked, "continuationToken": token}

        return self._api.pages(path, params, key="value", following=following)


def _html(markdown: str) -> str:
    # A work item's description is HTML: the Markdown is shown as written, escaped, in <pre>.
    return f"<pre>{html.escape(markdown, quote=False)}</pre>"


def _html_link(item: Mapping[str, Any]) -> str:
    links = item.get("_links")
    page = links.get("html") if isinstance(links, dict) else None
    href = page.get("href") if isinstance(page, dict) else None
    return href if isinstance(href, str) else ""


def _first_comment(thread: Mapping[str, Any]) -> dict[str, Any] | None:
    comments = thread.get("comments")
    if not isinstance(comments, list) or not comments or thread.get("isDeleted"):
        return None
    first = comments[0]
    if not isinstance(first, dict) or first.get("commentType") not in ("text", 1):
        return None
    return first


def _author(comment: Mapping[str, Any]) -> str | None:
    author = comment.get("author")
    value = author.get("id") if isinstance(author, dict) else None
    return value.lower() if isinstance(value, str) else None


_first_line = fields.first_line
_text = fields.text


def _object(data: Any, method: str, path: str) -> dict[str, Any]:
    return fields.json_object(data, forge="Azure DevOps", method=method, path=path)


def _number(data: Mapping[str, Any], name: str, where: str) -> int:
    return fields.number(data, name, where, forge="Azure DevOps")
