"""Benchmark: how long ``licsync plan`` of a large site leaves a terminal silent.

Run from the repository root (POSIX: it needs a pseudo-terminal)::

    python bench/silence.py                # 40,000 users
    python bench/silence.py --users 5000   # a quick run

Set-up (not timed): ``licsync sim serve --users N`` in its own process, and a desired state
dumped from it (``licsync dump``: every explicit allocation declared, observe ownership).

Measured: ``python -m licsync plan DIR`` in a fresh process whose standard output and error are
a pseudo-terminal, as an admin runs it: the seconds from start to its first output of any kind
(the progress line, a warning or the plan), and to its exit. Silence is the first; the target
is at most the progress line's one second plus the interpreter's start and imports.

The last line is ``RESULT silence first_output_seconds=<s> total_seconds=<t> users=<n>``.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import simulator


def _first_output(args: list[str]) -> tuple[float, float]:
    """(seconds to the first byte on the terminal, seconds to exit) of ``args`` on a pty."""
    import pty  # noqa: PLC0415 - POSIX only

    main_fd, child_fd = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=child_fd, stdout=child_fd, stderr=child_fd)
    os.close(child_fd)
    first = None
    while True:
        ready, _, _ = select.select([main_fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                data = b""
            if data and first is None:
                first = time.perf_counter() - started
            if not data and process.poll() is not None:
                break
        elif process.poll() is not None:
            break
    total = time.perf_counter() - started
    os.close(main_fd)
    return (first if first is not None else total), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=4)
    options = parser.parse_args()
    if os.name != "posix":
        raise SystemExit("bench/silence.py needs a POSIX pseudo-terminal")
    with simulator(options.users, options.seed) as url, tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "licenses"
        licsync = [sys.executable, "-m", "licsync"]
        subprocess.run([*licsync, "dump", "--qrs-url", url, "--out", str(site), "--quiet"],
                       check=True, capture_output=True)  # fmt: skip
        first, total = _first_output([*licsync, "plan", str(site), "--qrs-url", url])
    print(f"plan of {options.users:,} users: first output after {first:.2f} s, exit after "
          f"{total:.2f} s")  # fmt: skip
    print(f"RESULT silence first_output_seconds={first:.2f} total_seconds={total:.2f} "
          f"users={options.users}")  # fmt: skip


if __name__ == "__main__":
    main()
