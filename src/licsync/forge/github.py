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
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import httpx

from licsync import __version__
from licsync.errors import ForgeError, UsageError
from licsync.forge import Posted, ReviewedArtifact, fields, github_reviewed, jsonbound
from licsync.forge.tls import forge_verify
from licsync.qrs import deadline, retry
from licsync.qrs.errormap import sanitise_excerpt
from licsync.render.escape import escape_text

__all__ = ["GitHub", "GitHubSettings", "RateLimitPolicy", "settings_from_env"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
DEFAULT_DEADLINE = 1200.0
"""Seconds one command may spend with GitHub in all (a rate limit that asks for a longer wait
is refused at once)."""
MAX_JSON_BYTES = 32 * 1024 * 1024
"""A page of 100 comments of 65,536 characters is under 27 MB (4 bytes a character at most)."""
MAX_ZIP_BYTES = 512 * 1024 * 1024
"""An artifact zip (compressed); it is spooled to a temporary file, never held in memory."""
MAX_PAGES = 100
"""Pages followed for one listing (10,000 items at 100 a page)."""

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


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
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set: in a workflow, pass it as `env: GITHUB_TOKEN: "
            "${{ github.token }}`"
        )
    if not token.isascii() or not token.isprintable() or " " in token:
        raise UsageError("GITHUB_TOKEN holds spaces or control characters: not a token")
    repository = env.get("GITHUB_REPOSITORY", "")
    # GitHub allows neither '.' nor '..' as an owner or a name; in a path they are another path.
    if not _REPOSITORY.fullmatch(repository) or {".", ".."} & set(repository.split("/")):
        shown = escape_text(repository) if repository else "(not set)"
        raise UsageError(f"GITHUB_REPOSITORY {shown!r}: expected OWNER/NAME as Actions sets it")
    owner, repo = repository.split("/")
    return GitHubSettings(
        api_url=_api_url(env.get("GITHUB_API_URL") or DEFAULT_API_URL),
        owner=owner,
        repo=repo,
        token=token,
    )


def _api_url(value: str) -> str:
    # The value is echoed only once it is known to hold no credentials: a password in a URL must
    # not reach a CI log through the message that refuses it.
    if any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError("GITHUB_API_URL holds spaces or control characters: not a URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as exc:
        raise UsageError(f"GITHUB_API_URL: {exc}; expected https://HOST[/api/v3]") from None
    if parts.username or parts.password or "@" in parts.netloc:
        raise UsageError("GITHUB_API_URL: no query, fragment or credentials in the URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"GITHUB_API_URL {escape_text(value)!r}: expected https://HOST[/api/v3]")
    if parts.query or parts.fragment:
        raise UsageError("GITHUB_API_URL: no query, fragment or credentials in the URL")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        # A dot segment moves every request to another path on the host, the token with it.
        raise UsageError(f"GITHUB_API_URL {value!r}: no '.' or '..' segments in the path")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        # The token would cross the network in clear text.
        raise UsageError(
            f"GITHUB_API_URL {escape_text(value)!r}: plain http is allowed only to this machine"
        )
    return value.rstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port)


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """How long and how often to wait when GitHub says to slow down (or fails a read).

    Attributes:
        attempts: tries of one request, the first included.
        max_wait: seconds; a longer wait asked for (a primary limit resetting in 40 minutes) is
            refused at once with when it resets, rather than holding a runner.
        secondary_wait: seconds; the first wait on a secondary limit that names no time
            (GitHub: "wait at least one minute"), doubled for each further one.
    """

    attempts: int = 5
    max_wait: float = 900.0
    secondary_wait: float = 60.0


class GitHub:
    """The GitHub REST API for one repository. Use as a context manager (it holds connections).

    Args:
        settings: where and how.
        policy: rate-limit waits.
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
        self._policy = policy or RateLimitPolicy()
        self._clock = clock
        self._deadline = deadline
        self._deadline_at = time.monotonic() + deadline
        self._repo_path = f"/repos/{settings.owner}/{settings.repo}"
        agent = f"licsync/{__version__}"
        self._api = httpx.Client(
            headers={
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": agent,
            },
            timeout=timeout,
            follow_redirects=False,
            transport=_bounded_transport(),
        )
        # Downloads from blob storage: a signed URL is the credential; the token must not go.
        self._blob = httpx.Client(
            headers={"User-Agent": agent},
            timeout=timeout,
            follow_redirects=False,
            transport=_bounded_transport(),
        )

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()
        self._blob.close()

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
            for c in self._paginate(path, {"per_page": "100"})
            if _first_line(c.get("body")).startswith(marker_prefix)
        ]
        marked.sort(key=lambda c: not _by_bot(c))  # stable: oldest first within each
        for comment in marked:
            edit = f"{self._repo_path}/issues/comments/{_number(comment, 'id', path)}"
            answer = self._send("PATCH", self._url(edit), body={"body": body}, passes=(403, 404))
            if answer.status in (403, 404):
                log.warning(
                    "github: comment %s cannot be edited (%s); trying the next", edit, answer.status
                )
                continue
            data = _object(answer, "PATCH", edit)
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
        for issue in self._paginate(path, query):
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
        """Every item of the listing at ``path`` (see ``_paginate``)."""
        return self._paginate(path, query, key=key)

    def get(self, path: str, query: Mapping[str, str] | None) -> dict[str, Any]:
        """The JSON object at ``path``."""
        return _object(self._send("GET", self._url(path), params=query), "GET", path)

    def download(self, path: str) -> IO[bytes]:
        """An artifact's zip, spooled (see ``_download``)."""
        return self._download(path)

    # --- HTTP -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self._settings.api_url + path

    def _paginate(
        self, path: str, query: Mapping[str, str], *, key: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following ``Link: <…>; rel="next"`` on the API's origin."""
        url = self._url(path)
        params: Mapping[str, str] | None = query
        for _page in range(MAX_PAGES):
            response = self._send("GET", url, params=params)
            data = _decode(response, "GET", path)
            items = data.get(key) if key is not None and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise ForgeError(f"GET {path}: GitHub answered something that is not a listing")
            for item in items:
                if not isinstance(item, dict):
                    raise ForgeError(f"GET {path}: a listed item is not an object")
                yield item
            following = _next_link(response)
            if following is None:
                return
            url, params = following, None  # the next link carries the query
            try:
                elsewhere = _origin(url) != _origin(self._settings.api_url)
            except ValueError:  # a port out of range, a broken IPv6 host: urlsplit refuses it
                raise ForgeError(
                    f"GET {path}: the next page's address in the Link header is not a valid URL"
                ) from None
            if elsewhere:
                raise ForgeError(f"GET {path}: the next page is on another host; not following")
        raise ForgeError(f"GET {path}: more than {MAX_PAGES} pages; giving up")

    def _json(self, method: str, path: str, *, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self._send(method, self._url(path), body=body), method, path)

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        spool: IO[bytes] | None = None,
        passes: tuple[int, ...] = (),
    ) -> _Answer:
        """One request, waited and retried on rate limits (and reads on 5xx or no answer).

        An error status is raised as :class:`ForgeError`, except those in ``passes``, which
        are returned for the caller to decide on.
        """
        path = urlsplit(url).path
        use = client or self._api
        for attempt in range(1, self._policy.attempts + 1):
            last = attempt == self._policy.attempts
            if spool is not None:  # a retried download starts again from nothing
                spool.seek(0)
                spool.truncate()
            self._check_deadline(method, path)
            try:
                with (
                    deadline.bounded(self._deadline_at),
                    use.stream(method, url, params=params, json=body) as response,
                ):
                    answer = _read(response, method, path, spool=spool, at=self._deadline_at)
            except httpx.HTTPError as exc:
                self._check_deadline(method, path)
                if method != "GET" or last:
                    # The exception's text can hold the URL (a signed download link): not shown.
                    raise ForgeError(
                        f"{method} {path}: no answer from GitHub ({type(exc).__name__})"
                    ) from None
                self._wait(min(2.0**attempt, 30.0), f"{method} {path}: no answer")
                continue
            delay = self._rate_limited(answer, attempt)
            if delay is not None and not last:
                if delay > self._policy.max_wait:
                    raise ForgeError(
                        f"{method} {path}: GitHub's rate limit asks to wait {delay:.0f} s, over "
                        f"the {self._policy.max_wait:.0f} s licsync waits; try again later"
                    )
                self._wait(delay, f"{method} {path}: rate limited ({answer.status})")
                continue
            if answer.status >= 500 and method == "GET" and not last:
                self._wait(min(2.0**attempt, 30.0), f"{method} {path}: {answer.status}")
                continue
            if answer.status >= 400 and answer.status not in passes:
                words = _status_words(answer, self._settings.token)
                raise ForgeError(f"{method} {path}: GitHub answered {words}")
            return answer
        raise ForgeError(f"{method} {path}: still rate limited after {self._policy.attempts} tries")

    def _check_deadline(self, method: str, path: str) -> None:
        if time.monotonic() >= self._deadline_at:
            raise ForgeError(
                f"{method} {path}: GitHub did not finish answering within {self._deadline:.0f} s "
                "(the command's deadline, retries and waits included)"
            )

    def _wait(self, seconds: float, why: str) -> None:
        if time.monotonic() + seconds >= self._deadline_at:
            raise ForgeError(
                f"github: {why}; waiting {seconds:.0f} s more would pass the command's deadline "
                f"of {self._deadline:.0f} s"
            )
        log.warning("github: %s; waiting %.0f s", why, seconds)
        retry.wait(seconds)  # looked up at each call: the tests' autouse fixture never sleeps

    def _rate_limited(self, answer: _Answer, attempt: int) -> float | None:
        """Seconds GitHub asks to wait, or None when the answer is not a rate limit."""
        if answer.status not in (403, 429):
            return None
        retry_after = retry.parse_retry_after(answer.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after
        if answer.headers.get("x-ratelimit-remaining") == "0":
            reset = answer.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(float(reset) - self._clock(), 0.0) + 1.0
        message = _message(answer).casefold()
        if answer.status == 429 or "rate limit" in message:
            return self._policy.secondary_wait * 2.0 ** (attempt - 1)
        return None

    def _download(self, path: str) -> IO[bytes]:
        """The artifact's zip, spooled to a temporary file: the API answers 302 to a signed
        blob URL, which is fetched without the token (up to three more redirects). The file
        is deleted when it is closed (use it in a ``with``)."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller's ``with`` closes it
        try:
            answer = self._send("GET", self._url(path), spool=spool)
            hops = 0
            while answer.status in (301, 302, 303, 307, 308):
                location = answer.headers.get("location", "")
                hops += 1
                if hops > 4 or not location:
                    raise ForgeError(f"GET {path}: redirect without a usable location")
                target = _download_url(location, path)
                answer = self._send("GET", target, client=self._blob, spool=spool)
            if answer.status != 200:
                raise ForgeError(f"GET {path}: GitHub answered {answer.status}")
            spool.seek(0)
            return spool
        except BaseException:
            spool.close()
            raise


@dataclass(slots=True)
class _Answer:
    """A response whose body is read (bounded) or spooled, so retries can be decided on it."""

    status: int
    headers: httpx.Headers
    content: bytes
    links: dict[str, dict[str, str]]


def _bounded_transport() -> httpx.HTTPTransport:
    """A transport whose every socket wait ends by the calling thread's deadline."""
    # verify: the system trust store when truststore is installed (forge/tls.py); a transport
    # given to a client takes its TLS settings from here, not from the client.
    transport = httpx.HTTPTransport(retries=0, verify=forge_verify())
    deadline.install(transport)
    return transport


def _read(
    response: httpx.Response,
    method: str,
    path: str,
    *,
    spool: IO[bytes] | None,
    at: float | None = None,
) -> _Answer:
    ok_download = spool is not None and response.status_code == 200
    limit = MAX_ZIP_BYTES if ok_download else MAX_JSON_BYTES
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ForgeError(f"{method} {path}: GitHub's answer is over {limit:,} bytes")
        if ok_download and spool is not None:
            spool.write(chunk)
        else:
            chunks.append(chunk)
        if at is not None and time.monotonic() >= at:  # the network layer should end it first
            raise httpx.ReadTimeout("the command's deadline has passed")
    links = {str(rel): link for rel, link in response.links.items()}
    return _Answer(response.status_code, response.headers, b"".join(chunks), links)


def _decode(answer: _Answer, method: str, path: str) -> Any:
    return jsonbound.decode(answer.content, forge="GitHub", method=method, path=path)


def _object(answer: _Answer, method: str, path: str) -> dict[str, Any]:
    data = _decode(answer, method, path)
    return fields.json_object(data, forge="GitHub", method=method, path=path)


def _by_bot(comment: Mapping[str, Any]) -> bool:
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


def _next_link(answer: _Answer) -> str | None:
    link = answer.links.get("next")
    url = link.get("url") if link else None
    return url or None


def _download_url(location: str, path: str) -> str:
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForgeError(f"GET {path}: redirected to something that is not a web address")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ForgeError(f"GET {path}: redirected to plain http on another machine; refused")
    return location


def _message(answer: _Answer) -> str:
    try:
        data = json.loads(answer.content[:65536].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else ""


def _status_words(answer: _Answer, token: str) -> str:
    # GitHub's message is shown (it says what is wrong), but never the token, which a proxy or
    # a confused server may echo back (as sent, lower-cased, JSON- or URL-escaped).
    message = sanitise_excerpt(_message(answer).encode(), redact=(token,))
    hint = {
        401: " (is GITHUB_TOKEN valid?)",
        403: " (does the job's `permissions:` grant this?)",
        404: " (wrong GITHUB_REPOSITORY, or a token that cannot see it?)",
    }.get(answer.status, "")
    said = f": {message}" if message else ""
    return f"{answer.status}{said}{hint}"


_first_line = fields.first_line
_text = fields.text


def _number(data: Mapping[str, Any], name: str, where: str) -> int:
    return fields.number(data, name, where, forge="GitHub")
