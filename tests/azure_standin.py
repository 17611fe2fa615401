"""A stand-in for the Azure DevOps REST API 7.1 endpoints ``licsync ci --forge azure`` uses,
over loopback: pull-request threads, the pull request query, commits between two versions,
builds (paged by ``x-ms-continuationtoken``), their artifacts and definitions, container
downloads (zips holding ``NAME/plan.json``), WIQL, work items and their type's states,
``connectionData``. Every request must carry ``api-version``; the token is a bearer token.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from forge_standin import Canned, Recorded, Reply, StandIn, serving

__all__ = ["IDENTITY", "REPOSITORY_ID", "TOKEN", "AzureStandIn", "Canned", "azure_env"]

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.standinAZURE.SECRETsignature"
ORG, PROJECT = "fabrikam", "Qlik Licences"
REPOSITORY_ID = "3411ebc1-d5aa-464f-9615-0b527bc66719"
IDENTITY = "0d7a8f2e-1111-2222-3333-444455556666"  # the project's build service identity
BUILDS_PAGE = 2  # builds are answered two at a time, then a continuation token
STATES = [
    {"name": "To Do", "category": "Proposed"},
    {"name": "Doing", "category": "InProgress"},
    {"name": "Done", "category": "Completed"},
]


@dataclass
class Build:
    id: int
    number: int
    head_sha: str
    yaml: str = "azure-pipelines.yml"
    reason: str = "pullRequest"
    fork: bool = False
    repository: str = REPOSITORY_ID
    branch: str = ""
    artifacts: dict[str, bytes] | None = None


def artifact_zip(name: str, plan_json: bytes | str) -> bytes:
    """A build artifact as the container download zips it: ``NAME/plan.json``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/plan.json", plan_json)
    return buffer.getvalue()


class AzureStandIn(StandIn):
    """In-memory Azure DevOps for one repository; ``url`` is ``SYSTEM_COLLECTIONURI``."""

    def __init__(self) -> None:
        super().__init__()
        self.pulls: dict[int, dict[str, Any]] = {}
        self.threads: dict[int, dict[str, Any]] = {}  # id -> {pr, comments: [..]}
        self.builds: dict[int, Build] = {}
        self.definitions: dict[str, int] = {}
        self.work_items: dict[int, dict[str, Any]] = {}
        self.pushes: dict[tuple[str, str], list[str]] = {}
        self.containers: dict[int, bytes] = {}

    # --- state builders -----------------------------------------------------------------

    def add_pull(
        self, number: int, *, head_sha: str, merge_sha: str | None, completed: bool = True
    ) -> None:
        self.pulls[number] = {
            "pullRequestId": number,
            "status": "completed" if completed else "active",
            "repository": {"id": REPOSITORY_ID, "name": "licences"},
            "sourceRefName": f"refs/heads/branch-{number}",
            "targetRefName": "refs/heads/main",
            "lastMergeSourceCommit": {"commitId": head_sha},
            "lastMergeTargetCommit": {"commitId": "0" * 40},
            "lastMergeCommit": {"commitId": merge_sha or "f" * 40},
        }

    def add_plan_build(self, number: int, site: str, plan_json: bytes | str, **kw: Any) -> Build:
        """A build of pull request ``number`` that published ``licsync-plan-<site>-<head>``."""
        head = kw.pop("head_sha", None) or self.pulls[number]["lastMergeSourceCommit"]["commitId"]
        build = Build(self.new_id(), number, head, **kw)
        name = f"licsync-plan-{site}-{head}"
        build.artifacts = {name: artifact_zip(name, plan_json)}
        self.builds[build.id] = build
        return build

    def add_comment_thread(
        self, number: int, content: str, *, author: str = IDENTITY, kind: str = "text"
    ) -> int:
        thread_id = self.new_id()
        self.threads[thread_id] = {
            "pr": number,
            "comments": [{"id": 1, "content": content, "author": author, "commentType": kind}],
        }
        return thread_id

    def add_plan_thread(
        self, number: int, plan_json: bytes | str, *, author: str = IDENTITY
    ) -> int:
        plan = json.loads(plan_json)
        marker = f"<!-- licsync:plan site={plan['site']} checksum={plan['checksum']} -->"
        return self.add_comment_thread(number, f"{marker}\n## plan", author=author)

    def add_work_item(
        self, item_id: int, *, tags: str, state: str = "To Do", title: str = "t"
    ) -> None:
        self.work_items[item_id] = {
            "System.Title": title,
            "System.Description": "",
            "System.Tags": tags,
            "System.State": state,
            "System.WorkItemType": "Issue",
        }

    # --- serving --------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            # Azure DevOps answers an anonymous API call with a sign-in page (203) or 401.
            return Reply(401, raw=b"<html>Sign in</html>", content_type="text/html")
        # Every API call names its version; a download URL the service gave is used as given.
        if "api-version" not in request.query and "/_apis/resources/" not in request.path:
            return Reply(400, {"message": "No api-version was supplied for the request."})
        path = unquote(request.path)
        org = f"/{ORG}"
        if not path.startswith(org + "/"):
            return Reply(404, {"message": "not found"})
        path = path[len(org) :]
        if path == "/_apis/connectionData":
            return Reply(
                200, {"authenticatedUser": {"id": IDENTITY, "providerDisplayName": "Build Service"}}
            )
        project = f"/{PROJECT}"
        if not path.startswith(project + "/"):
            return Reply(404, {"message": "TF200016: The project does not exist"})
        path = path[len(project) :]
        repo = f"/_apis/git/repositories/{REPOSITORY_ID}"
        if path.startswith(repo):
            return self._git(request.method, path[len(repo) :], request)
        if path.startswith("/_apis/build/"):
            return self._build(request.method, path[len("/_apis/build") :], request)
        if path.startswith("/_apis/wit/"):
            return self._wit(request.method, path[len("/_apis/wit") :], request)
        if m := re.fullmatch(r"/_apis/resources/Containers/(\d+)", path):
            content = self.containers.get(int(m[1]))
            if content is None or request.query.get("$format") != ["zip"]:
                return Reply(404, {"message": "not found"})
            return Reply(200, raw=content, content_type="application/zip")
        return Reply(404, {"message": "not found"})

    def _git(self, method: str, path: str, request: Recorded) -> Reply:
        body = request.body
        if m := re.fullmatch(r"/pullRequests/(\d+)/threads", path):
            number = int(m[1])
            if number not in self.pulls:
                return Reply(
                    404, {"message": "TF401180: The requested pull request was not found."}
                )
            if method == "GET":
                value = [
                    self._thread(t, d) for t, d in sorted(self.threads.items()) if d["pr"] == number
                ]
                return Reply(200, {"value": value, "count": len(value)})
            if method == "POST":
                first = body["comments"][0]
                thread_id = self.add_comment_thread(number, first["content"])
                self.threads[thread_id]["status"] = body.get("status")
                return Reply(200, self._thread(thread_id, self.threads[thread_id]))
        if (
            m := re.fullmatch(r"/pullRequests/(\d+)/threads/(\d+)/comments/(\d+)", path)
        ) and method == "PATCH":
            thread = self.threads.get(int(m[2]))
            if thread is None or thread["pr"] != int(m[1]):
                return Reply(404, {"message": "not found"})
            comment = thread["comments"][int(m[3]) - 1]
            if comment["author"] != IDENTITY:
                return Reply(403, {"message": "TF401027: You need the Git 'Contribute' permission"})
            comment["content"] = body["content"]
            return Reply(200, self._comment(comment))
        if path == "/pullrequestquery" and method == "POST":
            query = body["queries"][0]
            if query["type"] != "lastMergeCommit":
                return Reply(400, {"message": "unsupported"})
            result = {
                sha: [p for p in self.pulls.values() if p["lastMergeCommit"]["commitId"] == sha]
                for sha in query["items"]
            }
            return Reply(200, {"queries": body["queries"], "results": [result]})
        if path == "/commits" and method == "GET":
            key = (
                request.query.get("searchCriteria.compareVersion.version", [""])[0],
                request.query.get("searchCriteria.itemVersion.version", [""])[0],
            )
            added = self.pushes.get(key)
            if added is None:
                return Reply(
                    404, {"message": "TF401175: The version descriptor could not be resolved"}
                )
            value = [{"commitId": sha, "comment": "m"} for sha in reversed(added)]
            return Reply(200, {"count": len(value), "value": value})
        return Reply(404, {"message": "not found"})

    def _build(self, method: str, path: str, request: Recorded) -> Reply:
        if path == "/builds" and method == "GET":
            branch = request.query.get("branchName", [""])[0]
            reason = request.query.get("reasonFilter", [""])[0]
            found = [
                self._build_json(b)
                for b in sorted(self.builds.values(), key=lambda b: b.id, reverse=True)
                if (not branch or (b.branch or f"refs/pull/{b.number}/merge") == branch)
                and (not reason or b.reason == reason)
            ]
            start = int(request.query.get("continuationToken", ["0"])[0])
            shown = found[start : start + BUILDS_PAGE]
            headers = (
                {"x-ms-continuationtoken": str(start + BUILDS_PAGE)}
                if start + BUILDS_PAGE < len(found)
                else {}
            )
            return Reply(200, {"count": len(shown), "value": shown}, headers)
        if (m := re.fullmatch(r"/builds/(\d+)/artifacts", path)) and method == "GET":
            build = self.builds.get(int(m[1]))
            name = request.query.get("artifactName", [""])[0]
            if build is None or not build.artifacts or name not in build.artifacts:
                return Reply(404, {"message": f"Artifact {name} was not found for build {m[1]}."})
            container = self.new_id()
            self.containers[container] = build.artifacts[name]
            url = (
                f"{self.url}/{quote(PROJECT)}/_apis/resources/Containers/{container}"
                f"?itemPath={name}&$format=zip"
            )
            return Reply(
                200,
                {
                    "id": container,
                    "name": name,
                    "resource": {
                        "type": "Container",
                        "data": f"#/{container}/{name}",
                        "downloadUrl": url,
                    },
                },
            )
        if (m := re.fullmatch(r"/definitions/(\d+)", path)) and method == "GET":
            for yaml, number in self.definitions.items():
                if number == int(m[1]):
                    return Reply(
                        200,
                        {
                            "id": number,
                            "name": yaml,
                            "path": "\\",
                            "process": {"type": 2, "yamlFilename": yaml},
                        },
                    )
            return Reply(404, {"message": "not found"})
        return Reply(404, {"message": "not found"})

    def _wit(self, method: str, path: str, request: Recorded) -> Reply:
        body = request.body
        if path == "/wiql" and method == "POST":
            m = re.search(r"\[System.Tags\] CONTAINS '([^']*)'", body["query"])
            wanted = m[1] if m else ""
            ids = [i for i, w in sorted(self.work_items.items()) if wanted in w["System.Tags"]]
            return Reply(
                200,
                {
                    "queryType": "flat",
                    "workItems": [{"id": i, "url": f"{self.url}/wi/{i}"} for i in ids],
                },
            )
        if m := re.fullmatch(r"/workitems/(\d+)", path):
            item = self.work_items.get(int(m[1]))
            if item is None:
                return Reply(404, {"message": "TF401232: Work item does not exist"})
            if method == "PATCH":
                if request.headers.get("content-type") != "application/json-patch+json":
                    return Reply(415, {"message": "unsupported media type"})
                for op in body:
                    item[op["path"].removeprefix("/fields/")] = op["value"]
            return Reply(200, self._item(int(m[1])))
        if (m := re.fullmatch(r"/workitems/\$(.+)", path)) and method == "POST":
            if request.headers.get("content-type") != "application/json-patch+json":
                return Reply(415, {"message": "unsupported media type"})
            item_id = max([0, *self.work_items]) + 1
            fields = {op["path"].removeprefix("/fields/"): op["value"] for op in body}
            self.work_items[item_id] = {
                "System.State": "To Do",
                "System.WorkItemType": m[1],
                **fields,
            }
            return Reply(200, self._item(item_id))
        if (m := re.fullmatch(r"/workitemtypes/([^/]+)/states", path)) and method == "GET":
            return Reply(200, {"count": len(STATES), "value": STATES})
        return Reply(404, {"message": "not found"})

    def _item(self, item_id: int) -> dict[str, Any]:
        return {
            "id": item_id,
            "rev": 1,
            "fields": self.work_items[item_id],
            "_links": {"html": {"href": f"{self.url}/{PROJECT}/_workitems/edit/{item_id}"}},
        }

    def _comment(self, comment: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": comment["id"],
            "parentCommentId": 0,
            "content": comment["content"],
            "commentType": comment["commentType"],
            "author": {"id": comment["author"], "displayName": "someone"},
        }

    def _thread(self, thread_id: int, thread: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": thread_id,
            "status": thread.get("status", "active"),
            "isDeleted": False,
            "comments": [self._comment(c) for c in thread["comments"]],
        }

    def _build_json(self, build: Build) -> dict[str, Any]:
        definition = self.definitions.setdefault(build.yaml, 100 + len(self.definitions))
        return {
            "id": build.id,
            "buildNumber": f"2026.{build.id}",
            "status": "completed",
            "result": "succeeded",
            "reason": build.reason,
            "sourceBranch": build.branch or f"refs/pull/{build.number}/merge",
            "sourceVersion": "e" * 40,
            "definition": {"id": definition, "name": build.yaml, "path": "\\"},
            "repository": {"id": build.repository, "type": "TfsGit"},
            "triggerInfo": {
                "pr.number": str(build.number),
                "pr.sourceSha": build.head_sha,
                "pr.isFork": "True" if build.fork else "False",
                "pr.sourceBranch": f"refs/heads/branch-{build.number}",
            },
        }


@contextmanager
def azure_env(monkeypatch: Any) -> Iterator[AzureStandIn]:
    """The stand-in over loopback, with the variables Azure Pipelines sets pointing at it."""
    standin = AzureStandIn()
    with serving(standin, f"/{ORG}"):
        monkeypatch.setenv("TF_BUILD", "True")
        monkeypatch.setenv("SYSTEM_COLLECTIONURI", standin.url + "/")
        monkeypatch.setenv("SYSTEM_TEAMPROJECT", PROJECT)
        monkeypatch.setenv("BUILD_REPOSITORY_ID", REPOSITORY_ID)
        monkeypatch.setenv("SYSTEM_ACCESSTOKEN", TOKEN)
        yield standin
