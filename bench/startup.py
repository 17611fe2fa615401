"""How long people wait at the prompt: ``licsync --version``, ``licsync --help``, tab completion
of ``licsync pl`` and ``licsync plan --help``, each in fresh processes, against the floor of the
same run (``python -c pass``: the interpreter's own start, which licsync cannot make shorter).

    python bench/startup.py [--runs N]

Each figure is the median of N runs (default 15), taken in turns so a busy moment of the machine
falls on all of them alike. It ends with one line::

    RESULT startup completion_s=... help_s=... version_s=... plan_help_s=... floor_s=...

Standalone on purpose: ``benchlib`` imports httpx and licsync's QRS client, which a start-up
bench must not have loaded in its own process either (it does not matter for the children, but
keeps this bench quick to start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith(("_LICSYNC_COMPLETE", "COMP_", "_TYPER_COMPLETE"))
}
ENV["PYTHONPATH"] = str(REPO / "src")
"""This checkout's sources, whatever is installed; no completion variables inherited."""

COMPLETE_PL = {"_LICSYNC_COMPLETE": "complete_bash", "COMP_WORDS": "licsync pl", "COMP_CWORD": "1"}

CASES: dict[str, tuple[list[str], dict[str, str], str]] = {
    # name: (arguments after the interpreter, extra environment, what stdout must hold)
    "floor": (["-c", "pass"], {}, ""),
    "version": (["-m", "licsync", "--version"], {}, "licsync "),
    "help": (["-m", "licsync", "--help"], {}, "Commands"),
    "completion": (["-m", "licsync"], COMPLETE_PL, "plan"),
    "plan_help": (["-m", "licsync", "plan", "--help"], {}, "--detailed-exitcode"),
}


def once(args: list[str], extra: dict[str, str], expect: str) -> float:
    """Wall seconds of one fresh process, interpreter start included."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**ENV, **extra},
        cwd=REPO,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per case")
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, (args, extra, expect) in CASES.items():
            times[name].append(once(args, extra, expect))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<11} median {median[name]:.3f} s  min {min(values):.3f} s  ({runs} runs)")
    print(
        f"RESULT startup completion_s={median['completion']:.3f} help_s={median['help']:.3f} "
        f"version_s={median['version']:.3f} plan_help_s={median['plan_help']:.3f} "
        f"floor_s={median['floor']:.3f}"
    )


if __name__ == "__main__":
    main()
