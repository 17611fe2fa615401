"""Benchmark: `licsync propose` over 100,000 declared allocations against `plan` on the same site.

Run from the repository root::

    python bench/propose.py                       # 100,000 users, 100,000 declared allocations
    python bench/propose.py --users 5000 --declared 5000 --repeat 1      # a quick run

Set-up (not timed): the simulator serves a synthetic organisation of ``--users`` people in its
own process. From what it serves, the script writes a desired state of ``--declared``
allocations: every seat holder (professional and analyzer, as a dump would), then people who
hold nothing declared professional until the count is reached; 30 licence rules; authoritative
professional and additive analyzer ownership, inactive and idle users reclaimed. Both commands
run as of ``--days`` after today, so that many declared seats have gone idle: the proposal has
thousands of edits to make, in both ownership modes.

Measured, alternately, ``--repeat`` times, each in a fresh process (interpreter start and
imports included): ``licsync plan DIR --format json --out FILE`` (the baseline) and
``licsync propose DIR --diff --body FILE`` (diff to a file). The last line is
``RESULT propose ratio=<propose/plan> seconds=<t> plan_seconds=<p>``. Target: ratio <= 3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchlib import ident, run_licsync, served_site, simulator


def write_desired(
    directory: Path,
    users: list[dict[str, Any]],
    seats: dict[str, list[dict[str, Any]]],
    declared: int,
    rng: random.Random,
) -> tuple[int, int]:
    """The site's YAML: every holder, then newcomers up to ``declared``; returns both counts."""
    held = {
        t: sorted(ident(s["user"]) for s in rows if s.get("user") and not s.get("quarantined"))
        for t, rows in seats.items()
    }
    holders = {u for rows in held.values() for u in rows}
    people = [ident(u) for u in users if u["userDirectory"] != "INTERNAL"]
    newcomers = [p for p in people if p not in holders]
    analyzer = held["analyzer"]
    # Someone holding both types is declared for analyzer only (professional includes it).
    professional_held = sorted(set(held["professional"]) - set(analyzer))
    wanted = max(0, min(len(newcomers), declared - len(analyzer) - len(professional_held)))
    professional = sorted({*professional_held, *rng.sample(newcomers, wanted)})
    site = [
        "# The benchmark site: comments kept, as in a real repository.",
        "site:",
        "  name: bench",
        "  qrs_url: embedded",
        "policy:",
        "  ownership: {professional: authoritative, analyzer: additive}",
        "  users: {inactive: reclaim, removed_externally: reclaim, blocked: reclaim}",
        "  idle: {days: 90, action: reclaim}",
        "  protected: [INTERNAL\\*]",
        "  safety: {max_reclaims: 1000000, max_reclaim_share: 1.0, share_floor: 0}",
    ]
    (directory / "site.yaml").write_text("\n".join(site) + "\n", encoding="utf-8")
    groups = sorted(
        {
            a["attributeValue"]
            for u in users[:5000]
            for a in u.get("attributes", ())
            if a["attributeType"].casefold() == "group" and "attributeValue" in a
        }
    ) or ["Sales"]
    rules = [(f"Rule {n:02d}", f'user.group = "{rng.choice(groups)}"') for n in range(30)]
    _write_type(directory / "professional.yaml", "professional", professional, [])
    _write_type(directory / "analyzer.yaml", "analyzer", analyzer, rules)
    return len(professional) + len(analyzer), len(rules)


def _write_type(path: Path, name: str, users: list[str], rules: list[tuple[str, str]]) -> None:
    lines = [f"# {name} access", f"{name}:", "  allocations:"]
    for number, user in enumerate(users):
        lines.append(f"    - user: {json.dumps(user)}")
        lines.append(f"      ticket: LIC-{number}   # granted by the bench")
    lines.append("  rules:" if rules else "  rules: []")
    for rule_name, condition in rules:
        lines.append(f"    - name: {json.dumps(rule_name)}")
        lines.append(f"      condition: {json.dumps(condition)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(args: list[str]) -> tuple[float, str]:
    """One ``licsync ARGS`` in a fresh process: wall seconds and its standard error."""
    seconds, done = run_licsync(args, ok=(0, 2))
    return seconds, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--declared", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    rng = random.Random(options.seed)

    print(f"starting the simulator with {options.users:,} users (separate process) ...")
    with simulator(options.users, options.seed) as base, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        users, seats = served_site(base)
        print(f"site: {len(users):,} users, {sum(len(s) for s in seats.values()):,} allocations")
        desired = work / "licenses"
        desired.mkdir()
        declared, rules = write_desired(desired, users, seats, options.declared, rng)
        print(f"desired state: {declared:,} declared allocations, {rules} rules")
        now = (dt.datetime.now(dt.UTC) + dt.timedelta(days=options.days)).isoformat()
        common = [str(desired), "--qrs-url", base, "--now", now]
        plan_args = ["plan", *common, "--format", "json", "--out", str(work / "plan.json")]
        propose_args = ["propose", *common, "--body", str(work / "body.md")]
        run(plan_args)  # warm-up: fills the simulator's list cache and the page cache
        plans, proposes = [], []
        summary = ""
        for _ in range(options.repeat):
            plans.append(run(plan_args)[0])
            seconds, stderr = run(propose_args)
            proposes.append(seconds)
            summary = stderr.strip().splitlines()[-1]
    print(summary)
    plan_s, propose_s = statistics.median(plans), statistics.median(proposes)
    print(f"licsync plan:    median {plan_s:.2f}s  {[round(r, 2) for r in plans]}")
    print(f"licsync propose: median {propose_s:.2f}s  {[round(r, 2) for r in proposes]}")
    print(
        f"RESULT propose ratio={propose_s / plan_s:.2f} seconds={propose_s:.2f} "
        f"plan_seconds={plan_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
