"""The values the simulator's HTTP-agnostic core takes and gives: requests, responses, refusals.

:mod:`licsync.sim.server` turns socket traffic into a :class:`Request` and writes the
:class:`Response` back; :mod:`licsync.sim.app` never sees a socket. A
:class:`licsync.sim.errors.SimRefusal` is how the store and the handlers say "QRS answers this
request with an error status"; the app turns it into a response, so it never leaves the
simulator through HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Connection",
    "Request",
    "Response",
    "empty_response",
    "json_bytes_response",
    "json_response",
    "text_response",
]

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the app sees it.

    Attributes:
        method: upper-case HTTP method.
        path: the percent-decoded path, case preserved (routing lower-cases it, as QRS
            matches paths case-insensitively).
        raw_query: the query string exactly as sent (without ``?``), for the checks QRS makes
            on malformed queries.
        headers: header name lower-cased -> value (repeated headers joined with ``, ``).
        body: the request body bytes.
        secure: True when the request came over TLS (the client certificate is verified by
            the handshake, so a TLS request is a certificate-authenticated one).
    """

    method: str
    path: str
    raw_query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    secure: bool = False

    def header(self, name: str, default: str = "") -> str:
        """A header's value by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response, or the instruction to send none.

    Attributes:
        status: HTTP status code.
        body: the body bytes (sent with ``Content-Length``).
        content_type: ``Content-Type`` header, None for an empty body.
        headers: further headers, in order.
        delay_seconds: how long the server waits before answering (injected latency).
        drop: close the connection without writing any response (injected fault).
    """

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay_seconds: float = 0.0
    drop: bool = False

    def with_headers(self, *extra: tuple[str, str]) -> Response:
        """This response with more headers appended."""
        return Response(
            self.status,
            self.body,
            self.content_type,
            self.headers + extra,
            self.delay_seconds,
            self.drop,
        )

    def with_delay(self, seconds: float) -> Response:
        """This response, answered after ``seconds``."""
        return Response(self.status, self.body, self.content_type, self.headers, seconds, self.drop)


class Connection:
    """Per-connection state the app may keep (one per TCP/TLS connection).

    NTLM authenticates a connection, not a request: the Negotiate / Challenge / Authenticate
    messages of one handshake travel on the same connection, so the acceptor lives here.
    """

    __slots__ = ("ntlm_acceptor", "peer")

    def __init__(self, peer: str = "") -> None:
        self.peer = peer
        self.ntlm_acceptor: Any = None


def fold_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header fields by lower-cased name, a repeated field joined with ", " (RFC 9110 5.3), as
    both the socket server and the in-process transport hand them to the app."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def json_response(status: int, value: Any, *headers: tuple[str, str]) -> Response:
    """A JSON response; compact separators, as QRS writes them."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, tuple(headers))


def json_bytes_response(status: int, body: bytes, *headers: tuple[str, str]) -> Response:
    """A JSON response from bytes already serialised (the list cache)."""
    return Response(status, body, JSON_TYPE, tuple(headers))


def text_response(status: int, text: str, *headers: tuple[str, str]) -> Response:
    """A plain-text response: QRS error bodies are plain strings."""
    return Response(status, text.encode("utf-8"), TEXT_TYPE, tuple(headers))


def empty_response(status: int, *headers: tuple[str, str]) -> Response:
    """A response without a body (204, 302)."""
    return Response(status, b"", None, tuple(headers))
