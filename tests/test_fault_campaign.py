"""The fault campaign of ``bench/faults.py``, small: a few seeds of random write faults
(drop-after, 500, 409, 429) and ``kill -9`` on a site with rule creates, updates and deletes,
allocations and reclaims. No report says done for what the site does not show, every attempt
of a finished run has an audit line, and the site converges within three runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import REPO


def _campaign() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", REPO / "bench" / "faults.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_apply_under_write_faults_and_kill_9_tells_the_truth_and_converges(
    seed: int, tmp_path: Path
) -> None:
    result = _campaign().run_seed(seed, tmp_path, kill=0.7)
    assert result.false_applied == []
    assert result.audit_gaps == []
    assert result.converged, f"not converged in {result.runs} runs: {dict(result.statuses)}"
