"""A hostile QRS for tests: a raw-socket HTTP/1.1 server on a free loopback port.

The simulator answers as QRS does; this one answers as a broken proxy, a confused server or an
attacker might: bodies that never end, drip one byte at a time, decompress to gigabytes, nest
10,000 deep, or echo the credential back. Each route is a :data:`Responder` that writes raw bytes
to the socket, so nothing here is limited by what an HTTP library is willing to produce.

Every path of ``licsync plan``'s nine reads has a valid, empty default answer, so a test only
replaces the one it is about::

    with HostileQrs({paths.USER_FULL: json_answer([{"id": 1}])}) as qrs:
        licsync(["plan", "licenses", "--qrs-url", qrs.url])
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import zlib
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from threaded_server import serving_in_thread

__all__ = [
    "DEFAULT_ROUTES",
    "HostileQrs",
    "Request",
    "Responder",
    "chunked_forever",
    "drip",
    "gzip_bomb",
    "json_answer",
    "raw_answer",
    "silent",
    "status_answer",
]


@dataclass(frozen=True)
class Request:
    """What the client sent: the request line and headers (names lower-cased)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


@dataclass
class Connection:
    """One accepted connection, for a responder: the socket and the server's stop signal."""

    sock: socket.socket
    stopped: threading.Event

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the client has gone (a responder then simply returns)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True


Responder = Callable[[Connection, Request], None]


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Hostile", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_answer(
    body: bytes, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Responder:
    """Answer ``body`` as it is, with a Content-Length and the given headers."""

    def respond(conn: Connection, request: Request) -> None:
        head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        head.update(headers or {})
        conn.send(_head(status, head) + body)

    return respond


def json_answer(value: Any, *, status: int = 200) -> Responder:
    """Answer ``value`` as JSON (``allow_nan``: ``float('inf')`` is written as QRS never would)."""
    return raw_answer(json.dumps(value).encode(), status=status)


def status_answer(
    status: int, body: bytes = b"", *, headers: Mapping[str, str] | None = None
) -> Responder:
    """Answer an error status."""
    return raw_answer(body, status=status, headers=headers)


def gzip_bomb(decoded_size: int) -> Responder:
    """A gzip body of ``decoded_size`` zero bytes (about 1,000 times smaller on the wire)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = b"0" * (1 << 20)
    parts = [compressor.compress(b"[")]
    written = 0
    while written < decoded_size:
        step = min(len(block), decoded_size - written)
        parts.append(compressor.compress(block[:step]))
        written += step
    parts.append(compressor.flush())
    body = b"".join(parts)
    return raw_answer(body, headers={"Content-Encoding": "gzip"})


def chunked_forever(chunk: bytes = b" " * 65536) -> Responder:
    """A chunked body that never ends (until the client hangs up or the server stops)."""

    def respond(conn: Connection, request: Request) -> None:
        head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        if not conn.send(_head(200, head) + b"1\r\n[\r\n"):
            return
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while not conn.stopped.is_set():
            if not conn.send(frame):
                return

    return respond


def drip(interval: float, *, headers_too: bool = False) -> Responder:
    """One byte every ``interval`` seconds, forever: of the body, or of the headers as well."""

    def respond(conn: Connection, request: Request) -> None:
        head = _head(200, {"Content-Type": "application/json", "Content-Length": "1000000"})
        if headers_too:
            stream = head
        else:
            if not conn.send(head):
                return
            stream = b"[" + b" " * 999_999
        for index in range(len(stream)):
            if conn.stopped.wait(interval) or not conn.send(stream[index : index + 1]):
                return

    return respond


def silent(conn: Connection, request: Request) -> None:
    """Accept the request and never answer."""
    conn.stopped.wait()


# What plan reads, each answered as an empty site would (see licsync.qrs.read.actual_requests).
DEFAULT_ROUTES: Mapping[str, Responder] = {
    "/qrs/about": json_answer({"buildVersion": "14.254.6"}),
    "/qrs/user/full": json_answer([]),
    "/qrs/license/professionalaccesstype/full": json_answer([]),
    "/qrs/license/analyzeraccesstype/full": json_answer([]),
    "/qrs/license/professionalaccessgroup/full": json_answer([]),
    "/qrs/license/analyzeraccessgroup/full": json_answer([]),
    "/qrs/systemrule/full": json_answer([]),
    "/qrs/license/accesstypeoverview": json_answer({}),
    "/qrs/license": json_answer({"serial": "", "key": "", "isExpired": False}),
}


@dataclass
class HostileQrs:
    """A hostile QRS on ``127.0.0.1``: :data:`DEFAULT_ROUTES` with ``routes`` replacing some.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        requests: every request received, in order (thread-safe append).
    """

    routes: Mapping[str, Responder] = field(default_factory=dict)
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)
    _serving: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> HostileQrs:
        table = {**DEFAULT_ROUTES, **self.routes}
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                request = _read_request(sock)
                if request is None:
                    return
                owner.requests.append(request)
                responder = _route(table, request.path)
                responder(Connection(sock, owner._stopped), request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._serving.enter_context(serving_in_thread(self._server))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._serving.close()

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        return [r.path for r in self.requests]


def _route(table: Mapping[str, Responder], path: str) -> Responder:
    for prefix in sorted(table, key=len, reverse=True):
        if path == prefix or path.endswith(prefix):  # a virtual proxy prefix goes before /qrs
            return table[prefix]
    return status_answer(404, b"no such route in the hostile QRS")


def _read_request(sock: socket.socket) -> Request | None:
    sock.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                return None
            data += piece
    except OSError:
        return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    try:
        while len(rest) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
    except OSError:
        return None
    path, _, query = target.partition("?")
    sock.settimeout(None)
    return Request(method, path, query, headers)
