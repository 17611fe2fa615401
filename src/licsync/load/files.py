"""Finding the YAML files of a desired-state directory, untrusted input: walked without
following links out of it, each file's type and size checked on its descriptor, then parsed."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

from licsync.errors import ConfigError, Problem
from licsync.load.schema import schema_problems
from licsync.safefile import describe_mode, file_identity, is_inside, read_regular
from licsync.severity import Severity
from licsync.textsafe import escape_text
from licsync.yamlsafe import MAX_BYTES, YamlDocument, load_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A YAML file to read.

    Attributes:
        path: where it was found below the directory given (through a symlink, maybe): this
            decides the site it belongs to, and names it in messages.
        real: what to open: the symlink's resolved target, or ``path`` itself.
        follow: whether opening ``real`` may follow a symlink (only for a file the user named).
    """

    path: Path
    real: Path
    follow: bool = False

    @property
    def name(self) -> str:
        return shown(self.path)


def shown(path: Path) -> str:
    """A path as messages show it: control characters and undecodable bytes escaped, so that
    a hostile file name can neither break a line of output nor fake another one."""
    return escape_text(str(path))


def discover_files(root: Path, problems: list[Problem]) -> list[_Candidate]:
    """The YAML files to read: ``root`` itself, or every one below it.

    Nothing is passed over without a word: a folder that cannot be listed, a symlink that leads
    out of the directory or nowhere, a YAML name that is a FIFO or a device are problems. Only
    hidden names (``.git``, ``.github``) are left out: they never hold desired state, and CI
    workflow YAML is not licences.
    """
    name = shown(root)
    try:
        info = root.stat()
    except OSError as exc:
        reason = "no such file or directory" if exc.errno == errno.ENOENT else exc.strerror
        problems.append(Problem(name, 0, 0, "", str(reason or exc)))
        return []
    if stat.S_ISDIR(info.st_mode):
        return _Walk(root, problems).run()
    if not stat.S_ISREG(info.st_mode):
        what = describe_mode(info.st_mode)
        problems.append(Problem(name, 0, 0, "", f"it is {what}, not a folder or a YAML file"))
        return []
    if not root.name.endswith(YAML_SUFFIXES):
        # Named by the user, but not desired state: nothing of it is read, so none of it is
        # echoed in a message (`licsync plan /etc/passwd` once quoted its first line).
        message = "not a folder of desired state nor a *.yaml / *.yml file: nothing was read"
        problems.append(Problem(name, 0, 0, "", message))
        return []
    return [_Candidate(path=root, real=root, follow=True)]


class _Walk:
    """One walk of a desired-state folder; see :func:`discover_files`.

    Symlinks are resolved after the real entries, so a file reached both directly and through
    a link is read once, under its own name. A link may lead anywhere inside the folder (a link
    to a folder is walked like one); a link to what is read already (a loop, a second name) is
    warned about and not read again.
    """

    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.problems = problems
        self.found: list[_Candidate] = []
        self.links: list[Path] = []
        self.seen: dict[Hashable, Path] = {}  # file identity -> where it is read

    def run(self) -> list[_Candidate]:
        self.seen[file_identity(self.root, self.root.stat())] = self.root
        self._folder(self.root)
        while self.links:
            self.links.sort()
            self._link(self.links.pop(0))
        return sorted(self.found, key=lambda c: c.path)

    def _problem(self, path: Path, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(shown(path), 0, 0, "", message, severity))

    def _folder(self, folder: Path) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            self._problem(
                folder,
                f"cannot list this folder ({exc.strerror or exc}): the desired state in it "
                "would be missed; make it readable, or move it out of the directory",
            )
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self._problem(path, f"cannot read: {exc.strerror or exc}")
                continue
            if stat.S_ISLNK(info.st_mode):
                self.links.append(path)
            elif stat.S_ISDIR(info.st_mode):
                self.seen[file_identity(path, info)] = path
                self._folder(path)
            elif entry.name.endswith(YAML_SUFFIXES):
                self._file(path, path, info)
            elif entry.name.casefold().endswith(YAML_SUFFIXES):
                # Meant as desired state, surely; but read or not, it must not go unnoticed.
                self._problem(
                    path,
                    "not read: licsync reads *.yaml and *.yml (lower case); rename the file, or "
                    "its users count as not declared",
                )

    def _file(self, path: Path, real: Path, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            self._problem(
                path,
                f"it is {describe_mode(info.st_mode)}, not a regular file: desired state is "
                "read from regular YAML files only",
            )
            return
        first = self.seen.setdefault(file_identity(path, info), path)
        if first != path:
            self._problem(
                path,
                f"symlink to {shown(first)}, which is read already: read once, as that",
                Severity.WARNING,
            )
            return
        self.found.append(_Candidate(path=path, real=real))

    def _link(self, link: Path) -> None:
        yaml_name = link.name.endswith(YAML_SUFFIXES)
        try:
            pointed = os.readlink(link)
        except OSError as exc:
            self._problem(link, f"cannot read symlink: {exc.strerror or exc}")
            return
        target = Path(os.path.realpath(link))
        try:
            info = target.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._problem(link, f"symlink loop ({pointed!r}): it leads back to itself")
            elif yaml_name:
                self._problem(link, f"dangling symlink: {pointed!r} does not exist")
            else:
                self._problem(
                    link,
                    f"dangling symlink: {pointed!r} does not exist; if it was a folder of "
                    "desired state, its files are missed",
                    Severity.WARNING,
                )
            return
        is_folder = stat.S_ISDIR(info.st_mode)
        if not (is_folder or yaml_name):
            return  # a link to a file that is not YAML: left out like any such file
        if not is_inside(target, self.real_root):
            # Never read: a link committed to the repository must not make CI read (and
            # echo in an error) a file of the machine it runs on.
            self._problem(
                link,
                f"symlink leads out of the directory ({pointed!r}): licsync reads only files "
                f"inside {shown(self.root)}; copy the file in, or point licsync at its folder",
            )
            return
        if not is_folder:
            self._file(link, target, info)
            return
        first = self.seen.setdefault(file_identity(target, info), link)
        if first != link:
            self._problem(
                link,
                f"symlink to the folder {shown(first)}, which is read already: its files are "
                "read once, there",
                Severity.WARNING,
            )
            return
        self._folder(link)


@dataclass(slots=True)
class File:
    """A YAML file read and parsed, with where it was found."""

    path: Path
    doc: YamlDocument
    bad: frozenset[tuple[str | int, ...]]  # paths of values the schema rejected
    # ... and every prefix of them: a path here has something rejected at or below it.
    bad_above: frozenset[tuple[str | int, ...]] = frozenset()

    def trusted(self, path: tuple[str | int, ...]) -> bool:
        """True when nothing at or below ``path`` (nor a parent of it) failed the schema.

        Set lookups, one per step of ``path``: a scan of every rejected path per item made
        20,000 misspelled fields cost 40 s.
        """
        if not self.bad:
            return True
        if path in self.bad_above:
            return False
        return not any(path[:depth] in self.bad for depth in range(len(path)))


def read_file(candidate: _Candidate, problems: list[Problem]) -> File | None:
    """Read and parse one found file; None, with a problem said, when it cannot be."""
    name = candidate.name
    path = candidate.path
    try:
        raw = read_regular(candidate.real, limit=MAX_BYTES, follow=candidate.follow)
    except OSError as exc:
        problems.append(Problem(name, 0, 0, "", f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        doc = load_yaml(raw, name)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    bad: set[tuple[str | int, ...]] = set()
    for problem, bad_path in schema_problems(doc):
        problems.append(problem)
        bad.add(bad_path)
    above = {bad_path[:depth] for bad_path in bad for depth in range(len(bad_path) + 1)}
    return File(path=path, doc=doc, bad=frozenset(bad), bad_above=frozenset(above))
