"""licsync's wheel, built once per test run for every test that installs or opens it.

Building takes seconds of a 2-core machine's time. The packaging and adoption tests each built
their own copy of the same wheel from the same tree; then, under pytest-xdist, each worker that
ran one of them built its own (two builds a run, most runs). The workers of a run share one
build, made by whichever asks first while the others wait on a file lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import filelock
import pytest

__all__ = ["REPO", "built_wheel"]

REPO = Path(__file__).resolve().parent.parent
_HATCHLING_MISSING = "hatchling is not installed in this environment (pip install -e '.[test]')"
_WHY_NOT = "not-built.txt"  # beside the wheel: why it could not be built (a skip)
_FAILED = "failed.txt"  # beside the wheel: the build's error output (every test asking fails)


def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree (the same file for the whole run: copy it before writing
    beside it); skips the test where hatchling, the build backend, is missing."""
    folder = _run_folder(tmp_path_factory) / "wheel"
    with filelock.FileLock(folder.with_name("wheel.lock")):
        if not folder.is_dir():
            _build(folder)
    failed = folder / _FAILED
    if failed.is_file():
        pytest.fail(f"building the wheel failed: {failed.read_text(encoding='utf-8')}")
    why_not = folder / _WHY_NOT
    if why_not.is_file():
        pytest.skip(why_not.read_text(encoding="utf-8"))
    [wheel] = folder.glob("licsync-*.whl")
    return wheel


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary folder: under xdist each worker's is inside the run's, which all
    share; without xdist, the session's own (its parent holds earlier runs)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def _build(folder: Path) -> None:
    building = folder.with_name("wheel.partial")  # renamed when done: never half a folder
    shutil.rmtree(building, ignore_errors=True)  # what a worker killed while building left
    building.mkdir()
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(building),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        missing = "hatchling" in build.stderr
        why, text = (_WHY_NOT, _HATCHLING_MISSING) if missing else (_FAILED, build.stderr)
        (building / why).write_text(text, encoding="utf-8")
    building.rename(folder)
