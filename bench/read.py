"""Benchmark: reading a large site's actual state, against the floor of bare HTTP + json.loads.

Run from the repository root::

    python bench/read.py                 # 100,000 people (the target size)
    python bench/read.py --users 5000    # a quick run

The simulator runs in a separate process (``licsync sim serve``) so its CPU does not compete
with the client under the GIL. After one warm-up read (which also fills the simulator's cache
of serialised lists), the script measures, alternately and several times:

(a) the floor: plain ``httpx`` GETs of the same eight endpoints (valid xrfkey, ``X-Qlik-User``)
    and ``json.loads`` of each body, no model building, with the same concurrency licsync uses
    (a thread pool of ``READ_CONCURRENCY`` = 8 workers, one request each) and Python's garbage
    collector left as it is;
(b) ``licsync.qrs.fetch_actual`` (which pauses the garbage collector while it reads, see
    ``read_actual``).

It prints the medians, their ratio, the number of requests (b) made (from the simulator's
``/_sim/requests``), and the peak memory of (b) measured with ``tracemalloc`` in a separate,
untimed run (Python allocations, not the process RSS). The floor with the collector paused is
printed as well, to show how much of the ratio is model building. The last line is::

    RESULT read ratio=<x> requests=<n> peak_mb=<m>
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from typing import Any

from benchlib import floor_read, http_client, sim_requests, simulator, timed
from licsync.gcpause import gc_paused
from licsync.qrs import QrsClient, fetch_actual, read_actual
from licsync.qrs.read import READ_CONCURRENCY


def measure(base: str, repeat: int) -> dict[str, Any]:
    """Warm up, then time (a), (a) with the GC paused, and (b) alternately ``repeat`` times."""
    with http_client() as http, QrsClient(base, read_only=True) as client:
        warm = read_actual(client)  # also fills the simulator's list cache
        size = floor_read(http, base)
        users = len(warm.actual.users)
        seats = sum(len(a) for a in warm.actual.allocations.values())
        print(f"warm-up: {users} users, {seats} allocations, {size / 1e6:.1f} MB of JSON")
        runs: dict[str, list[float]] = {"floor": [], "floor_paused": [], "licsync": []}
        for _ in range(repeat):
            gc.collect()
            runs["floor"].append(timed(lambda: floor_read(http, base)))
            gc.collect()
            with gc_paused():
                runs["floor_paused"].append(timed(lambda: floor_read(http, base)))
            gc.collect()
            runs["licsync"].append(timed(lambda: fetch_actual(client)))

        http.post(f"{base}/_sim/requests/reset")
        split = read_actual(client)
        requests = sim_requests(http, base)

        gc.collect()
        tracemalloc.start()
        fetch_actual(client)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"runs": runs, "split": split.timing, "requests": requests, "peak": peak}


def report(results: dict[str, Any]) -> None:
    """Print the numbers, the time split and the RESULT line."""
    runs = results["runs"]
    floor = statistics.median(runs["floor"])
    paused = statistics.median(runs["floor_paused"])
    ours = statistics.median(runs["licsync"])
    ratio = ours / floor
    peak_mb = results["peak"] / 2**20
    requests = results["requests"]

    def show(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    print(f"concurrency: {READ_CONCURRENCY} worker threads, one request each (both sides)")
    print(f"(a) floor, httpx + json.loads:    median {floor:.3f}s  [{show(runs['floor'])}]")
    print(f"    the same with the GC paused:  median {paused:.3f}s  [{show(runs['floor_paused'])}]")
    print(f"(b) fetch_actual:                 median {ours:.3f}s  [{show(runs['licsync'])}]")
    print(f"ratio (b)/(a): {ratio:.2f}    (b)/(a with the GC paused): {ours / paused:.2f}")
    split = results["split"]
    print("time split of one fetch_actual (seconds, per endpoint, in its worker thread):")
    for path, t in split.endpoints.items():
        print(
            f"  {path:42s} http {t.http:6.3f} wait {t.wait:6.3f} json {t.decode:6.3f} "
            f"build {t.build:6.3f}  {t.size / 1e6:6.1f} MB"
        )
    print(f"  total {split.total:.3f}s, assembling {split.assemble:.3f}s")
    print(f"requests of one fetch_actual (simulator count): {requests}")
    print(f"peak memory of fetch_actual (tracemalloc, Python allocations): {peak_mb:.0f} MB")
    print(f"RESULT read ratio={ratio:.2f} requests={requests} peak_mb={peak_mb:.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="people in the organisation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side")
    options = parser.parse_args()

    print(f"starting the simulator with {options.users} users (separate process) ...")
    started = time.perf_counter()
    with simulator(options.users, options.seed) as base:
        print(f"simulator at {base} after {time.perf_counter() - started:.1f}s")
        results = measure(base, options.repeat)
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
