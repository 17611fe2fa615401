"""The QRS HTTP client: transport, xrfkey, session, retries of reads, error translation.

:class:`QrsClient` wraps one thread-safe ``httpx.Client``. Every request carries a fresh xrfkey
(query parameter and ``X-Qlik-Xrfkey`` header), an explicit timeout, and the headers of the auth
mode. Reads (GET) are retried on transport errors, 429 and 5xx with exponential backoff and full
jitter; writes (POST/PUT/DELETE) are sent once, because one that got no answer may still have
happened: callers re-read to learn what it did. A read-only client (``plan``) refuses writes before
any byte leaves the process. Failures surface as the ``QrsError`` branch of :mod:`licsync.errors`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import ssl
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from licsync.errors import QrsReadOnlyError, QrsResponseError, QrsTransportError
from licsync.qrs import deadline, filters, jsonarray, logredact, paths
from licsync.qrs import retry as retries
from licsync.qrs.auth import (
    Credentials,
    certificate_credentials,
    check_header_value,
    credentials_from_site,
)
from licsync.qrs.errormap import status_error, tls_cause, transport_error
from licsync.qrs.retry import RetryPolicy, parse_retry_after
from licsync.site import AuthMode, Site

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "QrsClient",
    "mount",
    "new_xrfkey",
]

log = logging.getLogger(__name__)

# Reading 100,000 users is one large answer: allow QRS minutes to produce it, but notice a dead
# connection or an exhausted pool quickly.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=180.0, write=60.0, pool=60.0)
# The whole of one request, retries included: connect, headers and every byte of the body.
# /qrs/user/full of 200,000 users is about 430 MB; QRS takes a minute or two to produce it.
DEFAULT_REQUEST_TIMEOUT = 300.0
# One answer's decoded size: twice that of 200,000 users, far below what would exhaust memory.
DEFAULT_MAX_ANSWER_BYTES = 1 << 30

_ERROR_BODY_LIMIT = 64 * 1024
_DEADLINE_SLACK = 0.1  # a timeout this close to the deadline is the deadline's
# 501 Not Implemented (and 505) will not heal by asking again; these may.
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# The body handed on is decoded: these describe the wire form it no longer has.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_XRFKEY_ALPHABET = string.ascii_letters + string.digits
_XRFKEY_LENGTH = 16
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


_mounts: dict[str, Callable[[], httpx.BaseTransport]] = {}
_mounts_lock = threading.Lock()


def _origin(url: str) -> str:
    return str(httpx.URL(url).copy_with(path="/", query=None)).rstrip("/")


@contextlib.contextmanager
def mount(url: str, transport: Callable[[], httpx.BaseTransport]) -> Iterator[None]:
    """While the ``with`` lasts, each client made for ``url``'s origin without a transport of
    its own talks through a new ``transport()`` instead of opening sockets.

    httpx's ``mounts`` for the clients a command makes itself, deep inside it: how a QRS that
    lives in this process (the embedded simulator, :mod:`licsync.sim.transport`) is reached.
    """
    origin = _origin(url)
    with _mounts_lock:
        if origin in _mounts:
            msg = f"{origin} is mounted already"
            raise ValueError(msg)
        _mounts[origin] = transport
    try:
        yield
    finally:
        with _mounts_lock:
            del _mounts[origin]


def _mounted_transport(url: str) -> httpx.BaseTransport | None:
    """A new transport of the mount for ``url``'s origin (see :func:`mount`), or None."""
    with _mounts_lock:
        make = _mounts.get(_origin(url))
    return make() if make is not None else None


def new_xrfkey() -> str:
    """A fresh random xrfkey: 16 characters from ``[A-Za-z0-9]`` (the only ones QRS allows)."""
    return "".join(secrets.choice(_XRFKEY_ALPHABET) for _ in range(_XRFKEY_LENGTH))


def _wait(seconds: float) -> None:
    retries.wait(seconds)  # looked up at each call: the test suite's switch (see retry.wait)


class _Answer(httpx.Response):
    """An answer whose body stays in the pieces it arrived in until it is asked for whole."""

    def __init__(
        self,
        status_code: int,
        *,
        headers: list[tuple[str, str]],
        chunks: list[bytes],
        request: httpx.Request,
    ) -> None:
        super().__init__(status_code, headers=headers, request=request)
        self._chunks: list[bytes] | None = chunks
        self.size = sum(map(len, chunks))
        """Bytes of the body."""

    @property
    def content(self) -> bytes:
        """The whole body, joined on first use."""
        if self._chunks is not None:
            self._content = b"".join(self._chunks)
            self._chunks = None
        return self._content

    def take_chunks(self) -> list[bytes]:
        """The body's pieces, handed over: the answer keeps none of its body after this."""
        chunks = self._chunks if self._chunks is not None else [self._content]
        self._chunks = None
        self._content = b""
        return chunks


class QrsClient:
    """A client for one QRS, safe to share between threads.

    Args:
        base_url: server origin, e.g. ``https://qlik.corp:4242`` or ``http://127.0.0.1:8123``.
        credentials: how to authenticate (default: certificate mode as ``INTERNAL\\sa_api``
            without a client certificate, which is what a plain-HTTP simulator accepts).
        read_only: refuse every write before sending it (used by ``plan``).
        timeout: applied to every request.
        retry: how reads are retried.
        sleep: called with the seconds to wait between retries (default:
            :func:`licsync.qrs.retry.wait`).
        transport: an httpx transport to use instead of the default one (its TLS settings then
            apply instead of the credentials' context).
        xrfkey: makes each request's xrfkey (a test seam; the default is :func:`new_xrfkey`).
        max_connections: connection pool size (the concurrent reads need a handful).
        request_timeout: seconds one request may take in all: connecting, the headers, the
            whole body, its retries and the waits between them.
        max_answer_bytes: the largest answer accepted, counted after decoding (gzip included).

    Raises:
        SecretError: a header the credentials carry holds a line break, a control character or
            a character outside ASCII (nothing is sent; the message names the header only).
    """

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        read_only: bool = False,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        xrfkey: Callable[[], str] = new_xrfkey,
        max_connections: int = 10,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        logredact.install()
        if request_timeout <= 0 or max_answer_bytes <= 0:
            msg = "request_timeout and max_answer_bytes must be positive"
            raise ValueError(msg)
        self._request_timeout = request_timeout
        self._max_answer_bytes = max_answer_bytes
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials or certificate_credentials("INTERNAL\\sa_api")
        self._read_only = read_only
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep or _wait
        self._xrfkey = xrfkey
        self._origin = _origin(self._base_url)
        self._prefix = self._base_url + self._credentials.path_prefix
        self._session_ready = False
        self._session_lock = threading.Lock()
        headers = {"Accept": "application/json", "User-Agent": self._credentials.user_agent}
        for name, value in self._credentials.headers.items():
            check_header_value(name, value)
        headers.update(self._credentials.headers)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        if transport is None:
            transport = _mounted_transport(self._origin)
        if transport is None:
            # Plain HTTP (a lab, the simulator) never handshakes: no CA bundle to load for it,
            # which costs ~0.2 s a client; https:// verifies as the site says.
            verify: ssl.SSLContext | bool = False
            if httpx.URL(self._base_url).scheme != "http":
                verify = self._credentials.ssl_context or True
            transport = httpx.HTTPTransport(verify=verify, limits=limits, retries=0)
            deadline.install(transport)
        # Cookies persist in the client: the proxy modes depend on the session cookie.
        # trust_env=False: no proxy, netrc or CA settings picked up from the process
        # environment behind the caller's back; everything comes from the site.
        self._http = httpx.Client(
            headers=headers,
            auth=self._credentials.http_auth,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )

    @classmethod
    def from_site(
        cls,
        site: Site,
        *,
        env: Mapping[str, str],
        read_only: bool,
        base_url: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        max_connections: int = 10,
        request_timeout: float | None = None,
    ) -> QrsClient:
        """A client configured from a site's YAML.

        Args:
            site: the site (URL, auth mode, virtual proxy, TLS trust).
            env: environment to read the secrets the site names from (the CLI passes
                ``os.environ``; nothing here reads the process environment itself).
            read_only: refuse writes (``plan``).
            base_url: overrides ``site.qrs_url`` (``--qrs-url``).
            request_timeout: overrides the site's ``request_timeout`` (``--request-timeout``).

        Raises:
            SecretError: a secret variable is unset/empty or names an unreadable key.
            ConfigError: the site lacks a setting its auth mode needs.
        """
        url, credentials = credentials_from_site(site, env=env, base_url=base_url)
        return cls(
            url,
            credentials=credentials,
            read_only=read_only,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            max_connections=max_connections,
            request_timeout=request_timeout or site.request_timeout or DEFAULT_REQUEST_TIMEOUT,
            max_answer_bytes=(site.max_answer_mb << 20)
            if site.max_answer_mb
            else DEFAULT_MAX_ANSWER_BYTES,
        )

    @property
    def base_url(self) -> str:
        """The server origin requests go to (no virtual proxy prefix, no query)."""
        return self._base_url

    @property
    def mode(self) -> AuthMode:
        """The authentication mode."""
        return self._credentials.mode

    @property
    def read_only(self) -> bool:
        """True when writes are refused."""
        return self._read_only

    def __repr__(self) -> str:
        return (
            f"QrsClient({self._base_url!r}, mode={self._credentials.mode.value}, "
            f"read_only={self._read_only})"
        )

    def close(self) -> None:
        """Close the connections. Requests still in flight on other threads (reads an
        interrupt left behind) then fail at once and are not retried."""
        self._closed = True
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def get_bytes(self, path: str, *, params: Mapping[str, str] | None = None) -> bytes:
        """GET ``path`` (e.g. ``/qrs/user/full``) and return the raw body (retried on failure)."""
        return self.request("GET", path, params=params).content

    def get_chunks(self, path: str, *, params: Mapping[str, str] | None = None) -> list[bytes]:
        """Like :meth:`get_bytes`, the body in the pieces it arrived in: joining 224 MB of
        ``/qrs/user/full`` would hold it twice, and a reader of the pieces never needs it whole."""
        response = self.request("GET", path, params=params)
        if isinstance(response, _Answer):
            return response.take_chunks()
        return [response.content]

    def get_json(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """GET ``path`` and decode its JSON answer."""
        return self.decode_json("GET", path, self.get_bytes(path, params=params))

    def post_json(
        self, path: str, body: Any = None, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """POST ``body`` as JSON (never retried); the decoded answer, None when empty."""
        response = self.request("POST", path, params=params, body=body)
        return self.decode_json("POST", path, response.content) if response.content else None

    def put_json(self, path: str, body: Any) -> Any:
        """PUT ``body`` as JSON (never retried); the decoded answer, None when empty."""
        response = self.request("PUT", path, body=body)
        return self.decode_json("PUT", path, response.content) if response.content else None

    def delete(self, path: str, *, params: Mapping[str, str] | None = None) -> None:
        """DELETE ``path`` (never retried)."""
        self.request("DELETE", path, params=params)

    def decode_json(self, method: str, path: str, content: bytes) -> Any:
        """Decode a QRS answer, or raise a ``QrsResponseError`` naming the request.

        Numbers no QRS field holds (``1e400``, 5,000 digits) decode as
        :data:`licsync.qrs.jsonarray.OUT_OF_RANGE`, for the parsers to name.

        Raises:
            QrsResponseError: the body is not JSON, or is nested too deeply.
        """
        return jsonarray.decode(content, method=method, path=path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """Send one QRS request and return its successful (2xx) response.

        Args:
            method: HTTP method; POST/PUT/DELETE/PATCH count as writes.
            path: absolute QRS path (``/qrs/...``); the virtual proxy prefix is added here.
            params: query parameters besides the xrfkey; encoded by
                :func:`licsync.qrs.filters.encode_query`.
            body: a JSON-serialisable body.

        Raises:
            QrsReadOnlyError: a write through a read-only client (nothing was sent).
            QrsTransportError: no answer (after retries, for reads).
            QrsStatusError: an error status (its subclass says which).
            ValueError: ``path`` is relative or carries a query (a programming error).
        """
        if not path.startswith("/") or "?" in path or "#" in path:
            # Queries go through ``params`` so that encode_query is the one place they are built.
            msg = f"QRS path must be absolute and carry no query: {path!r}"
            raise ValueError(msg)
        method = method.upper()
        full_path = self._credentials.path_prefix + path
        is_write = method in _WRITES
        if is_write and self._read_only:
            msg = (
                f"{method} {full_path}: refused, this QRS client is read-only "
                "(plan never writes); nothing was sent"
            )
            raise QrsReadOnlyError(msg, method=method, path=full_path)
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        needs_session = self._credentials.session_first or (
            is_write and self._credentials.session_before_write
        )
        if needs_session and not self._session_ready:
            with self._session_lock:
                if not self._session_ready:
                    if method == "GET":
                        # This read is the one that establishes the session.
                        return self._attempts(method, path, params, content)
                    log.debug("session: GET %s before the first write", paths.ABOUT)
                    self._attempts("GET", paths.ABOUT, None, None)
        return self._attempts(method, path, params, content)

    def _attempts(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
    ) -> httpx.Response:
        full_path = self._credentials.path_prefix + path
        attempts = self._retry.attempts if method == "GET" else 1
        headers = {"Content-Type": "application/json"} if content is not None else {}
        # One deadline for the request, its retries and the waits between them included.
        deadline_at = time.monotonic() + self._request_timeout
        for attempt in range(1, attempts + 1):
            key = self._xrfkey()
            query = filters.encode_query({"xrfkey": key, **(params or {})})
            headers["X-Qlik-Xrfkey"] = key
            url = f"{self._prefix}{path}?{query}"
            started = time.perf_counter()
            try:
                if deadline_at <= time.monotonic():
                    raise httpx.ConnectTimeout("the request's deadline has passed")
                with deadline.bounded(deadline_at):
                    response = self._send(
                        method, url, full_path, content=content, headers=headers, at=deadline_at
                    )
            except httpx.RequestError as exc:
                if (
                    isinstance(exc, httpx.TimeoutException)
                    and deadline_at - time.monotonic() < _DEADLINE_SLACK
                ):
                    raise self._deadline_error(method, full_path) from exc
                error = transport_error(
                    method, full_path, self._origin, exc, redact=self._redactions(key)
                )
                # TLS failures (untrusted server, refused client certificate) do not heal.
                retryable = isinstance(exc, httpx.TransportError) and tls_cause(exc) is None
                if retryable and attempt < attempts and not getattr(self, "_closed", False):
                    delay = self._retry.delay(attempt)
                    if time.monotonic() + delay < deadline_at:
                        self._note_retry(
                            method, full_path, f"no answer ({type(exc).__name__})", attempt
                        )
                        self._sleep(delay)
                        continue
                raise error from exc
            status = response.status_code
            log.debug(
                "%s %s -> %d (%.0f ms, %d bytes)",
                method,
                full_path,
                status,
                (time.perf_counter() - started) * 1000,
                response.size,
            )
            if status < 300:
                if method == "GET":
                    self._session_ready = True
                return response
            note = ""
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt < attempts and status in _RETRIED_STATUSES:
                delay = self._retry.delay(attempt, retry_after=retry_after)
                if time.monotonic() + delay < deadline_at:
                    self._note_retry(method, full_path, f"HTTP {status}", attempt)
                    self._sleep(delay)
                    continue
                note = (
                    f"; not retried: the wait of {delay:.0f}s QRS asks for is longer than what "
                    f"is left of the {self._request_timeout:g}s request timeout"
                )
            refused = status_error(
                method,
                full_path,
                status,
                response.content,
                redact=self._redactions(key),
                auth_hint=self._credentials.auth_hint,
                note=note,
            )
            if status in (429, 503):  # for a caller that repeats writes after a re-read
                refused.retry_after = retry_after
            raise refused
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        full_path: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str],
        at: float,
    ) -> _Answer:
        """One attempt, its body streamed and counted as it is decoded (gzip included)."""
        with self._http.stream(
            method, url, content=content, headers=headers, timeout=self._timeout
        ) as streamed:
            ok = streamed.status_code < 300
            # An error answer is only ever shown as an excerpt: reading more is pointless.
            limit = self._max_answer_bytes if ok else _ERROR_BODY_LIMIT
            chunks: list[bytes] = []
            size = 0
            for chunk in streamed.iter_bytes():
                size += len(chunk)
                if size > limit:
                    if ok:
                        raise self._too_large(method, full_path)
                    chunks.append(chunk[: limit - size + len(chunk)])
                    break
                chunks.append(chunk)
                if time.monotonic() >= at:  # the network layer should have ended it already
                    raise httpx.ReadTimeout("the request's deadline has passed")
            kept = [(k, v) for k, v in streamed.headers.multi_items() if k not in _BODY_HEADERS]
            return _Answer(
                streamed.status_code, headers=kept, chunks=chunks, request=streamed.request
            )

    def _note_retry(self, method: str, full_path: str, what: str, attempt: int) -> None:
        # One line per request that fails, not one per retry: eight reads of an unreachable
        # site would otherwise print 24 lines before the error that says it all.
        level = logging.WARNING if attempt == 1 else logging.DEBUG
        log.log(
            level,
            "%s %s: %s; retrying (%d of %d)",
            method,
            full_path,
            what,
            attempt,
            self._retry.attempts - 1,
        )

    def _deadline_error(self, method: str, full_path: str) -> QrsTransportError:
        message = (
            f"{method} {full_path}: no complete answer from QRS at {self._origin} within "
            f"{self._request_timeout:g}s, retries included (the request timeout: "
            "--request-timeout SECONDS or the site's request_timeout)"
        )
        return QrsTransportError(message, method=method, path=full_path)

    def _too_large(self, method: str, full_path: str) -> QrsResponseError:
        limit = self._max_answer_bytes / (1 << 20)
        message = (
            f"{method} {full_path}: the answer is larger than the {limit:g} MiB licsync accepts "
            "for one answer (counted decoded, after any compression); if the site really is "
            "that large, raise the site's max_answer_mb"
        )
        return QrsResponseError(message, method=method, path=full_path)

    def _redactions(self, key: str) -> tuple[str, ...]:
        return (*self._credentials.secrets, key)
