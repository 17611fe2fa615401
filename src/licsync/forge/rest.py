"""One forge REST API over httpx, as the GitHub, GitLab and Azure DevOps clients need it.

What every forge client must do the same way, in one place: the token only to the API's origin
(a download's redirect is followed by a client without it; a pagination link to another origin
is refused), rate limits waited out as the forge asks (``Retry-After``; else a reset time in a
header the forge names; each wait capped, a bounded number of times), reads retried on 5xx or no
answer, answers read up to a cap (JSON in memory, downloads spooled to a temporary file), and
error messages that name the method and path, never the token (even echoed back by a proxy) or
a signed URL's query. Where a forge differs (GitHub's rate-limit answers, its error bodies, its
request encoding), a subclass overrides the one method that says so.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Self
from urllib.parse import unquote, urlsplit

import httpx

from licsync import __version__
from licsync.errors import ForgeError, UsageError
from licsync.forge import jsonbound
from licsync.forge.tls import forge_verify
from licsync.qrs import deadline, retry
from licsync.qrs.errormap import sanitise_excerpt
from licsync.textsafe import escape_text

__all__ = [
    "Answer",
    "RateLimitPolicy",
    "RestApi",
    "RestClient",
    "api_url",
    "error_body",
    "token_value",
]

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 32 * 1024 * 1024
"""A page of 100 comments of 65,536 characters is under 27 MB (4 bytes a character at most)."""
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
"""An artifact (compressed); it is spooled to a temporary file, never held in memory."""
MAX_PAGES = 100
"""Pages followed for one listing (10,000 items at 100 a page)."""
DEFAULT_DEADLINE = 1200.0
"""Seconds one command may spend with the forge in all."""
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def token_value(env: Mapping[str, str], names: tuple[str, ...], hint: str) -> str:
    """The first of ``names`` set in ``env``, checked to look like a token (never shown).

    Raises:
        UsageError: none set, or the value holds spaces or control characters.
    """
    for name in names:
        token = env.get(name, "")
        if token:
            if not token.isascii() or not token.isprintable() or " " in token:
                raise UsageError(f"{name} holds spaces or control characters: not a token")
            return token
    raise UsageError(f"{' or '.join(names)} is not set: {hint}")


def api_url(value: str, variable: str, example: str) -> str:
    """``value`` (from ``variable``) checked as an API root: http(s), a host, no credentials,
    query, fragment or dot segments, plain http only to this machine. No trailing slash.

    The value is echoed only once it is known to hold no credentials.
    """
    if any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(f"{variable} holds spaces or control characters: not a URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as exc:
        raise UsageError(f"{variable}: {exc}; expected {example}") from None
    if parts.username or parts.password or "@" in parts.netloc:
        raise UsageError(f"{variable}: no query, fragment or credentials in the URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{variable} {escape_text(value)!r}: expected {example}")
    if parts.query or parts.fragment:
        raise UsageError(f"{variable}: no query, fragment or credentials in the URL")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise UsageError(f"{variable} {escape_text(value)!r}: no '.' or '..' segments in the path")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise UsageError(
            f"{variable} {escape_text(value)!r}: plain http is allowed only to this machine"
        )
    return value.rstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port)


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """How long and how often to wait when the forge says to slow down (or fails a read).

    Attributes:
        attempts: tries of one request, the first included.
        max_wait: seconds; a longer wait asked for is refused at once rather than holding a
            runner.
        default_wait: seconds; the first wait on a rate limit that names no time, doubled
            each time.
    """

    attempts: int = 5
    max_wait: float = 900.0
    default_wait: float = 30.0


@dataclass(slots=True)
class Answer:
    """A response whose body is read (bounded) or spooled."""

    status: int
    headers: httpx.Headers
    content: bytes
    links: dict[str, dict[str, str]]

    def json(self, method: str, path: str, forge: str) -> Any:
        """The body as JSON, or a :class:`ForgeError` saying what it is instead."""
        return jsonbound.decode(self.content, forge=forge, method=method, path=path)


class RestApi:
    """A forge's REST API: requests, listings, downloads, with the rules above.

    Args:
        forge: the forge's name, for messages ("GitLab").
        base_url: the API root (checked by :func:`api_url`).
        headers: sent with every API request (the credential among them).
        token: what must never be shown, even when the forge echoes it.
        reset_header: the header holding the epoch second a rate limit resets, if any.
        hints: extra words for an error status (401: which variable holds the token).
        policy / clock / timeout: rate-limit waits, seconds since the epoch, per request.
        max_json_bytes / max_pages: the caps on one answer held in memory and on one listing
            (a forge module's own constants, read when its client is made).
        deadline: seconds for everything this client does (one command): every request, its
            body however slowly the server drips it, retries and waits
            (:mod:`licsync.qrs.deadline`, as for GitHub and QRS).
    """

    def __init__(
        self,
        forge: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        token: str,
        reset_header: str = "",
        hints: Mapping[int, str] | None = None,
        policy: RateLimitPolicy | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 60.0,
        deadline: float = DEFAULT_DEADLINE,
        max_json_bytes: int = MAX_JSON_BYTES,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.forge = forge
        self.waits_as = forge
        """Who says a wait would pass the deadline ("github" in GitHub's own words)."""
        self._max_json_bytes = max_json_bytes
        self._max_pages = max_pages
        self._deadline = deadline
        self._deadline_at = time.monotonic() + deadline
        self.base_url = base_url
        self._token = token
        self._reset_header = reset_header
        self._hints = dict(hints or {})
        self._policy = policy or RateLimitPolicy()
        self._clock = clock
        agent = f"licsync/{__version__}"
        self._api = httpx.Client(
            headers={**headers, "User-Agent": agent},
            timeout=timeout,
            follow_redirects=False,
            transport=_bounded_transport(),
        )
        # Downloads from storage elsewhere: a signed URL is the credential; the token must not go.
        self._blob = httpx.Client(
            headers={"User-Agent": agent},
            timeout=timeout,
            follow_redirects=False,
            transport=_bounded_transport(),
        )

    def close(self) -> None:
        """Close the connections."""
        self._api.close()
        self._blob.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under the API root."""
        return self.base_url + path

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """The JSON at ``path``."""
        return self.send("GET", self.url(path), params=query).json("GET", path, self.forge)

    def call(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "",
    ) -> Any:
        """``method`` with a JSON ``body``; the JSON answered."""
        answer = self.send(
            method, self.url(path), params=query, body=body, content_type=content_type
        )
        return answer.json(method, path, self.forge)

    def pages(
        self,
        path: str,
        query: Mapping[str, str],
        *,
        key: str | None = None,
        following: Callable[[Answer, Mapping[str, str]], Mapping[str, str] | str | None]
        | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listing: the answer (or its ``key``), page after page.

        The next page is the ``Link: <…>; rel="next"`` on the API's origin, or, with
        ``following``, what it says from the answer: a URL, or the query of the next request.
        """
        url = self.url(path)
        params: Mapping[str, str] | None = query
        for _page in range(self._max_pages):
            answer = self.send("GET", url, params=params)
            data = answer.json("GET", path, self.forge)
            items = data.get(key) if key is not None and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise ForgeError(
                    f"GET {path}: {self.forge} answered something that is not a listing"
                )
            for item in items:
                if not isinstance(item, dict):
                    raise ForgeError(f"GET {path}: a listed item is not an object")
                yield item
            nxt: Mapping[str, str] | str | None
            if following is not None:
                nxt = following(answer, query)
            else:
                link = answer.links.get("next")
                nxt = (link.get("url") or None) if link else None
            if nxt is None:
                return
            if isinstance(nxt, str):
                url, params = nxt, None  # the next link carries the query
                try:
                    elsewhere = _origin(url) != _origin(self.base_url)
                except ValueError:  # a port out of range, a broken IPv6 host: urlsplit refuses it
                    raise ForgeError(
                        f"GET {path}: the next page's address in the Link header is not a valid URL"
                    ) from None
                if elsewhere:
                    raise ForgeError(f"GET {path}: the next page is on another host; not following")
            else:
                params = nxt
        raise ForgeError(f"GET {path}: more than {self._max_pages} pages; giving up")

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "",
        blob: bool = False,
        spool: IO[bytes] | None = None,
        passes: tuple[int, ...] = (),
    ) -> Answer:
        """One request, waited and retried on rate limits (and reads on 5xx or no answer).

        An error status raises :class:`ForgeError`, except those in ``passes``, which are
        returned for the caller to decide on.
        """
        path = urlsplit(url).path
        use = self._blob if blob else self._api
        headers = {"Content-Type": content_type} if content_type else None
        content = self._encode(body) if body is not None else None
        if content is not None and headers is None:
            headers = {"Content-Type": "application/json"}
        for attempt in range(1, self._policy.attempts + 1):
            last = attempt == self._policy.attempts
            if spool is not None:  # a retried download starts again from nothing
                spool.seek(0)
                spool.truncate()
            self._check_deadline(method, path)
            try:
                with (
                    deadline.bounded(self._deadline_at),
                    use.stream(
                        method, url, params=params, content=content, headers=headers
                    ) as response,
                ):
                    answer = self._read(response, method, path, spool=spool)
            except httpx.HTTPError as exc:
                self._check_deadline(method, path)
                if method != "GET" or last:
                    # The exception's text can hold the URL (a signed download link): not shown.
                    raise ForgeError(
                        f"{method} {path}: no answer from {self.forge} ({type(exc).__name__})"
                    ) from None
                self._wait(min(2.0**attempt, 30.0), f"{method} {path}: no answer")
                continue
            delay = self._rate_limited(answer, attempt)
            if delay is not None and not last:
                if delay > self._policy.max_wait:
                    raise ForgeError(
                        f"{method} {path}: {self.forge}'s rate limit asks to wait {delay:.0f} s, "
                        f"over the {self._policy.max_wait:.0f} s licsync waits; try again later"
                    )
                self._wait(delay, f"{method} {path}: rate limited ({answer.status})")
                continue
            if answer.status >= 500 and method == "GET" and not last:
                self._wait(min(2.0**attempt, 30.0), f"{method} {path}: {answer.status}")
                continue
            if answer.status >= 400 and answer.status not in passes:
                raise ForgeError(f"{method} {path}: {self.forge} answered {self._words(answer)}")
            return answer
        raise ForgeError(f"{method} {path}: still rate limited after {self._policy.attempts} tries")

    def download(self, path: str, *, query: Mapping[str, str] | None = None) -> IO[bytes]:
        """The bytes at ``path``, spooled to a temporary file (deleted when closed: use it in
        a ``with``); a redirect is followed without the token (up to four hops)."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller's ``with`` closes it
        try:
            answer = self.send("GET", self.url(path), params=query, spool=spool)
            hops = 0
            while answer.status in (301, 302, 303, 307, 308):
                location = answer.headers.get("location", "")
                hops += 1
                if hops > 4 or not location:
                    raise ForgeError(f"GET {path}: redirect without a usable location")
                answer = self.send(
                    "GET", self._download_url(location, path), blob=True, spool=spool
                )
            if answer.status != 200:
                raise ForgeError(f"GET {path}: {self.forge} answered {answer.status}")
            spool.seek(0)
            return spool
        except BaseException:
            spool.close()
            raise

    def _download_url(self, location: str, path: str) -> str:
        parts = urlsplit(location)
        if not parts.scheme and location.startswith("/"):
            # A relative redirect stays on the API's host: fetched without the token anyway.
            base = urlsplit(self.base_url)
            return f"{base.scheme}://{base.netloc}{location}"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ForgeError(f"GET {path}: redirected to something that is not a web address")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ForgeError(f"GET {path}: redirected to plain http on another machine; refused")
        return location

    def _read(
        self, response: httpx.Response, method: str, path: str, *, spool: IO[bytes] | None
    ) -> Answer:
        ok_download = spool is not None and response.status_code == 200
        limit = MAX_DOWNLOAD_BYTES if ok_download else self._max_json_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ForgeError(f"{method} {path}: {self.forge}'s answer is over {limit:,} bytes")
            if ok_download and spool is not None:
                spool.write(chunk)
            else:
                chunks.append(chunk)
            if time.monotonic() >= self._deadline_at:  # the network layer should end it first
                raise httpx.ReadTimeout("the command's deadline has passed")
        links = {str(rel): link for rel, link in response.links.items()}
        return Answer(response.status_code, response.headers, b"".join(chunks), links)

    def _check_deadline(self, method: str, path: str) -> None:
        if time.monotonic() >= self._deadline_at:
            raise ForgeError(
                f"{method} {path}: {self.forge} did not finish answering within "
                f"{self._deadline:.0f} s (the command's deadline, retries and waits included)"
            )

    def _wait(self, seconds: float, why: str) -> None:
        if time.monotonic() + seconds >= self._deadline_at:
            raise ForgeError(
                f"{self.waits_as}: {why}; waiting {seconds:.0f} s more would pass the command's "
                f"deadline of {self._deadline:.0f} s"
            )
        log.warning("%s: %s; waiting %.0f s", self.forge.lower(), why, seconds)
        retry.wait(seconds)  # looked up at each call: the tests' autouse fixture never sleeps

    def _encode(self, body: Any) -> bytes:
        """A request's JSON body as sent."""
        return json.dumps(body).encode()

    def _message(self, answer: Answer) -> str:
        """What the forge's error body says, or ""."""
        data = error_body(answer)
        for name in ("message", "error", "error_description"):
            value = data.get(name)
            if isinstance(value, str):
                return value
            if isinstance(value, dict | list):
                return json.dumps(value)[:500]
        return ""

    def _rate_limited(self, answer: Answer, attempt: int) -> float | None:
        """Seconds the forge asks to wait, or None when the answer is not a rate limit."""
        if answer.status != 429 and not (
            answer.status == 403 and answer.headers.get("retry-after")
        ):
            return None
        retry_after = retry.parse_retry_after(answer.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after
        if self._reset_header:
            reset = answer.headers.get(self._reset_header, "")
            if reset.isdigit():
                return max(float(reset) - self._clock(), 0.0) + 1.0
        return self._policy.default_wait * 2.0 ** (attempt - 1)

    def _words(self, answer: Answer) -> str:
        # The forge's message is shown (it says what is wrong), but never the token, which a
        # proxy or a confused server may echo back.
        message = sanitise_excerpt(self._message(answer).encode(), redact=(self._token,))
        said = f": {message}" if message else ""
        hint = self._hints.get(answer.status, "")
        return f"{answer.status}{said}{hint}"


class RestClient:
    """A forge client over one :class:`RestApi` (``_api``): a context manager, as
    :class:`~licsync.forge.Forge` is, that closes its connections on leaving."""

    _api: RestApi

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._api.close()


def _bounded_transport() -> httpx.HTTPTransport:
    """A transport whose every socket wait ends by the calling thread's deadline, verifying
    TLS as :mod:`licsync.forge.tls` says (a client's own ``verify`` is ignored once it is given
    a transport)."""
    transport = httpx.HTTPTransport(retries=0, verify=forge_verify())
    deadline.install(transport)
    return transport


def error_body(answer: Answer) -> dict[str, Any]:
    """An error answer's JSON object (its first 64 KiB), or {} when it is none."""
    try:
        data = json.loads(answer.content[:65536].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
