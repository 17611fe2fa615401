"""The socket side: a threaded HTTP/1.1 server (keep-alive, optional mutual TLS) around the app.

:func:`start_simulator` is the in-process entry point tests and the other modules use::

    with start_simulator(users=100, seed=1, now=when) as sim:
        httpx.get(f"{sim.url}/qrs/about", ...)

The server is the standard library's ``ThreadingHTTPServer``: one thread per connection, so
an NTLM handshake (which authenticates a connection) and keep-alive work as with a real QRS.
With a ``tls_dir`` it speaks HTTPS with ``server.pem``/``server_key.pem`` and *requires* a
client certificate signed by that folder's ``root.pem``: without one the handshake fails, as
on port 4242.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import unquote, urlsplit

from licsync.errors import UsageError
from licsync.sim.app import QrsApp
from licsync.sim.auth import ProxyConfig
from licsync.sim.clock import SimClock
from licsync.sim.exchange import Connection, Request, Response, fold_headers, text_response
from licsync.sim.faults import FaultInjector, FaultKind, FaultPlan
from licsync.sim.listing import ShapeStyle
from licsync.sim.seed import synthetic_organisation
from licsync.sim.store import SimStore

__all__ = [
    "MAX_BODY_BYTES",
    "AppOptions",
    "Simulator",
    "build_app",
    "start_simulator",
    "tls_context",
]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024 * 1024
"""Largest request body accepted (413 beyond): a /many of 100,000 seats is far below."""

_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 300.0  # an idle keep-alive connection is closed after this


def tls_context(tls_dir: str | Path) -> ssl.SSLContext:
    """A server TLS context from ``server.pem``/``server_key.pem`` that requires a client
    certificate signed by ``root.pem`` (the files ``licsync sim certs`` writes).

    Raises:
        UsageError: a file is missing or unusable.
    """
    folder = Path(tls_dir)
    files = {name: folder / name for name in ("root.pem", "server.pem", "server_key.pem")}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise UsageError(
            f"{folder}: missing {', '.join(missing)} (create them with: licsync sim certs {folder})"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(files["server.pem"], files["server_key.pem"])
        context.load_verify_locations(files["root.pem"])
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"{folder}: cannot load the TLS certificates: {exc}") from exc
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows the app, handshakes TLS per thread and can close all."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], app: QrsApp, context: ssl.SSLContext | None
    ) -> None:
        # serve_forever polls its stop flag every poll_interval, so every stop cost up to one
        # interval (the suite stops hundreds of simulators); a socket pair wakes the loop now.
        # Made first: a failed bind calls server_close, which closes them.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = threading.Event()
        super().__init__(address, _Handler)
        self.app = app
        self.secure = context is not None
        if context is not None:
            # The handshake happens in the connection's thread (see _Handler.setup), so a slow
            # or certificate-less client never blocks the accept loop.
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def serve_until_stopped(self) -> None:
        """Accept connections until :meth:`stop_serving`, sleeping in ``select`` meanwhile."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                ready = selector.select()
                if self._stopping.is_set():
                    break
                if any(key.fileobj is self.socket for key, _ in ready):
                    self.handle_request()  # ready: its own select returns at once
                self.service_actions()

    def stop_serving(self) -> None:
        """Make :meth:`serve_until_stopped` return (from another thread)."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the FQDN of the address, which can stall on a host
        # without reverse DNS; the simulator has no use for it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed handshakes and clients that vanish are expected; keep them out of stderr.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        """End every open connection (idle keep-alive threads would otherwise linger)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()


class _Handler(BaseHTTPRequestHandler):
    """Reads one request at a time from a connection and writes the app's response."""

    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "licsync-sim"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm
        # and the peer's delayed ACK add tens of milliseconds to every small response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(_HANDSHAKE_TIMEOUT)
            self.request.do_handshake()
        super().setup()
        self.sim_connection = Connection(f"{self.client_address[0]}:{self.client_address[1]}")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the app's (see :meth:`QrsApp.http_date`)."""
        return self.server.app.http_date(timestamp)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._write(text_response(exc.status, exc.reason))
            return
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(target.path),
            raw_query=target.query,
            headers=fold_headers(self.headers.items()),
            body=body,
            secure=self.server.secure,
        )
        response = self.server.app.respond(request, self.sim_connection)
        if response.drop:
            self.close_connection = True  # the socket closes with nothing written
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        with_body = self.command != "HEAD" and response.status not in (204, 304)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if with_body and response.body:
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BodyError(400, "Content-Length is not a number") from None
        if length < 0:
            raise _BodyError(400, "Content-Length is negative")
        if length > MAX_BODY_BYTES:
            raise _BodyError(413, "Request body too large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, "Malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(413, "Request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)


class _BodyError(Exception):
    """A request body that cannot be read; answered, never raised out of the handler."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


class Simulator:
    """A running simulator (see :func:`start_simulator`).

    Attributes:
        url: base URL without ``/qrs`` (``http://127.0.0.1:54321``, ``https://...`` with TLS).
        app: the HTTP-agnostic core (for tests that need its internals).
    """

    def __init__(self, app: QrsApp, url: str, serving: _Serving | None = None) -> None:
        self.app = app
        self.url = url
        self._serving = serving

    @property
    def store(self) -> SimStore:
        """The simulator's store (thread-safe); tests may build state through it."""
        return self.app.store

    @property
    def port(self) -> int:
        """The TCP port the simulator listens on (the URL's, for one served in process)."""
        if self._serving is None:
            return urlsplit(self.url).port or 80
        return int(self._serving.server.server_address[1])

    def request_counts(self) -> dict[str, int]:
        """``/qrs`` requests by method since start or :meth:`reset_counts`."""
        return self.app.counter.snapshot()

    def route_counts(self) -> dict[str, int]:
        """The request log: ``"METHOD /qrs/route/{id}/..."`` -> how many reached that route."""
        return self.app.counter.routes()

    def reset_counts(self) -> None:
        """Start counting ``/qrs`` requests from zero."""
        self.app.counter.reset()

    def now(self) -> dt.datetime:
        """The simulator's clock."""
        return self.store.now()

    def set_now(self, when: dt.datetime) -> None:
        """Freeze the simulator's clock at ``when`` (aware); quarantines past their end end."""
        self.store.set_now(when)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the simulator's clock by ``delta``."""
        self.store.advance(delta)

    @property
    def faults(self) -> FaultPlan:
        """The fault plan in force."""
        return self.app.faults.plan

    def set_faults(self, plan: FaultPlan) -> None:
        """Replace the fault plan (its random sequences restart from its seed)."""
        self.app.faults.set_plan(plan)

    def fail_next(self, method: str, kind: FaultKind, count: int = 1) -> None:
        """Make the next ``count`` ``/qrs`` requests of ``method`` fail with ``kind``."""
        self.app.faults.fail_next(method, kind, count)

    def stop(self) -> None:
        """Stop serving and close every connection (nothing to do for one served in process)."""
        if self._serving is not None:
            self._serving.stop()


@dataclass(frozen=True, slots=True)
class _Serving:
    """The socket side of a running simulator: the server and the thread accepting for it."""

    server: _Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.stop_serving()
        self.thread.join(timeout=10)
        self.server.close_connections()
        self.server.server_close()


@contextlib.contextmanager
def start_simulator(
    store: SimStore | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_dir: str | Path | None = None,
    **options: Unpack[AppOptions],
) -> Iterator[Simulator]:
    """Run a simulator in a background thread for the duration of the ``with`` block.

    Args:
        store: serve this store; otherwise one is loaded from ``snapshot``, or built with
            ``users`` synthetic people (:func:`~licsync.sim.seed.synthetic_organisation`), or
            left empty (no users, no capacity) when ``users`` is 0.
        host, port: where to listen; port 0 picks a free port.
        tls_dir: serve HTTPS with the files of ``licsync sim certs`` and require client certs.
        seed: seeds the synthetic organisation and the fault plan.
        latency_ms: latency added to every ``/qrs`` response (jitter: a fifth of it).
        fault_rate: share of ``/qrs`` requests that fail, spread over the fault kinds.
        now: freeze the clock here; None keeps the store's clock (the wall clock for a new one).
        proxies: the virtual proxies (default: ``hdr``, ``jwt`` without key, ``win``).
        faults: an explicit fault plan (overrides ``fault_rate`` and ``latency_ms``).
        shapes: ``live`` (as live servers answer) or ``spec`` (see
            :data:`~licsync.sim.listing.ShapeStyle`).
        date_skew_seconds: how far the ``Date`` header is from this machine's clock.

    Raises:
        UsageError: the TLS folder or the snapshot is unusable, or a value is out of range.
    """
    context = tls_context(tls_dir) if tls_dir is not None else None
    app = build_app(store, **options)
    try:
        server = _Server((host, port), app, context)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound_host, bound_port = server.server_address[:2]
    shown_host = "127.0.0.1" if bound_host in ("0.0.0.0", "") else str(bound_host)  # noqa: S104
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"{'https' if context else 'http'}://{shown_host}:{bound_port}"
    thread = threading.Thread(target=server.serve_until_stopped, name="licsync-sim", daemon=True)
    thread.start()
    simulator = Simulator(app, url, _Serving(server, thread))
    log.info("simulator serving QRS at %s", url)
    try:
        yield simulator
    finally:
        simulator.stop()


class AppOptions(TypedDict, total=False):
    """:func:`build_app`'s arguments after the store, which :func:`start_simulator` and the
    in-process :func:`~licsync.sim.transport.serve_in_process` pass on as they are (the
    defaults are :func:`build_app`'s)."""

    users: int
    seed: int
    snapshot: str | Path | None
    latency_ms: float
    fault_rate: float
    now: dt.datetime | None
    proxies: ProxyConfig | None
    faults: FaultPlan | None
    shapes: ShapeStyle
    date_skew_seconds: float


def build_app(
    store: SimStore | None = None,
    *,
    users: int = 0,
    seed: int = 0,
    snapshot: str | Path | None = None,
    latency_ms: float = 0,
    fault_rate: float = 0.0,
    now: dt.datetime | None = None,
    proxies: ProxyConfig | None = None,
    faults: FaultPlan | None = None,
    shapes: ShapeStyle = "live",
    date_skew_seconds: float = 0.0,
) -> QrsApp:
    """The simulated QRS :func:`start_simulator` serves (its arguments, without the socket's).

    Raises:
        UsageError: the snapshot is unusable, or a value is out of range.
    """
    if store is None:
        if snapshot is not None:
            store = SimStore.load(snapshot)
        elif users > 0:
            store = synthetic_organisation(users, seed, now or dt.datetime.now(dt.UTC))
            if now is None:
                store.clock = SimClock(None)  # built "as of now", then follows the wall clock
        else:
            store = SimStore(now)
    if now is not None:
        store.set_now(now)
        store.clock_moved = dt.timedelta()  # where the clock starts is no move of it
    if faults is None:
        jitter = latency_ms / 5
        faults = (
            FaultPlan.uniform(fault_rate, seed=seed, latency_ms=latency_ms, jitter_ms=jitter)
            if fault_rate > 0
            else FaultPlan(seed=seed, latency_ms=latency_ms, jitter_ms=jitter)
        )
    app = QrsApp(store, proxies=proxies, faults=FaultInjector(faults), shapes=shapes)
    app.date_skew_seconds = date_skew_seconds
    return app
