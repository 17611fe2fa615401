"""Benchmark `licsync validate`: a large valid desired state, and the cost of each problem.

1. Generates 100,000 allocations over 20 files (plus a site file and 300 rules), then times, in
   the same run: `licsync validate DIR` (the whole command, in-process) and the floor, a bare
   ``yaml.load(..., Loader=yaml.CSafeLoader)`` of the same files. Target: ratio <= 3.
2. Writes desired states with 100 and with 100,000 problems (misspelled fields, values out of
   their enum, impossible dates, malformed user ids, duplicate users and non-numbers, in turn)
   and times `licsync validate` on each, less the time it takes on the same entries written
   correctly: the cost per problem. Target: the same at both sizes (``per_problem_ratio`` near
   1). It used to grow with the number of problems: 20,000 misspelled fields took 40 s.

Ends with ``RESULT validate ratio=<x> seconds=<t> per_problem_ratio=<r> us_per_problem=<u>``
(``us_per_problem`` at 100,000).

Run from the repository root: ``python bench/validate.py [--allocations N] [--files F]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from licsync.cli import app, main

GROUPS = ["Sales", "Finance", "Controlling", "HR", "Engineering", "Marketing", "Support", "Legal"]


def generate(directory: Path, allocations: int, files: int) -> list[Path]:
    """Write a site file and `files` files sharing `allocations` allocations and 300 rules."""
    (directory / "site.yaml").write_text(
        "site:\n  name: bench\n  qrs_url: embedded\n"
        "policy:\n  ownership: {professional: authoritative, analyzer: additive}\n",
        encoding="utf-8",
    )
    paths = [directory / "site.yaml"]
    per_file = allocations // files
    for f in range(files):
        access = "professional" if f % 2 == 0 else "analyzer"
        lines = [f"{access}:", "  allocations:"]
        for i in range(f * per_file, (f + 1) * per_file):
            lines.append(f"    - user: CORP\\user{i:06d}")
            if i % 3 == 0:
                lines.append(f"      note: Allocation number {i} for the quarterly reporting team")
            if i % 5 == 0:
                lines.append(f"      ticket: LIC-{i}")
            if i % 7 == 0:
                lines.append("      until: 2031-12-31")
        lines.append("  rules:")
        for r in range(15):
            group = GROUPS[(f + r) % len(GROUPS)]
            lines.append(f"    - name: Rule {f}-{r}")
            lines.append(
                f'      condition: user.group = "{group}{r}" and user.userDirectory = "CORP"'
            )
            lines.append("      context: hub")
        path = directory / f"team-{f:02d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with path.open("rb") as handle:
            yaml.load(handle, Loader=yaml.CSafeLoader)
    return time.perf_counter() - start


def licsync_validate(directory: Path) -> float:
    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(app, ["validate", str(directory)])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"validate failed:\n{result.output}")
    return elapsed


SITE = "site:\n  name: bench\n  qrs_url: embedded\n"
# One entry per kind of problem: each writes one allocation (or rule) with exactly one problem.
BROKEN = (
    "    - user: CORP\\u{i}\n      notes: misspelled field\n",
    "    - user: CORP\\u{i}\n      until: 2026-13-{d:02d}\n",
    "    - user: CORPu{i}\n",
    "    - user: CORP\\dup{i}\n    - user: corp\\DUP{i}\n",
    "    - user: CORP\\u{i}\n      ticket: .nan\n",
)
BROKEN_RULE = '    - name: Rule {i}\n      condition: user.group = "G{i}"\n      context: hubb\n'
# The same entries written correctly: the floor each problem's cost is measured against.
FIXED = (
    "    - user: CORP\\u{i}\n      note: spelled right\n",
    "    - user: CORP\\u{i}\n      until: 2099-12-{d:02d}\n",
    "    - user: CORP\\u{i}\n",
    "    - user: CORP\\dup{i}\n    - user: corp\\DUP{i}b\n",
    "    - user: CORP\\u{i}\n      ticket: LIC-{i}\n",
)
FIXED_RULE = BROKEN_RULE.replace("hubb", "hub")


def generate_problems(
    directory: Path, problems: int, *, broken: bool = True, per_file: int = 10_000
) -> None:
    """A site file and files holding exactly ``problems`` problems, of every kind in turn (or,
    with ``broken=False``, the same entries written correctly)."""
    entries, rule = (BROKEN, BROKEN_RULE) if broken else (FIXED, FIXED_RULE)
    directory.mkdir()
    (directory / "site.yaml").write_text(SITE, encoding="utf-8")
    for start in range(0, problems, per_file):
        allocations, rules = [], []
        for i in range(start, min(start + per_file, problems)):
            kind = i % (len(entries) + 1)
            if kind == len(entries):
                rules.append(rule.format(i=i))
            else:
                allocations.append(entries[kind].format(i=i, d=i % 28 + 1))
        text = "professional:\n  allocations:\n" + "".join(allocations)
        text += "  rules:\n" + "".join(rules)
        (directory / f"team-{start // per_file:03d}.yaml").write_text(text, encoding="utf-8")


def validate_seconds(directory: Path, expect_errors: int | None) -> float:
    """`licsync validate DIR` in process, through its real boundary, output discarded."""
    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(["validate", str(directory)])
    elapsed = time.perf_counter() - start
    summary = sink.getvalue().rstrip("\n").rsplit("\n", 1)[-1]
    if expect_errors is None and code != 0:
        raise SystemExit(f"validate failed: {summary}")
    if expect_errors is not None and not summary.startswith(f"{expect_errors} error"):
        raise SystemExit(f"expected {expect_errors} errors, validate said: {summary}")
    return elapsed


def per_problem(root: Path, problems: int, repeat: int) -> float:
    """Seconds per problem: validate with ``problems`` problems less validate of the same
    entries written correctly (same files, same sizes), alternately, medians."""
    directory = root / f"problems-{problems}"
    generate_problems(directory, problems)
    fixed = root / f"fixed-{problems}"
    generate_problems(fixed, problems, broken=False)
    runs, floors = [], []
    for _ in range(repeat):
        runs.append(validate_seconds(directory, problems))
        floors.append(validate_seconds(fixed, None))
    return (statistics.median(runs) - statistics.median(floors)) / problems


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--allocations", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        paths = generate(directory, args.allocations, args.files)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"desired state: {args.allocations:,} allocations in {args.files} files, {size:,} bytes"
        )
        floors, runs = [], []
        for _ in range(args.repeat):
            floors.append(floor(paths))
            runs.append(licsync_validate(directory))
        base, ours = statistics.median(floors), statistics.median(runs)
    print(f"floor   yaml.load(CSafeLoader): {base:7.2f} s (median of {args.repeat})")
    print(f"licsync validate:               {ours:7.2f} s (median of {args.repeat})")
    with tempfile.TemporaryDirectory() as tmp:
        small = per_problem(Path(tmp), 100, repeat=max(15, args.repeat * 5))
        large = per_problem(Path(tmp), 100_000, repeat=args.repeat)
    print(f"per problem at     100 problems: {small * 1e6:9.1f} us")
    print(f"per problem at 100,000 problems: {large * 1e6:9.1f} us")
    print(
        f"RESULT validate ratio={ours / base:.2f} seconds={ours:.2f} "
        f"per_problem_ratio={large / small:.2f} us_per_problem={large * 1e6:.1f}"
    )


if __name__ == "__main__":
    main_bench()
