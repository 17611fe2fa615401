"""Benchmark `licsync validate` on a large desired state against a bare libyaml load.

Generates 100,000 allocations over 20 files (plus a site file and 300 rules), then times, in the
same run: `licsync validate DIR` (the whole command, in-process) and the floor, a bare
``yaml.load(..., Loader=yaml.CSafeLoader)`` of the same files. Prints both, their ratio, and ends
with ``RESULT validate ratio=<x> seconds=<t>``. Target: ratio <= 3.

Run from the repository root: ``python bench/validate.py [--allocations N] [--files F]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from licsync.cli import app

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


def main() -> None:
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
    print(f"RESULT validate ratio={ours / base:.2f} seconds={ours:.2f}")


if __name__ == "__main__":
    main()
