"""The in-process side: the simulator's app behind an httpx transport, no socket in between.

:func:`serve_in_process` is :func:`~licsync.sim.server.start_simulator` without the server: the
same :class:`~licsync.sim.app.QrsApp` answers, but through :class:`SimTransport`, which turns
an ``httpx.Request`` into the app's :class:`~licsync.sim.exchange.Request` and its
:class:`~licsync.sim.exchange.Response` back into an ``httpx.Response``::

    with serve_in_process(users=100, seed=1, now=when) as sim:
        with httpx.Client(transport=SimTransport(sim.app), base_url=sim.url) as http:
            http.get("/qrs/about", ...)

The product's clients reach it when its URL is mounted (:func:`licsync.qrs.client.mount`, which
``embedded`` does; the simulator imports nothing of the client's).

A start costs no thread, no socket and no TLS context, which is why the embedded demo and
tests that are not about the network use it; what only a socket shows (TLS, dropped and
dripping connections, deadlines, another process) needs :func:`start_simulator`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Iterator
from typing import Unpack
from urllib.parse import unquote

import httpx

from licsync.sim.app import QrsApp
from licsync.sim.exchange import Connection, Request, fold_headers
from licsync.sim.server import AppOptions, Simulator, build_app
from licsync.sim.store import SimStore

__all__ = ["SimTransport", "serve_in_process"]

log = logging.getLogger(__name__)

_SERVER = "licsync-sim"
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


class SimTransport(httpx.BaseTransport):
    """An httpx transport that hands each request to a :class:`QrsApp` in this process.

    One transport is one connection as the app sees it (an NTLM handshake authenticates it),
    as one keep-alive connection to the socket server would be. A dropped response (a fault)
    is the error httpx raises when a server closes the connection without answering.
    """

    def __init__(self, app: QrsApp) -> None:
        self.app = app
        self._connection = Connection("in-process")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` with the app's response (the socket server's headers included)."""
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        sim_request = Request(
            method=request.method,
            path=unquote(path),
            raw_query=query,
            headers=fold_headers(request.headers.multi_items()),
            body=request.read(),
        )
        response = self.app.respond(sim_request, self._connection)
        if response.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        answer: list[tuple[str, str]] = [("Server", _SERVER), ("Date", self.app.http_date())]
        answer += response.headers
        if response.content_type:
            answer.append(("Content-Type", response.content_type))
        body = response.body
        if response.status in (204, 304):
            body = b""
        else:
            answer.append(("Content-Length", str(len(body))))
            if request.method == "HEAD":
                body = b""
        return httpx.Response(response.status, headers=answer, content=body, request=request)


@contextlib.contextmanager
def serve_in_process(
    store: SimStore | None = None,
    **options: Unpack[AppOptions],
) -> Iterator[Simulator]:
    """A simulator reached in process at its own URL for the duration of the ``with`` block.

    The arguments are :func:`~licsync.sim.server.start_simulator`'s without the socket's
    (``host``, ``port``, ``tls_dir``). The URL, a different one each time, is a loopback address
    other than 127.0.0.1 at port 1, where nothing listens: a client not given
    ``SimTransport(sim.app)`` (nor mounted to it) is refused instead of reaching something else,
    and loopback is where the product allows plain HTTP.

    Raises:
        UsageError: the snapshot is unusable, or a value is out of range.
    """
    app = build_app(store, **options)
    with _numbers_lock:
        number = next(_numbers)
    url = f"http://127.{1 + (number >> 16) % 254}.{(number >> 8) & 255}.{number & 255}:1"
    yield Simulator(app, url)
