"""``licsync init``: write the CI files of a licence repository for its forge.

The files (:mod:`licsync.scaffold`) install a pinned licsync (``--version``, or a wheel by
``--wheel-url`` and ``--sha256``) with the extras the sites' authentication needs (``ntlm``
or ``negotiate`` when a site file under ``licenses/`` says that mode; more with ``--extra``).
Existing files are kept unless ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from licsync.cli.exitcodes import ExitCode
from licsync.cli.output import write_atomically
from licsync.errors import UsageError
from licsync.scaffold import FORGES, Scaffold, files_for, install_spec

__all__ = ["init", "register"]

_HELP = (
    "Write the CI files of a licence repository: GitHub caller workflows (which use licsync's "
    "reusable workflows), a .gitlab-ci.yml, or an azure-pipelines.yml.\n\n"
    "Each job installs the pinned licsync into a virtual environment in the runner's "
    "temporary folder. Existing files are kept unless --force."
)
MAX_SITE_FILE = 1024 * 1024


def register(app: typer.Typer) -> None:
    """Add ``init`` to the ``licsync`` app."""
    app.command("init", help=_HELP)(init)


def _forge(value: str) -> str:
    if value not in FORGES:
        raise typer.BadParameter(f"{value!r}: one of {', '.join(FORGES)}")
    return value


def init(
    *,
    forge: Annotated[
        str,
        typer.Option("--forge", metavar="github|gitlab|azure", callback=_forge, help="The forge."),
    ],
    sites: Annotated[
        list[str],
        typer.Option(
            "--site", metavar="NAME", help="A site (site.name) to plan and apply; repeat."
        ),
    ],
    version: Annotated[
        str | None,
        typer.Option("--version", metavar="X.Y.Z", help="The licsync release to install."),
    ] = None,
    wheel_url: Annotated[
        str | None,
        typer.Option("--wheel-url", metavar="URL", help="Install this wheel instead (https)."),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", metavar="HEX", help="The wheel's sha256 (with --wheel-url)."),
    ] = None,
    extras: Annotated[
        list[str] | None,
        typer.Option("--extra", metavar="NAME", help="A package extra to install (e.g. ntlm)."),
    ] = None,
    workflows: Annotated[
        str,
        typer.Option(
            "--workflows",
            metavar="OWNER/REPO@REF",
            help="GitHub: where licsync's reusable workflows are, pinned (a commit sha).",
        ),
    ] = "",
    branch: Annotated[
        str, typer.Option("--branch", metavar="NAME", help="The default branch.")
    ] = "main",
    directory: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="The licence repository.")
    ] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> int:
    """Write the forge's CI files (help: _HELP)."""
    if forge == "github" and not workflows:
        raise typer.BadParameter(
            "GitHub callers use licsync's reusable workflows: give OWNER/REPO@REF (pin a commit)",
            param_hint="'--workflows'",
        )
    wanted = tuple(extras or ()) + _auth_extras(directory / "licenses")
    spec = install_spec(version=version, wheel_url=wheel_url, sha256=sha256, extras=wanted)
    scaffold = Scaffold(tuple(sites), spec, workflows, branch)
    files = files_for(forge, scaffold)
    existing = [p for p in files if (directory / p).exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
            "kept; give --force to overwrite"
        )
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, text)
        typer.echo(f"wrote {target}")
    typer.echo(f"licsync installed by the jobs: {spec}")
    return ExitCode.OK


_MODE_EXTRAS = {"ntlm": "ntlm", "negotiate": "negotiate"}
"""The package extra each authentication mode's client needs."""


def _auth_extras(licenses: Path) -> tuple[str, ...]:
    """The extras the sites' authentication modes need (``ntlm``, ``negotiate``)."""
    if not licenses.is_dir():
        return ()
    found: set[str] = set()
    for path in sorted(licenses.rglob("*.yaml"))[:1000]:
        try:
            if path.stat().st_size > MAX_SITE_FILE:
                continue
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # validate says what is wrong with a file; init only looks for a mode
        site = data.get("site") if isinstance(data, dict) else None
        auth = site.get("auth") if isinstance(site, dict) else None
        mode = auth.get("mode") if isinstance(auth, dict) else None
        if mode in _MODE_EXTRAS:
            found.add(_MODE_EXTRAS[mode])
    return tuple(sorted(found))
