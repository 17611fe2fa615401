"""licsync's wheel, built once per test session for every test that installs or opens it.

Building takes seconds of a 2-core machine's time; the packaging and adoption tests each built
their own copy of the same wheel from the same tree.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["REPO", "built_wheel"]

REPO = Path(__file__).resolve().parent.parent
_HATCHLING_MISSING = "hatchling is not installed in this environment (pip install -e '.[test]')"
_BUILT: dict[str, Path | str] = {}
"""The wheel, or why it could not be built (a skip), once tried."""


def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree (the same file for the whole session: copy it before
    writing beside it); skips the test where hatchling, the build backend, is missing."""
    if not _BUILT:
        folder = tmp_path_factory.mktemp("wheel")
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
                str(folder),
                str(REPO),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if build.returncode != 0 and "hatchling" in build.stderr:
            _BUILT["wheel"] = _HATCHLING_MISSING
        else:
            assert build.returncode == 0, build.stderr
            [_BUILT["wheel"]] = folder.glob("licsync-*.whl")
    built = _BUILT["wheel"]
    if isinstance(built, str):
        pytest.skip(built)
    return built
