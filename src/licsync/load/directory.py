"""Loading a directory: every site in it and every problem, or one site and its warnings."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from licsync.desired import Desired
from licsync.errors import ConfigError, Problem
from licsync.gcpause import gc_paused
from licsync.identity import Source
from licsync.load.build import build_site
from licsync.load.files import File, discover_files, read_file, shown
from licsync.load.sites import declaring_files, group_by_site
from licsync.policy import DenialSourceKind
from licsync.severity import Severity


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading a directory found.

    Attributes:
        sites: every site that loaded without errors, sorted by name.
        problems: every error and warning, sorted by file and position.
        files: number of YAML files read.
    """

    sites: tuple[Desired, ...]
    problems: tuple[Problem, ...]
    files: int = 0
    site_dirs: tuple[str, ...] = ()  # every directory a file declares `site:` in, as shown

    def problems_of(self, desired: Desired) -> tuple[Problem, ...]:
        """The problems that concern one site: those about any path below its directory (and
        not below a nested site's). A file that did not parse, or a folder that could not be
        listed, is not among the site's files, yet its users are missing from the site."""
        return _problems_of(self.problems, shown(Path(desired.root)), self.site_dirs)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)


def load_desired(
    directory: str | os.PathLike[str], *, today: dt.date, site: str | None = None
) -> tuple[Desired, tuple[Problem, ...]]:
    """Load one site's desired state.

    Args:
        directory: the directory given by the user (``licenses/``).
        today: the date ``until`` warnings are judged against.
        site: the site's name; required when the directory holds several sites.

    Returns:
        The site and its warnings.

    Raises:
        ConfigError: every error found (in the chosen site, or in the directory when the site
            cannot be determined).
    """
    report = check_directory(directory, today=today)
    if site is None:
        if report.errors:
            raise ConfigError(report.errors)
        if len(report.sites) != 1:
            names = ", ".join(d.site.name for d in report.sites)
            msg = f"{len(report.sites)} sites in {directory} ({names}): choose one with --site"
            raise ConfigError([Problem(str(directory), 0, 0, "", msg)])
        return report.sites[0], report.warnings
    chosen = [d for d in report.sites if d.site.name == site]
    if not chosen:
        if report.errors:
            raise ConfigError(report.errors)
        names = ", ".join(d.site.name for d in report.sites) or "none"
        msg = f"no site named {site!r} in {directory} (sites: {names})"
        raise ConfigError([Problem(str(directory), 0, 0, "", msg)])
    desired = chosen[0]
    own = report.problems_of(desired)
    errors = [p for p in own if p.severity is Severity.ERROR]
    if errors:
        raise ConfigError(errors)
    return desired, own


def check_directory(
    directory: str | os.PathLike[str], *, today: dt.date, check_paths: bool = False
) -> LoadReport:
    """Read and check every YAML file under ``directory``; never raises for bad content.

    With ``check_paths`` (``licsync validate``), a file or folder a site names (certificate,
    CA bundle, denial logs or export) that does not exist from the working directory is a
    warning at the line naming it: plan would fail there.
    """
    with gc_paused():
        return _check_directory(Path(directory), today=today, check_paths=check_paths)


def _missing_paths(desired: Desired) -> Iterator[Problem]:
    """Warnings for the files and folders ``desired`` names that do not exist from here."""
    site = desired.site
    named: list[tuple[str, str | None, Source | None, str]] = [
        ("site.auth.cert_file", site.auth.cert_file, site.source_of("auth.cert_file"), "file"),
        ("site.tls.ca_file", site.tls.ca_file, site.source_of("tls.ca_file"), "file"),
    ]
    for denial in desired.policy.denial_sources:
        what = "folder" if denial.kind is DenialSourceKind.LOGS else "file"
        named.append((denial.field, denial.path, denial.source, what))
    for dotted, path, where, what in named:
        if path is None or where is None or os.path.exists(path):
            continue
        yield Problem(
            where.file,
            where.line,
            where.col,
            dotted,
            f"{shown(Path(path))} does not exist (seen from {shown(Path.cwd())}); "
            f"plan run from here fails to read this {what}",
            severity=Severity.WARNING,
        )


def _check_directory(root: Path, *, today: dt.date, check_paths: bool = False) -> LoadReport:
    problems: list[Problem] = []
    candidates = discover_files(root, problems)
    if not candidates and not problems:
        problem = Problem(shown(root), 0, 0, "", "no *.yaml or *.yml files here")
        return LoadReport(sites=(), problems=(problem,))

    parsed: list[File] = []
    for candidate in candidates:
        file = read_file(candidate, problems)
        if file is not None:
            parsed.append(file)

    groups = group_by_site(parsed, problems)
    sites: list[Desired] = []
    for site_file, members in groups:
        desired = build_site(site_file, members, problems, today=today)
        if desired is not None:
            sites.append(desired)
            if check_paths:
                problems.extend(_missing_paths(desired))
    site_dirs = tuple(sorted({shown(f.path.parent) for f in declaring_files(parsed)}))
    errors = [p for p in problems if p.severity is Severity.ERROR]
    good = tuple(
        sorted(
            (d for d in sites if not _problems_of(errors, shown(Path(d.root)), site_dirs)),
            key=lambda d: d.site.name,
        )
    )
    return LoadReport(
        sites=good,
        problems=tuple(sorted(set(problems))),
        files=len(candidates),
        site_dirs=site_dirs,
    )


def _problems_of(
    problems: Iterable[Problem], site_dir: str, site_dirs: Sequence[str]
) -> tuple[Problem, ...]:
    """The problems whose path's nearest enclosing site directory is ``site_dir``."""
    known = set(site_dirs)
    owners: dict[str, str | None] = {}
    found = []
    for problem in problems:
        owner = owners.get(problem.file, "")
        if owner == "":
            owner = owners[problem.file] = next(
                (
                    str(d)
                    for d in (Path(problem.file), *Path(problem.file).parents)
                    if str(d) in known
                ),
                None,
            )
        if owner == site_dir:
            found.append(problem)
    return tuple(found)
