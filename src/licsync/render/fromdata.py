"""A JSON plan read back into Plan values, so it renders exactly as the plan that wrote it.

``licsync github comment`` posts the Markdown of a JSON plan made earlier (by the plan job, the
artifact CI keeps). Re-planning is not an option there (no site access), and a second Markdown
renderer over raw JSON would drift from the first; so the JSON (:func:`plan_data`'s output) is
turned back into the values :func:`~licsync.render.markdown.render_markdown` takes. Only what a
rendering shows is rebuilt: entities QRS sent (``rule_entity``) are not in the JSON and stay
empty, so a read-back plan renders but is never executed (``apply --plan`` re-plans instead).

Every field is checked; a wrong one is refused naming its JSON path. Each change must carry the
identity its fields give, and the plan's checksum must match its decisions: a plan edited after
it was made is refused, as ``apply --plan`` refuses it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from licsync.actual import LicenceKind
from licsync.desired import DesiredRule
from licsync.errors import UsageError
from licsync.identity import AccessType, RuleContext, Source
from licsync.plan import (
    Action,
    Allocate,
    CapacityLine,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    FieldDiff,
    Finding,
    FindingKind,
    Plan,
    Reason,
    Reclaim,
    Reinstate,
    Safety,
    SafetyCap,
    SafetyReason,
    TypeSafety,
    UpdateRule,
    UserTarget,
    checksum,
)
from licsync.plan.idleages import IDLE_BUCKETS
from licsync.policy import Ownership
from licsync.severity import Severity

__all__ = ["plan_from_data"]

_T = TypeVar("_T")
_E = TypeVar("_E")
_SOURCE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+)$")
_CONDITION = "condition "  # how the planner words a created rule's detail


@dataclass(frozen=True, slots=True)
class _ReadSafetyReason(SafetyReason):
    """A safety reason whose sentence is the one the JSON holds (the share and floor the
    sentence names are not separate fields of the JSON)."""

    text: str = ""

    @property
    def message(self) -> str:
        return self.text


class _Reader:
    """Typed access to one JSON object, each refusal naming ``where.field``."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected an object")
        self.data: dict[str, Any] = data
        self.where = where

    def _get(self, name: str, kinds: tuple[type, ...], what: str, optional: bool) -> Any:
        value = self.data.get(name)
        # Exact types, as JSON gives them: a count written as true (bool is an int) is wrong.
        if type(value) in kinds:
            return value
        if value is None and optional:
            return None
        raise UsageError(f"{self.where}.{name}: missing or not {what}")

    def text(self, name: str) -> str:
        return str(self._get(name, (str,), "a string", optional=False))

    def text_or_none(self, name: str) -> str | None:
        value = self._get(name, (str,), "a string", optional=True)
        return None if value is None else str(value)

    def count(self, name: str) -> int:
        return int(self._get(name, (int,), "an integer", optional=False))

    def flag(self, name: str) -> bool:
        return bool(self._get(name, (bool,), "true or false", optional=False))

    def items(self, name: str) -> list[Any]:
        return list(self._get(name, (list,), "a list", optional=False))

    def mapping(self, name: str) -> dict[str, Any]:
        return dict(self._get(name, (dict,), "an object", optional=False))

    def child(self, name: str) -> _Reader:
        return _Reader(self.data.get(name), f"{self.where}.{name}")

    def enum(self, name: str, kind: Callable[[str], _E]) -> _E:
        value = self.text(name)
        try:
            return kind(value)
        except ValueError:
            raise UsageError(f"{self.where}.{name}: {value!r} is not a known value") from None

    def enum_key(self, name: str, kind: Callable[[str], _E]) -> _E:
        try:
            return kind(name)
        except ValueError:
            raise UsageError(f"{self.where}.{name}: not a known key") from None

    def instant(self, name: str) -> dt.datetime | None:
        value = self.text_or_none(name)
        if value is None:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{self.where}.{name}: {value!r} is not an ISO 8601 instant") from None
        if parsed.tzinfo is None:
            raise UsageError(f"{self.where}.{name}: {value!r} has no UTC offset")
        return parsed


def plan_from_data(data: object, *, where: str = "plan") -> Plan:
    """The Plan a JSON plan (format 1.x) describes, checked against its own checksum.

    Args:
        data: the parsed JSON.
        where: how errors name the document (the file name).

    Raises:
        UsageError: a field is missing or wrong (the message names its JSON path), the format
            is not 1.x, a change's identity does not match its fields, or the checksum does
            not match the decisions.
    """
    top = _Reader(data, where)
    version = top.text("format_version")
    if version.split(".", 1)[0] != "1":
        raise UsageError(f"{where}: format_version {version!r}: this licsync reads 1.x plans")
    site = top.text("site")
    changes = tuple(
        _change(_Reader(item, f"{where}.changes[{i}]"))
        for i, item in enumerate(top.items("changes"))
    )
    findings = tuple(
        _finding(_Reader(item, f"{where}.findings[{i}]"))
        for i, item in enumerate(top.items("findings"))
    )
    stated = top.text("checksum")
    if checksum(site, changes) != stated:
        raise UsageError(
            f"{where}: its checksum does not match its changes: the file was edited after it "
            "was planned"
        )
    now = top.instant("now")
    if now is None:
        raise UsageError(f"{where}.now: missing or not a string")
    return Plan(
        site=site,
        now=now,
        ownership=_by_type(top.child("ownership"), lambda r, name: r.enum(name, Ownership)),
        changes=changes,
        findings=findings,
        capacity=_by_type(top.child("capacity"), lambda r, name: _capacity(r.child(name))),
        safety=_safety(top.child("safety")),
        checksum=stated,
        build_version=top.text_or_none("qrs_build_version") or "",
        idle_ages=_idle_ages(top),
    )


def _idle_ages(top: _Reader) -> dict[AccessType, tuple[int, ...]]:
    """``idle_ages`` (since 1.4; an older plan has none: no chart, nothing wrong)."""
    if top.data.get("idle_ages") is None:
        return {}
    reader = top.child("idle_ages")
    buckets = reader.items("buckets")
    if buckets != [label for label, _ in IDLE_BUCKETS]:
        raise UsageError(f"{reader.where}.buckets: not the buckets this licsync counts in")
    seats = reader.child("seats")
    spread: dict[AccessType, tuple[int, ...]] = {}
    for name in seats.data:
        kind = seats.enum_key(name, AccessType)
        counts = seats.items(name)
        if len(counts) != len(buckets) or any(type(n) is not int or n < 0 for n in counts):
            raise UsageError(f"{seats.where}.{name}: not one count per bucket")
        spread[kind] = tuple(counts)
    return spread


def _by_type(reader: _Reader, read: Callable[[_Reader, str], _T]) -> dict[AccessType, _T]:
    unknown = sorted(set(reader.data) - {t.value for t in AccessType})
    if unknown:
        raise UsageError(f"{reader.where}.{unknown[0]}: not an access type")
    return {t: read(reader, t.value) for t in AccessType if t.value in reader.data}


def _capacity(reader: _Reader) -> CapacityLine:
    # Every field but the licence kind is a count, written under its own name (render.data);
    # plans older than format 1.4 have neither the unreadable count nor the licence kind.
    counts: dict[str, Any] = {
        f.name: reader.count(f.name)
        for f in dataclasses.fields(CapacityLine)
        if f.name not in _CAPACITY_SINCE_1_4
    }
    if "unreadable" in reader.data:
        counts["unreadable"] = reader.count("unreadable")
    if "licence" in reader.data:
        counts["licence"] = reader.enum("licence", LicenceKind).value
    return CapacityLine(**counts)


_CAPACITY_SINCE_1_4 = frozenset({"unreadable", "licence"})


def _safety(reader: _Reader) -> Safety:
    reasons = []
    for index, item in enumerate(reader.items("exceeded")):
        entry = _Reader(item, f"{reader.where}.exceeded[{index}]")
        reasons.append(
            _ReadSafetyReason(
                access_type=entry.enum("access_type", AccessType),
                cap=entry.enum("cap", SafetyCap),
                reclaims=entry.count("reclaims"),
                limit=entry.count("limit"),
                allocations=entry.count("allocations"),
                text=entry.text("message"),
            )
        )

    def per_type(r: _Reader, name: str) -> TypeSafety:
        entry = r.child(name)
        share = entry.data.get("share_limit")
        if share is not None:
            share = entry.count("share_limit")
        return TypeSafety(
            reclaims=entry.count("reclaims"),
            allocations=entry.count("allocations"),
            max_reclaims=entry.count("max_reclaims"),
            share_limit=share,
        )

    return Safety(
        blocked=reader.flag("blocked"),
        reasons=tuple(reasons),
        per_type=_by_type(reader.child("per_type"), per_type),
    )


def _source(reader: _Reader) -> Source | None:
    text = reader.text_or_none("source")
    found = _SOURCE.match(text) if text is not None else None
    if found is None:
        return None
    return Source(found["file"], int(found["line"]), int(found["col"]))


def _change(reader: _Reader) -> Change:
    action = reader.enum("action", Action)
    access_type = reader.enum("access_type", AccessType)
    reason = reader.enum("reason", Reason)
    common: dict[str, Any] = {
        "access_type": access_type,
        "reason": reason,
        "detail": reader.text_or_none("detail") or "",
        "source": _source(reader),
    }
    change = _build(action, reader, common)
    try:
        stated = ChangeId.from_data(reader.mapping("id"))
    except (KeyError, ValueError) as exc:
        raise UsageError(f"{reader.where}.id: not a change identity ({exc})") from None
    if stated != change.id:
        raise UsageError(f"{reader.where}.id: {stated} does not match the change's fields")
    return change


def _build(action: Action, reader: _Reader, common: dict[str, Any]) -> Change:
    if action in (Action.ALLOCATE, Action.REINSTATE, Action.RECLAIM):
        user: dict[str, Any] = {"user": reader.text("user"), "key": reader.text("key")}
        if action is Action.RECLAIM:
            needs = reader.data.get("depends_on")
            try:
                depends_on = ChangeId.from_data(needs) if isinstance(needs, dict) else None
            except (KeyError, ValueError) as exc:
                raise UsageError(
                    f"{reader.where}.depends_on: not a change identity ({exc})"
                ) from None
            covered = reader.items("covered_by")
            if not all(isinstance(name, str) for name in covered):
                raise UsageError(f"{reader.where}.covered_by: not a list of rule names")
            return Reclaim(
                **user,
                **common,
                allocation_id=reader.text("allocation_id"),
                user_id=reader.text_or_none("user_id"),
                modified_date=reader.text_or_none("modified_date") or "",
                quarantine=reader.flag("quarantine"),
                last_used=reader.instant("last_used"),
                covered_by=tuple(covered),
                needs=depends_on,
            )
        target = UserTarget(
            id=reader.text("user_id"),
            directory=reader.text("user_directory"),
            userid=reader.text("user_userid"),
        )
        if action is Action.ALLOCATE:
            return Allocate(**user, **common, target=target)
        return Reinstate(
            **user,
            **common,
            target=target,
            allocation_id=reader.text("allocation_id"),
            modified_date=reader.text_or_none("modified_date") or "",
            quarantine_end=reader.instant("quarantine_end"),
            last_used=reader.instant("last_used"),
        )
    rule: dict[str, Any] = {"name": reader.text("name"), "key": _rule_key(reader)}
    diff = _diff(reader)
    if action is Action.DELETE_RULE:
        return DeleteRule(
            **rule,
            **common,
            rule_id=reader.text_or_none("rule_id"),
            group_id=reader.text_or_none("group_id"),
            condition=reader.text_or_none("condition") or "",
            diff=diff,
        )
    desired = _desired_rule(rule["name"], diff, common["detail"])
    if action is Action.CREATE_RULE:
        return CreateRule(**rule, **common, rule=desired, diff=diff)
    if action is Action.COMPLETE_RULE:
        return CompleteRule(
            **rule,
            **common,
            rule=desired,
            group_id=reader.text_or_none("group_id"),
            rule_id=reader.text_or_none("rule_id"),
            diff=diff,
        )
    return UpdateRule(
        **rule,
        **common,
        rule=desired,
        rule_id=reader.text("rule_id"),
        group_id=reader.text_or_none("group_id"),
        rule_entity={},
        diff=diff,
    )


def _rule_key(reader: _Reader) -> str:
    # A rule change's JSON has no "key": its identity's subject is the casefolded name.
    ident = reader.data.get("id")
    subject = ident.get("subject") if isinstance(ident, dict) else None
    return subject if isinstance(subject, str) else reader.text("name").casefold()


def _diff(reader: _Reader) -> tuple[FieldDiff, ...]:
    out = []
    for index, item in enumerate(reader.items("diff")):
        entry = _Reader(item, f"{reader.where}.diff[{index}]")
        values = []
        for side in ("actual", "desired"):
            value = entry.data.get(side)
            if value is not None and not isinstance(value, str | bool):
                raise UsageError(f"{entry.where}.{side}: not a string, boolean or null")
            values.append(value)
        out.append(FieldDiff(entry.text("field"), values[0], values[1]))
    return tuple(out)


def _desired_rule(name: str, diff: tuple[FieldDiff, ...], detail: str) -> DesiredRule:
    """The declared rule as far as the JSON shows it (the fields a change writes)."""
    written = {d.field: d.desired for d in diff}
    # The detail holds the condition as declared; the diff holds it stripped, and only when
    # it changes.
    condition = detail[len(_CONDITION) :] if detail.startswith(_CONDITION) else None
    if condition is None:
        condition = str(written.get("condition") or "")
    context = written.get("context")
    try:
        rule_context = RuleContext(context) if isinstance(context, str) else RuleContext.HUB
    except ValueError:
        rule_context = RuleContext.HUB
    return DesiredRule(
        name=name,
        condition=condition,
        context=rule_context,
        disabled=written.get("disabled") is True,
        comment=str(written.get("comment") or ""),
    )


def _finding(reader: _Reader) -> Finding:
    access_type = reader.text_or_none("access_type")
    return Finding(
        kind=reader.enum("kind", FindingKind),
        access_type=reader.enum("access_type", AccessType) if access_type is not None else None,
        subject=reader.text("subject"),
        message=reader.text("message"),
        severity=reader.enum("severity", Severity),
        data=reader.mapping("data"),
        stale=reader.flag("stale"),
    )
