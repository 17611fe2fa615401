"""Benchmark: ``licsync apply`` of 10,000 changes, against its floor and against one request
per change in series; and the per-seat case of reclaiming a big site's idle seats.

Run from the repository root::

    python bench/apply.py              # 13,000 people; 5,000 allocations + 5,000 reclaims
    python bench/apply.py --repeat 3   # the median of three runs of each (about 5 minutes)
    python bench/apply.py --quick      # 3,000 people; 1,000 + 1,000; per seat: 5,000, ~400
    python bench/apply.py --no-per-seat  # the 10,000 changes only

Set-up (not timed): ``--repeat`` + 1 simulators of the same synthetic organisation (same
``--users`` and ``--seed``, so the same users and allocation ids), each in its own process, all
with ``--latency-ms`` (20) added to every ``/qrs`` response. From what the first serves, the script
writes a desired state: authoritative professional ownership (analyzer observed), safety caps
raised, the site's professional licence rules declared as they are, every professional holder
declared except ``--changes`` of them, plus ``--changes`` people who hold no professional seat.
That makes ``--changes`` reclaims and ``--changes`` allocations and nothing else. The
organisation is built here and served as a snapshot: the synthetic one (about one person in five
holds a professional seat), topped up with professional seats for people who had none until
``--changes`` plus a fifth hold one, and its professional capacity raised by ``--changes`` (seats
used in the last week go into quarantine when reclaimed and still count: the allocations never
wait for a seat). 13,000 people is about the least that holds the 10,000 changes with a
remainder: 1,000 holders kept, and some 2,000 people without a seat who get none; the 30,000
people an untopped synthetic site needs for 5,000 reclaimable seats only add to the two reads.

Measured:

- ``python -m licsync apply DIR --auto-approve --format json --concurrency 8`` in a fresh
  process, once per fresh simulator (after a warm-up read that fills its list caches): wall
  time from start to exit (interpreter start and imports included), the QRS requests of its
  JSON report (``qrs_requests``), every change checked ``applied`` and the re-plan
  (``after``) checked empty. A small wrapper around the CLI (not part of the product) times
  its phases, tallies its requests per phase and lists the reads it made (which endpoints).
- its floor, in the same run: the bare reads the run makes, timed as ``bench/read.py`` times
  them (plain httpx GETs of the same endpoints + ``json.loads``, licsync's read concurrency),
  one such pass per read pass the run made (the whole site before, the re-read after without
  the users it reuses), each timed on the same simulator just before the run (median of
  three); plus every other request it made (the writes, and the capacity gate's GET when it
  reads) at ``--latency-ms`` each, ``--concurrency`` at once. A read pass the wrapper reports
  that was not timed before (another set of endpoints) is timed after the run. The passes
  are timed on the simulator's warm caches of serialised lists, as ``bench/read.py`` times
  them; the run's re-read comes after its writes, when the lists it changed are serialised
  afresh (as a real QRS serialises every answer).
- the way the Qlik tools people use today do it (a script over Qlik-Cli or the QMC's own
  calls): one request per change, in series, on one keep-alive connection, against the
  last (untouched) simulator: ``DELETE /qrs/license/professionalaccesstype/{id}`` for a
  reclaim, ``POST /qrs/license/professionalaccesstype`` ``{"user": {...}}`` for an
  allocation, on a sample of ``--sample`` of the same changes (half of each), scaled linearly
  to all of them.
- the per-seat case (issue 22): a ``--seat-users`` (20,000) person synthetic site whose idle
  seats are reclaimed (additive ownership of both access types, nothing declared, ``idle:
  {days: D, action: reclaim}`` with D chosen so that about ``--idle-seats`` (1,500) seats are
  idle): licsync's whole apply process per reclaimed seat against one ``DELETE`` per seat in
  series on one connection (a sample of ``--seat-sample``, scaled), both at ``--latency-ms``.
  ``--no-per-seat`` leaves it out.

The last line is ``RESULT apply speedup=<serial / licsync> floor_ratio=<licsync / floor>
requests=<n> seconds=<t> per_seat=<serial per seat / licsync per seat>`` (medians of
``--repeat`` runs; floor_ratio is the median of each run's own ratio). Targets for 10,000
changes at 20 ms: floor_ratio <= 1.5, speedup >= 50, requests <= 400, every allocation through
the QMC's selection route (checked in the simulator's request log); per_seat >= 10.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchlib import (
    LICSYNC_ENV,
    QRS_HEADERS,
    floor_read,
    get_json,
    http_client,
    ident,
    run_licsync,
    simulators,
    timed,
    xrf,
)
from licsync.apply.writer import ALLOCATE_CHUNK
from licsync.identity import AccessType
from licsync.qrs import paths
from licsync.qrs.parse import parse_users
from licsync.qrs.read import actual_requests
from licsync.rules.evaluate import evaluate
from licsync.rules.syntax import parse_condition
from licsync.rules.verdict import Verdict
from licsync.sim import SimStore
from licsync.sim.clock import SimClock
from licsync.sim.entities import ALLOCATION, USER
from licsync.sim.seed import synthetic_organisation

# Runs the CLI exactly as `python -m licsync` does, timing its phases and counting its requests
# per phase by wrapping a few functions from outside; the report goes to stderr at exit.
WRAPPER = """
import atexit, json, os, runpy, sys, threading, time
T0 = time.perf_counter()
PROFILE = os.environ.get("LICSYNC_BENCH_PROFILE")
if PROFILE:
    import pyinstrument
    profiler = pyinstrument.Profiler(interval=0.001)
    profiler.start()
import licsync.apply.run as run
import licsync.qrs.client as client
import licsync.session as session
marks, cpu, phase, tally, lock = [], {}, ["start"], {}, threading.Lock()
def mark(name):
    marks.append((name, time.perf_counter() - T0))
    cpu[name] = time.process_time()
def phased(name, function):
    def wrapped(*args, **kwargs):
        before = phase[0]
        phase[0] = name
        mark(name + " start")
        try:
            return function(*args, **kwargs)
        finally:
            mark(name + " end")
            phase[0] = before
    return wrapped
plans, timings, reads = [0], {}, []
original_read = session.read_actual
def read_actual(client, **kwargs):
    result = original_read(client, **kwargs)
    t = result.timing
    reads.append({"total": t.total, "assemble": t.assemble, "endpoints": {
        path: [e.http, e.wait, e.decode, e.build, e.size] for path, e in t.endpoints.items()}})
    return result
session.read_actual = read_actual
original_plan = session.Session.plan
def plan(self, **kwargs):
    plans[0] += 1
    name = "plan" if plans[0] == 1 else "replan"
    result = phased(name, original_plan)(self, **kwargs)
    timings[name] = dict(result.timings)
    return result
session.Session.plan = plan
original_open = session.open_session
def open_session(request):
    mark("open_session")
    return original_open(request)
session.open_session = open_session  # before licsync.cli.site_session imports it
run.execute = phased("execute", run.execute)
run._settle = phased("settle", run._settle)
original_request = client.QrsClient.request
def request(self, method, path, **kwargs):
    started = time.perf_counter()
    try:
        return original_request(self, method, path, **kwargs)
    finally:
        seconds = time.perf_counter() - started
        kind = method + " " + "/".join(p for p in path.split("/")[:4] if len(p) < 32)
        with lock:
            entry = tally.setdefault(phase[0], {}).setdefault(kind, [0, 0.0])
            entry[0] += 1
            entry[1] += seconds
client.QrsClient.request = request
def report():
    mark("exit")
    if PROFILE:
        profiler.stop()
        with open(PROFILE, "w") as out:
            out.write(profiler.output_text(unicode=True, show_all=False))
    split = {"marks": marks, "cpu": cpu, "requests": tally, "timings": timings, "reads": reads}
    sys.stderr.write("licsync-bench: " + json.dumps(split) + "\\n")
atexit.register(report)
sys.argv = ["licsync", *sys.argv[1:]]
runpy.run_module("licsync", run_name="__main__", alter_sys=True)
"""
REPORT = re.compile(r"^licsync-bench: (.*)$", re.MULTILINE)
ACCESS = "/qrs/license/professionalaccesstype"
RULE_CONTEXT = {0: "both", 1: "hub", 2: "qmc"}
RECENT_USE = dt.timedelta(days=7, hours=1)  # a seat used within this is quarantined (7 days)
NEVER = "0001-01-01"


def fetch(base: str) -> dict[str, Any]:
    """What the desired state is written from: users, professional seats and licence rules,
    and the simulator's clock (its dates derive from it)."""
    with httpx.Client(headers=QRS_HEADERS, timeout=300.0) as http:
        return {
            "users": get_json(http, base, "/qrs/user/full"),
            "seats": get_json(http, base, f"{ACCESS}/full"),
            "rules": get_json(
                http, base, "/qrs/systemrule/full", {"filter": "category eq 'License'"}
            ),
            "now": dt.datetime.fromisoformat(http.get(f"{base}/_sim/clock").json()["now"]),
        }


def professional_rules(site: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in site["rules"] if "ProfessionalAccessGroup_" in r["resourceFilter"]]


def covered(site: dict[str, Any]) -> set[str]:
    """GUIDs of the users an enabled professional licence rule may cover: the plan neither
    reclaims their seats nor allocates to them explicitly, so they are kept out of both."""
    conditions = [parse_condition(r["rule"]) for r in professional_rules(site) if not r["disabled"]]
    return {
        user.id
        for user in parse_users(site["users"]).values()
        if any(evaluate(c, user) is not Verdict.NO for c in conditions)
    }


def choose(site: dict[str, Any], changes: int, rng: random.Random) -> dict[str, Any]:
    """Which holders to keep and reclaim, and whom to allocate to."""
    users = {u["id"]: u for u in site["users"]}
    ruled = covered(site)
    held: set[str] = set()
    kept: list[str] = []
    stale: list[dict[str, Any]] = []  # (allocation, user) that may be reclaimed
    for seat in site["seats"]:
        owner = seat.get("user")
        if owner is None:
            continue
        held.add(owner["id"])
        if seat["quarantined"]:
            continue  # already reclaimed: left undeclared, nothing to do
        user = users[owner["id"]]
        if user["userDirectory"] != "INTERNAL" and user["id"] not in ruled:
            stale.append({"allocation": seat["id"], "user": user})
        else:
            kept.append(ident(user))
    if len(stale) < changes:
        raise SystemExit(
            f"only {len(stale)} professional seats to reclaim, not {changes}: give more --users"
        )
    reclaim = rng.sample(stale, changes)
    chosen = {r["allocation"] for r in reclaim}
    kept.extend(ident(s["user"]) for s in stale if s["allocation"] not in chosen)
    candidates = [
        u
        for u in site["users"]
        if u["id"] not in held
        and u["id"] not in ruled
        and u["userDirectory"] != "INTERNAL"
        and not (u["inactive"] or u["blacklisted"] or u["removedExternally"])
    ]
    if len(candidates) < changes:
        raise SystemExit(f"only {len(candidates)} people without a seat: give more --users")
    allocate = rng.sample(candidates, changes)
    return {"kept": kept, "reclaim": reclaim, "allocate": allocate}


def write_desired(directory: Path, base: str, site: dict[str, Any], chosen: dict[str, Any]) -> None:
    """site.yaml (the simulator over plain HTTP, certificate mode) and professional.yaml."""
    lines = [
        "site:",
        "  name: bench-apply",
        f"  qrs_url: {json.dumps(base)}",
        "  auth: {mode: certificate}",
        "policy:",
        "  ownership: {professional: authoritative, analyzer: observe}",
        "  protected: [INTERNAL\\*]",
        "  safety: {max_reclaims: 1000000, max_reclaim_share: 1.0, share_floor: 0}",
    ]
    (directory / "site.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    declared = sorted(chosen["kept"] + [ident(u) for u in chosen["allocate"]])
    lines = ["professional:", "  allocations:"]
    lines.extend(f"    - user: {json.dumps(u)}" for u in declared)
    rules = professional_rules(site)
    lines.append("  rules:" if rules else "  rules: []")
    for rule in rules:
        lines.append(f"    - name: {json.dumps(rule['name'])}")
        lines.append(f"      condition: {json.dumps(rule['rule'])}")
        lines.append(f"      context: {RULE_CONTEXT[rule['ruleContext']]}")
        lines.append(f"      disabled: {json.dumps(rule['disabled'])}")
        if rule.get("comment"):
            lines.append(f"      comment: {json.dumps(rule['comment'])}")
    (directory / "professional.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_apply(
    directory: Path, concurrency: int, profile: Path | None
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """One ``licsync apply`` in a fresh process: wall seconds, its JSON report, the split."""
    work = directory.parent
    env = {**LICSYNC_ENV, "XDG_STATE_HOME": str(work / "state")}
    if profile is not None:
        env["LICSYNC_BENCH_PROFILE"] = str(profile.resolve())
    args = [
        "apply", str(directory), "--auto-approve", "--format", "json",
        "--concurrency", str(concurrency), "--audit-log", str(work / "audit.jsonl"),
    ]  # fmt: skip
    seconds, done = run_licsync(args, wrapper=WRAPPER, env=env, cwd=work)
    split = REPORT.search(done.stderr)
    return seconds, json.loads(done.stdout), json.loads(split.group(1)) if split else {}


def check(report: dict[str, Any], changes: int) -> Counter[str]:
    """Every change applied, and nothing left: else the measurement means nothing."""
    statuses = Counter(i["status"] for i in report["items"])
    actions = Counter(i["change"]["action"] for i in report["items"] if i["change"])
    after = report["after"]
    left = None if after is None else after["summary"]["changes"]
    print(
        f"apply report: {len(report['items']):,} items {dict(actions)}, statuses "
        f"{dict(statuses)}; re-plan: {left} changes left"
    )
    if statuses != Counter({"applied": 2 * changes}) or len(actions) != 2 or left != 0:
        raise SystemExit(f"not the {2 * changes:,} changes all applied with nothing left")
    return statuses


def serial(base: str, chosen: dict[str, Any], sample: int) -> float:
    """One request per change, in series, on one keep-alive connection: seconds for
    ``sample`` changes (reclaims first, as apply does, so the allocations find seats)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    half = sample // 2
    reclaims = [r["allocation"] for r in chosen["reclaim"][:half]]
    allocations = chosen["allocate"][: sample - half]
    with httpx.Client(headers=QRS_HEADERS, timeout=60.0, limits=limits) as http:
        ours = {s["id"] for s in get_json(http, base, f"{ACCESS}/full")}
        if not set(reclaims) <= ours:
            raise SystemExit("the second simulator does not hold the same allocations")
        started = time.perf_counter()
        for allocation in reclaims:
            key, params = xrf()
            response = http.delete(
                f"{base}{ACCESS}/{allocation}", params=params, headers={"X-Qlik-Xrfkey": key}
            )
            response.raise_for_status()
        for user in allocations:
            key, params = xrf()
            body = {"user": {k: user[k] for k in ("id", "userId", "userDirectory")}}
            response = http.post(
                f"{base}{ACCESS}", params=params, headers={"X-Qlik-Xrfkey": key}, json=body
            )
            response.raise_for_status()
        return time.perf_counter() - started


def _parts(split: dict[str, Any], name: str) -> list[tuple[str, float]]:
    timings = split.get("timings", {}).get(name, {})
    return [(f"  {part}", seconds) for part, seconds in timings.items() if part != "load"]


def show_split(split: dict[str, Any], wall: float) -> None:
    """Where the apply process's time went, and its requests per phase."""
    marks = dict(split.get("marks", ()))
    if not marks:
        print("no phase split (the wrapper printed none)")
        return
    exit_at = marks["exit"]
    spans = [
        ("interpreter start (before the wrapper)", wall - exit_at),
        ("imports, CLI parsing", marks["open_session"]),
        ("load desired state, open client", marks["plan start"] - marks["open_session"]),
        ("plan", marks["plan end"] - marks["plan start"]),
        *_parts(split, "plan"),
        ("select, audit start", marks["execute start"] - marks["plan end"]),
        ("execute", marks["execute end"] - marks["execute start"]),
        ("settle", marks.get("settle end", 0.0) - marks.get("settle start", 0.0)),
        ("re-plan", marks["replan end"] - marks["replan start"]),
        *_parts(split, "replan"),
        ("report, render, exit", exit_at - marks["replan end"]),
    ]
    cpu = split.get("cpu", {})
    spent = {  # CPU seconds of the whole process (every thread) between two marks
        "imports, CLI parsing": cpu.get("open_session", 0.0),
        "load desired state, open client": cpu.get("plan start", 0.0)
        - cpu.get("open_session", 0.0),
        "plan": cpu.get("plan end", 0.0) - cpu.get("plan start", 0.0),
        "execute": cpu.get("execute end", 0.0) - cpu.get("execute start", 0.0),
        "re-plan": cpu.get("replan end", 0.0) - cpu.get("replan start", 0.0),
        "report, render, exit": cpu.get("exit", 0.0) - cpu.get("replan end", 0.0),
    }
    print(
        f"split of licsync apply ({wall:.2f}s wall, {cpu.get('exit', 0.0):.2f}s CPU until exit; "
        "wall and CPU seconds of each phase):"
    )
    for name, seconds in spans:
        used = f" {spent[name]:6.2f}s" if name in spent and cpu else ""
        print(f"  {name:40s} {seconds:6.2f}s{used}")
    for number, read in enumerate(split.get("reads", ()), 1):
        print(
            f"read {number}: {read['total']:.2f}s (assembling {read['assemble']:.2f}s); "
            "per endpoint, in its worker thread: http / wait / json / build seconds, MB"
        )
        for path, (http, wait, decode, build, size) in read["endpoints"].items():
            print(
                f"    {path:42s} {http:5.2f} {wait:5.2f} {decode:5.2f} {build:5.2f}  "
                f"{size / 1e6:5.1f}"
            )
    print("requests per phase (count, summed seconds in flight):")
    for phase, kinds in split["requests"].items():
        total = sum(n for n, _ in kinds.values())
        print(f"  {phase}: {total}")
        for kind, (count, seconds) in sorted(kinds.items()):
            print(f"    {kind:60s} {count:5d}  {seconds:7.2f}s")


def show_execute(split: dict[str, Any], latency: float, concurrency: int) -> None:
    """The execute phase against the floor of its own requests."""
    marks = dict(split.get("marks", ()))
    kinds = split.get("requests", {}).get("execute", {})
    writes = sum(n for n, _ in kinds.values())
    if "execute end" not in marks or not writes:
        return
    executed = marks["execute end"] - marks["execute start"]
    in_flight = sum(t for _, t in kinds.values())
    print(
        f"execute phase alone: {executed:.2f}s for {writes} requests, "
        f"{executed / (writes * latency / concurrency):.2f}x their latency floor; "
        f"{in_flight / writes * 1000:.0f} ms in flight per request on average (the "
        "simulator's own time beyond the added latency)"
    )


def show_bound(split: dict[str, Any], wall: float, floor: float) -> None:
    """What the run costs besides its writes, against the floor of all its requests: the
    floor_ratio the run would have if every write were free."""
    marks = dict(split.get("marks", ()))
    if "execute end" not in marks:
        return
    writing = marks["execute end"] - marks["execute start"]
    writing += marks.get("settle end", 0.0) - marks.get("settle start", 0.0)
    rest = wall - writing
    print(
        f"without its writes (start, imports, two reads and plans, report): {rest:.2f}s, "
        f"{rest / floor:.2f}x the whole floor; floor_ratio <= 1.5 needs the whole run "
        f"within {1.5 * floor:.2f}s"
    )


def check_routes(routes: dict[str, int], allocations: int) -> None:
    """From the simulator's request log: every allocation went through the QMC's route (a
    selection of users, the POST on it), none through ``/many`` or straight to the type."""
    qmc = sum(n for route, n in routes.items() if "/user/license/" in route)
    straight = {
        route: n
        for route, n in routes.items()
        if route.startswith("POST /qrs/license/") and "accesstype" in route
    }
    if straight:
        raise SystemExit(f"allocations outside the QMC's route: {straight}")
    chunks = -(-allocations // ALLOCATE_CHUNK)
    print(
        f"request log: {allocations:,} allocations through the QMC's route in {qmc} POSTs "
        f"(at least {chunks} selections of at most {ALLOCATE_CHUNK}), "
        f"{routes.get('POST /qrs/selection', 0)} selections made, "
        f"{routes.get('DELETE /qrs/selection/{id}', 0)} deleted; /many: 0"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=13_000, help="people in the organisation")
    parser.add_argument("--changes", type=int, default=5000, help="reclaims, and allocations")
    parser.add_argument("--sample", type=int, default=1000, help="changes sent one by one")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=1, help="apply runs, each on a fresh simulator (median)"
    )
    parser.add_argument("--quick", action="store_true", help="3,000 people, 1,000 + 1,000")
    parser.add_argument(
        "--seat-users", type=int, default=20_000, help="people of the per-seat case's site"
    )
    parser.add_argument(
        "--idle-seats", type=int, default=1500, help="about this many idle seats reclaimed"
    )
    parser.add_argument("--seat-sample", type=int, default=300, help="DELETEs sent one by one")
    parser.add_argument("--no-per-seat", action="store_true", help="leave the per-seat case out")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="profile the apply process (main thread) with pyinstrument, text into FILE; "
        "the profiler slows it, so the RESULT of such a run is not comparable",
    )
    options = parser.parse_args()
    if options.quick:
        options.users, options.changes = 3_000, 1000
        options.seat_users, options.idle_seats = 5_000, 400

    count = options.repeat + 1
    print(
        f"starting {count} simulators of {options.users:,} users"
        + ("" if options.no_per_seat else f" and {count} of {options.seat_users:,}")
        + f", {options.latency_ms:g} ms latency per request (separate processes) ..."
    )
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        snapshot = Path(tmp) / "site.json"
        organisation(options.users, options.seed, options.changes).save(snapshot)
        sim = {"latency_ms": options.latency_ms, "snapshot": snapshot}
        urls = stack.enter_context(simulators(count, options.users, options.seed, **sim))
        seat_urls: list[str] = []
        if not options.no_per_seat:
            seats = Path(tmp) / "seats.json"
            seat_site(options.seat_users, options.seed).save(seats)
            sim = {"latency_ms": options.latency_ms, "snapshot": seats}
            seat_urls = stack.enter_context(
                simulators(count, options.seat_users, options.seed, **sim)
            )
        result = measure(options, urls, Path(tmp))
        if seat_urls:
            result += f" per_seat={per_seat(options, seat_urls, Path(tmp)):.1f}"
        print(result)
        return 0


def organisation(users: int, seed: int, changes: int) -> SimStore:
    """The synthetic organisation, with enough professional holders to reclaim ``changes``
    seats from and room for ``changes`` more seats.

    A synthetic site gives about one person in five a professional seat and keeps only a few
    seats spare, so 5,000 reclaims would need a 30,000-person site whose other 25,000 people
    only add to the reads. Instead, people without a seat are given one (used at some time in
    the last two months, so about a tenth go into quarantine when reclaimed, as on a real site)
    until ``changes`` plus a fifth hold one, and capacity is raised by ``changes``: the
    allocations never wait for a quarantine.
    """
    store = synthetic_organisation(users, seed, dt.datetime.now(dt.UTC))
    store.clock = SimClock(None)  # as `sim serve --users` does: built as of now, then live
    now = store.now()
    _, seats = store.entities(ALLOCATION[AccessType.PROFESSIONAL])
    held = {seat["user"]["id"] for seat in seats if seat.get("user")}
    _, people = store.entities(USER)
    seatless = [u["id"] for u in people if u["id"] not in held and u["userDirectory"] != "INTERNAL"]
    rng = random.Random(seed)
    added = rng.sample(seatless, min(max(0, changes + changes // 5 - len(held)), len(seatless)))
    for user_id in added:
        used = now - dt.timedelta(days=rng.uniform(0.0, 60.0))
        store.add_allocation(AccessType.PROFESSIONAL, user_id, last_used=used)
    total = int(store.overview()["professionalAccess"]["total"])
    store.set_capacity(AccessType.PROFESSIONAL, total + len(added) + changes)
    return store


def seat_site(users: int, seed: int) -> SimStore:
    """The per-seat case's site: the synthetic organisation as it is, built as of now."""
    store = synthetic_organisation(users, seed, dt.datetime.now(dt.UTC))
    store.clock = SimClock(None)
    return store


@dataclass(frozen=True, slots=True)
class Run:
    """One apply run: wall seconds, its JSON report, the wrapper's split, and its floor."""

    seconds: float
    report: dict[str, Any]
    split: dict[str, Any]
    floor: Floor


@dataclass(frozen=True, slots=True)
class Floor:
    """The floor of one run: its read passes (seconds each, as bare reads), its other
    requests at the latency over the concurrency."""

    passes: tuple[tuple[tuple[str, ...], float], ...]
    others: int
    latency: float
    concurrency: int

    @property
    def reads(self) -> float:
        return sum(seconds for _, seconds in self.passes)

    @property
    def writes(self) -> float:
        return self.others * self.latency / self.concurrency

    @property
    def seconds(self) -> float:
        return self.reads + self.writes


BEFORE = tuple(path for path, _ in actual_requests())
"""The endpoints of the first read (the whole site)."""
AFTER = tuple(p for p in BEFORE if p not in (paths.ABOUT, paths.USER_FULL))
"""The endpoints of a re-read that reuses the users (and the build version) read before."""


def floor_passes(base: str, sets: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], float]:
    """Each set of endpoints read bare (after a warm-up read that fills the simulator's caches
    of serialised lists), alternately three times: the median seconds of each."""
    times: dict[tuple[str, ...], list[float]] = {s: [] for s in sets}
    with http_client() as http:
        floor_read(http, base)
        for _ in range(3):
            for endpoints in sets:
                times[endpoints].append(timed(lambda: floor_read(http, base, endpoints)))  # noqa: B023
    return {s: statistics.median(t) for s, t in times.items()}


def apply_run(
    base: str,
    desired: Path,
    options: argparse.Namespace,
    profile: Path | None,
) -> Run:
    """The floor's read passes timed on ``base``, then one ``licsync apply`` against it."""
    timed_passes = floor_passes(base, [BEFORE, AFTER])
    with http_client() as http:
        http.post(f"{base}/_sim/requests/reset")
    seconds, report, split = run_apply(desired, options.concurrency, profile)
    made = [tuple(read["endpoints"]) for read in split.get("reads", ())]
    if not made:
        raise SystemExit("the wrapper reported no read: no floor to compare with")
    missing = [m for m in dict.fromkeys(made) if m not in timed_passes]
    if missing:  # another set of endpoints than foreseen: timed now, after the run
        timed_passes.update(floor_passes(base, missing))
    passes = tuple((m, timed_passes[m]) for m in made)
    others = int(report["qrs_requests"]) - sum(len(m) for m in made)
    latency = options.latency_ms / 1000
    return Run(seconds, report, split, Floor(passes, others, latency, options.concurrency))


def show_floor(floor: Floor, latency_ms: float) -> None:
    """What the floor is made of."""
    for number, (endpoints, seconds) in enumerate(floor.passes, 1):
        print(f"  read pass {number}: {len(endpoints)} endpoints bare, {seconds:.2f}s")
    print(
        f"  other requests: {floor.others} x {latency_ms:g} ms / concurrency "
        f"{floor.concurrency} = {floor.writes:.2f}s"
    )
    print(f"  floor: {floor.seconds:.2f}s")


def measure(options: argparse.Namespace, urls: list[str], tmp: Path) -> str:
    """Plan and apply against ``urls[:-1]``, the serial sample against the last one; the
    RESULT line (without the per-seat case)."""
    rng = random.Random(options.seed)
    total = 2 * options.changes
    site = fetch(urls[0])
    print(f"site: {len(site['users']):,} users, {len(site['seats']):,} professional seats")
    chosen = choose(site, options.changes, rng)
    desired = tmp / "licenses"
    desired.mkdir()
    print(
        f"desired state: {len(chosen['kept']):,} holders kept, "
        f"{options.changes:,} undeclared (reclaims), {options.changes:,} new (allocations)"
    )
    runs: list[Run] = []
    for number, ours in enumerate(urls[:-1]):
        write_desired(desired, ours, site, chosen)
        run = apply_run(ours, desired, options, options.profile if number == 0 else None)
        check(run.report, options.changes)
        with http_client() as http:
            check_routes(http.get(f"{ours}/_sim/requests/routes").json(), options.changes)
        runs.append(run)
        print(
            f"run {number + 1}: {run.seconds:.2f}s, floor {run.floor.seconds:.2f}s, "
            f"ratio {run.seconds / run.floor.seconds:.2f}"
        )
    sample = min(options.sample, total)
    sample_seconds = serial(urls[-1], chosen, sample)
    seconds = statistics.median(r.seconds for r in runs)
    ratio = statistics.median(r.seconds / r.floor.seconds for r in runs)
    middle = min(runs, key=lambda r: abs(r.seconds - seconds))
    requests = int(middle.report["qrs_requests"])
    scaled = sample_seconds * total / sample

    print(
        f"licsync apply (whole process): median {seconds:.2f}s of "
        f"{[round(r.seconds, 2) for r in runs]}, {requests} QRS requests (its own timing of "
        f"the run: {middle.report['seconds']:.2f}s)"
    )
    show_split(middle.split, middle.seconds)
    print(f"floor of that run ({middle.seconds:.2f}s):")
    show_floor(middle.floor, options.latency_ms)
    show_execute(middle.split, options.latency_ms / 1000, options.concurrency)
    show_bound(middle.split, middle.seconds, middle.floor.seconds)
    print(
        f"serial, one request per change on one connection: sample of {sample:,} changes "
        f"({sample // 2:,} reclaims + {sample - sample // 2:,} allocations) in "
        f"{sample_seconds:.2f}s ({sample_seconds / sample * 1000:.1f} ms each), scaled to "
        f"{total:,}: {scaled:.1f}s"
    )
    return (
        f"RESULT apply speedup={scaled / seconds:.1f} floor_ratio={ratio:.2f} "
        f"requests={requests} seconds={seconds:.2f}"
    )


# -- the per-seat case -------------------------------------------------------------------------


def idle_days(base: str, wanted: int) -> tuple[int, list[dict[str, Any]]]:
    """The idle threshold D (whole days) that makes about ``wanted`` seats idle (unused for
    more than D days, never-used ones counted from creation, as the planner counts), and the
    seats beyond it: (allocation id, access type), the most idle first."""
    with httpx.Client(headers=QRS_HEADERS, timeout=300.0) as http:
        now = dt.datetime.fromisoformat(http.get(f"{base}/_sim/clock").json()["now"])
        aged: list[tuple[int, dict[str, Any]]] = []
        for kind in AccessType:
            for seat in get_json(http, base, f"/qrs/license/{kind.value}accesstype/full"):
                owner = seat.get("user")
                if not owner or seat["quarantined"] or owner["userDirectory"] == "INTERNAL":
                    continue
                since = seat.get("lastUsed") or ""
                if since.startswith(NEVER) or not since:
                    since = seat["createdDate"]
                days = (now - dt.datetime.fromisoformat(since.replace("Z", "+00:00"))).days
                aged.append((days, {"id": seat["id"], "kind": kind.value}))
    aged.sort(key=lambda a: -a[0])
    if len(aged) <= wanted:
        raise SystemExit(f"only {len(aged)} seats: give more --seat-users")
    threshold = aged[wanted][0]
    return threshold, [seat for days, seat in aged if days > threshold]


def write_idle_desired(directory: Path, base: str, days: int) -> None:
    """site.yaml only: both access types additive (nothing declared is removed), idle seats
    reclaimed after ``days``."""
    lines = [
        "site:",
        "  name: bench-apply-seats",
        f"  qrs_url: {json.dumps(base)}",
        "  auth: {mode: certificate}",
        "policy:",
        "  ownership: {professional: additive, analyzer: additive}",
        f"  idle: {{days: {days}, action: reclaim}}",
        "  protected: [INTERNAL\\*]",
        "  safety: {max_reclaims: 1000000, max_reclaim_share: 1.0, share_floor: 0}",
    ]
    directory.mkdir(exist_ok=True)
    (directory / "site.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def serial_deletes(base: str, seats: Sequence[dict[str, Any]]) -> float:
    """One ``DELETE`` per seat, in series, on one keep-alive connection: seconds."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(headers=QRS_HEADERS, timeout=60.0, limits=limits) as http:
        started = time.perf_counter()
        for seat in seats:
            key, params = xrf()
            response = http.delete(
                f"{base}/qrs/license/{seat['kind']}accesstype/{seat['id']}",
                params=params,
                headers={"X-Qlik-Xrfkey": key},
            )
            response.raise_for_status()
        return time.perf_counter() - started


def per_seat(options: argparse.Namespace, urls: list[str], tmp: Path) -> float:
    """The per-seat case: licsync's whole apply per reclaimed seat against one DELETE per seat
    in series (median of ``--repeat`` runs); returns how many times faster licsync is."""
    days, idle = idle_days(urls[0], options.idle_seats)
    print(
        f"per-seat case: {options.seat_users:,} people, idle after {days} days: "
        f"{len(idle):,} seats idle"
    )
    desired = tmp / "seats"
    runs: list[tuple[float, int]] = []
    for number, ours in enumerate(urls[:-1]):
        write_idle_desired(desired, ours, days)
        run = apply_run(ours, desired, options, None)
        items = run.report["items"]
        statuses = Counter(i["status"] for i in items)
        reasons = Counter(i["change"]["reason"] for i in items if i["change"])
        after = run.report["after"]
        left = None if after is None else after["summary"]["changes"]
        reclaimed = statuses.get("applied", 0)
        print(
            f"  run {number + 1}: {run.seconds:.2f}s, {len(items):,} items {dict(statuses)} "
            f"{dict(reasons)}, {run.report['qrs_requests']} requests; re-plan: {left} changes "
            f"left; floor {run.floor.seconds:.2f}s, ratio {run.seconds / run.floor.seconds:.2f}"
        )
        if statuses != Counter({"applied": len(items)}) or left != 0 or not reclaimed:
            raise SystemExit("per-seat case: not every idle seat reclaimed with nothing left")
        runs.append((run.seconds, reclaimed))
    sample = idle[: min(options.seat_sample, len(idle))]
    serial_seconds = serial_deletes(urls[-1], sample)
    per_serial = serial_seconds / len(sample)
    seconds, reclaimed = sorted(runs)[len(runs) // 2]
    per_licsync = seconds / reclaimed
    print(
        f"  licsync: {seconds:.2f}s for {reclaimed:,} seats, {per_licsync * 1000:.2f} ms per "
        f"seat; serial DELETEs: {len(sample)} in {serial_seconds:.2f}s, "
        f"{per_serial * 1000:.1f} ms per seat ({per_serial * reclaimed:.1f}s for "
        f"{reclaimed:,}): {per_serial / per_licsync:.1f}x"
    )
    return per_serial / per_licsync


if __name__ == "__main__":
    raise SystemExit(main())
