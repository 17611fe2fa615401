"""What the benchmarks share: simulators in their own processes (optionally with latency), QRS
GETs with an xrfkey, and the floor read of QRS.

Not a benchmark itself; ``bench/read.py``, ``bench/plan.py`` and ``bench/apply.py`` import it
(all run from the repository root, which puts ``bench/`` on the path).
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from licsync.qrs.client import new_xrfkey  # noqa: E402 - after the path set-up above
from licsync.qrs.filters import encode_query  # noqa: E402
from licsync.qrs.read import READ_CONCURRENCY, actual_requests  # noqa: E402

URL_PATTERN = re.compile(r"serving QRS at (\S+)")
STARTUP_TIMEOUT_S = 600.0
QRS_HEADERS = {"X-Qlik-User": "UserDirectory=INTERNAL; UserId=sa_api"}
LICSYNC_ENV = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": str(REPO / "src"),
}
"""The environment a bench runs licsync in: this checkout's sources, whatever is installed, and
their bytecode (:func:`compiled`)."""


@functools.cache
def compiled() -> None:
    """Compile the checkout's sources, once per bench and not timed, as ``pip install`` compiles
    an installed licsync. Where the environment says to write no bytecode
    (``PYTHONDONTWRITEBYTECODE``, as on this project's build machines), every licsync a bench
    started compiled its ~170 modules from source again: about 0.12 s of each process, which no
    installed licsync spends."""
    compileall.compile_dir(REPO / "src", quiet=1)


def run_licsync(
    args: list[str],
    *,
    wrapper: str | None = None,
    ok: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """One ``licsync ARGS`` in a fresh process, interpreter start included: its wall seconds
    and what it printed. ``wrapper`` is a bench's own phase-timing ``python -c`` script instead
    of ``-m licsync``. An exit code not in ``ok`` ends the bench with licsync's last output."""
    compiled()
    command = [sys.executable, *(["-c", wrapper] if wrapper else ["-m", "licsync"]), *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env or LICSYNC_ENV, cwd=cwd, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        sys.stderr.write(done.stdout[-2000:])
        raise SystemExit(f"licsync {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done


@contextlib.contextmanager
def simulator(users: int, seed: int, *, latency_ms: float = 0.0) -> Iterator[str]:
    """``licsync sim serve`` in its own process (its CPU does not compete with the client's
    under the GIL); yields the URL it prints and stops it afterwards."""
    with simulators(1, users, seed, latency_ms=latency_ms) as urls:
        yield urls[0]


@contextlib.contextmanager
def simulators(
    count: int, users: int, seed: int, *, latency_ms: float = 0.0, snapshot: Path | None = None
) -> Iterator[list[str]]:
    """``count`` identical simulators (same users and seed: the same site, ids included), each
    in its own process, started at once so that their seeding overlaps; yields their URLs.
    With ``snapshot`` each serves that file instead of a synthetic organisation."""
    env = LICSYNC_ENV
    what = ["--snapshot", str(snapshot)] if snapshot is not None else ["--users", str(users)]
    command = [sys.executable, "-m", "licsync", "sim", "serve", *what]
    command += ["--port", "0", "--seed", str(seed), "--latency-ms", str(latency_ms)]
    processes: list[subprocess.Popen[str]] = []
    try:
        for _ in range(count):
            processes.append(
                subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
                )
            )
        urls = [_read_url(process) for process in processes]
        if None in urls:
            raise SystemExit("could not start the simulator (licsync sim serve)")
        yield [url for url in urls if url is not None]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _read_url(process: subprocess.Popen[str]) -> str | None:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return None
        match = URL_PATTERN.search(line)
        if match:
            return match.group(1)
    return None


def http_client() -> httpx.Client:
    """A plain httpx client for the floor: certificate-mode headers, generous timeouts."""
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    return httpx.Client(headers=QRS_HEADERS, timeout=httpx.Timeout(300.0), limits=limits)


def xrf() -> tuple[str, dict[str, str]]:
    """A fresh xrfkey and the query parameters carrying it (send it as ``X-Qlik-Xrfkey`` too)."""
    key = new_xrfkey()
    return key, {"xrfkey": key}


def get_json(http: httpx.Client, base: str, path: str, params: dict[str, str] | None = None) -> Any:
    """``GET`` one QRS path (xrfkey in query and header) and decode it."""
    key, query = xrf()
    response = http.get(
        f"{base}{path}?{encode_query({**query, **(params or {})})}",
        headers={"X-Qlik-Xrfkey": key},
    )
    response.raise_for_status()
    return response.json()


def served_site(base: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """What a simulator serves (its users, and its allocations per type), for a bench to write
    the desired state it times against."""
    with http_client() as http:
        users = get_json(http, base, "/qrs/user/full")
        seats = {
            t: get_json(http, base, f"/qrs/license/{t}accesstype/full")
            for t in ("professional", "analyzer")
        }
    return users, seats


def ident(user: dict[str, Any]) -> str:
    """A served user's ``DIRECTORY\\userid``, as desired-state files name it."""
    return f"{user['userDirectory']}\\{user['userId']}"


def floor_read(http: httpx.Client, base: str, paths: Collection[str] | None = None) -> int:
    """Plain GETs + ``json.loads`` of the endpoints licsync reads (only those of ``paths``
    when given), with licsync's concurrency (one worker thread per request); returns the
    bytes read."""

    def one(path: str, params: dict[str, str]) -> int:
        key, xrfkey = xrf()
        query = encode_query({**xrfkey, **params})
        response = http.get(f"{base}{path}?{query}", headers={"X-Qlik-Xrfkey": key})
        response.raise_for_status()
        json.loads(response.content)
        return len(response.content)

    requests = [(p, q) for p, q in actual_requests() if paths is None or p in paths]
    with ThreadPoolExecutor(max_workers=READ_CONCURRENCY) as pool:
        futures = [pool.submit(one, path, dict(params)) for path, params in requests]
        return sum(f.result() for f in futures)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def sim_requests(http: httpx.Client, base: str) -> int:
    """How many /qrs requests the simulator has counted since its last reset."""
    counts = http.get(f"{base}/_sim/requests").json()
    return int(sum(counts.values()))
