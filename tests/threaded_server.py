"""A ``socketserver`` server run on a daemon thread for the length of a ``with``.

``serve_forever`` notices ``shutdown()`` only at its next poll. At the 50 ms the forge
stand-ins and the hostile QRS used, stopping their servers was 11 s of the suite's waiting
(185 tests, 40 to 100 ms each); the simulator wakes its loop with a socket pair instead (see
``licsync.sim.server``). Polling every 5 ms costs a ``select`` call per poll and nothing else.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["POLL_SECONDS", "serving_in_thread"]

POLL_SECONDS = 0.005


@contextmanager
def serving_in_thread(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve ``server`` on a daemon thread; on leaving, stop it, close it and wait for it."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
