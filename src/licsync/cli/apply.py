"""``licsync apply``: make exactly the approved changes, report every one, audit every attempt."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from licsync.apply.audit import AuditLog, actor_from_environment
from licsync.apply.lock import file_stem, lock_path, site_lock, state_directory
from licsync.apply.report import ApplyResult, Approval
from licsync.apply.reviewed import ReviewedPlan, load_reviewed
from licsync.apply.run import ApplyOptions, apply_changes
from licsync.cli.apply_progress import ApplyProgress
from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import (
    ApplyDenialLogsOption,
    DirectoryArgument,
    NowOption,
    QrsUrlOption,
    QuietOption,
    RequestTimeoutOption,
    SiteOption,
)
from licsync.cli.site_session import site_session
from licsync.errors import ApplyRefused
from licsync.identity import QUARANTINE
from licsync.render.applied import render_apply_json, render_apply_text
from licsync.render.data import instant
from licsync.session import EMBEDDED_TARGET, Session
from licsync.textsafe import escape_text

__all__ = ["DEFAULT_AUDIT_FOLDER", "apply", "register"]

DEFAULT_AUDIT_FOLDER = Path(".licsync") / "audit"
"""Where the audit log goes without ``--audit-log``: ``.licsync/audit/<site>.jsonl`` under the
working directory (CI uploads it as an artifact)."""

_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_CONCURRENCY = 64


class ApplyFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add ``apply`` to the ``licsync`` app."""
    app.command()(apply)


def apply(
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: SiteOption = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="The reviewed JSON plan (licsync plan --format json --out FILE): apply only "
            "its decisions that a fresh plan still makes.",
        ),
    ] = None,
    checksum: Annotated[
        str | None,
        typer.Option(
            "--checksum",
            metavar="SHA",
            help="Apply the fresh plan only if its checksum is this one (sha256:...).",
        ),
    ] = None,
    auto_approve: Annotated[
        bool,
        typer.Option("--auto-approve", help="Apply the fresh plan as it is (scripts, the demo)."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply a plan blocked by safety checks (needs --reason)."),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", metavar="TEXT", help="Why --force is right; kept in the audit log."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the requests apply would send; send none.")
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            metavar="N",
            min=1,
            max=_MAX_CONCURRENCY,
            help="Requests in flight at once (1 to 64).",
        ),
    ] = 8,
    max_requests_per_second: Annotated[
        float | None,
        typer.Option(
            "--max-requests-per-second",
            metavar="R",
            min=0.01,
            help="Start at most R QRS requests per second (busy production sites).",
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            metavar="FILE",
            help="Append the audit log here (default: policy.audit_log, else "
            ".licsync/audit/<site>.jsonl).",
        ),
    ] = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            metavar="SECONDS",
            min=0,
            help="Wait this long for another apply of the same site to finish (default: "
            "refuse at once).",
        ),
    ] = 0.0,
    qrs_url: QrsUrlOption = None,
    request_timeout: RequestTimeoutOption = None,
    denial_logs: ApplyDenialLogsOption = None,
    now: NowOption = None,
    output_format: Annotated[
        ApplyFormat, typer.Option("--format", help="text, or json (versioned).")
    ] = ApplyFormat.TEXT,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 2 when the fresh plan has changes nobody reviewed (they were not applied).",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> int:
    """Make exactly the approved changes; report and audit every one; re-plan what is left."""
    approval, reviewed = _approval(plan_file, checksum, auto_approve, force, reason)
    as_of_review = reviewed is not None and reviewed.now is not None and now is None
    if reviewed is not None and reviewed.now is not None:
        if now is not None and abs(now - reviewed.now) > dt.timedelta(seconds=1):
            msg = (
                f"--now {instant(now)}: the reviewed plan was made as of {instant(reviewed.now)}, "
                "and apply --plan applies as of that instant: leave --now out"
            )
            raise typer.BadParameter(msg)
        now = reviewed.now
    options = ApplyOptions(
        approval=approval,
        reviewed=reviewed,
        dry_run=dry_run,
        concurrency=concurrency,
    )
    with site_session(
        directory,
        site=site,
        qrs_url=qrs_url,
        request_timeout=request_timeout,
        denial_logs=denial_logs,
        now=now,
        writable=not dry_run,
        quiet=quiet,
    ) as session:
        session.limit_rate(max_requests_per_second)
        if as_of_review and reviewed is not None and reviewed.now is not None:
            _check_review_instant(session, reviewed.now)
        with _locked(session, lock_timeout):
            try:
                result = _run(session, options, audit_log)
            except _Interrupted as exc:
                name = signal.Signals(exc.signum).name
                typer.echo(f"licsync: {name} while reading the site: nothing was sent", err=True)
                return _signal_exit(exc.signum) or ExitCode.INTERRUPTED
        if not as_of_review:
            warning = session.clock_warning(result.fresh.now)
            if warning is not None:
                typer.echo(f"licsync: warning: {warning}", err=True)
    if output_format is ApplyFormat.JSON:
        report = render_apply_json(result)
    else:
        report = render_apply_text(result, target=session.target)
    if not _print_report(report, result):
        return ExitCode.ERROR
    if result.interrupted:
        return result.exit_code or ExitCode.INTERRUPTED
    if result.failed:
        return ExitCode.ERROR
    if detailed_exitcode and result.not_reviewed:
        return ExitCode.CHANGES
    return ExitCode.OK


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _print_report(report: str, result: ApplyResult) -> bool:
    """The report on standard output; when it cannot be written (closed, a full disk) the
    changes were still made and audited: say so on standard error and return False (exit 1,
    not 70)."""
    try:
        if sys.stdout is None:  # started with standard output closed (>&-)
            raise OSError(errno.EBADF, "standard output is closed")
        typer.echo(report, nl=False)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:  # ValueError: a closed stream
        done = sum(1 for i in result.items if i.status.done)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        audited = "" if result.audit_error or result.dry_run else ", and the audit log has each"
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                f"licsync: error: cannot write the report to standard output ({why}); "
                f"{done} of {len(result.items)} changes are done on the site{audited}\n"
            )
        return False
    return True


REVIEW_MAX_AGE = QUARANTINE
"""How long before the site's clock a reviewed plan's instant may be. Apply re-reads the
site, so old facts are never applied; but the plan's time-based decisions (``until`` dates,
idle days, the 7-day quarantine it predicts) are as of its instant, and after QRS's quarantine
week they describe another week: plan again and have that reviewed."""

REVIEW_MAX_AHEAD = dt.timedelta(minutes=5)
"""How far after the site's clock a reviewed plan's instant may be: a what-if plan of a future
day (``--now``) would reclaim seats whose ``until`` has not come yet."""


def _check_review_instant(session: Session, planned: dt.datetime) -> None:
    """Refuse a reviewed plan made as of an instant too far from the site's clock; say the
    instant applied as of when it is not the site's present.

    Raises:
        ApplyRefused: outside [site clock - :data:`REVIEW_MAX_AGE`, site clock +
            :data:`REVIEW_MAX_AHEAD`].
    """
    site_now = session.site_clock()
    apart = site_now - planned
    if apart > REVIEW_MAX_AGE or -apart > REVIEW_MAX_AHEAD:
        where = "before" if apart > dt.timedelta() else "after"
        msg = (
            f"the reviewed plan was made as of {instant(planned)}, {_days(apart)} {where} the "
            f"site's clock ({instant(site_now)}); apply --plan applies as of the reviewed "
            f"instant only within {REVIEW_MAX_AGE.days} days before the site's clock and "
            f"{int(REVIEW_MAX_AHEAD.total_seconds() // 60)} minutes after it: plan again "
            "(without --now, or with the site's time) and have that plan reviewed"
        )
        raise ApplyRefused(msg)
    if apart > REVIEW_MAX_AHEAD:
        typer.echo(
            f"licsync: applying as of the reviewed plan's instant {instant(planned)} "
            f"({_days(apart)} before the site's clock)",
            err=True,
        )


def _days(delta: dt.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        days = seconds / 86400
        return f"{days:.1f} days" if days < 10 else f"{days:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _approval(
    plan_file: Path | None,
    checksum: str | None,
    auto_approve: bool,
    force: bool,
    reason: str | None,
) -> tuple[Approval, ReviewedPlan | None]:
    given = [
        name
        for name, value in (
            ("--plan", plan_file is not None),
            ("--checksum", checksum is not None),
            ("--auto-approve", auto_approve),
        )
        if value
    ]
    if len(given) != 1:
        said = f" (given: {', '.join(given)})" if given else ""
        msg = f"give exactly one approval: --plan FILE, --checksum SHA or --auto-approve{said}"
        raise typer.BadParameter(msg)
    if reason is not None and not _utf8(reason):
        # Bytes that are not UTF-8 reach Python as lone surrogates; the audit log is UTF-8.
        raise typer.BadParameter("--reason: not valid UTF-8 text")
    if force and not (reason and reason.strip()):
        raise typer.BadParameter('--force needs --reason "why" (it goes into the audit log)')
    if reason is not None and not force:
        raise typer.BadParameter("--reason is only for --force")
    force_reason = reason.strip() if force and reason else None
    if checksum is not None:
        if not _CHECKSUM.fullmatch(checksum):
            msg = f"--checksum {checksum!r}: expected sha256: and 64 hex digits, as plans print"
            raise typer.BadParameter(msg)
        return Approval("checksum", checksum=checksum, force_reason=force_reason), None
    if plan_file is not None:
        reviewed = load_reviewed(plan_file)
        approval = Approval(
            "plan",
            checksum=reviewed.checksum,
            plan_file=str(plan_file),
            force_reason=force_reason,
        )
        return approval, reviewed
    return Approval("auto", force_reason=force_reason), None


@contextlib.contextmanager
def _locked(session: Session, timeout: float) -> Iterator[None]:
    """The site's lock, except for the embedded simulator (each run has its own)."""
    if session.target == EMBEDDED_TARGET:
        yield
        return
    path = lock_path(
        state_directory(os.environ), session.desired.site.name, session.client.base_url
    )
    site = session.desired.site.name

    def waiting(holder: str) -> None:
        typer.echo(
            f"licsync: waiting up to {timeout:g} s for the lock of site {escape_text(site)} "
            f"held by {escape_text(holder)}",
            err=True,
        )

    with site_lock(path, site=site, timeout=timeout, on_wait=waiting):
        yield


def _run(session: Session, options: ApplyOptions, audit_log: Path | None) -> ApplyResult:
    signals = _Signals()
    with (
        _audit(session, options, audit_log) as audit,
        ApplyProgress() as progress,
        _interruptible(signals),
    ):

        def started(count: int) -> None:
            signals.writing = True  # from here an interrupt is recorded, not raised
            progress.start(count)

        result = apply_changes(
            session,
            options,
            audit=audit,
            actor=actor_from_environment(os.environ),
            on_result=progress.result,
            on_start=started,
            stop=signals.stop,
            abort=signals.abort,
        )
    if audit is not None and audit.error and not result.audit_error:  # the closing fsync
        result = dataclasses.replace(result, audit_error=audit.error)
    code = _signal_exit(signals.received)
    if result.interrupted and code is not None:
        return dataclasses.replace(result, exit_code=code)
    return result


@contextlib.contextmanager
def _audit(session: Session, options: ApplyOptions, path: Path | None) -> Iterator[AuditLog | None]:
    if options.dry_run:
        yield None
        return
    site = session.desired.site.name
    configured = session.desired.policy.audit_log
    default = DEFAULT_AUDIT_FOLDER / f"{file_stem(site)}.jsonl"
    target = path or (Path(configured) if configured else default)
    log = AuditLog.open(target, site)  # checked first: nothing is written through a link
    if target == default:
        _ignored_by_git(DEFAULT_AUDIT_FOLDER.parent)
    try:
        yield log
    finally:
        log.close()


class _Signals:
    """What the interrupts asked: ``stop`` (start nothing new), ``abort`` (wait for nothing),
    and the first signal received (its exit code)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.received: int | None = None
        self.writing = False


# SIGTERM and SIGHUP end an apply as Ctrl-C does; on Windows Ctrl-Break arrives as SIGBREAK
# (and the C runtime maps a console close to it too: UNVERIFIED beyond the runtime's source).
_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
    if hasattr(signal, name)
)


def _signal_exit(signum: int | None) -> int | None:
    """128 + the signal, as shells report it; Ctrl-Break is an interrupt like Ctrl-C."""
    if signum is None:
        return None
    if signum == getattr(signal, "SIGBREAK", None):
        return int(ExitCode.INTERRUPTED)
    return 128 + int(signum)


def _ignored_by_git(folder: Path) -> None:
    """Give licsync's own working folder a ``.gitignore`` that ignores it all, as ``.venv``
    does: the default audit log must not show up as untracked in the repository."""
    ignore = folder / ".gitignore"
    with contextlib.suppress(OSError):  # the audit log itself reports a folder it cannot use
        folder.mkdir(parents=True, exist_ok=True)
        if not ignore.exists():
            ignore.write_text(
                "# Written by licsync: its audit logs are artifacts, not sources.\n*\n",
                encoding="utf-8",
            )


@contextlib.contextmanager
def _interruptible(signals: _Signals) -> Iterator[None]:
    """While the site is read an interrupt ends the run at once (nothing was sent). Once
    writing: the first Ctrl-C sets ``stop`` (nothing new starts, what is in flight finishes);
    a second one, or SIGTERM, SIGHUP or Ctrl-Break, also sets ``abort`` (what is in flight is
    recorded unknown and not waited for). Either way the run reports and audits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: FrameType | None) -> None:
        first = signals.received is None
        if first:
            signals.received = signum
        name = signal.Signals(signum).name
        if not signals.writing:
            raise _Interrupted(signum)
        signals.stop.set()
        if signum == signal.SIGINT and first:
            typer.echo(
                "licsync: interrupted: finishing the changes in flight, starting no more "
                "(Ctrl-C again to stop at once)",
                err=True,
            )
            return
        signals.abort.set()
        typer.echo(
            f"licsync: {name}: stopping now; changes in flight are recorded as unknown",
            err=True,
        )

    previous = {signum: signal.signal(signum, interrupted) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Interrupted(KeyboardInterrupt):
    """An interrupt while the site was read: nothing was sent."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
