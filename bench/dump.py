"""Benchmark: `licsync dump` of a large site, against `licsync plan` of the same site.

Run from the repository root::

    python bench/dump.py                      # 100,000 users
    python bench/dump.py --users 5000 --repeat 1    # a quick run

Set-up (not timed): the simulator serves a synthetic organisation of ``--users`` people (about
60,000 allocations at 100,000) in its own process.

Measured, alternately, ``--repeat`` times, each in a fresh process (interpreter start and
imports included):

- ``python -m licsync dump --qrs-url URL --out DIR --force``: read the site, write the three
  files, load them back with the strict loader, rename them into place;
- ``python -m licsync plan DIR --qrs-url URL --format json --out FILE --detailed-exitcode``:
  the plan of what the dump wrote (it must exit 0: no changes), which reads the same site and
  loads the same files.

The last line is ``RESULT dump ratio=<dump/plan> seconds=<t> plan_seconds=<p>`` (medians).
Target: ratio <= 3.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchlib import run_licsync, simulator


def run(args: list[str], *, expect: int = 0) -> float:
    return run_licsync(args, ok=(expect,))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with simulator(options.users, options.seed) as url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        plan_file = Path(tmp) / "plan.json"
        dump_args = ["dump", "--qrs-url", url, "--out", str(out), "--force"]
        plan_args = ["plan", str(out), "--qrs-url", url, "--format", "json"]
        plan_args += ["--out", str(plan_file), "--detailed-exitcode"]
        run(dump_args)  # warm the simulator's caches and the file system, not timed
        dumps: list[float] = []
        plans: list[float] = []
        for index in range(options.repeat):
            dumps.append(run(dump_args))
            plans.append(run(plan_args))
            print(f"run {index + 1}: dump {dumps[-1]:.2f}s, plan {plans[-1]:.2f}s", flush=True)
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
        print("files: " + ", ".join(f"{name} {size:,} bytes" for name, size in sizes.items()))
    dump_s, plan_s = statistics.median(dumps), statistics.median(plans)
    print(f"RESULT dump ratio={dump_s / plan_s:.2f} seconds={dump_s:.2f} plan_seconds={plan_s:.2f}")


if __name__ == "__main__":
    main()
