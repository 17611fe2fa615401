"""Read the whole actual state of a site in a constant number of concurrent requests.

Nine GETs, whatever the site's size: ``/qrs/about`` (first, alone), then ``/qrs/user/full``,
the allocations and access groups of both access types, the ``License`` system rules, the
access type overview and the licence (``/qrs/license``; a site that will not say reads as an
unknown licence, not as an error) on a small thread pool (one worker per request); each answer
is decoded and turned into model values in the thread that fetched it, one answer at a time, so
building the model of one answer overlaps downloading the others.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from licsync.actual import Actual, ActualUser, Licence
from licsync.errors import QrsResponseError, QrsStatusError
from licsync.gcpause import gc_paused
from licsync.identity import AccessType, user_key
from licsync.qrs import filters, paths
from licsync.qrs.client import QrsClient
from licsync.qrs.jsonarray import NotAnArray, iter_json_chunks
from licsync.qrs.parse import (
    parse_about,
    parse_capacity,
    parse_licence,
    parse_rules,
    parse_users,
    read_allocations,
)

_R = TypeVar("_R")

__all__ = [
    "READ_CONCURRENCY",
    "EndpointTiming",
    "ReadResult",
    "ReadTiming",
    "actual_requests",
    "fetch_actual",
    "find_user",
    "read_actual",
]

# One worker per request: the reads are independent and few.
READ_CONCURRENCY = 9
FREEZE_FROM_USERS = 20_000
"""From this many users a read's objects are frozen out of the cyclic collector's scans (see
:func:`read_actual`); a small site's are not worth a process-wide, permanent freeze."""
# How QRS escapes these inside a quoted filter value is UNVERIFIED (reference §2.2): values
# holding them are never sent in a filter; the match is made here instead.
_UNSAFE_IN_FILTER = ("'", "\\")


@dataclass(frozen=True, slots=True)
class EndpointTiming:
    """Where one read's time went (seconds, measured in its worker thread).

    Attributes:
        http: from sending the request to having the whole body (retries included).
        wait: waiting for another answer's decoding and building to finish.
        decode: ``json.loads``.
        build: turning the JSON into model values, and freeing the JSON.
        size: bytes of the body.
    """

    http: float
    wait: float
    decode: float
    build: float
    size: int


@dataclass(frozen=True, slots=True)
class ReadTiming:
    """Where :func:`read_actual`'s time went.

    Attributes:
        total: wall-clock seconds of the whole read.
        endpoints: per request (its path, query not included).
        assemble: seconds spent after the last answer (pairing rules with groups, assembling).
    """

    total: float
    endpoints: Mapping[str, EndpointTiming]
    assemble: float

    @property
    def requests(self) -> int:
        """How many requests the read made (retries not counted)."""
        return len(self.endpoints)


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The actual state and how long reading it took."""

    actual: Actual
    timing: ReadTiming


def actual_requests() -> tuple[tuple[str, Mapping[str, str]], ...]:
    """The (path, query parameters) of every request :func:`read_actual` makes, in order."""
    license_rules = {"filter": filters.eq("category", "License")}
    return (
        (paths.ABOUT, {}),
        (paths.USER_FULL, {}),
        (paths.access_type_full(AccessType.PROFESSIONAL), {}),
        (paths.access_type_full(AccessType.ANALYZER), {}),
        (paths.access_group_full(AccessType.PROFESSIONAL), {}),
        (paths.access_group_full(AccessType.ANALYZER), {}),
        (paths.SYSTEM_RULE_FULL, license_rules),
        (paths.ACCESS_TYPE_OVERVIEW, {}),
        (paths.LICENSE, {}),
    )


def fetch_actual(client: QrsClient) -> Actual:
    """The site's whole actual state, in a constant number of requests (nine).

    Raises:
        QrsError: a request failed, or an answer lacks a field the QRS spec requires.
    """
    return read_actual(client).actual


def read_actual(
    client: QrsClient,
    *,
    concurrency: int = READ_CONCURRENCY,
    pause_gc: bool = True,
    users: Mapping[str, ActualUser] | None = None,
    build_version: str | None = None,
) -> ReadResult:
    """Like :func:`fetch_actual`, and also say where the time went.

    Args:
        client: the QRS client (read-only is enough).
        concurrency: how many requests run at once.
        pause_gc: suspend Python's cyclic garbage collector while reading (restored after).
            Decoding and modelling 100,000 users allocates millions of acyclic containers; the
            collector would scan them again and again without finding anything to free, which
            more than doubles the time of ``json.loads`` alone. Reference counting still frees
            everything as usual. From :data:`FREEZE_FROM_USERS` users, everything alive is then
            frozen (``gc.freeze``) so that later collections skip it too.
        users: reuse these users instead of reading ``/qrs/user/full`` again (by far the
            largest answer): ``apply`` re-reads what it changed, and it changes no user.
        build_version: reuse this ``/qrs/about`` build version instead of asking first, alone,
            before the rest (a round trip on the way of every other request): ``apply``'s
            re-reads come a moment after a read that asked.

    Raises:
        QrsError: a request failed, or an answer lacks a field the QRS spec requires.
    """
    if not pause_gc:
        return _read_actual(client, concurrency, users, build_version)
    with gc_paused():
        result = _read_actual(client, concurrency, users, build_version)
        if len(result.actual.users) >= FREEZE_FROM_USERS:
            # Millions of acyclic objects that live as long as the plan: every full collection
            # after the read rescanned them all, for nothing (a second of CPU at 100,000 users,
            # in the log reading, the plan and the render). Frozen before the collector comes
            # back, they are left out of its scans; reference counting still frees them.
            gc.freeze()
        return result


def _read_actual(
    client: QrsClient,
    concurrency: int,
    users: Mapping[str, ActualUser] | None,
    build_version: str | None,
) -> ReadResult:
    started = time.perf_counter()
    builders: dict[str, Callable[[Any], Any]] = {
        paths.ABOUT: parse_about,
        paths.USER_FULL: parse_users,
        paths.SYSTEM_RULE_FULL: _identity,
        paths.ACCESS_TYPE_OVERVIEW: parse_capacity,
        paths.LICENSE: parse_licence,
    }
    for kind in AccessType:
        builders[paths.access_type_full(kind)] = _allocations_builder(kind)
        builders[paths.access_group_full(kind)] = _identity
    streamed = {paths.USER_FULL, *(paths.access_type_full(kind) for kind in AccessType)}

    # Decoding and modelling are pure CPU under the GIL: doing them one answer at a time
    # (while the other requests keep downloading) avoids GIL thrashing between big parsers and
    # keeps only one decoded answer alive at a time, which lowers the peak memory.
    cpu_lock = threading.Lock()

    def job(path: str, params: Mapping[str, str]) -> tuple[Any, EndpointTiming]:
        t0 = time.perf_counter()
        body, size = _get(client, path, params, streamed=path in streamed)
        t1 = time.perf_counter()
        with cpu_lock:
            t2 = time.perf_counter()
            decoded = _decode(client, path, body)
            del body  # not needed once decoded (a streamed one is let go piece by piece)
            t3 = time.perf_counter()
            value = builders[path](decoded)
            del decoded  # freeing the decoded JSON is part of building, and costs time
            t4 = time.perf_counter()
        timing = EndpointTiming(
            http=t1 - t0, wait=t2 - t1, decode=t3 - t2, build=t4 - t3, size=size
        )
        return value, timing

    # /qrs/about first and alone: it is tiny, and a site that is unreachable, not QRS, or
    # refusing the credentials then fails once, with one message, instead of eight times over.
    (first_path, first_params), *requests = actual_requests()
    results: dict[str, Any] = {}
    if users is not None:
        requests = [(path, params) for path, params in requests if path != paths.USER_FULL]
        results[paths.USER_FULL] = users
    timings: dict[str, EndpointTiming] = {}
    if build_version is None:
        results[first_path], timings[first_path] = job(first_path, first_params)
    else:
        results[first_path] = build_version
    futures = _in_background(job, requests, concurrency)
    # Collect in order so the first failure raised is deterministic; cancel the rest.
    try:
        for (path, _), future in zip(requests, futures, strict=True):
            results[path], timing = _collect(path, future)
            if timing is not None:
                timings[path] = timing
    except BaseException:
        for future in futures:
            future.cancel()
        raise

    assemble_started = time.perf_counter()
    actual = _assemble(results)
    finished = time.perf_counter()
    timing = ReadTiming(
        total=finished - started, endpoints=timings, assemble=finished - assemble_started
    )
    return ReadResult(actual=actual, timing=timing)


def _get(
    client: QrsClient, path: str, params: Mapping[str, str], *, streamed: bool
) -> tuple[bytes | list[bytes], int]:
    """The answer's body, and its size; a streamed one in the pieces it arrived in: joined, the
    224 MB of 100,000 users and then their text were the peak memory of the plan."""
    if streamed:
        chunks = client.get_chunks(path, params=params)
        return chunks, sum(map(len, chunks))
    body = client.get_bytes(path, params=params)
    return body, len(body)


def _decode(client: QrsClient, path: str, body: bytes | list[bytes]) -> Any:
    if isinstance(body, bytes):
        return client.decode_json("GET", path, body)
    # Decoded element by element while building, each piece let go once read: the whole
    # decoded array would otherwise be the peak memory of the plan (see jsonarray).
    try:
        return iter_json_chunks(body, method="GET", path=path)
    except NotAnArray as exc:
        return exc.value  # the builder names what it expected


def _in_background(
    job: Callable[[str, Mapping[str, str]], _R],
    requests: Sequence[tuple[str, Mapping[str, str]]],
    workers: int,
) -> list[Future[_R]]:
    """``job`` of each request on up to ``workers`` daemon threads: a Ctrl-C while reading ends
    the process at once, where an executor's threads would be waited for at exit (a slow
    site's reads in flight kept an interrupted apply alive for seconds)."""
    futures: list[Future[_R]] = [Future() for _ in requests]
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(requests)):
        todo.put(index)

    def work() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            future = futures[index]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job(*requests[index]))
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

    for number in range(min(workers, len(requests))):
        threading.Thread(target=work, name=f"qrs-read-{number}", daemon=True).start()
    return futures


def _collect(path: str, future: Future[tuple[Any, EndpointTiming]]) -> tuple[Any, Any]:
    try:
        return future.result()
    except (QrsStatusError, QrsResponseError):
        if path != paths.LICENSE:
            raise
        # An older QRS, or a caller who may not read it: the kind is unknown, and the planner
        # assumes quarantine (it never counts a seat free too early).
        return Licence(), None


def _assemble(results: Mapping[str, Any]) -> Actual:
    groups = {kind: results[paths.access_group_full(kind)] for kind in AccessType}
    seats = {kind: results[paths.access_type_full(kind)] for kind in AccessType}
    return Actual(
        users=results[paths.USER_FULL],
        allocations={kind: seats[kind][0] for kind in AccessType},
        rules=parse_rules(groups, results[paths.SYSTEM_RULE_FULL]),
        capacity=results[paths.ACCESS_TYPE_OVERVIEW],
        build_version=results[paths.ABOUT],
        licence=results[paths.LICENSE],
        unreadable=tuple(row for kind in AccessType for row in seats[kind][1]),
    )


def _identity(value: Any) -> Any:
    return value


def _allocations_builder(kind: AccessType) -> Callable[[Any], Any]:
    def build(items: Any) -> Any:
        return read_allocations(items, kind)

    return build


def find_user(client: QrsClient, directory: str, userid: str) -> ActualUser | None:
    """One user by ``DIRECTORY`` and ``userid`` (compared case-insensitively, as QRS does).

    The filter names each part that is safe to send; a part holding an apostrophe or a
    backslash (whose escaping inside QRS filters is UNVERIFIED) is left out of the filter and
    matched here, so the answer may hold more users than the one wanted.

    Raises:
        QrsError: the request failed or the answer is malformed.
    """
    clauses = []
    if not any(ch in directory for ch in _UNSAFE_IN_FILTER):
        clauses.append(filters.eq("userDirectory", directory))
    if not any(ch in userid for ch in _UNSAFE_IN_FILTER):
        clauses.append(filters.eq("userId", userid))
    params = {"filter": filters.all_of(*clauses)} if clauses else {}
    users = parse_users(client.get_json(paths.USER_FULL, params=params))
    return users.get(user_key(directory, userid))
