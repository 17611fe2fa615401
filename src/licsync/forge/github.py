"""GitHub (github.com and GitHub Enterprise Server) as a :class:`~licsync.forge.Forge`, over httpx.

Settings come from the variables Actions sets: ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY``
(``owner/name``) and ``GITHUB_API_URL`` (``https://api.github.com``; on Enterprise Server
``https://HOST/api/v3``). The token goes only to that origin: an artifact download's redirect
(to blob storage) is followed with a client that has no token, and a pagination link to any
other origin is refused. Rate limits are waited out as GitHub asks (``Retry-After``; else
``x-ratelimit-remaining: 0`` until ``x-ratelimit-reset``; a secondary limit without either: a
minute, doubling), each wait capped, a bounded number of times. Answers are read up to a cap.

Endpoints used (REST API version 2022-11-28):

- ``GET /repos/{o}/{r}/issues/{n}/comments``, ``POST`` there, ``PATCH .../issues/comments/{id}``
- ``GET /repos/{o}/{r}/commits/{sha}/pulls``, ``GET .../compare/{a}...{b}``,
  ``GET .../actions/runs/{id}`` (the reviewed plan's origin: :mod:`.github_reviewed`)
- ``GET /repos/{o}/{r}/actions/artifacts?name=…``, ``GET .../actions/artifacts/{id}/zip`` (302)
- ``GET /repos/{o}/{r}/issues?state=all``, ``POST /repos/{o}/{r}/issues``,
  ``PATCH /repos/{o}/{r}/issues/{n}``
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from licsync.errors import UsageError
from licsync.forge import Posted, ReviewedArtifact, fields, github_reviewed
from licsync.forge.rest import (
    DEFAULT_DEADLINE,
    MAX_JSON_BYTES,
    MAX_PAGES,
    Answer,
    RateLimitPolicy,
    RestApi,
    RestClient,
    api_url,
    error_body,
    token_value,
)
from licsync.qrs import retry
from licsync.textsafe import escape_text

__all__ = ["GitHub", "GitHubSettings", "RateLimitPolicy", "settings_from_env"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
SECONDARY_WAIT = 60.0
"""Seconds of the first wait on a secondary limit that names no time (GitHub: "wait at least
one minute"), doubled for each further one."""

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """Where the repository is and how to authenticate.

    Attributes:
        api_url: the REST API's root, without a trailing slash.
        owner / repo: the repository.
        token: never shown (its ``repr`` is hidden).
    """

    api_url: str
    owner: str
    repo: str
    token: str = field(repr=False)


def settings_from_env(env: Mapping[str, str]) -> GitHubSettings:
    """Settings from the environment as GitHub Actions sets it.

    Raises:
        UsageError: a variable is missing or not what Actions would set (the message names the
            variable, never the token's value).
    """
    token = token_value(
        env,
        ("GITHUB_TOKEN",),
        "in a workflow, pass it as `env: GITHUB_TOKEN: ${{ github.token }}`",
    )
    repository = env.get("GITHUB_REPOSITORY", "")
    # GitHub allows neither '.' nor '..' as an owner or a name; in a path they are another path.
    if not _REPOSITORY.fullmatch(repository) or {".", ".."} & set(repository.split("/")):
        shown = escape_text(repository) if repository else "(not set)"
        raise UsageError(f"GITHUB_REPOSITORY {shown!r}: expected OWNER/NAME as Actions sets it")
    owner, repo = repository.split("/")
    url = env.get("GITHUB_API_URL") or DEFAULT_API_URL
    return GitHubSettings(
        api_url=api_url(url, "GITHUB_API_URL", "https://HOST[/api/v3]"),
        owner=owner,
        repo=repo,
        token=token,
    )


class _GitHubApi(RestApi):
    """:class:`RestApi` in GitHub's dialect: its rate-limit answers, its error bodies, and
    request bodies encoded as httpx encodes them (compact UTF-8)."""

    def __init__(self, settings: GitHubSettings, **options: Any) -> None:
        super().__init__(
            "GitHub",
            settings.api_url,
            {
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
            token=settings.token,
            hints={
                401: " (is GITHUB_TOKEN valid?)",
                403: " (does the job's `permissions:` grant this?)",
                404: " (wrong GITHUB_REPOSITORY, or a token that cannot see it?)",
            },
            # rest's caps, looked up in this module as each client is made: a test lowers them
            # here for GitHub alone.
            max_json_bytes=MAX_JSON_BYTES,
            max_pages=MAX_PAGES,
            **options,
        )
        self.waits_as = "github"

    def _encode(self, body: Any) -> bytes:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    def _message(self, answer: Answer) -> str:
        message = error_body(answer).get("message")
        return message if isinstance(message, str) else ""

    def _rate_limited(self, answer: Answer, attempt: int) -> float | None:
        # A primary limit is a 403 or 429 with x-ratelimit-remaining: 0 until x-ratelimit-reset;
        # a secondary one says so in its message (or is a 429) and may name no time at all.
        if answer.status not in (403, 429):
            return None
        retry_after = retry.parse_retry_after(answer.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after
        if answer.headers.get("x-ratelimit-remaining") == "0":
            reset = answer.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(float(reset) - self._clock(), 0.0) + 1.0
        if answer.status == 429 or "rate limit" in self._message(answer).casefold():
            return self._policy.default_wait * 2.0 ** (attempt - 1)
        return None


class GitHub(RestClient):
    """The GitHub REST API for one repository. Use as a context manager (it holds connections).

    Args:
        settings: where and how.
        policy: rate-limit waits (by default, a first wait of :data:`SECONDARY_WAIT` on a
            secondary limit that names no time).
        clock: seconds since the epoch (``x-ratelimit-reset`` is an epoch time); injectable.
        timeout: seconds per request.
        deadline: seconds for everything this client does (one command): every request, its
            retries and waits, and every byte of every answer end by then, however slowly a
            server drips them (as for QRS, :mod:`licsync.qrs.deadline`).
    """

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        policy: RateLimitPolicy | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 60.0,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self._settings = settings
        self._repo_path = f"/repos/{settings.owner}/{settings.repo}"
        self._api = _GitHubApi(
            settings,
            policy=policy or RateLimitPolicy(default_wait=SECONDARY_WAIT),
            clock=clock,
            timeout=timeout,
            deadline=deadline,
        )

    # --- the Forge operations ---------------------------------------------------------------

    def put_comment(self, pull_request: int, marker_prefix: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_comment`.

        Anyone can post a comment that starts with the marker. Comments by bots (the Actions
        token's own) are tried first; one this token may not edit (403, or gone: 404) is passed
        over, so such a comment cannot stop the plan from being posted.
        """
        path = f"{self._repo_path}/issues/{pull_request}/comments"
        marked = [
            c
            for c in self._api.pages(path, {"per_page": "100"})
            if _first_line(c.get("body")).startswith(marker_prefix)
        ]
        marked.sort(key=lambda c: not _by_bot(c))  # stable: oldest first within each
        for comment in marked:
            edit = f"{self._repo_path}/issues/comments/{_number(comment, 'id', path)}"
            answer = self._api.send(
                "PATCH", self._api.url(edit), body={"body": body}, passes=(403, 404)
            )
            if answer.status in (403, 404):
                log.warning(
                    "github: comment %s cannot be edited (%s); trying the next", edit, answer.status
                )
                continue
            data = _object(answer.json("PATCH", edit, "GitHub"), "PATCH", edit)
            return Posted("updated", _number(data, "id", edit), _text(data, "html_url"))
        answer_data = self._json("POST", path, body={"body": body})
        return Posted("created", _number(answer_data, "id", path), _text(answer_data, "html_url"))

    def reviewed_plan(self, merge_sha: str, site: str) -> ReviewedArtifact:
        """See :meth:`licsync.forge.Forge.reviewed_plan` (the last of :meth:`reviewed_plans`)."""
        return self.reviewed_plans(merge_sha, site)[-1]

    def reviewed_plans(
        self, merge_sha: str, site: str, *, before: str | None = None, plan_workflow: str = ""
    ) -> list[ReviewedArtifact]:
        """See :func:`licsync.forge.github_reviewed.reviewed_plans`: proven, one per pull
        request the push merged."""
        workflow = plan_workflow or github_reviewed.DEFAULT_PLAN_WORKFLOW
        return github_reviewed.reviewed_plans(
            self, merge_sha, site, before=before, plan_workflow=workflow
        )

    def put_issue(self, title: str, marker: str, body: str) -> Posted:
        """See :meth:`licsync.forge.Forge.put_issue`."""
        path = f"{self._repo_path}/issues"
        query = {"state": "all", "per_page": "100", "sort": "created", "direction": "asc"}
        for issue in self._api.pages(path, query):
            if "pull_request" in issue or _first_line(issue.get("body")) != marker:
                continue
            number = _number(issue, "number", path)
            update: dict[str, Any] = {"title": title, "body": body}
            reopen = issue.get("state") == "closed"
            if reopen:
                update["state"] = "open"
            answer = self._json("PATCH", f"{path}/{number}", body=update)
            return Posted("reopened" if reopen else "updated", number, _text(answer, "html_url"))
        answer = self._json("POST", path, body={"title": title, "body": body})
        return Posted("created", _number(answer, "number", path), _text(answer, "html_url"))

    # --- for the modules beside this one (github_reviewed) --------------------------------

    @property
    def repository(self) -> str:
        """``owner/name``."""
        return f"{self._settings.owner}/{self._settings.repo}"

    @property
    def repo_path(self) -> str:
        """``/repos/owner/name``, the root of every path this client asks for."""
        return self._repo_path

    def paginate(
        self, path: str, query: Mapping[str, str], *, key: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of the listing at ``path``, following ``Link: <…>; rel="next"`` on the
        API's origin."""
        return self._api.pages(path, query, key=key)

    def get(self, path: str, query: Mapping[str, str] | None) -> dict[str, Any]:
        """The JSON object at ``path``."""
        return _object(self._api.get(path, query), "GET", path)

    def download(self, path: str) -> IO[bytes]:
        """An artifact's zip, spooled to a temporary file: the API answers 302 to a signed
        blob URL, which is fetched without the token (up to three more redirects). The file
        is deleted when it is closed (use it in a ``with``)."""
        return self._api.download(path)

    def _json(self, method: str, path: str, *, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self._api.call(method, path, body), method, path)


def _object(data: Any, method: str, path: str) -> dict[str, Any]:
    return fields.json_object(data, forge="GitHub", method=method, path=path)


def _by_bot(comment: Mapping[str, Any]) -> bool:
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


_first_line = fields.first_line
_text = fields.text


def _number(data: Mapping[str, Any], name: str, where: str) -> int:
    return fields.number(data, name, where, forge="GitHub")
