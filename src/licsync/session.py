"""The edge every command shares: one site, opened once, read and planned as often as needed.

A :class:`Session` is the I/O edge around the pure planner. :func:`open_session` loads the
desired state, decides where QRS is (``--qrs-url``, else the site's URL; ``embedded`` starts the
simulator in-process with the demo organisation and keeps it running for the whole ``with``),
opens one client (read-only unless the request says ``writable``, which only ``apply`` does) and
decides the time (``--now``, else the embedded demo's fixed clock, else the wall clock).

Inside the ``with`` a command reads (:meth:`Session.read`, a fresh read every call), gathers the
signals (:meth:`Session.signals`) and plans (:meth:`Session.plan`, timed per phase) as often as it
needs: ``apply`` can apply and then re-plan against the same site in one process. Every QRS
request the session's client makes is counted (:attr:`Session.requests`).

::

    with open_session(SessionRequest(directory=Path("licenses"), env=os.environ)) as session:
        run = session.plan()
        print(run.plan.checksum, run.timings, run.requests)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from licsync.actual import Actual
from licsync.desired import Desired
from licsync.errors import Problem
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.plan import Plan, plan
from licsync.plan.planner import build_coverage
from licsync.policy import DenialSource, DenialSourceKind
from licsync.qrs import QrsClient, paths, read_actual
from licsync.qrs.client import mount
from licsync.qrs.ratelimit import RateLimit
from licsync.rules.coverage import RuleCoverage
from licsync.signals import Signals
from licsync.site import EMBEDDED, Site  # EMBEDDED re-exported: defined with the site

if TYPE_CHECKING:  # the product imports the simulator only where `embedded` starts it
    from licsync.sim.server import Simulator

__all__ = ["EMBEDDED", "PlanRun", "Session", "SessionRequest", "open_session", "read_site"]

log = logging.getLogger(__name__)

EMBEDDED_TARGET = "the embedded QRS simulator (demo organisation)"


CLOCK_TOLERANCE = dt.timedelta(minutes=5)
"""How far the site's clock may be from the instant planned as of before a warning says so."""


def _span(delta: dt.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """What the user asked for.

    Attributes:
        directory: the desired-state directory.
        site: ``--site``; None when the directory holds one site.
        qrs_url: ``--qrs-url``; overrides the site's URL (``embedded`` is allowed).
        denial_logs: ``--denial-logs`` paths added to the policy's sources.
        now: ``--now``; None for the default (see the module docstring).
        env: where secrets named by the site are read from (the CLI passes ``os.environ``).
        writable: open a client that may write (``apply``); otherwise writes are refused before
            any byte is sent.
        request_timeout: ``--request-timeout``; None for the site's setting or the default.
    """

    directory: Path
    site: str | None = None
    qrs_url: str | None = None
    denial_logs: tuple[str, ...] = ()
    now: dt.datetime | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    writable: bool = False
    request_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class PlanRun:
    """A plan and how it was made.

    Attributes:
        plan: the plan.
        actual: the actual state it was planned against.
        signals: the signals it used.
        now: the instant it was planned as of.
        timings: seconds per phase: load (the session's, once), read, logs, rules, plan.
        requests: QRS requests this plan made (retries not counted).
        coverage: which users each declared rule covers (from the desired rules and the
            users alone, so a re-plan reusing the users reuses it too).
    """

    plan: Plan
    actual: Actual
    signals: Signals
    now: dt.datetime
    timings: Mapping[str, float]
    requests: int
    coverage: Mapping[AccessType, RuleCoverage]


class _CountingClient(QrsClient):
    """A QRS client that counts the requests made through it (thread-safe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = 0
        self._count_lock = threading.Lock()
        self.rate_limit: RateLimit | None = None
        self.skew: dt.timedelta | None = None
        """The site's clock minus this machine's, from the first answer's ``Date`` header."""

    @property
    def count(self) -> int:
        """Requests made so far (one per call, whatever the retries)."""
        return self._count

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        with self._count_lock:
            self._count += 1
        if self.rate_limit is not None:
            self.rate_limit.wait()
        response = super().request(method, path, params=params, body=body)
        if self.skew is None:
            self.skew = clock_skew(response.headers.get("date"), dt.datetime.now(dt.UTC))
        return response


def clock_skew(date_header: str | None, received: dt.datetime) -> dt.timedelta | None:
    """The answering server's clock minus ours, from an HTTP ``Date`` header (whole seconds:
    the header has no finer grain); None when the header is missing or not a date."""
    if not date_header:
        return None
    try:
        said = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if said.tzinfo is None:  # "-0000": UTC by RFC 5322, which parsedate gives as naive
        said = said.replace(tzinfo=dt.UTC)
    return said - received.replace(microsecond=0)


class Session:
    """One site, open for the length of a command. Build it with :func:`open_session`.

    Attributes:
        desired: the desired state of the site.
        warnings: the loader's warnings (the caller shows them).
        client: the QRS client (read-only unless the request was ``writable``).
        target: where QRS is, for display (never with credentials).
        simulator: the embedded simulator, running until the session closes; None otherwise.
        load_seconds: how long loading the desired state took.
    """

    def __init__(
        self,
        request: SessionRequest,
        *,
        desired: Desired,
        warnings: tuple[Problem, ...],
        client: _CountingClient,
        target: str,
        clock: dt.datetime | None,
        simulator: Simulator | None,
        load_seconds: float,
    ) -> None:
        self._request = request
        self.desired = desired
        self.warnings = warnings
        self.client: QrsClient = client
        self._counting = client
        self.target = target
        self._clock = clock
        self.simulator = simulator
        self.load_seconds = load_seconds

    @property
    def writable(self) -> bool:
        """True when the client may write."""
        return not self.client.read_only

    def limit_rate(self, per_second: float | None) -> None:
        """Start at most ``per_second`` QRS requests per second from now on (None: no cap)."""
        self._counting.rate_limit = RateLimit(per_second) if per_second is not None else None

    @property
    def has_denial_logs(self) -> bool:
        """True when ``--denial-logs`` named logs besides the policy's sources."""
        return bool(self._request.denial_logs)

    @property
    def requests(self) -> int:
        """QRS requests made through this session's client so far (retries not counted)."""
        return self._counting.count

    def now(self) -> dt.datetime:
        """The instant to plan as of: ``--now``, else the site's own clock, else the wall clock."""
        return self._request.now or self._clock or dt.datetime.now(dt.UTC)

    def site_clock(self) -> dt.datetime:
        """What the site's clock reads now: this machine's clock corrected by the ``Date`` of
        the site's first answer (asking ``/qrs/about`` if nothing was asked yet); the embedded
        demo's is its fixed clock.

        Raises:
            QrsError: the site cannot be reached.
        """
        if self._clock is not None:
            return self._clock
        if self._counting.skew is None and self.requests == 0:
            self.client.get_bytes(paths.ABOUT)
        return dt.datetime.now(dt.UTC) + (self._counting.skew or dt.timedelta())

    def clock_warning(self, now: dt.datetime) -> str | None:
        """A warning when the site's clock (from its ``Date`` header) is more than
        :data:`CLOCK_TOLERANCE` away from ``now``, the instant planned as of; None otherwise
        (also when the site has not answered, or sent no date)."""
        skew = self._counting.skew
        if skew is None or self._clock is not None:
            return None
        site_now = dt.datetime.now(dt.UTC) + skew
        apart = site_now - now
        if abs(apart) <= CLOCK_TOLERANCE:
            return None
        shown = site_now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return (
            f"the site's clock reads {shown} (its Date header), {_span(apart)} "
            f"{'ahead of' if apart > dt.timedelta() else 'behind'} the instant planned as of "
            f"({now.replace(microsecond=0).isoformat().replace('+00:00', 'Z')}); QRS dates "
            f"quarantines and last use by its own clock: plan with --now {shown} to plan as "
            "of the site's time, or set the clock right"
        )

    def read(self, *, users_from: Actual | None = None) -> Actual:
        """Read the site's whole actual state now (a fresh read every call).

        Args:
            users_from: reuse this earlier read's users and build version rather than reading
                them again (``apply``'s re-plans: it changes allocations and rules, never
                users, and the site answered a moment ago).

        Raises:
            QrsError: the site cannot be read.
        """
        if users_from is None:
            return read_actual(self.client).actual
        return read_actual(
            self.client, users=users_from.users, build_version=users_from.build_version
        ).actual

    def signals(self, now: dt.datetime | None = None) -> Signals:
        """The denial signals of the policy's sources and ``--denial-logs``, as of ``now``.

        Raises:
            SignalError: a denial source cannot be read.
        """
        desired = self.desired
        sources = list(desired.policy.denial_sources)
        sources.extend(
            DenialSource(kind=DenialSourceKind.LOGS, path=path)
            for path in self._request.denial_logs
        )
        if not sources:
            return Signals()
        # The log readers (and their parsers' set-up) load only for a site that has denial
        # sources: an apply or plan without them does not pay for importing them.
        from licsync.signals.denials import read_denials  # noqa: PLC0415

        since = (now or self.now()) - dt.timedelta(days=desired.policy.denial_lookback_days)
        report = read_denials(
            sources,
            root=Path.cwd(),
            since=since,
            service_accounts=desired.policy.service_accounts,
        )
        return Signals(denials=report)

    def plan(self, *, reusing: PlanRun | None = None) -> PlanRun:
        """Read the site and the signals afresh and plan, timing every phase.

        Args:
            reusing: an earlier run whose users and signals still hold (``apply``'s re-plans:
                it changes allocations and rules, never users, and the denial logs it read a
                moment ago say the same): only the rest of the site is read again, and the
                rules' coverage of those users is not worked out again.

        Raises:
            QrsError: the site cannot be read.
            SignalError: a denial source cannot be read.
        """
        timings: dict[str, float] = {"load": self.load_seconds}
        requests_before = self.requests
        now = self.now()

        started = time.perf_counter()
        actual = self.read(users_from=reusing.actual if reusing is not None else None)
        timings["read"] = time.perf_counter() - started

        started = time.perf_counter()
        signals = reusing.signals if reusing is not None else self.signals(now)
        timings["logs"] = time.perf_counter() - started

        started = time.perf_counter()
        coverage = reusing.coverage if reusing is not None else build_coverage(self.desired, actual)
        timings["rules"] = time.perf_counter() - started

        started = time.perf_counter()
        result = plan(self.desired, actual, signals, now, coverage=coverage)
        timings["plan"] = time.perf_counter() - started
        return PlanRun(
            plan=result,
            actual=actual,
            signals=signals,
            now=now,
            timings=timings,
            requests=self.requests - requests_before,
            coverage=coverage,
        )


@contextlib.contextmanager
def open_session(request: SessionRequest) -> Iterator[Session]:
    """Load the desired state and open the site; close everything when the ``with`` ends.

    Raises:
        ConfigError: the desired state is invalid, or the site's settings are unusable.
        SecretError: a secret the site names is missing.
        UsageError: the embedded simulator cannot start.
    """
    started = time.perf_counter()
    today = (request.now or dt.datetime.now(dt.UTC)).date()
    desired, warnings = load_desired(request.directory, today=today, site=request.site)
    load_seconds = time.perf_counter() - started

    with _site_client(
        desired.site,
        env=request.env,
        qrs_url=request.qrs_url,
        read_only=not request.writable,
        request_timeout=request.request_timeout,
    ) as opened:
        yield Session(
            request,
            desired=desired,
            warnings=warnings,
            client=opened.client,
            target=opened.target,
            clock=opened.clock,
            simulator=opened.simulator,
            load_seconds=load_seconds,
        )


@dataclass(frozen=True, slots=True)
class _Opened:
    client: _CountingClient
    target: str
    clock: dt.datetime | None  # the embedded demo's fixed clock
    simulator: Simulator | None


@contextlib.contextmanager
def _site_client(
    site: Site,
    *,
    env: Mapping[str, str],
    qrs_url: str | None,
    read_only: bool,
    request_timeout: float | None,
) -> Iterator[_Opened]:
    """The site's counting client (``embedded``: the demo simulator, started here), and what
    output calls the site; both closed when the ``with`` ends."""
    url = qrs_url or site.qrs_url
    with contextlib.ExitStack() as stack:
        base_url, target, clock = qrs_url, None, None
        simulator = None
        if url == EMBEDDED:
            from licsync.sim.demo import DEMO_NOW, demo_organisation  # noqa: PLC0415 - only here
            from licsync.sim.transport import SimTransport, serve_in_process  # noqa: PLC0415

            # In process: the demo needs no socket, thread or TLS context (a start costs ~0).
            simulator = stack.enter_context(serve_in_process(demo_organisation()))
            app = simulator.app
            stack.enter_context(mount(simulator.url, lambda: SimTransport(app)))
            log.info("embedded simulator at %s", simulator.url)
            base_url, clock, target = simulator.url, DEMO_NOW, EMBEDDED_TARGET
        client = stack.enter_context(
            _CountingClient.from_site(
                site,
                env=env,
                read_only=read_only,
                base_url=base_url,
                request_timeout=request_timeout,
            )
        )
        assert isinstance(client, _CountingClient)  # from_site builds the class it is called on
        yield _Opened(client, target or client.base_url, clock, simulator)


@dataclass(frozen=True, slots=True)
class SiteRead:
    """A site read without desired state (``dump``): what it holds, where, and the requests."""

    actual: Actual
    target: str
    requests: int


def read_site(
    site: Site,
    *,
    env: Mapping[str, str],
    qrs_url: str | None = None,
    request_timeout: float | None = None,
) -> SiteRead:
    """Read a site's actual state through a read-only client; ``embedded`` reads the demo.

    Raises:
        ConfigError: the site lacks a setting its auth mode needs.
        SecretError: a secret the site names is missing.
        QrsError: the site cannot be read.
    """
    with _site_client(
        site, env=env, qrs_url=qrs_url, read_only=True, request_timeout=request_timeout
    ) as opened:
        actual = read_actual(opened.client).actual
        return SiteRead(actual=actual, target=opened.target, requests=opened.client.count)
