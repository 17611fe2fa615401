"""``licsync doctor``: check a site read-only before the first apply; one line per check."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import (
    DenialLogsOption,
    DirectoryArgument,
    NowOption,
    QrsUrlOption,
    RequestTimeoutOption,
    SiteOption,
)
from licsync.cli.site_session import site_session
from licsync.errors import ConfigError, QrsError, SecretError
from licsync.textsafe import escape_text

__all__ = ["doctor", "register"]


class DoctorFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the ``licsync`` app."""
    app.command()(doctor)


def doctor(
    directory: DirectoryArgument = Path("licenses"),
    *,
    site: SiteOption = None,
    output_format: Annotated[
        DoctorFormat, typer.Option("--format", help="text (one line per check) or json.")
    ] = DoctorFormat.TEXT,
    qrs_url: QrsUrlOption = None,
    request_timeout: RequestTimeoutOption = None,
    denial_logs: DenialLogsOption = None,
    now: NowOption = None,
) -> int:
    """Check a site read-only before the first apply: TLS, authentication, the licence, the
    routes apply uses, capacity, clock, denial logs, lock and audit log. Exit 0 when every
    check passes (warnings included), 1 otherwise."""
    from licsync.doctor import (  # noqa: PLC0415 - only doctor loads the certificate parser
        Check,
        Status,
        check_site,
        failed_to_open,
        worst,
    )

    checks: list[Check]
    site_name = site or ""
    try:
        with site_session(
            directory,
            site=site,
            qrs_url=qrs_url,
            request_timeout=request_timeout,
            denial_logs=denial_logs,
            now=now,
        ) as session:
            site_name = session.desired.site.name
            checks = check_site(session, env=os.environ, now=now)
    except (ConfigError, SecretError, QrsError) as exc:
        checks = failed_to_open(exc)
    verdict = worst(checks)
    if output_format is DoctorFormat.JSON:
        document = {
            "site": site_name,
            "ok": verdict is Status.OK,
            "checks": [
                {"name": c.name, "status": c.status.value, "message": c.message} for c in checks
            ],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            typer.echo(
                f"{_MARK[check.status.value]}  {check.name:<{width}}  {escape_text(check.message)}"
            )
        failed = sum(1 for c in checks if c.status is Status.FAIL)
        typer.echo(
            "licsync doctor: every check passed"
            if not failed
            else f"licsync doctor: {failed} check{'s' if failed != 1 else ''} failed"
        )
    if verdict is not Status.OK:
        return ExitCode.ERROR
    return ExitCode.OK
