"""A stand-in for exactly the GitHub REST endpoints ``licsync github`` uses, over loopback.

Two real HTTP servers on free ports: the API (``/repos/{owner}/{repo}/…``) and a "blob storage"
host that artifact downloads are redirected to, as GitHub does. State is in memory: pull
requests, comments, issues, artifacts (real zip bytes). Every request is recorded (method, path,
query, headers) on the server that got it. Pagination follows GitHub: ``per_page`` (default 30,
at most 100), ``page``, and a ``Link`` header with ``rel="next"``/``rel="last"``. ``script``
queues canned answers (rate limits, HTML, garbage) for the next requests matching a path.
"""

from __future__ import annotations

import io
import json
import re
import ssl
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from forge_standin import (
    Canned,
    Recorded,
    Reply,
    StandIn,
    loopback,
    page_links,
    page_of,
    serving,
)

__all__ = [
    "BOT",
    "OWNER",
    "PLAN_WORKFLOW",
    "REPO",
    "REPO_PATH",
    "TOKEN",
    "Canned",
    "GitHubStandIn",
    "Recorded",
    "github_env",
    "plan_zip",
    "serve",
]

TOKEN = "ghs_standinTOKEN0123456789abcdefSECRET"
OWNER, REPO = "acme", "licences"
REPO_PATH = f"/repos/{OWNER}/{REPO}"
BOT = "github-actions[bot]"


def _user_type(login: str) -> str:
    return "Bot" if login.endswith("[bot]") else "User"


PLAN_WORKFLOW = ".github/workflows/licenses-plan.yml"
REPOSITORY_ID = 4242


@dataclass
class Run:
    """A workflow run as ``GET /repos/{o}/{r}/actions/runs/{id}`` shows it (the fields used)."""

    id: int
    path: str = PLAN_WORKFLOW
    event: str = "pull_request"
    head_sha: str = ""
    head_repository: str = f"{OWNER}/{REPO}"
    pull_requests: tuple[int, ...] | None = None  # None: the open or merged pulls of head_sha
    repository: str = f"{OWNER}/{REPO}"


@dataclass
class Artifact:
    id: int
    name: str
    head_sha: str
    zip: bytes
    expired: bool = False
    created_at: str = "2026-11-20T09:00:00Z"
    run_id: int | None = None


def plan_zip(
    plan_json: bytes | str, *, name: str = "plan.json", extra: dict[str, bytes] | None = None
) -> bytes:
    """A zip as actions/upload-artifact makes it: ``plan.json`` at the top."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, plan_json)
        for other, content in (extra or {}).items():
            archive.writestr(other, content)
    return buffer.getvalue()


class GitHubStandIn(StandIn):
    """In-memory GitHub for one repository; ``url`` is the API root, ``blob_url`` the blob host."""

    def __init__(self) -> None:
        super().__init__()
        self.blob_requests: list[Recorded] = []
        self.comments: dict[int, dict[str, Any]] = {}  # id -> {issue, body, user}
        self.issues: dict[int, dict[str, Any]] = {}  # number -> issue (pull requests too)
        self.commit_pulls: dict[str, list[int]] = {}
        self.artifacts: list[Artifact] = []
        self.runs: dict[int, Run] = {}
        self.pushes: dict[tuple[str, str], list[str]] = {}  # (before, after) -> commits added
        self.blob_url = ""
        self.blob_redirect: Callable[[Artifact], str] | None = None
        self.prefix = ""  # "/api/v3" for GitHub Enterprise Server
        self.others_editable = True  # False: PATCH of another user's comment is 403
        self.link_origin = ""  # set: pagination links point there (a hostile next page)

    # --- state builders -----------------------------------------------------------------

    def add_pull(
        self,
        number: int,
        *,
        head_sha: str,
        merge_sha: str | None = None,
        merged: bool = True,
        commits: tuple[str, ...] = (),
    ) -> None:
        """A pull request; ``merge_sha`` and ``commits`` list it under those commits."""
        self.issues[number] = {
            "number": number,
            "title": f"PR {number}",
            "state": "closed" if merged else "open",
            "body": "",
            "pull_request": {"url": f"{self.url}/repos/{OWNER}/{REPO}/pulls/{number}"},
            "head": {"sha": head_sha, "ref": f"branch-{number}"},
            "merged_at": "2026-11-20T10:00:00Z" if merged else None,
            "merge_commit_sha": merge_sha,
        }
        for sha in {*commits, *([merge_sha] if merge_sha else [])}:
            self.commit_pulls.setdefault(sha, []).append(number)

    def add_comment(self, issue: int, body: str, *, user: str = "someone") -> int:
        comment_id = self.new_id()
        self.comments[comment_id] = {"issue": issue, "body": body, "user": user}
        return comment_id

    def add_issue(self, number: int, body: str, *, state: str = "open", title: str = "t") -> None:
        self.issues[number] = {"number": number, "title": title, "state": state, "body": body}

    def add_run(self, **kw: Any) -> Run:
        run = Run(self.new_id(), **kw)
        self.runs[run.id] = run
        return run

    def add_artifact(
        self, name: str, head_sha: str, zip_bytes: bytes, *, run: Run | None = None, **kw: Any
    ) -> Artifact:
        """An artifact; without ``run``, uploaded by a run of the plan workflow for the pull
        requests whose head is ``head_sha`` (as a plan run on a pull request is)."""
        if run is None:
            run = self.add_run(head_sha=head_sha)
        artifact = Artifact(self.new_id(), name, head_sha, zip_bytes, run_id=run.id, **kw)
        self.artifacts.append(artifact)
        return artifact

    def add_plan_comment(self, pull: int, plan_json: bytes | str, *, user: str = BOT) -> int:
        """The sticky plan comment of the plan's site and checksum, as ``github comment``
        writes its first line."""
        plan = json.loads(plan_json)
        marker = f"<!-- licsync:plan site={plan['site']} checksum={plan['checksum']} -->"
        return self.add_comment(pull, f"{marker}\n## plan", user=user)

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for _, c in sorted(self.comments.items()) if c["issue"] == issue]

    # --- serving ------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        if not request.path.startswith(self.prefix + "/"):
            return _NOT_FOUND
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "Bad credentials"})
        path = request.path[len(self.prefix) :]
        if not path.startswith(REPO_PATH + "/"):
            return _NOT_FOUND
        return self._route(request, path[len(REPO_PATH) :])

    def blob(self, request: Recorded) -> Reply:
        """The blob host: an artifact's zip at the address its download redirects to."""
        self.blob_requests.append(request)
        m = re.fullmatch(r"/blob/(\d+)", request.path)
        found = [a for a in self.artifacts if m and a.id == int(m[1])]
        if not found:
            return Reply(404, raw=b"no such blob")
        return Reply(200, raw=found[0].zip, content_type="application/zip")

    def _listing(self, request: Recorded, items: list[Any], wrap: str | None = None) -> Reply:
        shown, page, last = page_of(items, request.query, default=30)
        headers = page_links(self.link_origin or self.origin, request, page, last)
        data = {"total_count": len(items), wrap: shown} if wrap else shown
        return Reply(200, data, headers)

    def _route_provenance(self, method: str, path: str) -> Reply | None:
        """The run behind an artifact and the commits of a push."""
        if (m := re.fullmatch(r"/actions/runs/(\d+)", path)) and method == "GET":
            run = self.runs.get(int(m[1]))
            if run is None:
                return _NOT_FOUND
            return Reply(200, _run_json(run, self.url, self.issues))
        if (m := re.fullmatch(r"/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", path)) and method == "GET":
            added = self.pushes.get((m[1], m[2]))
            if added is None:
                return _NOT_FOUND
            commits = [{"sha": sha, "commit": {"message": "m"}} for sha in added]
            return Reply(200, {"status": "ahead", "total_commits": len(added), "commits": commits})
        return None

    def _route(self, request: Recorded, path: str) -> Reply:
        method, query, body, api = request.method, request.query, request.body, self.url
        if (provenance := self._route_provenance(method, path)) is not None:
            return provenance
        if m := re.fullmatch(r"/issues/(\d+)/comments", path):
            issue = int(m[1])
            if method == "GET":
                items = [
                    {
                        "id": cid,
                        "body": c["body"],
                        "user": {"login": c["user"], "type": _user_type(c["user"])},
                        "html_url": f"{api}/c/{cid}",
                    }
                    for cid, c in sorted(self.comments.items())
                    if c["issue"] == issue
                ]
                return self._listing(request, items)
            if method == "POST":
                cid = self.new_id()
                self.comments[cid] = {"issue": issue, "body": body["body"], "user": BOT}
                return Reply(201, {"id": cid, "body": body["body"], "html_url": f"{api}/c/{cid}"})
        if (m := re.fullmatch(r"/issues/comments/(\d+)", path)) and method == "PATCH":
            cid = int(m[1])
            if cid not in self.comments:
                return _NOT_FOUND
            if not self.others_editable and self.comments[cid]["user"] != BOT:
                return Reply(403, {"message": "Resource not accessible by integration"})
            self.comments[cid]["body"] = body["body"]
            return Reply(200, {"id": cid, "body": body["body"], "html_url": f"{api}/c/{cid}"})
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
            pulls = [self.issues[n] for n in self.commit_pulls.get(m[1], [])]
            return self._listing(request, pulls)
        if path == "/actions/artifacts" and method == "GET":
            name = query.get("name", [None])[0]
            items = [
                {
                    "id": a.id,
                    "name": a.name,
                    "expired": a.expired,
                    "created_at": a.created_at,
                    "size_in_bytes": len(a.zip),
                    "archive_download_url": f"{api}{REPO_PATH}/actions/artifacts/{a.id}/zip",
                    "workflow_run": {
                        "id": a.run_id,
                        "repository_id": REPOSITORY_ID,
                        "head_sha": a.head_sha,
                    },
                }
                for a in self.artifacts
                if name is None or a.name == name
            ]
            return self._listing(request, items, wrap="artifacts")
        if (m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", path)) and method == "GET":
            found = [a for a in self.artifacts if a.id == int(m[1])]
            if not found:
                return _NOT_FOUND
            if found[0].expired:
                return Reply(410, {"message": "Artifact has expired"})
            target = (
                self.blob_redirect(found[0])
                if self.blob_redirect
                else f"{self.blob_url}/blob/{found[0].id}?sig=signed-secret"
            )
            return Reply(302, headers={"Location": target})
        if path == "/issues" and method == "GET":
            return self._listing(request, [self.issues[n] for n in sorted(self.issues)])
        if path == "/issues" and method == "POST":
            number = max([0, *self.issues]) + 1
            self.issues[number] = {
                "number": number,
                "title": body["title"],
                "body": body["body"],
                "state": "open",
                "html_url": f"{api}/i/{number}",
            }
            return Reply(201, self.issues[number])
        if (m := re.fullmatch(r"/issues/(\d+)", path)) and method == "PATCH":
            found_issue = self.issues.get(int(m[1]))
            if found_issue is None:
                return _NOT_FOUND
            found_issue.update(body)
            return Reply(200, {**found_issue, "html_url": f"{api}/i/{found_issue['number']}"})
        return _NOT_FOUND


_NOT_FOUND = Reply(404, {"message": "Not Found"})


def _run_json(run: Run, api: str, issues: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A run's answer: the fields GitHub documents, the ones licsync checks filled in."""

    def repository(full_name: str) -> dict[str, Any]:
        same = full_name == f"{OWNER}/{REPO}"
        return {
            "id": REPOSITORY_ID if same else REPOSITORY_ID + 1,
            "full_name": full_name,
            "fork": not same,
        }

    # GitHub lists a run's pull requests only when its head is in this repository.
    standin_pulls = [
        {
            "number": n,
            "url": f"{api}{REPO_PATH}/pulls/{n}",
            "head": {"sha": run.head_sha, "ref": f"branch-{n}", "repo": {"id": REPOSITORY_ID}},
            "base": {"sha": "0" * 40, "ref": "main", "repo": {"id": REPOSITORY_ID}},
        }
        for n in (
            run.pull_requests
            if run.pull_requests is not None
            else [
                n
                for n, i in sorted(issues.items())
                if isinstance(i.get("head"), dict) and i["head"]["sha"] == run.head_sha
            ]
        )
    ]
    return {
        "id": run.id,
        "name": "licenses-plan",
        "path": run.path,
        "event": run.event,
        "status": "completed",
        "conclusion": "success",
        "head_sha": run.head_sha,
        "head_branch": "feature",
        "run_attempt": 1,
        "pull_requests": standin_pulls,
        "repository": repository(run.repository),
        "head_repository": repository(run.head_repository),
        "html_url": f"{api}/runs/{run.id}",
    }


@contextmanager
def serve(prefix: str = "", tls: ssl.SSLContext | None = None) -> Iterator[GitHubStandIn]:
    """A running stand-in: the API (under ``prefix``; over TLS with ``tls``, as GitHub
    Enterprise Server with its own certificate) and the blob host, each on a free loopback
    port."""
    standin = GitHubStandIn()
    standin.prefix = prefix
    with serving(standin, prefix, tls), loopback(standin.blob) as blob_url:
        standin.blob_url = blob_url
        yield standin


@contextmanager
def github_env(monkeypatch: Any, prefix: str = "") -> Iterator[GitHubStandIn]:
    """A running stand-in with the variables Actions would set pointing at it."""
    with serve(prefix) as standin:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{REPO}")
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        yield standin
