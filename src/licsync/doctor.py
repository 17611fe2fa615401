"""``licsync doctor``: check a site read-only before the first ``apply``, one line per check.

Nothing here writes to the site: every request is a ``GET`` through the session's read-only
client. Locally, the lock and audit-log folders are checked for writing without creating
anything where nothing is yet (a probe file is made and removed only in a folder that exists).

The checks, in order (a check that cannot run because an earlier one failed says so):

1. ``client certificate``: the certificate's expiry (a warning inside 30 days);
2. ``connection``: the server answers ``/qrs/about``; TLS: the chain is trusted;
3. ``authentication``: who licsync acts as, and that QRS accepted it;
4. ``qrs version``: ``buildVersion``;
5. ``clock``: this machine's clock against the HTTP ``Date`` header of QRS's answer;
6. ``acting user``: QRS knows the acting user (certificate and header modes);
7. ``licence rights``: ``/qrs/license?privileges=true`` lets the caller update the licence;
8. ``licence``: kind (serial and control number, or signed key) and whether it expired;
9. ``routes``: every route apply may use is in the server's ``/qrs/about/api/description``;
10. ``capacity``: the access type overview;
11. ``denial logs``: each denial source read, and how old its newest entry is;
12. ``lock`` and ``audit log``: their folders can be written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import httpx

from licsync.actual import LicenceKind
from licsync.apply.lock import file_stem, lock_path, state_directory
from licsync.apply.writer.requests import ROUTES
from licsync.errors import LicsyncError, QrsAuthError, QrsError, QrsTransportError
from licsync.identity import QUARANTINE, AccessType, split_user
from licsync.qrs import paths
from licsync.qrs.errormap import tls_cause
from licsync.qrs.parse import parse_about, parse_capacity, parse_licence
from licsync.qrs.read import find_user
from licsync.session import EMBEDDED_TARGET, Session
from licsync.site import AuthMode, Site

__all__ = [
    "CERT_WARNING_DAYS",
    "CLOCK_FAIL_SECONDS",
    "CLOCK_WARN_SECONDS",
    "Check",
    "Status",
    "check_site",
    "failed_to_open",
]

CERT_WARNING_DAYS: Final = 30
"""A client certificate expiring within this many days is a warning."""
CLOCK_WARN_SECONDS: Final = 60
CLOCK_FAIL_SECONDS: Final = 300
"""Beyond this, "now" differs between licsync and QRS enough to matter: idle days, quarantine
ends and ``until:`` dates are judged by licsync's clock against QRS's dates."""
DEFAULT_AUDIT_FOLDER: Final = Path(".licsync") / "audit"  # as ``licsync apply``

_ADMIN_ROLES: Final = frozenset({"rootadmin", "deploymentadmin", "securityadmin"})
_PLACEHOLDER = re.compile(r"\{[^}/]*\}")


class Status(StrEnum):
    """How one check ended; only ``fail`` makes ``doctor`` exit 1."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, how it ended, and what was found."""

    name: str
    status: Status
    message: str


def failed_to_open(error: LicsyncError) -> list[Check]:
    """The report when the site cannot even be opened (bad site.yaml, a missing secret)."""
    return [Check("site", Status.FAIL, str(error))]


def check_site(
    session: Session,
    *,
    env: Mapping[str, str],
    now: dt.datetime | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Run every check against the open (read-only) session's site.

    Args:
        session: the site, opened read-only.
        env: the environment (where the lock lives).
        now: the instant to judge certificates and log freshness by (default: the wall clock
            for certificates, the session's instant for logs: the embedded demo's own clock).
        clock: this machine's clock, in seconds since the epoch (tests move it).
    """
    site = session.desired.site
    wall = dt.datetime.fromtimestamp(clock(), dt.UTC)
    instant = now or wall
    checks = [_site_line(session), _client_certificate(site, instant)]
    reached = _Reach.attempt(session)
    checks.extend(reached.lines(session))
    if reached.about is not None:
        checks.append(_clock(reached.about, wall))
        checks.extend(_site_checks(session))
    else:
        checks.extend(
            Check(name, Status.SKIP, "not checked: QRS did not answer") for name in _SITE_CHECKS
        )
    checks.append(_denial_logs(session, now or session.now()))
    checks.append(_lock(session, env))
    checks.append(_audit_log(session))
    return checks


_SITE_CHECKS = ("clock", "acting user", "licence rights", "licence", "routes", "capacity")


def _site_line(session: Session) -> Check:
    site = session.desired.site
    return Check(
        "site",
        Status.OK,
        f"{site.name}: {session.target}, {site.auth.mode.value} authentication",
    )


# -- TLS and the first answer ---------------------------------------------------------------


def _client_certificate(site: Site, now: dt.datetime) -> Check:
    name = "client certificate"
    if site.auth.mode is not AuthMode.CERTIFICATE or not site.auth.cert_file:
        return Check(name, Status.SKIP, f"none in {site.auth.mode.value} mode")
    from cryptography import x509  # noqa: PLC0415 - only this check parses certificates

    try:
        data = Path(site.auth.cert_file).read_bytes()
        certificate = x509.load_pem_x509_certificate(data)
    except (OSError, ValueError) as exc:
        return Check(name, Status.FAIL, f"cannot read {site.auth.cert_file}: {exc}")
    until = certificate.not_valid_after_utc
    start = certificate.not_valid_before_utc
    subject = certificate.subject.rfc4514_string()
    if until <= now:
        return Check(
            name,
            Status.FAIL,
            f"{subject} expired on {_day(until)}: QRS refuses it; export a new client "
            "certificate from the QMC (Certificates)",
        )
    if start > now:
        return Check(name, Status.FAIL, f"{subject} is not valid before {_day(start)}")
    left = until - now
    if left < dt.timedelta(days=CERT_WARNING_DAYS):
        return Check(
            name,
            Status.WARN,
            f"{subject} expires on {_day(until)}, in {left.days} days: export a new one soon",
        )
    return Check(name, Status.OK, f"{subject}, valid until {_day(until)}")


@dataclass(slots=True)
class _Reach:
    """The first request (``GET /qrs/about``): reachability, TLS and authentication at once."""

    about: httpx.Response | None
    error: QrsError | None
    seconds: float

    @classmethod
    def attempt(cls, session: Session) -> _Reach:
        started = time.perf_counter()
        try:
            response = session.client.request("GET", paths.ABOUT)
        except QrsError as exc:
            return cls(None, exc, time.perf_counter() - started)
        return cls(response, None, time.perf_counter() - started)

    def lines(self, session: Session) -> list[Check]:
        site = session.desired.site
        url = session.client.base_url
        tls = _tls_words(site, url)
        error = self.error
        if isinstance(error, QrsTransportError):
            cause = tls_cause(error)
            if cause is not None:
                return [
                    Check("connection", Status.FAIL, f"TLS failed: {error}"),
                    Check("authentication", Status.SKIP, "not checked: no TLS connection"),
                    Check("qrs version", Status.SKIP, "not checked: QRS did not answer"),
                ]
            return [
                Check("connection", Status.FAIL, f"QRS cannot be reached: {error}"),
                Check("authentication", Status.SKIP, "not checked: QRS did not answer"),
                Check("qrs version", Status.SKIP, "not checked: QRS did not answer"),
            ]
        connected = Check(
            "connection",
            Status.OK,
            f"{session.target} answered in {self.seconds * 1000:.0f} ms{tls}",
        )
        if error is not None:
            status = Status.FAIL
            why = (
                "QRS refused the credentials"
                if isinstance(error, QrsAuthError)
                else "QRS answered with an error"
            )
            return [
                connected,
                Check("authentication", status, f"{why}: {error}"),
                Check("qrs version", Status.SKIP, "not checked"),
            ]
        assert self.about is not None
        try:
            version = parse_about(
                session.client.decode_json("GET", paths.ABOUT, self.about.content)
            )
            version_line = Check("qrs version", Status.OK, f"QRS {version}")
        except QrsError as exc:
            version_line = Check("qrs version", Status.FAIL, str(exc))
        return [
            connected,
            Check("authentication", Status.OK, f"accepted: {_acting(site)}"),
            version_line,
        ]


def _tls_words(site: Site, url: str) -> str:
    if not url.lower().startswith("https://"):
        return "; plain HTTP (no TLS)"
    if not site.tls.verify:
        return "; TLS verification turned off (tls.insecure_skip_verify)"
    trusted = site.tls.ca_file or "the system's trusted certificates"
    return f"; TLS chain verified against {trusted}"


def _acting(site: Site) -> str:
    mode = site.auth.mode
    if mode in (AuthMode.CERTIFICATE, AuthMode.HEADER):
        return f"{mode.value} mode, acting as {site.auth.user}"
    return f"{mode.value} mode through the virtual proxy {site.virtual_proxy or '(default)'}"


def _clock(about: httpx.Response, wall: dt.datetime) -> Check:
    header = about.headers.get("date")
    if not header:
        return Check("clock", Status.WARN, "QRS sent no Date header: the clocks are not compared")
    try:
        theirs = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return Check("clock", Status.WARN, f"QRS's Date header {header[:60]!r} is not a date")
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=dt.UTC)
    offset = (theirs - wall).total_seconds()
    ahead = "ahead of" if offset > 0 else "behind"
    words = f"QRS's clock is {_duration(abs(offset))} {ahead} this machine's"
    if abs(offset) > CLOCK_FAIL_SECONDS:
        return Check(
            "clock",
            Status.FAIL,
            f"{words}: idle days, quarantine ends and until: dates would be judged wrongly; "
            "set both clocks right (NTP)",
        )
    if abs(offset) > CLOCK_WARN_SECONDS:
        return Check("clock", Status.WARN, f"{words}")
    return Check("clock", Status.OK, f"{words} (within {CLOCK_WARN_SECONDS} s)")


# -- what the site holds ----------------------------------------------------------------------


def _site_checks(session: Session) -> list[Check]:
    return [
        _acting_user(session),
        *_licence(session),
        _routes(session),
        _capacity(session),
    ]


def _acting_user(session: Session) -> Check:
    site = session.desired.site
    name = "acting user"
    if site.auth.mode not in (AuthMode.CERTIFICATE, AuthMode.HEADER):
        return Check(name, Status.SKIP, "the virtual proxy decides who licsync acts as")
    parts = split_user(site.auth.user)
    if parts is None:
        return Check(name, Status.FAIL, f"{site.auth.user!r} is not DIRECTORY\\userid")
    try:
        user = find_user(session.client, *parts)
    except QrsError as exc:
        return Check(name, Status.WARN, f"cannot look the user up: {exc}")
    if user is None:
        if parts[0].casefold() == "internal":
            return Check(
                name, Status.OK, f"{site.auth.user}: an internal account (the service's rights)"
            )
        return Check(
            name,
            Status.FAIL,
            f"QRS has no user {site.auth.user}: writes would be refused or made as nobody",
        )
    if user.inactive or user.blocked or user.removed_externally:
        return Check(name, Status.FAIL, f"{user.display} is inactive, blocked or removed")
    roles = ", ".join(user.roles) or "no admin role"
    admin = any(r.casefold() in _ADMIN_ROLES for r in user.roles)
    return Check(name, Status.OK if admin else Status.WARN, f"{user.display} ({roles})")


def _licence(session: Session) -> list[Check]:
    client = session.client
    try:
        raw = client.get_json(paths.LICENSE, params={"privileges": "true"})
        licence = parse_licence(raw)
    except QrsError as exc:
        return [
            Check("licence rights", Status.WARN, f"cannot read {paths.LICENSE}: {exc}"),
            Check("licence", Status.WARN, "kind unknown: quarantine is assumed for reclaims"),
        ]
    entity = raw[0] if isinstance(raw, list) and raw else raw
    privileges = entity.get("privileges") if isinstance(entity, dict) else None
    if isinstance(privileges, list):
        granted = {str(p).casefold() for p in privileges}
        if "update" in granted:
            rights = Check(
                "licence rights",
                Status.OK,
                f"may administer licences ({', '.join(sorted(granted))})",
            )
        else:
            rights = Check(
                "licence rights",
                Status.FAIL,
                "the acting user may not update the licence "
                f"({', '.join(sorted(granted)) or 'no privileges'}): allocations would be refused",
            )
    else:
        rights = Check("licence rights", Status.WARN, "QRS did not say the caller's privileges")
    if licence.expired:
        reason = f" ({licence.expired_reason})" if licence.expired_reason else ""
        state = Check(
            "licence",
            Status.FAIL,
            f"{licence.kind.words}: EXPIRED{reason}: QRS refuses every allocation; renew it",
        )
    elif licence.kind is LicenceKind.UNKNOWN:
        state = Check("licence", Status.WARN, "neither a serial nor a key: quarantine is assumed")
    else:
        subscription = ", a subscription" if licence.subscription else ""
        quarantine = (
            f"reclaimed seats used in the last {QUARANTINE.days} days are quarantined"
            if licence.quarantines
            else "reclaimed seats are free at once"
        )
        state = Check(
            "licence", Status.OK, f"{licence.kind.words}{subscription}, not expired; {quarantine}"
        )
    return [rights, state]


def _routes(session: Session) -> Check:
    try:
        listed = session.client.get_json(paths.ABOUT_DESCRIPTION)
    except QrsError as exc:
        return Check("routes", Status.WARN, f"cannot list the server's routes: {exc}")
    served = set(_served(listed if isinstance(listed, list) else ()))
    if not served:
        return Check("routes", Status.WARN, "the server listed no routes: not compared")
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in served]
    if missing:
        return Check(
            "routes",
            Status.FAIL,
            f"{len(missing)} route(s) apply uses are not served here: {', '.join(missing[:6])}"
            + (" ..." if len(missing) > 6 else ""),
        )
    return Check("routes", Status.OK, f"all {len(ROUTES)} routes apply uses are served")


def _served(lines: Iterable[Any]) -> Iterable[tuple[str, str]]:
    """(method, route) from ``/qrs/about/api/description`` lines ``METHOD /qrs/path``, lower
    case, any ``{name}`` read as ``{id}``, a query left out (the format of a live server's list
    is UNVERIFIED; the simulator's follows it)."""
    for line in lines:
        if not isinstance(line, str):
            continue
        method, _, route = line.strip().partition(" ")
        route = route.strip().split("?", 1)[0].rstrip("/").lower()
        if not route.startswith("/qrs"):
            route = "/qrs" + (route if route.startswith("/") else "/" + route)
        yield method.upper(), _PLACEHOLDER.sub("{id}", route)


def _capacity(session: Session) -> Check:
    try:
        capacity = parse_capacity(session.client.get_json(paths.ACCESS_TYPE_OVERVIEW))
    except QrsError as exc:
        return Check("capacity", Status.FAIL, f"cannot read the access type overview: {exc}")
    parts = []
    status = Status.OK
    for kind in AccessType:
        line = capacity.get(kind)
        if line is None or not line.enabled:
            parts.append(f"{kind.value} not enabled")
            status = Status.WARN
            continue
        parts.append(
            f"{kind.value} {line.allocated} allocated + {line.quarantined} in quarantine of "
            f"{line.total}, {line.available} available"
        )
    return Check("capacity", status, "; ".join(parts))


# -- local things -----------------------------------------------------------------------------


def _denial_logs(session: Session, now: dt.datetime) -> Check:
    name = "denial logs"
    policy = session.desired.policy
    if not policy.denial_sources and not session.has_denial_logs:
        return Check(
            name,
            Status.WARN,
            "no denial source configured (policy denials): plans cannot say who was denied",
        )
    try:
        report = session.signals(now).denials
    except LicsyncError as exc:
        return Check(name, Status.FAIL, str(exc))
    if report is None:
        return Check(name, Status.WARN, "no denial source read")
    limit = dt.timedelta(days=policy.denial_max_age_days)
    words = []
    status = Status.OK
    for source in report.sources:
        newest = source.newest_entry
        if newest is None:
            words.append(f"{source.path}: no entry")
            status = Status.FAIL
            continue
        age = now - newest
        stale = age > limit
        status = Status.FAIL if stale else status
        words.append(
            f"{source.path}: newest entry {_duration(age.total_seconds())} old"
            + (
                f", older than {policy.denial_max_age_days} days: is log collection running?"
                if stale
                else ""
            )
        )
    return Check(name, status, "; ".join(words) or "no source")


def _lock(session: Session, env: Mapping[str, str]) -> Check:
    if session.target == EMBEDDED_TARGET:
        return Check("lock", Status.SKIP, "the embedded simulator needs no lock")
    site = session.desired.site
    path = lock_path(state_directory(env), site.name, session.client.base_url)
    return _writable("lock", path)


def _audit_log(session: Session) -> Check:
    site = session.desired.site
    configured = session.desired.policy.audit_log
    path = (
        Path(configured) if configured else DEFAULT_AUDIT_FOLDER / f"{file_stem(site.name)}.jsonl"
    )
    return _writable("audit log", path)


def _writable(name: str, path: Path) -> Check:
    """Whether ``path`` can be created or appended to, creating nothing that is not there."""
    if path.exists():
        if not path.is_file():
            return Check(name, Status.FAIL, f"{path} exists and is not a file")
        if not os.access(path, os.W_OK):
            return Check(name, Status.FAIL, f"{path} cannot be written")
        return Check(name, Status.OK, f"{path} can be written")
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check(name, Status.FAIL, f"{existing} is not a folder: {path} cannot be made")
    if existing == folder:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            return Check(name, Status.FAIL, f"{folder} cannot be written: {exc.strerror}")
    elif not os.access(existing, os.W_OK):
        return Check(name, Status.FAIL, f"{existing} cannot be written: {path} cannot be made")
    return Check(name, Status.OK, f"{path} can be made (it does not exist yet)")


# -- words ------------------------------------------------------------------------------------


def _day(value: dt.datetime) -> str:
    return value.date().isoformat()


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def worst(checks: Sequence[Check]) -> Status:
    """``fail`` when any check failed, else ``ok``."""
    return Status.FAIL if any(c.status is Status.FAIL for c in checks) else Status.OK
