"""What the GitHub, GitLab and Azure DevOps stand-ins share: a real HTTP server on a free
loopback port (over TLS when asked), every request recorded, canned answers queued for the next
request matching a path (rate limits, HTML, garbage), and an in-memory state each stand-in
routes over."""

from __future__ import annotations

import functools
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from licsync.render import render_json
from licsync.session import SessionRequest, open_session
from threaded_server import serving_in_thread

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    drip: float = 0.0  # seconds between bytes: a server that answers, but ever so slowly


@dataclass
class Reply:
    status: int
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    drip: float = 0.0


class StandIn:
    """The shared part: ``url`` once serving, ``requests``, ``script``; subclasses ``route``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.canned: list[Canned] = []
        self.next_id = 1000
        self.url = ""
        self.origin = ""

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def script(self, canned: Canned) -> None:
        self.canned.append(canned)

    def take_canned(self, method: str, path: str) -> Canned | None:
        with self.lock:
            for index, canned in enumerate(self.canned):
                if re.search(canned.path, path) and canned.method in (None, method):
                    return self.canned.pop(index)
        return None

    def handle(self, request: Recorded) -> Reply:
        """Record ``request``; answer it with what is canned for it, else route it."""
        self.requests.append(request)
        canned = self.take_canned(request.method, request.path)
        if canned is not None:
            return Reply(canned.status, headers=canned.headers, raw=canned.body, drip=canned.drip)
        with self.lock:
            return self.route(request)

    def route(self, request: Recorded) -> Reply:  # pragma: no cover - each stand-in's own
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers, 40 ms a request on Linux loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, reply: Reply) -> None:
        if reply.raw is not None:
            body = reply.raw
        else:
            body = b"" if reply.data is None else json.dumps(reply.data).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not reply.drip:
            self.wfile.write(body)
            return
        for index in range(len(body)):
            time.sleep(reply.drip)
            try:
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
            except OSError:  # the client gave up
                return

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        record = Recorded(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        self._send(self.server.answer(record))

    do_GET = do_POST = do_PATCH = do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[Recorded], Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer


@contextmanager
def loopback(
    answer: Callable[[Recorded], Reply], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """A server on a free loopback port answering every request with ``answer``; its origin
    (``https://`` with ``tls``)."""
    server = _Server(answer)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with serving_in_thread(server):
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"


@contextmanager
def serving(
    standin: StandIn, prefix: str = "", tls: ssl.SSLContext | None = None
) -> Iterator[StandIn]:
    """``standin`` served on a free loopback port; ``url`` is the origin plus ``prefix``."""
    with loopback(standin.handle, tls) as origin:
        standin.origin = origin
        standin.url = origin + prefix
        yield standin


def page_of(
    items: list[Any], query: dict[str, list[str]], *, default: int = 20, most: int = 100
) -> tuple[list[Any], int, int]:
    """One page of ``items`` by ``page``/``per_page``: (items, page, last page)."""
    per_page = min(int(query.get("per_page", [str(default)])[0]), most)
    page = int(query.get("page", ["1"])[0])
    last = max(1, -(-len(items) // per_page))
    return items[(page - 1) * per_page : page * per_page], page, last


def page_links(origin: str, request: Recorded, page: int, last: int) -> dict[str, str]:
    """The ``Link`` header of page ``page`` of ``last`` of the listing ``request`` asked for
    (its query kept), as GitHub and GitLab write it: none on the last page."""
    if page >= last:
        return {}
    base = f"{origin}{request.path}"
    rest = {k: v[0] for k, v in request.query.items() if k != "page"}
    tail = "".join(f"&{k}={v}" for k, v in rest.items())
    following = f'<{base}?page={page + 1}{tail}>; rel="next"'
    return {"Link": f'{following}, <{base}?page={last}{tail}>; rel="last"'}


Router = Callable[[Recorded], Reply]


@functools.cache
def example_plan_json() -> str:
    """The example site's JSON plan against the embedded demo organisation, as ``licsync plan
    --format json`` writes it: the plan a forge's artifact and comment carry (made once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)
        with open_session(SessionRequest(directory=Path("licenses"))) as session:
            return render_json(session.plan().plan)
