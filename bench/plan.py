"""Benchmark: the whole `licsync plan` of a large site, against the floor of its raw inputs.

Run from the repository root::

    python bench/plan.py                  # 100,000 users, 300 rules, 1,000,000 log lines
    python bench/plan.py --users 5000 --log-lines 50000 --repeat 1    # a quick run

Set-up (not timed): the simulator serves a synthetic organisation of ``--users`` people (about
60,000 allocations at 100,000) in its own process. From what it serves, the script writes a
desired state: most professional holders declared plus a few hundred newcomers, a couple of
thousand explicit analyzer seats, 300 licence rules over the organisation's groups and e-mails
(mixing ``=``, ``like``, ``matches``, ``and``, ``or``, ``!``), authoritative professional and
additive analyzer ownership, inactive and idle users reclaimed; and 1,000,000 licence-log lines
(about 5% denials, some of them monitoring noise from ``::1``) in Qlik's format, over a live
file and archived ones.

Measured, alternately, ``--repeat`` times:

- the floor: plain ``httpx`` GETs of the same nine requests + ``json.loads`` (one thread each,
  the garbage collector left on) plus ``read_bytes`` of every log file;
- ``python -m licsync plan DIR --qrs-url URL --format json --out FILE --timings`` in a fresh
  process: wall time from start to exit (interpreter start and imports included), its phase
  split (load / read / logs / rules / plan / render, from ``--timings``) and its peak resident
  memory (the process's own ``VmHWM`` from ``/proc``, Linux).

The last line is ``RESULT plan ratio=<x> seconds=<t> peak_mb=<m>``. Targets (issue 22): ratio
<= 1.3, peak memory <= 500 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import re
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchlib import (
    floor_read,
    http_client,
    ident,
    run_licsync,
    served_site,
    simulator,
    timed,
)
from licsync.signals.licenselog import LicenseLogRow, usage_denied, write_license_log

TIMINGS = re.compile(r"timings: (.*); (\d+) QRS requests")
PEAK = re.compile(r"licsync-bench: VmHWM (\d+) kB")
# Runs the CLI exactly as `python -m licsync` does, then reports the process's own peak RSS.
# VmHWM, not getrusage: Linux carries a parent's maxrss into a forked child across exec, so
# the bench's own memory would be counted as licsync's.
WRAPPER = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("licsync-bench: VmHWM " + line.split()[1] + " kB\\n")
atexit.register(peak)
sys.argv = ["licsync", *sys.argv[1:]]
runpy.run_module("licsync", run_name="__main__", alter_sys=True)
"""
SERVICE = "CORP\\svc-qlik"
GRANTED = "UsageID: 0, SessionID: 0, SessionCount: 1, Hostname: '::ffff:10.0.0.9'"


def groups_of(user: dict[str, Any]) -> list[str]:
    return [
        a["attributeValue"]
        for a in user.get("attributes", ())
        if a["attributeType"].casefold() == "group" and "attributeValue" in a
    ]


def write_desired(
    directory: Path,
    users: list[dict[str, Any]],
    seats: dict[str, list[dict[str, Any]]],
    logs: Path,
    rng: random.Random,
) -> tuple[int, int]:
    """A site declaring most of what is allocated, newcomers and 300 rules; returns counts."""
    holders = [
        f"{s['user']['userDirectory']}\\{s['user']['userId']}"
        for s in seats["professional"]
        if s.get("user") and not s.get("quarantined")
    ]
    declared_pro = set(rng.sample(holders, int(len(holders) * 0.9)))
    holding = set(holders)
    people = [ident(u) for u in users if u["userDirectory"] != "INTERNAL"]
    newcomers = [p for p in people if p not in holding]
    declared_pro.update(rng.sample(newcomers, min(300, len(newcomers))))
    analyzer_holders = [
        f"{s['user']['userDirectory']}\\{s['user']['userId']}"
        for s in seats["analyzer"]
        if s.get("user") and not s.get("quarantined")
    ]
    kept = [p for p in analyzer_holders if p not in declared_pro]
    declared_ana = set(rng.sample(kept, min(1800, len(kept))))
    others = [p for p in people if p not in declared_pro and p not in declared_ana]
    declared_ana.update(rng.sample(others, min(200, len(others))))

    group_counts = Counter(g for u in users for g in groups_of(u))
    groups = [g for g, _ in group_counts.most_common()]
    domains = sorted(
        {
            a["attributeValue"].split("@", 1)[1]
            for u in users[:2000]
            for a in u.get("attributes", ())
            if a["attributeType"].casefold() == "email" and "@" in a.get("attributeValue", "")
        }
    ) or ["example.com"]
    rules = []
    for index in range(300):
        kind = index % 6
        g1, g2 = rng.choice(groups[:200] or ["Sales"]), rng.choice(groups or ["Finance"])
        if kind == 0:
            condition = f'user.group = "{g1}"'
        elif kind == 1:
            condition = f'user.group like "{g1[:3]}*"'
        elif kind == 2:
            domain = rng.choice(domains).replace(".", "\\\\.")
            condition = f'user.email matches ".*@{domain}"'
        elif kind == 3:
            condition = f'user.group = "{g1}" and user.userDirectory = "CORP"'
        elif kind == 4:
            condition = f'user.group = "{g1}" or user.group = "{g2}"'
        else:
            condition = f'user.group = "{g1}" and !(user.group = "{g2}")'
        rules.append((f"Rule {index:03d}", condition))

    site = [
        "site: {name: bench, qrs_url: embedded}",
        "policy:",
        "  ownership: {professional: authoritative, analyzer: additive}",
        "  users: {inactive: reclaim, removed_externally: reclaim, blocked: reclaim}",
        "  idle: {days: 90, action: reclaim}",
        "  protected: [INTERNAL\\*]",
        "  safety: {max_reclaims: 1000000, max_reclaim_share: 1.0, share_floor: 0}",
        "  denials:",
        f"    sources: [{{logs: {json.dumps(str(logs))}}}]",
        "    lookback_days: 30",
        "    max_age_days: 3",
    ]
    (directory / "site.yaml").write_text("\n".join(site) + "\n", encoding="utf-8")
    _write_type(directory / "professional.yaml", "professional", sorted(declared_pro), [])
    _write_type(directory / "analyzer.yaml", "analyzer", sorted(declared_ana), rules)
    return len(declared_pro) + len(declared_ana), len(rules)


def _write_type(path: Path, name: str, users: list[str], rules: list[tuple[str, str]]) -> None:
    lines = [f"{name}:", "  allocations:"]
    lines.extend(f"    - user: {json.dumps(u)}" for u in users)
    lines.append("  rules:" if rules else "  rules: []")
    for rule_name, condition in rules:
        lines.append(f"    - name: {json.dumps(rule_name)}")
        lines.append(f"      condition: {json.dumps(condition)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_logs(
    folder: Path, users: list[dict[str, Any]], lines: int, now: dt.datetime, rng: random.Random
) -> list[Path]:
    """``lines`` licence-log lines over 14 days: live file plus archived ones, ~5% denials."""
    people = [ident(u) for u in users if u["userDirectory"] != "INTERNAL"][:20000]
    cet = dt.timezone(dt.timedelta(hours=1))
    start = now - dt.timedelta(days=14)
    step = dt.timedelta(days=14) / max(lines, 1)
    paths = []
    per_file = max(1, lines // 4)
    for part in range(4):
        if part < 3:
            stamp = (start + step * per_file * (part + 1)).strftime("%Y-%m-%dT%H.%M.%SZ")
            path = (
                folder / "node1" / "Repository" / "Trace" / f"NODE1_License_Repository_{stamp}.log"
            )
        else:
            path = folder / "Repository" / "Trace" / "NODE1_License_Repository.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        first = part * per_file
        count = per_file if part < 3 else lines - first

        def rows(first: int = first, count: int = count) -> Any:
            for n in range(first, first + count):
                when = (start + step * n).astimezone(cet)
                roll = rng.random()
                if roll < 0.04:
                    yield usage_denied(when, rng.choice(people), service_user=SERVICE)
                elif roll < 0.05:
                    yield usage_denied(when, SERVICE, host="::1", service_user=SERVICE)
                else:
                    who = rng.choice(people)
                    yield LicenseLogRow(
                        timestamp=when,
                        operation="UsageGranted",
                        user_name=who,
                        message=GRANTED,
                        service_user=SERVICE,
                        access_type="AnalyzerAccess",
                    )

        write_license_log(path, rows(), machine="NODE1")
        paths.append(path)
    return paths


def run_plan(directory: Path, base: str, out: Path) -> tuple[float, dict[str, float], int, int]:
    """One `licsync plan` in a fresh process: wall seconds, phase split, requests, peak kB."""
    args = [
        "plan", str(directory), "--qrs-url", base, "--format", "json", "--out", str(out),
        "--timings",
    ]  # fmt: skip
    seconds, done = run_licsync(args, wrapper=WRAPPER, ok=(0, 2))
    match = TIMINGS.search(done.stderr)
    if match is None:
        raise SystemExit(f"no timings in:\n{done.stderr[-2000:]}")
    split = {
        name: float(value.rstrip("s"))
        for name, value in (part.split() for part in match.group(1).split(", "))
    }
    peak = PEAK.search(done.stderr)
    return seconds, split, int(match.group(2)), int(peak.group(1)) if peak else 0


def floor(base: str, logs: list[Path]) -> float:
    with http_client() as http:

        def read_all() -> None:
            floor_read(http, base)
            for path in logs:
                path.read_bytes()

        gc.collect()
        return timed(read_all)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--log-lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    rng = random.Random(options.seed)

    print(f"starting the simulator with {options.users:,} users (separate process) ...")
    with simulator(options.users, options.seed) as base, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        users, seats = served_site(base)
        allocations = sum(len(s) for s in seats.values())
        print(f"site: {len(users):,} users, {allocations:,} allocations")
        now = dt.datetime.now(dt.UTC)
        logs = write_logs(work / "logs", users, options.log_lines, now, rng)
        log_bytes = sum(p.stat().st_size for p in logs)
        print(f"logs: {options.log_lines:,} lines in {len(logs)} files, {log_bytes / 1e6:.0f} MB")
        desired = work / "licenses"
        desired.mkdir()
        declared, rules = write_desired(desired, users, seats, work / "logs", rng)
        print(f"desired state: {declared:,} declared allocations, {rules} rules")

        out = work / "plan.json"
        run_plan(desired, base, out)  # warm-up: fills the simulator's list cache and page cache
        floors, runs, splits, peaks = [], [], [], []
        requests = 0
        for _ in range(options.repeat):
            floors.append(floor(base, logs))
            seconds, split, requests, peak_kb = run_plan(desired, base, out)
            runs.append(seconds)
            splits.append(split)
            peaks.append(peak_kb)
        summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    peak_mb = max(peaks) / 1024

    base_s, ours = statistics.median(floors), statistics.median(runs)
    changes, findings = summary["changes"], summary["findings"]
    print(f"plan: {changes:,} changes {summary['actions']}, {findings:,} findings")
    print(
        f"floor (httpx + json.loads of the 9 requests, read_bytes of the logs): "
        f"median {base_s:.2f}s  {[round(f, 2) for f in floors]}"
    )
    print(f"licsync plan (whole process):  median {ours:.2f}s  {[round(r, 2) for r in runs]}")
    middle = splits[runs.index(ours)] if ours in runs else splits[-1]
    print(
        "split of the median run: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in middle.items())
        + f"; {requests} QRS requests"
    )
    print(f"peak resident memory of licsync plan: {peak_mb:.0f} MB (VmHWM of its process)")
    print(f"RESULT plan ratio={ours / base_s:.2f} seconds={ours:.2f} peak_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
