"""The simulator in this process, reached without a socket: what tests not about the network use.

:func:`in_process_simulator` takes :func:`~licsync.sim.start_simulator`'s arguments (without
the socket's) and mounts the simulator's URL for every ``QrsClient`` made meanwhile, a
command's included (:func:`licsync.qrs.client.mount`); :func:`bare_client` is a bare HTTP
client for it. Tests about sockets, TLS, dropped or dripping connections, deadlines and other
processes start the real server instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from licsync.qrs.client import mount
from licsync.sim import SimStore, Simulator
from licsync.sim.testing import qrs_client
from licsync.sim.transport import SimTransport, serve_in_process


@contextlib.contextmanager
def in_process_simulator(store: SimStore | None = None, **kwargs: Any) -> Iterator[Simulator]:
    """A simulator served in process, its URL mounted for the product's clients."""
    with serve_in_process(store, **kwargs) as sim, mount(sim.url, lambda: SimTransport(sim.app)):
        yield sim


def bare_client(sim: Simulator, prefix: str = "", **kwargs: Any) -> httpx.Client:
    """:func:`~licsync.sim.testing.qrs_client` for ``sim`` in process, at ``sim.url`` plus
    ``prefix`` (a virtual proxy's, ``/hdr``)."""
    return qrs_client(sim.url + prefix, transport=SimTransport(sim.app), **kwargs)
