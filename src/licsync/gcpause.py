"""Pausing the cyclic garbage collector while building large acyclic structures.

Loading 100,000 allocations or users creates millions of container objects that stay alive.
Each allocation burst triggers the cyclic collector, which rescans everything alive so far, so
the time grows far faster than the data (measured: validate of 100,000 allocations 4.8 s with
the collector, 1.5 s without). The structures built here hold no reference cycles, so reference
counting alone frees them; pausing the collector loses nothing.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (re-entrant; restores the prior state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
