"""Shared fixtures: where ``../shared`` is, a simulator and clients over loopback, retries that
do not sleep, and isolation from the caller's environment.

A test module that needs its own organisation overrides ``sim_store``; ``sim``, ``client`` and
``http`` then serve and talk to that one.
"""

from __future__ import annotations

# isort: off
import cached_bytecode  # noqa: F401  (first: the imports below are then cached too)
# isort: on

import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings

from azure_standin import AzureStandIn, azure_env
from cli_runner import Licsync
from clock import NOW
from github_standin import GitHubStandIn, github_env
from gitlab_standin import GitLabStandIn, gitlab_env
from inprocess import bare_client, in_process_simulator
from licsync.qrs import QrsClient
from licsync.qrs import retry as qrs_retry
from licsync.render import render_json
from licsync.render.fromdata import plan_from_data
from licsync.sim import SimStore, Simulator, start_simulator

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DEMO_PLAN = Path(__file__).resolve().parent / "golden" / "demo-plan.json"
"""The demo's plan as JSON, as `licsync plan --format json` writes it (a golden file)."""

# Hypothesis: a quick default for every run (a developer's loop, the README's test command) and a
# thorough search (HYPOTHESIS_PROFILE=thorough) ten times as deep. No deadline: a timing is no
# assertion, and a loaded machine would fail a correct example.
settings.register_profile(
    "quick", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# Variables licsync, its simulator or its libraries read; a developer's shell must not change
# what a test sees (a stray NO_COLOR, a real QLIK_JWT, a CI's GITHUB_* variables).
_ISOLATED_PREFIXES = (
    "QLIK_",
    "QRS_",
    "LICSYNC_",
    "GITHUB_",
    "NTLM_",
    # GitLab CI/CD's and Azure Pipelines' own variables (the forge is detected from them).
    "CI_",
    "GITLAB_",
    "SYSTEM_",
    "BUILD_",
    "TF_BUILD",
)
_ISOLATED_NAMES = ("NO_COLOR", "FORCE_COLOR", "CI", "SSL_CERT_FILE", "SSL_CERT_DIR")


_state_homes = itertools.count()


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Remove the caller's variables that licsync or its simulator read; machine-local state
    (apply's site locks) goes to a folder of the test's own, made only if licsync needs it
    (most tests do not: a folder each is thousands of folders made and removed per run)."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _ISOLATED_NAMES:
            monkeypatch.delenv(name)
    state = tmp_path_factory.getbasetemp() / "state" / str(next(_state_homes))
    monkeypatch.setenv("XDG_STATE_HOME", str(state))


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every client's waits between retries, recorded instead of slept (the CLI's too)."""
    waits: list[float] = []
    monkeypatch.setattr(qrs_retry, "wait", waits.append)
    return waits


@pytest.fixture
def sim_store() -> SimStore:
    """The organisation ``sim`` serves: just the service account, at :data:`NOW`."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    return store


@pytest.fixture
def sim(sim_store: SimStore) -> Iterator[Simulator]:
    """A simulator serving ``sim_store`` in process (``socket_sim``: the same over loopback)."""
    with in_process_simulator(sim_store) as running:
        yield running


@pytest.fixture
def socket_sim(sim_store: SimStore) -> Iterator[Simulator]:
    """A simulator serving ``sim_store`` on a free loopback port (tests about the socket)."""
    with start_simulator(sim_store) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> Iterator[QrsClient]:
    """licsync's QRS client for ``sim``: certificate mode over plain HTTP, writes allowed."""
    with QrsClient(sim.url) as qrs:
        yield qrs


@pytest.fixture
def http(sim: Simulator) -> Iterator[httpx.Client]:
    """A bare HTTP client for ``sim`` that sends a valid xrfkey and ``X-Qlik-User``."""
    with bare_client(sim) as bare:
        yield bare


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    """The GitHub stand-in over loopback, with GITHUB_* pointing at it."""
    with github_env(monkeypatch) as standin:
        yield standin


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabStandIn]:
    """The GitLab stand-in over loopback, with GitLab CI/CD's variables pointing at it."""
    with gitlab_env(monkeypatch) as standin:
        yield standin


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureStandIn]:
    """The Azure DevOps stand-in over loopback, with Azure Pipelines' variables pointing at it."""
    with azure_env(monkeypatch) as standin:
        yield standin


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    """The demo plan as JSON (the golden file, rendered by this build: its version)."""
    data = json.loads(DEMO_PLAN.read_text(encoding="utf-8"))
    path = tmp_path / "plan.json"
    path.write_text(render_json(plan_from_data(data)), encoding="utf-8")
    return path


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (in collection order otherwise), so that none of them starts late
    and ends a run on a lone core. ``--dist worksteal`` hands each worker a contiguous share,
    so they all run on the first worker, in series: they mostly wait on processes of their own
    (pip, licsync, signals), which leaves the cores to the other workers. Dealing them round to
    every worker's share instead was measured no faster (the suite is bound by CPU)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the cores. A share of the suite waits rather than
    computes (drips and deadlines, subprocesses, sockets), and the extra worker fills the core
    that wait leaves idle: on 2 cores the suite took 66 s with 2 workers, 53 s with 3, 55 s
    with 4 and 63 s with 6 (each worker collects the whole suite, about 5 s of CPU)."""
    return (os.cpu_count() or 1) + 1
