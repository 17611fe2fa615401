"""Load a site's desired state from a directory of YAML files, reporting every problem.

A site's desired state is every ``*.yaml`` / ``*.yml`` file under its directory, merged. A
repository may hold several sites: a site is the directory of a file that declares ``site:``,
with every YAML file below it. The directory is untrusted input (a pull request can add a
symlink or a FIFO): nothing in it is skipped without a problem saying so, nothing outside it is
read, and a file's type and size are checked before it is read (:func:`_discover`).

Problems are collected, never stopped at the first: YAML errors, schema errors (each mapped to
the line and column of the offending value), and cross-file checks (a user declared twice, a
rule name used twice, a malformed user id or one with invisible characters, rule conditions
that do not parse). Warnings (a user holding both access types, ids that differ only by
look-alike letters, an ``until`` date already past) do not fail loading. The cost is linear in
the number of problems: ``bench/validate.py`` measures it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import errno
import logging
import os
import stat
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from licsync.desired import Desired, DesiredAllocation, DesiredRule, DesiredType
from licsync.errors import ConfigError, Problem, RuleSyntaxError
from licsync.fastschema import fast_validator
from licsync.gcpause import gc_paused
from licsync.identity import AccessType, RuleContext, Source, split_user, user_key
from licsync.lookalike import (
    describe_character,
    hidden_characters,
    lookalike_characters,
    skeleton,
    visible,
)
from licsync.policy import (
    DenialSource,
    DenialSourceKind,
    IdlePolicy,
    Ownership,
    Policy,
    ProposalPolicy,
    ProposalStyle,
    SafetyPolicy,
    UserAction,
    protection_from_yaml,
)
from licsync.render.escape import escape_text
from licsync.rules import parse_condition
from licsync.safefile import describe_mode, file_identity, is_inside, read_regular
from licsync.schemas import LICENSES_SCHEMA, load_schema
from licsync.severity import Severity
from licsync.site import DEFAULT_ACTING_USER, AuthConfig, AuthMode, Site, TlsConfig
from licsync.yamlsafe import ESCAPE_MEANINGS, MAX_BYTES, BadNumber, YamlDocument, load_yaml

__all__ = ["YAML_SUFFIXES", "LoadReport", "check_directory", "load_desired"]

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
_SECRET_WORDS = ("password", "token", "secret", "key", "jwt", "credential")


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
        return _problems_of(self.problems, _shown(Path(desired.root)), self.site_dirs)

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
            f"{_shown(Path(path))} does not exist (seen from {_shown(Path.cwd())}); "
            f"plan run from here fails to read this {what}",
            severity=Severity.WARNING,
        )


def _check_directory(root: Path, *, today: dt.date, check_paths: bool = False) -> LoadReport:
    problems: list[Problem] = []
    candidates = _discover(root, problems)
    if not candidates and not problems:
        problem = Problem(_shown(root), 0, 0, "", "no *.yaml or *.yml files here")
        return LoadReport(sites=(), problems=(problem,))

    parsed: list[_File] = []
    for candidate in candidates:
        file = _read(candidate, problems)
        if file is not None:
            parsed.append(file)

    groups = _group_by_site(parsed, problems)
    sites: list[Desired] = []
    for site_file, members in groups:
        desired = _build_site(site_file, members, problems, today=today)
        if desired is not None:
            sites.append(desired)
            if check_paths:
                problems.extend(_missing_paths(desired))
    site_dirs = tuple(sorted({_shown(f.path.parent) for f in _declaring(parsed)}))
    errors = [p for p in problems if p.severity is Severity.ERROR]
    good = tuple(
        sorted(
            (d for d in sites if not _problems_of(errors, _shown(Path(d.root)), site_dirs)),
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


# -- finding the files ----------------------------------------------------------------------


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
        return _shown(self.path)


def _shown(path: Path) -> str:
    """A path as messages show it: control characters and undecodable bytes escaped, so that
    a hostile file name can neither break a line of output nor fake another one."""
    return escape_text(str(path))


def _discover(root: Path, problems: list[Problem]) -> list[_Candidate]:
    """The YAML files to read: ``root`` itself, or every one below it.

    Nothing is passed over without a word: a folder that cannot be listed, a symlink that leads
    out of the directory or nowhere, a YAML name that is a FIFO or a device are problems. Only
    hidden names (``.git``, ``.github``) are left out: they never hold desired state, and CI
    workflow YAML is not licences.
    """
    name = _shown(root)
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
    """One walk of a desired-state folder; see :func:`_discover`.

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
        self.problems.append(Problem(_shown(path), 0, 0, "", message, severity))

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
                f"symlink to {_shown(first)}, which is read already: read once, as that",
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
                f"inside {_shown(self.root)}; copy the file in, or point licsync at its folder",
            )
            return
        if not is_folder:
            self._file(link, target, info)
            return
        first = self.seen.setdefault(file_identity(target, info), link)
        if first != link:
            self._problem(
                link,
                f"symlink to the folder {_shown(first)}, which is read already: its files are "
                "read once, there",
                Severity.WARNING,
            )
            return
        self._folder(link)


@dataclass(slots=True)
class _File:
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


def _read(candidate: _Candidate, problems: list[Problem]) -> _File | None:
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
    for problem, bad_path in _schema_problems(doc):
        problems.append(problem)
        bad.add(bad_path)
    above = {bad_path[:depth] for bad_path in bad for depth in range(len(bad_path) + 1)}
    return _File(path=path, doc=doc, bad=frozenset(bad), bad_above=frozenset(above))


# -- schema -------------------------------------------------------------------------------


def _validator() -> jsonschema.protocols.Validator:
    global _VALIDATOR  # noqa: PLW0603 - built once: compiling the schema per file is wasteful
    if _VALIDATOR is None:
        _VALIDATOR = fast_validator(load_schema(LICENSES_SCHEMA))
    return _VALIDATOR


_VALIDATOR: jsonschema.protocols.Validator | None = None


def _schema_problems(doc: YamlDocument) -> Iterator[tuple[Problem, tuple[str | int, ...]]]:
    for error in _validator().iter_errors(doc.data):
        for problem in _explain(doc, error):
            yield problem, tuple(error.absolute_path)


def _explain(doc: YamlDocument, error: jsonschema.ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            line, col = doc.position((*path, key), key=True)
            yield Problem(doc.file, line, col, _dotted((*path, key)), _unknown_field(key, allowed))
        return
    if kind in {"anyOf", "oneOf", "allOf"} and error.context:
        # Report the most specific branch, not "is not valid under any of the given schemas".
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and best is not error:
            yield from _explain(doc, best)
            return
    line, col = doc.position(path)
    message = _message(error, schema)
    if isinstance(error.instance, str) and kind in {"pattern", "format", "enum", "maxLength"}:
        message += _escape_hint(doc, path)
    yield Problem(doc.file, line, col, _dotted(path), message)


def _escape_hint(doc: YamlDocument, path: Sequence[str | int]) -> str:
    """Why a double-quoted value is not what was typed: ``"CORP\\bjorn"`` is a backspace."""
    found = doc.quoted_escape(path)
    if found is None:
        return ""
    escape, inner = found
    inner = inner.replace("\\\\", "\\")  # an escaped backslash was meant as one
    meaning = ESCAPE_MEANINGS.get(escape[1:], "something else")
    quoted = "'" + inner.replace("'", "''") + "'"
    return (
        f"; in double quotes YAML reads {escape} as {meaning}: write {inner} without quotes, "
        f"or in single quotes ({quoted}), where a backslash is just a backslash"
    )


def _unknown_field(key: object, allowed: Sequence[str]) -> str:
    text = str(key)
    if len(text) > 80:  # a runaway key is named by its head (and is no misspelling)
        return f"unknown field {text[:60]!r}... ({len(text):,} characters)"
    if any(word in text.lower() for word in _SECRET_WORDS) and not text.endswith("_env"):
        return (
            f"inline secrets are not allowed ({text!r}): put the secret in an environment "
            "variable and name it with a *_env field (key_file_env, token_env, password_env)"
        )
    close = difflib.get_close_matches(text, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    expected = ", ".join(allowed)
    return f"unknown field {text!r}{hint} (expected one of: {expected})"


def _message(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> str:
    kind = error.validator
    instance: Any = error.instance
    custom = schema.get("x-message")
    if kind in {"pattern", "format"} and custom:
        # x-conceal: what does not fit here may be the very secret that belongs elsewhere.
        return custom if schema.get("x-conceal") else f"{_short(instance)} {custom}"
    bound: Any = error.validator_value
    if kind == "required":
        missing = [name for name in bound if name not in instance]
        fields = ", ".join(repr(name) for name in missing)
        return f"missing required field {fields}"
    if kind == "enum":
        options = ", ".join(str(v) for v in bound)
        return f"{_short(instance)} is not one of: {options}"
    if kind == "type" and isinstance(instance, BadNumber):
        return f"{instance}: expected {_type_name(bound)}"
    if kind == "type":
        return f"expected {_type_name(bound)}, found {_describe(instance)}"
    if kind == "format":
        return f"{_short(instance)} is not a valid {bound}"
    if kind in {"minLength", "maxLength", "minimum", "maximum", "minProperties", "maxProperties"}:
        return _bound_message(kind, bound, instance)
    if kind == "pattern":
        return f"{_short(instance)} does not match the expected form"
    # jsonschema's own words quote the whole value: keep them to a line.
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _bound_message(kind: str, bound: object, instance: object) -> str:
    if kind == "minLength":
        return "must not be empty" if bound == 1 else f"must be at least {bound} characters"
    if kind == "maxLength":
        return f"is longer than {bound} characters"
    if kind == "minimum":
        return f"{instance} is below the minimum {bound}"
    if kind == "maximum":
        return f"{instance} is above the maximum {bound}"
    if kind == "minProperties":
        return "must not be empty"
    return "give exactly one of the allowed fields"


def _type_name(value: object) -> str:
    names = {
        "string": "text",
        "object": "a mapping",
        "array": "a list",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "nothing",
    }
    if isinstance(value, list):
        return " or ".join(names.get(str(v), str(v)) for v in value)
    return names.get(str(value), str(value))


def _describe(instance: object) -> str:
    if isinstance(instance, BadNumber):
        return str(instance)
    if isinstance(instance, bool):
        return f"{str(instance).lower()} (true/false)"
    if instance is None:
        return "nothing (an empty value)"
    if isinstance(instance, dict):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    if isinstance(instance, int | float):
        return f"the number {instance}"
    return _short(instance)


def _short(value: object) -> str:
    if isinstance(value, list | dict):
        return _describe(value)  # never the repr of a whole structure
    # Only the head is turned into text: the value may be megabytes long.
    text = repr(value[:80]) if isinstance(value, str) else repr(value)[:80]
    return text if len(text) <= 60 else text[:57] + "...'"


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


# -- grouping files into sites --------------------------------------------------------------


def _group_by_site(
    files: Sequence[_File], problems: list[Problem]
) -> list[tuple[_File, list[_File]]]:
    declaring = _declaring(files)
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
    by_dir: dict[Path, _File] = {}
    for f in declaring:
        directory = f.path.parent
        if directory in by_dir:
            problems.append(
                _declared_twice(
                    f,
                    by_dir[directory],
                    "site",
                    "one site per directory (put other sites in their own directories)",
                )
            )
            continue
        by_dir[directory] = f
    groups: dict[Path, list[_File]] = {d: [] for d in by_dir}
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


def _declaring(files: Iterable[_File]) -> list[_File]:
    """The files that declare ``site:``."""
    return [f for f in files if isinstance(f.doc.data, dict) and "site" in f.doc.data]


def _declared_twice(f: _File, first: _File, section: str, hint: str) -> Problem:
    line, col = f.doc.position((section,), key=True)
    first_line, _ = first.doc.position((section,), key=True)
    return Problem(
        f.doc.file,
        line,
        col,
        section,
        f"`{section}` is already declared in {first.doc.file}:{first_line}; {hint}",
    )


def _owning_site_dir(path: Path, site_dirs: Mapping[Path, _File]) -> Path | None:
    for parent in path.parents:
        if parent in site_dirs:
            return parent
    return None


# -- building one site --------------------------------------------------------------------------


@dataclass(slots=True)
class _Seen:
    where: Source
    display: str


@dataclass(slots=True)
class _Collected:
    allocations: dict[AccessType, list[DesiredAllocation]] = field(default_factory=dict)
    rules: dict[AccessType, list[DesiredRule]] = field(default_factory=dict)
    users: dict[AccessType, dict[str, _Seen]] = field(default_factory=dict)
    rule_names: dict[AccessType, dict[str, _Seen]] = field(default_factory=dict)
    policy: tuple[_File, dict[str, Any]] | None = None
    # what every declared user id looks like (see licsync.lookalike), over both access types
    skeletons: dict[str, tuple[str, _Seen]] = field(default_factory=dict)


def _check_lookalikes(
    collected: _Collected, key: str, seen: _Seen, dotted: str, problems: list[Problem]
) -> None:
    """Warn about an id that looks like another one declared, or mixes look-alike letters."""
    text = seen.display
    if text.isascii():
        shape = key  # ASCII: the key is its own skeleton; nothing to fold
        lookalikes: list[tuple[int, str]] = []
    else:
        shape = skeleton(text)
        lookalikes = lookalike_characters(text)
    first = collected.skeletons.setdefault(shape, (key, seen))
    where = seen.where
    if first[0] != key:
        other = first[1]
        odd = lookalikes or lookalike_characters(other.display)
        which = f" ({describe_character(odd[0][1])})" if odd else ""
        message = (
            f"{text} looks the same as {other.display} ({other.where}) but differs in "
            f"look-alike characters{which}: probably one person declared twice, and QRS sees "
            "two users; retype the id"
        )
    elif lookalikes and any(c.isascii() and c.isalpha() for c in text.partition("\\")[2]):
        message = (
            f"{text} mixes Latin letters with {describe_character(lookalikes[0][1])} at "
            f"character {lookalikes[0][0] + 1}, which only looks Latin; retype the id"
        )
    else:
        return
    problems.append(
        Problem(where.file, where.line, where.col, dotted, message, severity=Severity.WARNING)
    )


def _build_site(
    site_file: _File, members: Sequence[_File], problems: list[Problem], *, today: dt.date
) -> Desired | None:
    collected = _Collected()
    for f in members:
        data: dict[str, Any] = f.doc.data
        for access_type in AccessType:
            section = data.get(access_type.value)
            if section and isinstance(section, dict):
                _collect_type(f, access_type, section, collected, problems, today=today)
        if "policy" in data:
            if collected.policy is not None:
                problems.append(
                    _declared_twice(f, collected.policy[0], "policy", "declare it once per site")
                )
            else:
                collected.policy = (f, data["policy"] or {})
    _warn_both_types(collected, problems)
    if not site_file.trusted(("site",)):
        return None
    if collected.policy is not None and not collected.policy[0].trusted(("policy",)):
        return None
    site = _site(site_file, problems)
    policy = _policy(collected.policy)
    types = {
        t: DesiredType(
            allocations=tuple(collected.allocations.get(t, ())),
            rules=tuple(collected.rules.get(t, ())),
        )
        for t in AccessType
    }
    return Desired(
        site=site,
        types=types,
        policy=policy,
        root=str(site_file.path.parent),
        files=tuple(sorted(f.doc.file for f in members)),
    )


def _collect_type(
    f: _File,
    access_type: AccessType,
    section: Mapping[str, Any],
    collected: _Collected,
    problems: list[Problem],
    *,
    today: dt.date,
) -> None:
    doc = f.doc
    name = access_type.value
    allocations = collected.allocations.setdefault(access_type, [])
    users = collected.users.setdefault(access_type, {})
    sequence = doc.node_at((name, "allocations"))
    for index, item in enumerate(_items(section, "allocations")):
        path = (name, "allocations", index)
        if not f.trusted(path):
            continue
        # Straight to the item's node: a path lookup per item would rescan the parents.
        line, col = _field_position(sequence.value[index], "user")
        where = Source(doc.file, line, col)
        text: str = item["user"]
        parts = split_user(text)
        reason = _user_problem(doc, (*path, "user"), text, parts)
        if reason is not None or parts is None:
            problems.append(Problem(doc.file, line, col, _dotted((*path, "user")), str(reason)))
            continue
        key = user_key(*parts)
        if key in users:
            first = users[key]
            problems.append(
                Problem(
                    doc.file,
                    line,
                    col,
                    _dotted((*path, "user")),
                    f"{text} is declared twice for {name}: first at {first.where} "
                    f"(as {first.display}); user ids compare case-insensitively",
                )
            )
            continue
        seen = users[key] = _Seen(where=where, display=text)
        _check_lookalikes(collected, key, seen, _dotted((*path, "user")), problems)
        until = _date(item.get("until"))
        if until is not None and until < today:
            uline, ucol = doc.position((*path, "until"))
            problems.append(
                Problem(
                    doc.file,
                    uline,
                    ucol,
                    _dotted((*path, "until")),
                    f"until {until.isoformat()} has passed: the plan reclaims {text}'s "
                    f"{name} allocation; remove the entry once it is done",
                    severity=Severity.WARNING,
                )
            )
        allocations.append(
            DesiredAllocation(
                user=text,
                key=key,
                note=item.get("note", ""),
                ticket=item.get("ticket", ""),
                until=until,
                source=where,
            )
        )
    rules = collected.rules.setdefault(access_type, [])
    names = collected.rule_names.setdefault(access_type, {})
    for index, item in enumerate(_items(section, "rules")):
        path = (name, "rules", index)
        if not f.trusted(path):
            continue
        line, col = doc.position((*path, "name"))
        where = Source(doc.file, line, col)
        rule_name: str = item["name"]
        folded = rule_name.casefold()
        if folded in names:
            first = names[folded]
            problems.append(
                Problem(
                    doc.file,
                    line,
                    col,
                    _dotted((*path, "name")),
                    f"rule name {rule_name!r} is used twice for {name}: first at {first.where}",
                )
            )
            continue
        names[folded] = _Seen(where=where, display=rule_name)
        condition: str = item["condition"]
        cline, ccol = doc.position((*path, "condition"))
        condition_source = Source(doc.file, cline, ccol)
        found = _condition_problems(doc, (*path, "condition"), condition)
        problems.extend(found)
        if any(p.severity is Severity.ERROR for p in found):
            continue
        rules.append(
            DesiredRule(
                name=rule_name,
                condition=condition,
                context=RuleContext(item.get("context", RuleContext.HUB.value)),
                disabled=bool(item.get("disabled", False)),
                comment=item.get("comment", ""),
                source=where,
                condition_source=condition_source,
            )
        )


def _user_problem(
    doc: YamlDocument, path: tuple[str | int, ...], text: str, parts: tuple[str, str] | None
) -> str | None:
    """What is wrong with a declared user id that passed the schema, or None."""
    hidden = hidden_characters(text)
    if hidden:
        at, c = hidden[0]
        reason = (
            f"{visible(text)} contains {describe_character(c)} at character {at + 1}, which "
            "cannot be seen or is no part of a user id; retype the id"
        )
    elif parts is None:
        reason = f"{text!r} must be DIRECTORY\\userid, e.g. CORP\\alice"
    else:
        return None
    return reason + _escape_hint(doc, path)


def _field_position(node: Any, name: str) -> tuple[int, int]:
    for key_node, value_node in node.value:
        if key_node.value == name:
            mark = value_node.start_mark
            return mark.line + 1, mark.column + 1
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _items(section: Mapping[str, Any], name: str) -> list[Any]:
    items = section.get(name)
    return items if isinstance(items, list) else []


def _condition_problems(doc: YamlDocument, path: tuple[str | int, ...], text: str) -> list[Problem]:
    """A syntax error (then the rule is dropped), or warnings for what may not mean what it
    seems to in Qlik (upper-case keywords, ``!=`` on multi-valued properties, ...)."""
    try:
        condition = parse_condition(text)
    except RuleSyntaxError as exc:
        line, col = _offset_position(doc, path, text, exc.offset)
        return [Problem(doc.file, line, col, _dotted(path), f"condition: {exc.reason}")]
    warnings = []
    for caveat in condition.caveats:
        line, col = _offset_position(doc, path, text, caveat.offset)
        warnings.append(
            Problem(
                doc.file, line, col, _dotted(path), f"condition: {caveat.message}", Severity.WARNING
            )
        )
    return warnings


def _offset_position(
    doc: YamlDocument, path: Sequence[str | int], text: str, offset: int
) -> tuple[int, int]:
    """Where character ``offset`` of a scalar's value sits in the file (exact for plain, quoted
    and block scalars without escapes; close otherwise)."""
    node = doc.node_at(path)
    mark = node.start_mark
    style = getattr(node, "style", None)
    offset = max(0, min(offset, len(text)))
    if style in ("|", ">"):
        before = text[:offset]
        line = mark.line + 2 + before.count("\n")
        indent = _block_indent(doc, mark.index)
        return line, indent + (offset - (before.rfind("\n") + 1)) + 1
    quote = 1 if style in ('"', "'") else 0
    before = text[:offset]
    if "\n" in before:
        return mark.line + 1 + before.count("\n"), offset - before.rfind("\n")
    return mark.line + 1, mark.column + 1 + quote + offset


def _block_indent(doc: YamlDocument, mark_index: int) -> int:
    """The indentation of the first content line of a block scalar whose ``|`` or ``>`` is at
    character ``mark_index``: one line of the text, never a split of the whole file per call."""
    text = doc.text
    start = text.find("\n", mark_index) + 1
    if start <= 0:
        return 0
    end = text.find("\n", start)
    row = text[start : end if end >= 0 else len(text)]
    return len(row) - len(row.lstrip(" "))


def _warn_both_types(collected: _Collected, problems: list[Problem]) -> None:
    professional = collected.users.get(AccessType.PROFESSIONAL, {})
    analyzer = collected.users.get(AccessType.ANALYZER, {})
    for key in sorted(professional.keys() & analyzer.keys()):
        pro, ana = professional[key], analyzer[key]
        problems.append(
            Problem(
                ana.where.file,
                ana.where.line,
                ana.where.col,
                "analyzer.allocations",
                f"{ana.display} is declared for both professional ({pro.where}) and analyzer; "
                "professional access includes everything analyzer access gives",
                severity=Severity.WARNING,
            )
        )


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    return dt.date.fromisoformat(str(value))


def _site(f: _File, problems: list[Problem]) -> Site:
    data: dict[str, Any] = f.doc.data["site"]
    base = f.path.parent
    auth_data: dict[str, Any] = data.get("auth") or {}
    tls_data: dict[str, Any] = data.get("tls") or {}
    mode = AuthMode(auth_data.get("mode", AuthMode.CERTIFICATE.value))
    qrs_url: str = data["qrs_url"]
    if mode is AuthMode.CERTIFICATE and qrs_url.startswith("https://"):
        missing = [k for k in ("cert_file", "key_file_env") if k not in auth_data]
        if missing:
            line, col = f.doc.position(("site", "auth"))
            fields = " and ".join(missing)
            problems.append(
                Problem(
                    f.doc.file,
                    line,
                    col,
                    "site.auth",
                    f"certificate mode over https needs {fields} (the QMC's client.pem and the "
                    "variable naming client_key.pem)",
                )
            )
    if mode is not AuthMode.CERTIFICATE and qrs_url.rstrip("/").endswith(":4242"):
        line, col = f.doc.position(("site", "qrs_url"))
        problems.append(
            Problem(
                f.doc.file,
                line,
                col,
                "site.qrs_url",
                f"{mode.value} mode goes through the proxy (port 443), but the URL names QRS "
                "port 4242, which only accepts client certificates",
                severity=Severity.WARNING,
            )
        )
    acting = auth_data.get("user", "")
    hidden = hidden_characters(acting)
    if hidden:
        line, col = f.doc.position(("site", "auth", "user"))
        message = (
            f"{visible(acting)} contains {describe_character(hidden[0][1])}, which cannot be "
            "seen or is no part of a user id; retype the id"
        )
        problems.append(Problem(f.doc.file, line, col, "site.auth.user", message))
    cert_file = auth_data.get("cert_file")
    ca_file = tls_data.get("ca_file")
    line, col = f.doc.position(("site",), key=True)
    return Site(
        name=data["name"],
        qrs_url=qrs_url,
        virtual_proxy=data.get("virtual_proxy", ""),
        auth=AuthConfig(
            mode=mode,
            user=auth_data.get("user", DEFAULT_ACTING_USER),
            cert_file=str(base / cert_file) if cert_file else None,
            key_file_env=auth_data.get("key_file_env"),
            header_name=auth_data.get("header_name"),
            token_env=auth_data.get("token_env"),
            password_env=auth_data.get("password_env"),
        ),
        tls=TlsConfig(
            ca_file=str(base / ca_file) if ca_file else None,
            verify=not tls_data.get("insecure_skip_verify", False),
            allow_plain_http=tls_data.get("allow_plain_http", False) is True,
        ),
        source=Source(f.doc.file, line, col),
        field_sources=tuple(
            (name, Source(f.doc.file, *f.doc.position(("site", *name.split(".")))))
            for name in _SITE_FIELDS
        ),
        request_timeout=data.get("request_timeout"),
        max_answer_mb=data.get("max_answer_mb"),
    )


# The site's fields a plan-time error can concern (see Site.source_of).
_SITE_FIELDS = (
    "qrs_url",
    "virtual_proxy",
    "auth.mode",
    "auth.user",
    "auth.cert_file",
    "auth.key_file_env",
    "auth.header_name",
    "auth.token_env",
    "auth.password_env",
    "tls.ca_file",
)


def _policy(found: tuple[_File, dict[str, Any]] | None) -> Policy:
    if found is None:
        return Policy()
    f, data = found
    defaults = Policy()
    ownership = dict(defaults.ownership)
    for access_type in AccessType:
        value = (data.get("ownership") or {}).get(access_type.value)
        if value is not None:
            ownership[access_type] = Ownership(value)
    users: dict[str, str] = data.get("users") or {}
    idle: dict[str, Any] = data.get("idle") or {}
    safety: dict[str, Any] = data.get("safety") or {}
    denials: dict[str, Any] = data.get("denials") or {}
    proposals: dict[str, Any] = data.get("proposals") or {}
    base = f.path.parent
    sources = []
    for index, item in enumerate(denials.get("sources") or ()):
        kind, path = next(iter(item.items()))
        line, col = f.doc.position(("policy", "denials", "sources", index, kind))
        resolved = path if os.path.isabs(path) else str(base / path)
        sources.append(
            DenialSource(
                kind=DenialSourceKind(kind),
                path=resolved,
                source=Source(f.doc.file, line, col),
                field=_dotted(("policy", "denials", "sources", index, kind)),
            )
        )
    return Policy(
        ownership=ownership,
        inactive=UserAction(users.get("inactive", defaults.inactive.value)),
        removed_externally=UserAction(
            users.get("removed_externally", defaults.removed_externally.value)
        ),
        blocked=UserAction(users.get("blocked", defaults.blocked.value)),
        idle=IdlePolicy(
            days=int(idle.get("days", defaults.idle.days)),
            action=UserAction(idle.get("action", defaults.idle.action.value)),
        ),
        protected=tuple(protection_from_yaml(p) for p in data.get("protected") or ()),
        safety=SafetyPolicy(
            max_reclaims=int(safety.get("max_reclaims", defaults.safety.max_reclaims)),
            max_reclaim_share=float(
                safety.get("max_reclaim_share", defaults.safety.max_reclaim_share)
            ),
            share_floor=int(safety.get("share_floor", defaults.safety.share_floor)),
        ),
        proposals=ProposalPolicy(
            denied=ProposalStyle(proposals.get("denied", defaults.proposals.denied.value)),
            access_type=AccessType(
                proposals.get("access_type", defaults.proposals.access_type.value)
            ),
            until_days=int(proposals.get("until_days", defaults.proposals.until_days)),
        ),
        denial_sources=tuple(sources),
        denial_lookback_days=int(denials.get("lookback_days", defaults.denial_lookback_days)),
        denial_max_age_days=int(denials.get("max_age_days", defaults.denial_max_age_days)),
        service_accounts=tuple(denials.get("service_accounts", defaults.service_accounts)),
        audit_log=_relative_to(base, data.get("audit_log")),
    )


def _relative_to(base: Path, path: str | None) -> str | None:
    if path is None:
        return None
    return path if os.path.isabs(path) else str(base / path)
