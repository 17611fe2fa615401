"""A stand-in for the GitLab REST API v4 endpoints ``licsync ci --forge gitlab`` uses, over
loopback: merge requests and their notes, pipelines, jobs and job artifact files, issues,
commits' merge requests and compare, ``/user``. Paginated as GitLab does (``page``,
``per_page`` default 20 at most 100, ``Link`` with ``rel="next"``, ``X-Next-Page``,
``X-Total``); the token is checked in ``PRIVATE-TOKEN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from forge_standin import Canned, Recorded, Reply, StandIn, page_links, page_of, serving

__all__ = ["BOT_ID", "PROJECT_ID", "TOKEN", "Canned", "GitLabStandIn", "gitlab_env"]

TOKEN = "glpat-standinTOKEN0123456789SECRET"
PROJECT_ID = 77
BOT_ID = 901  # the project access token's bot user
PREFIX = "/api/v4"


@dataclass
class Pipeline:
    id: int
    sha: str
    ref: str
    source: str = "merge_request_event"
    project_id: int = PROJECT_ID
    jobs: list[dict[str, Any]] = field(default_factory=list)


class GitLabStandIn(StandIn):
    """In-memory GitLab for one project; ``url`` is ``CI_API_V4_URL``."""

    def __init__(self) -> None:
        super().__init__()
        self.requests_by_commit: dict[str, list[int]] = {}
        self.merge_requests: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}  # id -> {mr, body, author, system}
        self.pipelines: dict[int, Pipeline] = {}
        self.mr_pipelines: dict[int, list[int]] = {}
        self.files: dict[tuple[int, str], bytes] = {}  # (job id, path) -> content
        self.issues: dict[int, dict[str, Any]] = {}
        self.pushes: dict[tuple[str, str], list[str]] = {}

    # --- state builders ---------------------------------------------------------------------

    def add_merge_request(
        self,
        iid: int,
        *,
        head_sha: str,
        merge_sha: str | None = None,
        merged: bool = True,
        source_project_id: int = PROJECT_ID,
    ) -> None:
        self.merge_requests[iid] = {
            "id": 50000 + iid,
            "iid": iid,
            "project_id": PROJECT_ID,
            "title": f"MR {iid}",
            "state": "merged" if merged else "opened",
            "sha": head_sha,
            "merge_commit_sha": merge_sha,
            "squash_commit_sha": None,
            "source_project_id": source_project_id,
            "target_project_id": PROJECT_ID,
            "source_branch": f"branch-{iid}",
            "target_branch": "main",
            "web_url": f"{self.url}/mr/{iid}",
        }
        for sha in {head_sha, *([merge_sha] if merge_sha else [])}:
            self.requests_by_commit.setdefault(sha, []).append(iid)

    def add_plan_job(
        self,
        iid: int,
        site: str,
        plan_json: bytes | str,
        *,
        head_sha: str | None = None,
        job_name: str | None = None,
        source: str = "merge_request_event",
        project_id: int = PROJECT_ID,
        ref: str | None = None,
        listed: bool = True,
    ) -> tuple[Pipeline, int]:
        """A pipeline of merge request ``iid`` whose plan job kept ``plan.json`` as the
        artifact file ``licsync-plan-<site>-<head>/plan.json``."""
        head = head_sha or self.merge_requests[iid]["sha"]
        pipeline = Pipeline(
            self.new_id(), head, ref or f"refs/merge-requests/{iid}/head", source, project_id
        )
        job_id = self.new_id()
        pipeline.jobs.append(
            {
                "id": job_id,
                "name": job_name or f"licsync-plan-{site}",
                "status": "success",
                "stage": "plan",
                "ref": pipeline.ref,
                "artifacts_file": {"filename": "artifacts.zip", "size": 1000},
                "artifacts": [{"file_type": "archive", "filename": "artifacts.zip"}],
                "pipeline": {"id": pipeline.id, "project_id": project_id, "sha": head},
            }
        )
        content = plan_json.encode() if isinstance(plan_json, str) else plan_json
        self.files[(job_id, f"licsync-plan-{site}-{head}/plan.json")] = content
        self.pipelines[pipeline.id] = pipeline
        if listed:
            self.mr_pipelines.setdefault(iid, []).append(pipeline.id)
        return pipeline, job_id

    def add_note(self, iid: int, body: str, *, author: int = BOT_ID, system: bool = False) -> int:
        note_id = self.new_id()
        self.notes[note_id] = {"mr": iid, "body": body, "author": author, "system": system}
        return note_id

    def add_plan_note(self, iid: int, plan_json: bytes | str, *, author: int = BOT_ID) -> int:
        import json

        plan = json.loads(plan_json)
        marker = f"<!-- licsync:plan site={plan['site']} checksum={plan['checksum']} -->"
        return self.add_note(iid, f"{marker}\n## plan", author=author)

    def notes_on(self, iid: int) -> list[dict[str, Any]]:
        return [n for _, n in sorted(self.notes.items()) if n["mr"] == iid]

    # --- serving ------------------------------------------------------------------------------

    def _listing(self, items: list[Any], request: Recorded) -> Reply:
        shown, page, last = page_of(items, request.query)
        headers = {"X-Total": str(len(items)), "X-Page": str(page)}
        headers |= page_links(self.origin, request, page, last)
        if page < last:
            headers["X-Next-Page"] = str(page + 1)
        return Reply(200, shown, headers)

    def route(self, request: Recorded) -> Reply:
        if request.headers.get("private-token") != TOKEN:
            return Reply(401, {"message": "401 Unauthorized"})
        if not request.path.startswith(PREFIX + "/"):
            return Reply(404, {"message": "404 Not Found"})
        path = request.path[len(PREFIX) :]
        method = request.method
        if path == "/user" and method == "GET":
            return Reply(200, {"id": BOT_ID, "username": f"project_{PROJECT_ID}_bot", "bot": True})
        project = f"/projects/{PROJECT_ID}"
        if not path.startswith(project + "/"):
            return Reply(404, {"message": "404 Project Not Found"})
        return self._project_route(method, unquote(path[len(project) :]), request)

    def _project_route(self, method: str, path: str, request: Recorded) -> Reply:
        body = request.body
        if m := re.fullmatch(r"/merge_requests/(\d+)/notes", path):
            iid = int(m[1])
            if iid not in self.merge_requests:
                return Reply(404, {"message": "404 Not found"})
            if method == "GET":
                return self._listing(
                    [self._note(i, n) for i, n in sorted(self.notes.items()) if n["mr"] == iid],
                    request,
                )
            if method == "POST":
                note_id = self.add_note(iid, body["body"])
                return Reply(201, self._note(note_id, self.notes[note_id]))
        if (m := re.fullmatch(r"/merge_requests/(\d+)/notes/(\d+)", path)) and method == "PUT":
            note = self.notes.get(int(m[2]))
            if note is None or note["mr"] != int(m[1]):
                return Reply(404, {"message": "404 Not found"})
            if note["author"] != BOT_ID:
                return Reply(403, {"message": "403 Forbidden"})
            note["body"] = body["body"]
            return Reply(200, self._note(int(m[2]), note))
        if (m := re.fullmatch(r"/merge_requests/(\d+)", path)) and method == "GET":
            found = self.merge_requests.get(int(m[1]))
            return Reply(200, found) if found else Reply(404, {"message": "404 Not found"})
        if (m := re.fullmatch(r"/merge_requests/(\d+)/pipelines", path)) and method == "GET":
            ids = sorted(self.mr_pipelines.get(int(m[1]), []), reverse=True)
            return self._listing(
                [self._pipeline(self.pipelines[i], short=True) for i in ids], request
            )
        if (
            m := re.fullmatch(r"/repository/commits/([0-9a-f]+)/merge_requests", path)
        ) and method == "GET":
            iids = self.requests_by_commit.get(m[1], [])
            return self._listing([self.merge_requests[i] for i in iids], request)
        if path == "/repository/compare" and method == "GET":
            key = (request.query.get("from", [""])[0], request.query.get("to", [""])[0])
            added = self.pushes.get(key)
            if added is None:
                return Reply(404, {"message": "404 Not found"})
            return Reply(
                200,
                {
                    "commit": {"id": key[1]},
                    "commits": [{"id": s, "title": "m"} for s in added],
                    "diffs": [],
                    "compare_timeout": False,
                },
            )
        if (m := re.fullmatch(r"/pipelines/(\d+)", path)) and method == "GET":
            found = self.pipelines.get(int(m[1]))
            return (
                Reply(200, self._pipeline(found))
                if found
                else Reply(404, {"message": "404 Not found"})
            )
        if (m := re.fullmatch(r"/pipelines/(\d+)/jobs", path)) and method == "GET":
            found = self.pipelines.get(int(m[1]))
            if found is None:
                return Reply(404, {"message": "404 Not found"})
            return self._listing(found.jobs, request)
        if (m := re.fullmatch(r"/jobs/(\d+)/artifacts/(.+)", path)) and method == "GET":
            content = self.files.get((int(m[1]), m[2]))
            if content is None:
                return Reply(404, {"message": "404 Not Found"})
            return Reply(200, raw=content, content_type="application/octet-stream")
        if path == "/issues" and method == "GET":
            return self._listing([self.issues[i] for i in sorted(self.issues)], request)
        if path == "/issues" and method == "POST":
            iid = max([0, *self.issues]) + 1
            self.issues[iid] = {
                "iid": iid,
                "id": 9000 + iid,
                "title": body["title"],
                "description": body["description"],
                "state": "opened",
                "web_url": f"{self.url}/issues/{iid}",
            }
            return Reply(201, self.issues[iid])
        if (m := re.fullmatch(r"/issues/(\d+)", path)) and method == "PUT":
            issue = self.issues.get(int(m[1]))
            if issue is None:
                return Reply(404, {"message": "404 Not found"})
            event = body.pop("state_event", None)
            issue.update(body)
            if event == "reopen":
                issue["state"] = "opened"
            if event == "close":
                issue["state"] = "closed"
            return Reply(200, issue)
        return Reply(404, {"message": "404 Not Found"})

    def add_issue(
        self, iid: int, description: str, *, state: str = "opened", title: str = "t"
    ) -> None:
        self.issues[iid] = {
            "iid": iid,
            "id": 9000 + iid,
            "title": title,
            "description": description,
            "state": state,
            "web_url": f"{self.url}/issues/{iid}",
        }

    def _note(self, note_id: int, note: dict[str, Any]) -> dict[str, Any]:
        author = note["author"]
        return {
            "id": note_id,
            "body": note["body"],
            "system": note["system"],
            "noteable_type": "MergeRequest",
            "noteable_iid": note["mr"],
            "author": {"id": author, "username": f"user{author}"},
        }

    def _pipeline(self, pipeline: Pipeline, *, short: bool = False) -> dict[str, Any]:
        data = {
            "id": pipeline.id,
            "iid": pipeline.id - 1000,
            "project_id": pipeline.project_id,
            "sha": pipeline.sha,
            "ref": pipeline.ref,
            "status": "success",
            "source": pipeline.source,
            "web_url": f"{self.url}/pipelines/{pipeline.id}",
        }
        if not short:
            data["before_sha"] = "0" * 40
            data["tag"] = False
        return data


@contextmanager
def gitlab_env(monkeypatch: Any) -> Iterator[GitLabStandIn]:
    """The stand-in over loopback, with the variables GitLab CI/CD sets pointing at it."""
    standin = GitLabStandIn()
    with serving(standin, PREFIX):
        monkeypatch.setenv("GITLAB_CI", "true")
        monkeypatch.setenv("CI_API_V4_URL", standin.url)
        monkeypatch.setenv("CI_PROJECT_ID", str(PROJECT_ID))
        monkeypatch.setenv("LICSYNC_GITLAB_TOKEN", TOKEN)
        yield standin


__all__ += ["Canned"]
