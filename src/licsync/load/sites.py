"""Grouping files into sites: a site is the directory of a file declaring ``site:``, with
every YAML file below it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from licsync.errors import Problem
from licsync.load.files import File


def group_by_site(files: Sequence[File], problems: list[Problem]) -> list[tuple[File, list[File]]]:
    """Each file declaring ``site:`` with the files of its site (those below it)."""
    declaring = declaring_files(files)
    if not declaring:
        if files:
            first = files[0]
            problems.append(
                Problem(
                    first.doc.file,
                    1,
                    1,
                    "site",
                    "no file declares `site:` (name and qrs_url of the Qlik Sense site)",
                )
            )
        return []
    by_dir: dict[Path, File] = {}
    for f in declaring:
        directory = f.path.parent
        if directory in by_dir:
            problems.append(
                declared_twice(
                    f,
                    by_dir[directory],
                    "site",
                    "one site per directory (put other sites in their own directories)",
                )
            )
            continue
        by_dir[directory] = f
    groups: dict[Path, list[File]] = {d: [] for d in by_dir}
    for f in files:
        owner = _owning_site_dir(f.path, by_dir)
        if owner is None:
            problems.append(
                Problem(
                    f.doc.file,
                    1,
                    1,
                    "",
                    "belongs to no site: it is not below a directory whose files declare `site:`",
                )
            )
            continue
        groups[owner].append(f)
    return [(by_dir[d], groups[d]) for d in sorted(by_dir)]


def declaring_files(files: Iterable[File]) -> list[File]:
    """The files that declare ``site:``."""
    return [f for f in files if isinstance(f.doc.data, dict) and "site" in f.doc.data]


def declared_twice(f: File, first: File, section: str, hint: str) -> Problem:
    """The error for a section a second file of the same site declares again."""
    line, col = f.doc.position((section,), key=True)
    first_line, _ = first.doc.position((section,), key=True)
    return Problem(
        f.doc.file,
        line,
        col,
        section,
        f"`{section}` is already declared in {first.doc.file}:{first_line}; {hint}",
    )


def _owning_site_dir(path: Path, site_dirs: Mapping[Path, File]) -> Path | None:
    for parent in path.parents:
        if parent in site_dirs:
            return parent
    return None
