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
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_standinTOKEN0123456789abcdefSECRET"
OWNER, REPO = "acme", "licences"
REPO_PATH = f"/repos/{OWNER}/{REPO}"
BOT = "github-actions[bot]"


def _user_type(login: str) -> str:
    return "Bot" if login.endswith("[bot]") else "User"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any = None


@dataclass
class Canned:
    """An answer given instead of the real one, to the next request whose path matches."""

    path: str  # a regular expression, matched against the path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    method: str | None = None


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


class GitHubStandIn:
    """In-memory GitHub for one repository; ``url`` is the API root, ``blob_url`` the blob host."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.blob_requests: list[Recorded] = []
        self.comments: dict[int, dict[str, Any]] = {}  # id -> {issue, body, user}
        self.issues: dict[int, dict[str, Any]] = {}  # number -> issue (pull requests too)
        self.commit_pulls: dict[str, list[int]] = {}
        self.artifacts: list[Artifact] = []
        self.runs: dict[int, Run] = {}
        self.pushes: dict[tuple[str, str], list[str]] = {}  # (before, after) -> commits added
        self.canned: list[Canned] = []
        self.next_id = 1000
        self.url = ""
        self.blob_url = ""
        self.blob_redirect: Callable[[Artifact], str] | None = None
        self.prefix = ""  # "/api/v3" for GitHub Enterprise Server
        self.others_editable = True  # False: PATCH of another user's comment is 403
        self.link_origin = ""  # set: pagination links point there (a hostile next page)

    # --- state builders -----------------------------------------------------------------

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

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
        comment_id = self._id()
        self.comments[comment_id] = {"issue": issue, "body": body, "user": user}
        return comment_id

    def add_issue(self, number: int, body: str, *, state: str = "open", title: str = "t") -> None:
        self.issues[number] = {"number": number, "title": title, "state": state, "body": body}

    def add_run(self, **kw: Any) -> Run:
        run = Run(self._id(), **kw)
        self.runs[run.id] = run
        return run

    def add_artifact(
        self, name: str, head_sha: str, zip_bytes: bytes, *, run: Run | None = None, **kw: Any
    ) -> Artifact:
        """An artifact; without ``run``, uploaded by a run of the plan workflow for the pull
        requests whose head is ``head_sha`` (as a plan run on a pull request is)."""
        if run is None:
            run = self.add_run(head_sha=head_sha)
        artifact = Artifact(self._id(), name, head_sha, zip_bytes, run_id=run.id, **kw)
        self.artifacts.append(artifact)
        return artifact

    def add_plan_comment(self, pull: int, plan_json: bytes | str, *, user: str = BOT) -> int:
        """The sticky plan comment of the plan's site and checksum, as ``github comment``
        writes its first line."""
        plan = json.loads(plan_json)
        marker = f"<!-- licsync:plan site={plan['site']} checksum={plan['checksum']} -->"
        return self.add_comment(pull, f"{marker}\n## plan", user=user)

    def script(self, canned: Canned) -> None:
        self.canned.append(canned)

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for _, c in sorted(self.comments.items()) if c["issue"] == issue]

    # --- serving ------------------------------------------------------------------------

    def take_canned(self, method: str, path: str) -> Canned | None:
        with self.lock:
            for index, canned in enumerate(self.canned):
                if re.search(canned.path, path) and canned.method in (None, method):
                    return self.canned.pop(index)
        return None


def _page(items: list[Any], query: dict[str, list[str]]) -> tuple[list[Any], int, int]:
    per_page = min(int(query.get("per_page", ["30"])[0]), 100)
    page = int(query.get("page", ["1"])[0])
    last = max(1, -(-len(items) // per_page))
    return items[(page - 1) * per_page : page * per_page], page, last


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(
        self,
        status: int,
        data: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        body = raw if raw is not None else (b"" if data is None else json.dumps(data).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        record = Recorded(
            self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body
        )
        standin = self.server.standin
        if self.server.blob:
            standin.blob_requests.append(record)
            self._blob(parts.path)
            return
        standin.requests.append(record)
        if not parts.path.startswith(standin.prefix + "/"):
            self._reply(404, {"message": "Not Found"})
            return
        parts = parts._replace(path=parts.path[len(standin.prefix) :])
        canned = standin.take_canned(self.command, parts.path)
        if canned is not None:
            self._reply(canned.status, headers=canned.headers, raw=canned.body)
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Bad credentials"})
            return
        prefix = f"/repos/{OWNER}/{REPO}"
        if not parts.path.startswith(prefix + "/"):
            self._reply(404, {"message": "Not Found"})
            return
        with standin.lock:
            self._route(self.command, parts.path[len(prefix) :], query, body)

    def _listing(
        self, items: list[Any], query: dict[str, list[str]], wrap: str | None = None
    ) -> None:
        shown, page, last = _page(items, query)
        links = []
        standin = self.server.standin
        origin = standin.link_origin or standin.url.removesuffix(standin.prefix)
        base = f"{origin}{urlsplit(self.path).path}"
        rest = {k: v[0] for k, v in query.items() if k != "page"}
        tail = "".join(f"&{k}={v}" for k, v in rest.items())
        if page < last:
            links.append(f'<{base}?page={page + 1}{tail}>; rel="next"')
            links.append(f'<{base}?page={last}{tail}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        data = {"total_count": len(items), wrap: shown} if wrap else shown
        self._reply(200, data, headers)

    def _route_provenance(self, method: str, path: str) -> bool:
        """The run behind an artifact and the commits of a push; True when answered."""
        standin = self.server.standin
        api = standin.url
        if (m := re.fullmatch(r"/actions/runs/(\d+)", path)) and method == "GET":
            run = standin.runs.get(int(m[1]))
            if run is None:
                self._reply(404, {"message": "Not Found"})
                return True
            self._reply(200, _run_json(run, api, standin.issues))
            return True
        if (m := re.fullmatch(r"/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", path)) and method == "GET":
            added = standin.pushes.get((m[1], m[2]))
            if added is None:
                self._reply(404, {"message": "Not Found"})
                return True
            commits = [{"sha": sha, "commit": {"message": "m"}} for sha in added]
            self._reply(200, {"status": "ahead", "total_commits": len(added), "commits": commits})
            return True
        return False

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        standin = self.server.standin
        api = standin.url
        if self._route_provenance(method, path):
            return
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
                    for cid, c in sorted(standin.comments.items())
                    if c["issue"] == issue
                ]
                self._listing(items, query)
                return
            if method == "POST":
                cid = standin._id()
                standin.comments[cid] = {
                    "issue": issue,
                    "body": body["body"],
                    "user": BOT,
                }
                self._reply(201, {"id": cid, "body": body["body"], "html_url": f"{api}/c/{cid}"})
                return
        if (m := re.fullmatch(r"/issues/comments/(\d+)", path)) and method == "PATCH":
            cid = int(m[1])
            if cid not in standin.comments:
                self._reply(404, {"message": "Not Found"})
                return
            if not standin.others_editable and standin.comments[cid]["user"] != BOT:
                self._reply(403, {"message": "Resource not accessible by integration"})
                return
            standin.comments[cid]["body"] = body["body"]
            self._reply(200, {"id": cid, "body": body["body"], "html_url": f"{api}/c/{cid}"})
            return
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
            pulls = [standin.issues[n] for n in standin.commit_pulls.get(m[1], [])]
            self._listing(pulls, query)
            return
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
                for a in standin.artifacts
                if name is None or a.name == name
            ]
            self._listing(items, query, wrap="artifacts")
            return
        if (m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", path)) and method == "GET":
            found = [a for a in standin.artifacts if a.id == int(m[1])]
            if not found or found[0].expired:
                self._reply(
                    410 if found else 404,
                    {"message": "Artifact has expired" if found else "Not Found"},
                )
                return
            target = (
                standin.blob_redirect(found[0])
                if standin.blob_redirect
                else f"{standin.blob_url}/blob/{found[0].id}?sig=signed-secret"
            )
            self._reply(302, headers={"Location": target})
            return
        if path == "/issues" and method == "GET":
            items = [standin.issues[n] for n in sorted(standin.issues)]
            self._listing(items, query)
            return
        if path == "/issues" and method == "POST":
            number = max([0, *standin.issues]) + 1
            standin.issues[number] = {
                "number": number,
                "title": body["title"],
                "body": body["body"],
                "state": "open",
                "html_url": f"{api}/i/{number}",
            }
            self._reply(201, standin.issues[number])
            return
        if (m := re.fullmatch(r"/issues/(\d+)", path)) and method == "PATCH":
            issue = standin.issues.get(int(m[1]))
            if issue is None:
                self._reply(404, {"message": "Not Found"})
                return
            issue.update(body)
            self._reply(200, {**issue, "html_url": f"{api}/i/{issue['number']}"})
            return
        self._reply(404, {"message": "Not Found"})

    def _blob(self, path: str) -> None:
        m = re.fullmatch(r"/blob/(\d+)", path)
        found = [a for a in self.server.standin.artifacts if m and a.id == int(m[1])]
        if not found:
            self._reply(404, raw=b"no such blob")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(found[0].zip)))
        self.end_headers()
        self.wfile.write(found[0].zip)

    do_GET = do_POST = do_PATCH = _handle


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: GitHubStandIn, *, blob: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin
        self.blob = blob


@contextmanager
def serve(prefix: str = "", tls: ssl.SSLContext | None = None) -> Iterator[GitHubStandIn]:
    """A running stand-in: the API (under ``prefix``; over TLS with ``tls``, as GitHub
    Enterprise Server with its own certificate) and the blob host, each on a free loopback
    port."""
    standin = GitHubStandIn()
    standin.prefix = prefix
    api = _Server(standin, blob=False)
    blob = _Server(standin, blob=True)
    if tls is not None:
        api.socket = tls.wrap_socket(api.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    standin.url = f"{scheme}://127.0.0.1:{api.server_address[1]}{prefix}"
    standin.blob_url = f"http://127.0.0.1:{blob.server_address[1]}"
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in (api, blob)
    ]
    for thread in threads:
        thread.start()
    try:
        yield standin
    finally:
        for server in (api, blob):
            server.shutdown()
            server.server_close()


@contextmanager
def github_env(monkeypatch: Any, prefix: str = "") -> Iterator[GitHubStandIn]:
    """A running stand-in with the variables Actions would set pointing at it."""
    with serve(prefix) as standin:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{REPO}")
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        yield standin
