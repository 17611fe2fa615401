"""One deadline for a whole request: connect, TLS, headers and every byte of the body.

httpx has no overall timeout: its read timeout bounds each socket read, and restarts with every
byte, so a server that drips one byte every 20 seconds holds a request forever. The deadline is
enforced under httpx, in httpcore's network layer: :class:`DeadlineBackend` wraps the backend a
connection pool opens its sockets with, and every connect, read and write it makes waits at most
until the deadline of the request the calling thread is sending (:func:`bounded`). Past it, the
operation fails with httpcore's own timeout exception, which httpx translates as usual.

The deadline is thread-local: the sync client does all of one request's I/O in the thread that
sent it, and pooled connections serve whichever thread uses them next.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

__all__ = ["DeadlineBackend", "bounded", "install", "remaining"]

_local = threading.local()


@contextlib.contextmanager
def bounded(at: float) -> Iterator[None]:
    """Within the ``with``, this thread's network operations end by ``at`` (``time.monotonic``)."""
    previous = getattr(_local, "at", None)
    _local.at = at
    try:
        yield
    finally:
        _local.at = previous


def remaining() -> float | None:
    """Seconds left before this thread's deadline, None when it has none."""
    at: float | None = getattr(_local, "at", None)
    return None if at is None else at - time.monotonic()


def _clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise expired("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose every wait ends by the calling thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _clamp(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover - licsync talks TCP
        stream = self._inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:  # pragma: no cover - only httpcore's retries sleep
        self._inner.sleep(seconds)


def install(transport: httpx.HTTPTransport) -> bool:
    """Make ``transport``'s connection pool open deadline-bound connections.

    httpx does not let a caller choose the network backend, so this replaces the one its pool
    was built with. False when the pool is not the one this httpx version is known to build
    (the deadline is then still checked between body chunks, see the client).
    """
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool):  # pragma: no cover - a future httpx
        return False
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):  # pragma: no cover - a future httpcore
        return False
    if not isinstance(backend, DeadlineBackend):
        pool._network_backend = DeadlineBackend(backend)
    return True
