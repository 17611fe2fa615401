"""``licsync dump``: a site's allocations and licence rules as YAML whose first plan is empty."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import (
    QrsUrlOption,
    QuietOption,
    RequestTimeoutOption,
    count,
    shown,
)
from licsync.cli.progress import Progress
from licsync.dump import Dump, dump_site, site_name_for
from licsync.dump.document import SITE_FILE
from licsync.dump.files import check_output, write_dump
from licsync.errors import ConfigError, DumpRefused
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.policy import Ownership, Policy
from licsync.safefile import read_regular
from licsync.session import EMBEDDED, read_site
from licsync.site import Site
from licsync.textsafe import escape_text
from licsync.yamlsafe import MAX_BYTES, load_yaml

__all__ = ["dump", "register"]

_SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def register(app: typer.Typer) -> None:
    """Add ``dump`` to the ``licsync`` app."""
    app.command()(dump)


def dump(
    *,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="NAME",
            help="The site's name in the site.yaml the dump writes (default: the QRS host's "
            "first label, demo for embedded); with DIR/site.yaml, which of its sites to dump "
            "when it declares several.",
        ),
    ] = None,
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
        Ownership | None,
        typer.Option(
            "--ownership",
            help="Ownership mode of the policy in a site.yaml the dump writes (both types; "
            "default observe). A site.yaml already in DIR is kept as it is, policy included.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite professional.yaml and analyzer.yaml if they exist "
            "(site.yaml, when there, is always kept as it is).",
        ),
    ] = False,
    request_timeout: RequestTimeoutOption = None,
    quiet: QuietOption = False,
) -> int:
    """Write the site's explicit allocations and licence rules as YAML; the first plan is empty."""
    # The connection settings come from DIR/site.yaml when it exists, else from --qrs-url and
    # --site; secrets are named by environment variable only, never written.
    # A site.yaml already in DIR is the admin's (connection, denial sources, policy, comments):
    # it is kept byte for byte, and only the allocation and rule files are (re)written.
    kept = _kept_site_file(out, ownership)
    check_output(out, force=force, keep_site=kept is not None)  # before reading the site
    today = dt.datetime.now(dt.UTC).date()
    chosen, policy = _site_settings(out, site=site, qrs_url=qrs_url, today=today)
    with Progress("reading the site", sys.stderr, quiet=quiet):
        read = read_site(chosen, env=os.environ, qrs_url=qrs_url, request_timeout=request_timeout)
    stub = _relative_paths(dataclasses.replace(chosen, qrs_url=qrs_url or chosen.qrs_url), out)
    result = dump_site(read.actual, stub, ownership or Ownership.OBSERVE)
    written = write_dump(result, out, force=force, today=today, kept_site=kept)
    if kept is not None and policy is not None:
        modes = ", ".join(f"{t.value} {policy.ownership[t]}" for t in AccessType)
        mode_text = f"your policy: {modes}"
    else:
        mode_text = f"{ownership or Ownership.OBSERVE} ownership"
    typer.echo(shown(_summary(result, written, read.target, mode_text, out, kept=kept is not None)))
    for note in () if quiet else result.left_out:
        # One line each, whatever QRS put in a user id or rule name (a line break included).
        typer.echo(f"licsync: not declared: {escape_text(note)}", err=True)
    return ExitCode.OK


def _kept_site_file(out: Path, ownership: Ownership | None) -> bytes | None:
    """The bytes of the admin's ``DIR/site.yaml``, kept as they are; None when there is none.

    Raises:
        DumpRefused: ``--ownership`` was given (it would have to rewrite the policy), or the
            file declares allocations or rules too (the dump writes those in their own files).
    """
    path = out / SITE_FILE
    if not path.is_file():
        return None
    try:
        raw = read_regular(path, limit=MAX_BYTES)
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}; nothing written"
        raise DumpRefused(msg) from exc
    if ownership is not None:
        msg = (
            f"--ownership sets the policy of a site.yaml the dump writes, and {path} is kept "
            "as you wrote it: set policy.ownership in it instead (or dump into a new folder); "
            "nothing written"
        )
        raise DumpRefused(msg)
    with contextlib.suppress(ConfigError):  # the loader names what is wrong with it, later
        data = load_yaml(raw, str(path)).data
        declared = [t.value for t in AccessType if isinstance(data, dict) and t.value in data]
        if declared:
            msg = (
                f"{path} declares {' and '.join(declared)} too; the dump writes allocations and "
                "rules into professional.yaml and analyzer.yaml and keeps site.yaml as you "
                "wrote it: move those sections out of site.yaml (keep site: and policy:), or "
                "dump into a new folder with --out; nothing written"
            )
            raise DumpRefused(msg)
    return raw


def _site_settings(
    out: Path, *, site: str | None, qrs_url: str | None, today: dt.date
) -> tuple[Site, Policy | None]:
    """The site (and policy) from the files already in ``out``, else from the command line."""
    if (out / SITE_FILE).is_file():
        desired, _ = load_desired(out, today=today, site=site)
        return desired.site, desired.policy
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
    return Site(name=name, qrs_url=qrs_url), None


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
    result: Dump, written: tuple[Path, ...], target: str, modes: str, out: Path, *, kept: bool
) -> str:
    # Paths and the target are shown escaped: a line break in --out must not start a line.
    lines = [f"licsync: dumped {escape_text(target)} ({modes}):"]
    if kept:
        lines.append(f"  kept {escape_text(str(out / SITE_FILE))} as it is")
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
