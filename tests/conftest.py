"""Shared fixtures: where ``../shared`` is, and isolation from the caller's environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_runner import Licsync

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The team's ``../shared`` folder; tests needing it skip on a fresh clone without it."""
    if not SHARED.is_dir():
        pytest.skip(
            f"{SHARED} is absent (a fresh clone has no ../shared): reference data unavailable"
        )
    return SHARED


@pytest.fixture
def qrs_spec(shared_dir: Path) -> Path:
    """Path of the QRS OpenAPI spec ``../shared/qrs-spec/Repository.json``."""
    path = shared_dir / "qrs-spec" / "Repository.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent: cannot validate against the QRS spec")
    return path


@pytest.fixture
def sample_logs(shared_dir: Path) -> Path:
    """The real Qlik Sense log files ``../shared/samples/qlik-logs``."""
    path = shared_dir / "samples" / "qlik-logs"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: real Qlik log samples unavailable")
    return path


@pytest.fixture
def licsync(capsys: pytest.CaptureFixture[str]) -> Licsync:
    """Runs ``licsync`` in process through its real boundary, ``main(argv)``."""
    return Licsync(capsys)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's example site (qrs_url: embedded), the working directory
    beside it."""
    shutil.copytree(REPO / "licenses", tmp_path / "licenses")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "licenses"
