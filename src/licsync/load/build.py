"""Building one site's Desired from its files: allocations and rules per access type, with the
cross-file checks (a user or rule declared twice, look-alike ids, conditions that do not parse)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from licsync.desired import Desired, DesiredAllocation, DesiredRule, DesiredType
from licsync.errors import Problem, RuleSyntaxError
from licsync.identity import AccessType, RuleContext, Source, split_user, user_key
from licsync.load.files import File
from licsync.load.schema import dotted_path, escape_hint
from licsync.load.settings import read_policy, read_site
from licsync.load.sites import declared_twice
from licsync.lookalike import (
    describe_character,
    hidden_characters,
    lookalike_characters,
    skeleton,
    visible,
)
from licsync.rules import parse_condition
from licsync.severity import Severity
from licsync.slots import slot_setters
from licsync.yamlsafe import YamlDocument


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
    policy: tuple[File, dict[str, Any]] | None = None
    # what every declared user id looks like (see licsync.lookalike), over both access types
    skeletons: dict[str, tuple[str, _Seen]] = field(default_factory=dict)


# -- fast constructors, for the allocations of a large file (see licsync.slots) -------------

_new = object.__new__
_source_file, _source_line, _source_col = slot_setters(Source, ("file", "line", "col"))
(
    _allocation_user,
    _allocation_key,
    _allocation_note,
    _allocation_ticket,
    _allocation_until,
    _allocation_source,
) = slot_setters(DesiredAllocation, ("user", "key", "note", "ticket", "until", "source"))


def _new_source(file: str, line: int, col: int, /) -> Source:
    """``Source(file, line, col)``, faster (see above)."""
    source: Source = _new(Source)
    _source_file(source, file)
    _source_line(source, line)
    _source_col(source, col)
    return source


def _new_allocation(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    user: str,
    key: str,
    note: str,
    ticket: str,
    until: dt.date | None,
    source: Source,
    /,
) -> DesiredAllocation:
    """``DesiredAllocation(...)`` with every field, faster (see above)."""
    allocation: DesiredAllocation = _new(DesiredAllocation)
    _allocation_user(allocation, user)
    _allocation_key(allocation, key)
    _allocation_note(allocation, note)
    _allocation_ticket(allocation, ticket)
    _allocation_until(allocation, until)
    _allocation_source(allocation, source)
    return allocation


def _check_lookalikes(
    collected: _Collected,
    key: str,
    seen: _Seen,
    path: tuple[str | int, ...],
    problems: list[Problem],
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
        Problem(
            where.file, where.line, where.col, dotted_path(path), message, severity=Severity.WARNING
        )
    )


def build_site(
    site_file: File, members: Sequence[File], problems: list[Problem], *, today: dt.date
) -> Desired | None:
    """One site's Desired from its files, or None when an error keeps it from loading."""
    collected = _Collected()
    for f in members:
        data: dict[str, Any] = f.doc.data
        for access_type in AccessType:
            section = data.get(access_type.value)
            if section and isinstance(section, dict):
                _collect_allocations(f, access_type, section, collected, problems, today=today)
                _collect_rules(f, access_type, section, collected, problems)
        if "policy" in data:
            if collected.policy is not None:
                problems.append(
                    declared_twice(f, collected.policy[0], "policy", "declare it once per site")
                )
            else:
                collected.policy = (f, data["policy"] or {})
    _warn_both_types(collected, problems)
    if not site_file.trusted(("site",)):
        return None
    if collected.policy is not None and not collected.policy[0].trusted(("policy",)):
        return None
    site = read_site(site_file, problems)
    policy = read_policy(collected.policy)
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


def _collect_allocations(
    f: File,
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
    # Run once per declared user (thousands): what only a problem needs (the field's dotted
    # path, the trust check of a file the schema found nothing wrong in) is left for when it
    # is needed.
    file = doc.file
    skeletons = collected.skeletons
    checked = bool(f.bad)
    for index, item in enumerate(_items(section, "allocations")):
        if checked and not f.trusted((name, "allocations", index)):
            continue
        # Straight to the item's node: a path lookup per item would rescan the parents.
        line, col = _field_position(sequence.value[index], "user")
        where = _new_source(file, line, col)
        text: str = item["user"]
        parts = split_user(text)
        # Printable ASCII holds no hidden character (see lookalike.hidden_characters).
        if parts is None or not (text.isascii() and text.isprintable()):
            field = (name, "allocations", index, "user")
            reason = _user_problem(doc, field, text, parts)
            if reason is not None or parts is None:
                problems.append(Problem(file, line, col, dotted_path(field), str(reason)))
                continue
        key = user_key(*parts)
        first = users.get(key)
        if first is not None:
            problems.append(
                Problem(
                    file,
                    line,
                    col,
                    dotted_path((name, "allocations", index, "user")),
                    f"{text} is declared twice for {name}: first at {first.where} "
                    f"(as {first.display}); user ids compare case-insensitively",
                )
            )
            continue
        seen = users[key] = _Seen(where, text)
        # An ASCII id is its own skeleton and has no look-alike letter: unless a look-alike
        # of it came first (the skeleton's first id is another), there is nothing to warn
        # about. The careful check takes the same skeleton entry again (setdefault).
        if not text.isascii() or skeletons.setdefault(key, (key, seen))[0] != key:
            field = (name, "allocations", index, "user")
            _check_lookalikes(collected, key, seen, field, problems)
        until = _date(item.get("until"))
        if until is not None and until < today:
            field = (name, "allocations", index, "until")
            uline, ucol = doc.position(field)
            problems.append(
                Problem(
                    file,
                    uline,
                    ucol,
                    dotted_path(field),
                    f"until {until.isoformat()} has passed: the plan reclaims {text}'s "
                    f"{name} allocation; remove the entry once it is done",
                    severity=Severity.WARNING,
                )
            )
        allocations.append(
            _new_allocation(text, key, item.get("note", ""), item.get("ticket", ""), until, where)
        )


def _collect_rules(
    f: File,
    access_type: AccessType,
    section: Mapping[str, Any],
    collected: _Collected,
    problems: list[Problem],
) -> None:
    doc = f.doc
    name = access_type.value
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
                    dotted_path((*path, "name")),
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
    return reason + escape_hint(doc, path)


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
        return [Problem(doc.file, line, col, dotted_path(path), f"condition: {exc.reason}")]
    warnings = []
    for caveat in condition.caveats:
        line, col = _offset_position(doc, path, text, caveat.offset)
        warnings.append(
            Problem(
                doc.file,
                line,
                col,
                dotted_path(path),
                f"condition: {caveat.message}",
                Severity.WARNING,
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
