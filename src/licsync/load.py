"""Load a site's desired state from a directory of YAML files, reporting every problem.

A site's desired state is every ``*.yaml`` / ``*.yml`` file under its directory, merged. A
repository may hold several sites: a site is the directory of a file that declares ``site:``,
with every YAML file below it. Problems are collected, never stopped at the first: YAML
errors, schema errors (each mapped to the line and column of the offending value), and
cross-file checks (a user declared twice, a rule name used twice, a malformed user id,
rule conditions that do not parse). Warnings (a user holding both access types, an ``until``
date already past) do not fail loading.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from licsync.desired import Desired, DesiredAllocation, DesiredRule, DesiredType
from licsync.errors import ConfigError, Problem, RuleSyntaxError
from licsync.fastschema import fast_validator
from licsync.gcpause import gc_paused
from licsync.identity import AccessType, RuleContext, Source, split_user, user_key
from licsync.policy import (
    DenialSource,
    DenialSourceKind,
    IdlePolicy,
    Ownership,
    Policy,
    SafetyPolicy,
    UserAction,
    protection_from_yaml,
)
from licsync.rules import parse_condition
from licsync.schemas import LICENSES_SCHEMA, load_schema
from licsync.severity import Severity
from licsync.site import DEFAULT_ACTING_USER, AuthConfig, AuthMode, Site, TlsConfig
from licsync.yamlsafe import YamlDocument, load_yaml

__all__ = ["LoadReport", "check_directory", "load_desired"]

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
    files = set(desired.files)
    errors = [p for p in report.errors if p.file in files]
    if errors:
        raise ConfigError(errors)
    return desired, tuple(p for p in report.warnings if p.file in files)


def check_directory(directory: str | os.PathLike[str], *, today: dt.date) -> LoadReport:
    """Read and check every YAML file under ``directory``; never raises for bad content."""
    with gc_paused():
        return _check_directory(Path(directory), today=today)


def _check_directory(root: Path, *, today: dt.date) -> LoadReport:
    directory = root
    if not root.exists():
        problem = Problem(str(directory), 0, 0, "", "no such file or directory")
        return LoadReport(sites=(), problems=(problem,))
    paths = [root] if root.is_file() else sorted(_yaml_files(root))
    if not paths:
        problem = Problem(str(directory), 0, 0, "", "no *.yaml or *.yml files here")
        return LoadReport(sites=(), problems=(problem,))

    problems: list[Problem] = []
    parsed: list[_File] = []
    for path in paths:
        file = _read(path, problems)
        if file is not None:
            parsed.append(file)

    groups = _group_by_site(parsed, problems)
    sites: list[Desired] = []
    for site_file, members in groups:
        desired = _build_site(site_file, members, problems, today=today)
        if desired is not None:
            sites.append(desired)
    site_errors = {p.file for p in problems if p.severity is Severity.ERROR}
    good = tuple(
        sorted(
            (d for d in sites if not site_errors.intersection(d.files)), key=lambda d: d.site.name
        )
    )
    return LoadReport(sites=good, problems=tuple(sorted(set(problems))), files=len(paths))


def _yaml_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        # Hidden folders (.git, .github) never hold desired state; skipping them also avoids
        # reading CI workflow YAML as licences.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath) / name


@dataclass(slots=True)
class _File:
    path: Path
    doc: YamlDocument
    bad: tuple[tuple[str | int, ...], ...]  # paths of values the schema rejected

    def trusted(self, path: tuple[str | int, ...]) -> bool:
        """True when nothing at or below ``path`` (nor a parent of it) failed the schema."""
        if not self.bad:
            return True
        for bad in self.bad:
            common = min(len(bad), len(path))
            if bad[:common] == path[:common]:
                return False
        return True


def _read(path: Path, problems: list[Problem]) -> _File | None:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 0, 0, "", f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        doc = load_yaml(raw, name)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    bad: list[tuple[str | int, ...]] = []
    for problem, bad_path in _schema_problems(doc):
        problems.append(problem)
        bad.append(bad_path)
    return _File(path=path, doc=doc, bad=tuple(bad))


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
    yield Problem(doc.file, line, col, _dotted(path), message)


def _unknown_field(key: object, allowed: Sequence[str]) -> str:
    text = str(key)
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
        return f"{_short(instance)} {custom}"
    bound: Any = error.validator_value
    if kind == "required":
        missing = [name for name in bound if name not in instance]
        fields = ", ".join(repr(name) for name in missing)
        return f"missing required field {fields}"
    if kind == "enum":
        options = ", ".join(str(v) for v in bound)
        return f"{_short(instance)} is not one of: {options}"
    if kind == "type":
        return f"expected {_type_name(bound)}, found {_describe(instance)}"
    if kind == "format":
        return f"{_short(instance)} is not a valid {bound}"
    if kind in {"minLength", "maxLength", "minimum", "maximum", "minProperties", "maxProperties"}:
        return _bound_message(kind, bound, instance)
    if kind == "pattern":
        return f"{_short(instance)} does not match the expected form"
    return error.message


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
    text = repr(value)
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
    declaring = [f for f in files if isinstance(f.doc.data, dict) and "site" in f.doc.data]
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
        if parts is None:
            problems.append(
                Problem(
                    doc.file,
                    line,
                    col,
                    _dotted((*path, "user")),
                    f"{text!r} must be DIRECTORY\\userid, e.g. CORP\\alice",
                )
            )
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
        users[key] = _Seen(where=where, display=text)
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
        indent = _block_indent(doc, mark.line + 1)
        return line, indent + (offset - (before.rfind("\n") + 1)) + 1
    quote = 1 if style in ('"', "'") else 0
    before = text[:offset]
    if "\n" in before:
        return mark.line + 1 + before.count("\n"), offset - before.rfind("\n")
    return mark.line + 1, mark.column + 1 + quote + offset


def _block_indent(doc: YamlDocument, line_index: int) -> int:
    buffer = getattr(doc.root.start_mark, "buffer", None)
    if not isinstance(buffer, str):
        return 0
    lines = buffer.split("\n")
    if line_index >= len(lines):
        return 0
    row = lines[line_index]
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
        ),
        source=Source(f.doc.file, line, col),
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
    base = f.path.parent
    sources = []
    for index, item in enumerate(denials.get("sources") or ()):
        kind, path = next(iter(item.items()))
        line, col = f.doc.position(("policy", "denials", "sources", index, kind))
        resolved = path if os.path.isabs(path) else str(base / path)
        sources.append(
            DenialSource(
                kind=DenialSourceKind(kind), path=resolved, source=Source(f.doc.file, line, col)
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
        denial_sources=tuple(sources),
        denial_lookback_days=int(denials.get("lookback_days", defaults.denial_lookback_days)),
        denial_max_age_days=int(denials.get("max_age_days", defaults.denial_max_age_days)),
        service_accounts=tuple(denials.get("service_accounts", defaults.service_accounts)),
    )
