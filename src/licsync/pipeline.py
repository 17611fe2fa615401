"""The plan pipeline: load the desired state, read the site and its signals, plan.

This is the I/O edge around the pure planner. It decides the time (``--now``, else the embedded
demo's clock, else the wall clock), where QRS is (``--qrs-url``, else the site's URL, else the
embedded simulator), opens a read-only client, reads the actual state and the denial sources,
and times every phase so ``--timings`` and ``bench/plan.py`` can say where time goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from licsync.actual import Actual
from licsync.desired import Desired
from licsync.errors import Problem
from licsync.load import load_desired
from licsync.plan import Plan, plan
from licsync.plan.planner import build_coverage
from licsync.policy import DenialSource, DenialSourceKind
from licsync.qrs import QrsClient, read_actual
from licsync.signals import Signals
from licsync.signals.denials import read_denials

__all__ = ["EMBEDDED", "PlanRequest", "PlanRun", "run_plan"]

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
"""The ``qrs_url`` that means the built-in simulator with the demo organisation."""


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What the user asked for.

    Attributes:
        directory: the desired-state directory.
        site: ``--site``; None when the directory holds one site.
        qrs_url: ``--qrs-url``; overrides the site's URL.
        denial_logs: ``--denial-logs`` paths added to the policy's sources.
        now: ``--now``; None for the default (see the module docstring).
        env: where secrets named by the site are read from.
    """

    directory: Path
    site: str | None = None
    qrs_url: str | None = None
    denial_logs: tuple[str, ...] = ()
    now: dt.datetime | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanRun:
    """A plan and how it was made.

    Attributes:
        target: where QRS was read from, for display (never with credentials).
        timings: seconds per phase: load, read, logs, rules, plan.
        requests: QRS requests made by the read.
    """

    plan: Plan
    desired: Desired
    actual: Actual
    signals: Signals
    warnings: tuple[Problem, ...]
    target: str
    timings: Mapping[str, float]
    requests: int


def run_plan(request: PlanRequest) -> PlanRun:
    """Load, read, plan. Nothing is written anywhere: the client is read-only.

    Raises:
        ConfigError: the desired state is invalid.
        QrsError: the site cannot be read.
        SignalError: a denial source cannot be read.
        SecretError: a secret the site names is missing.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    today = (request.now or dt.datetime.now(dt.UTC)).date()
    desired, warnings = load_desired(request.directory, today=today, site=request.site)
    timings["load"] = time.perf_counter() - started

    with _site_connection(desired, request) as (client, target, site_now):
        now = request.now or site_now or dt.datetime.now(dt.UTC)
        result = read_actual(client)
    timings["read"] = result.timing.total
    actual = result.actual

    started = time.perf_counter()
    signals = _signals(desired, request.denial_logs, now)
    timings["logs"] = time.perf_counter() - started

    started = time.perf_counter()
    coverage = build_coverage(desired, actual)
    timings["rules"] = time.perf_counter() - started

    started = time.perf_counter()
    result_plan = plan(desired, actual, signals, now, coverage=coverage)
    timings["plan"] = time.perf_counter() - started
    return PlanRun(
        plan=result_plan,
        desired=desired,
        actual=actual,
        signals=signals,
        warnings=warnings,
        target=target,
        timings=timings,
        requests=result.timing.requests,
    )


@contextlib.contextmanager
def _site_connection(
    desired: Desired, request: PlanRequest
) -> Iterator[tuple[QrsClient, str, dt.datetime | None]]:
    """A read-only client for the site, the target to display, and the site's own clock."""
    url = request.qrs_url or desired.site.qrs_url
    with contextlib.ExitStack() as stack:
        base_url, target, clock = request.qrs_url, None, None
        if url == EMBEDDED:
            from licsync.sim.demo import DEMO_NOW, demo_organisation  # noqa: PLC0415 - only here
            from licsync.sim.server import start_simulator  # noqa: PLC0415

            sim = stack.enter_context(start_simulator(demo_organisation()))
            log.info("plan: embedded simulator at %s", sim.url)
            base_url, clock = sim.url, DEMO_NOW
            target = "the embedded QRS simulator (demo organisation)"
        client = stack.enter_context(
            QrsClient.from_site(desired.site, env=request.env, read_only=True, base_url=base_url)
        )
        yield client, target or client.base_url, clock


def _signals(desired: Desired, extra_logs: Sequence[str], now: dt.datetime) -> Signals:
    sources = list(desired.policy.denial_sources)
    sources.extend(DenialSource(kind=DenialSourceKind.LOGS, path=path) for path in extra_logs)
    if not sources:
        return Signals()
    since = now - dt.timedelta(days=desired.policy.denial_lookback_days)
    report = read_denials(
        sources,
        root=Path.cwd(),
        since=since,
        service_accounts=desired.policy.service_accounts,
    )
    return Signals(denials=report)
