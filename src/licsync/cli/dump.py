"""``licsync dump``: a site's allocations and licence rules as YAML whose first plan is empty."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.options import QrsUrlOption, RequestTimeoutOption, SiteOption, count, shown
from licsync.cli.progress import Progress
from licsync.dump import Dump, dump_site, site_name_for
from licsync.dump.document import SITE_FILE
from licsync.dump.files import check_output, write_dump
from licsync.errors import DumpRefused
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.policy import Ownership
from licsync.render.escape import escape_text
from licsync.session import EMBEDDED, read_site
from licsync.site import Site

__all__ = ["dump", "register"]

_SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def register(app: typer.Typer) -> None:
    """Add ``dump`` to the ``licsync`` app."""
    app.command()(dump)


def dump(
    *,
    site: SiteOption = None,
    qrs_url: QrsUrlOption = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder to write site.yaml, professional.yaml, "
            "analyzer.yaml into (default licenses/).",
        ),
    ] = Path("licenses"),
    ownership: Annotated[
        Ownership,
        typer.Option("--ownership", help="Ownership mode the policy starts in (both types)."),
    ] = Ownership.OBSERVE,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the files if they exist.")
    ] = False,
    request_timeout: RequestTimeoutOption = None,
) -> None:
    """Write the site's explicit allocations and licence rules as YAML; the first plan is empty."""
    # The connection settings come from DIR/site.yaml when it exists, else from --qrs-url and
    # --site; secrets are named by environment variable only, never written.
    check_output(out, force=force)  # before reading the site, not after
    today = dt.datetime.now(dt.UTC).date()
    chosen = _site_settings(out, site=site, qrs_url=qrs_url, today=today)
    with Progress("reading the site", sys.stderr):
        read = read_site(chosen, env=os.environ, qrs_url=qrs_url, request_timeout=request_timeout)
    stub = _relative_paths(dataclasses.replace(chosen, qrs_url=qrs_url or chosen.qrs_url), out)
    result = dump_site(read.actual, stub, ownership)
    written = write_dump(result, out, force=force, today=today)
    typer.echo(shown(_summary(result, written, read.target, ownership, out)))
    for note in result.left_out:
        # One line each, whatever QRS put in a user id or rule name (a line break included).
        typer.echo(f"licsync: not declared: {escape_text(note)}", err=True)


def _site_settings(out: Path, *, site: str | None, qrs_url: str | None, today: dt.date) -> Site:
    """The site from the files already in ``out``, else from the command line."""
    if (out / SITE_FILE).is_file():
        desired, _ = load_desired(out, today=today, site=site)
        return desired.site
    if qrs_url is None:
        msg = (
            f"no site file in {out}: give --qrs-url URL (and --site NAME), or write "
            f"{out}/site.yaml with the site's connection settings first (README: Connecting to "
            "a real site)"
        )
        raise DumpRefused(msg)
    name = site or ("demo" if qrs_url == EMBEDDED else site_name_for(qrs_url))
    if not _SITE_NAME.fullmatch(name):  # the schema's pattern: refused now, not after reading
        msg = f"--site '{escape_text(name)}': a site name is letters, digits, '.', '_' and '-'"
        raise DumpRefused(msg)
    if qrs_url.startswith("https://"):
        msg = (
            f"{qrs_url} needs the site's certificate or proxy settings: write {out}/site.yaml "
            "with them first (README: Connecting to a real site), then run dump again"
        )
        raise DumpRefused(msg)
    return Site(name=name, qrs_url=qrs_url)


def _relative_paths(site: Site, out: Path) -> Site:
    """The site with its file paths relative to ``out``, where the site file will be."""

    def relative(path: str | None) -> str | None:
        return None if path is None else os.path.relpath(path, out)

    return dataclasses.replace(
        site,
        auth=dataclasses.replace(site.auth, cert_file=relative(site.auth.cert_file)),
        tls=dataclasses.replace(site.tls, ca_file=relative(site.tls.ca_file)),
    )


def _summary(
    result: Dump, written: tuple[Path, ...], target: str, ownership: Ownership, out: Path
) -> str:
    # Paths and the target are shown escaped: a line break in --out must not start a line.
    lines = [f"licsync: dumped {escape_text(target)} ({ownership} ownership):"]
    for path in written:
        shown_path = escape_text(str(path))
        kind = next((t for t in AccessType if path.name == f"{t.value}.yaml"), None)
        if kind is None:
            lines.append(
                f"  wrote {shown_path}: the site's settings and a policy that reclaims nothing"
            )
            continue
        held = len(result.held_by_rule.get(kind, ()))
        extra = f"; {held} more hold it through a rule" if held else ""
        lines.append(
            f"  wrote {shown_path}: {count(len(result.allocations[kind]), 'allocation')}, "
            f"{count(len(result.rules[kind]), 'rule')}{extra}"
        )
    if result.left_out:
        lines.append(
            f"  {count(len(result.left_out), 'thing')} on the site cannot be declared (listed on "
            "standard error and in the files); the plan reports them as findings"
        )
    lines.append(f"next: licsync plan {escape_text(str(out))}")
    return "\n".join(lines)
