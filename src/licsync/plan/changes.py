"""Changes: one frozen type per kind of write, each carrying everything its write needs.

``apply`` executes a change without looking anything up in the actual state again: an
allocation carries the user's QRS id and directory; a reclaim the allocation id and the
``modifiedDate`` it was read with; a rule change the access group and system rule ids, the
entity as read (QRS updates are PUTs of the whole entity) and the rule text it writes.

Every change has a stable identity, :class:`ChangeId` (kind, access type, subject key, reason),
which is what a reviewed plan and a fresh plan are matched on, and the execution order is
defined here, on the types, in one place: :data:`PHASES` and :func:`execution_order`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from licsync.desired import DesiredRule
from licsync.identity import AccessType, Source
from licsync.slots import slot_setters

__all__ = [
    "PHASES",
    "Action",
    "Allocate",
    "AllocationChange",
    "Change",
    "ChangeId",
    "CompleteRule",
    "CreateRule",
    "DeleteRule",
    "FieldDiff",
    "Phase",
    "Reason",
    "Reclaim",
    "Reinstate",
    "RuleChange",
    "UpdateRule",
    "UserTarget",
    "execution_order",
    "new_allocate",
    "new_reclaim",
    "new_user_target",
]


class Action(StrEnum):
    """The kind of a change: its stable code in the JSON plan and the checksum."""

    RECLAIM = "reclaim"
    REINSTATE = "reinstate"
    ALLOCATE = "allocate"
    CREATE_RULE = "create-rule"
    COMPLETE_RULE = "complete-rule"
    UPDATE_RULE = "update-rule"
    DELETE_RULE = "delete-rule"

    @property
    def symbol(self) -> str:
        """Terraform's marks: + adds, ~ changes, - removes."""
        return _SYMBOLS[self]

    @property
    def order(self) -> int:
        """Display order within an access type (the order the members are declared in)."""
        return _DISPLAY_ORDER[self]


_SYMBOLS = {
    Action.RECLAIM: "-",
    Action.REINSTATE: "~",
    Action.ALLOCATE: "+",
    Action.CREATE_RULE: "+",
    Action.COMPLETE_RULE: "~",
    Action.UPDATE_RULE: "~",
    Action.DELETE_RULE: "-",
}
_DISPLAY_ORDER = {action: index for index, action in enumerate(Action)}


class Phase(IntEnum):
    """When a change runs. Every change of a phase may run before any of the next starts.

    (Apply lets grants that need no seat the reclaims free, with no rule change between, start
    as workers come free from the last reclaims: :mod:`licsync.apply.execute`.)

    Reclaims free seats before the allocations that need them; rules change before allocations
    so that a seat a rule is about to grant is not allocated by hand as well; a reclaim that is
    only right once another change succeeded (an analyzer seat made redundant by a professional
    allocation in the same plan) runs last, and only if that change succeeded.
    """

    RECLAIM = 1
    RULES = 2
    GRANT = 3
    DEPENDENT = 4


class Reason(StrEnum):
    """Why a change is proposed: stable codes (they are part of the checksum and the JSON)."""

    DECLARED = "declared"
    UNTIL_PASSED = "until-passed"
    REMOVED_EXTERNALLY = "removed-externally"
    BLOCKED = "blocked"
    INACTIVE = "inactive"
    USER_MISSING = "user-missing"
    HOLDS_PROFESSIONAL = "holds-professional"
    NOT_DECLARED = "not-declared"
    IDLE = "idle"
    RULE_MISSING = "rule-missing"
    RULE_HALF_CREATED = "rule-half-created"
    RULE_DRIFT = "rule-drift"
    RULE_NOT_DECLARED = "rule-not-declared"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    Reason.DECLARED: "declared",
    Reason.UNTIL_PASSED: "until date passed",
    Reason.REMOVED_EXTERNALLY: "user removed externally",
    Reason.BLOCKED: "user blocked",
    Reason.INACTIVE: "user inactive",
    Reason.USER_MISSING: "user no longer in QRS",
    Reason.HOLDS_PROFESSIONAL: "redundant: holds professional",
    Reason.NOT_DECLARED: "not declared",
    Reason.IDLE: "idle",
    Reason.RULE_MISSING: "declared rule missing on the site",
    Reason.RULE_HALF_CREATED: "half-created rule",
    Reason.RULE_DRIFT: "rule differs from its declaration",
    Reason.RULE_NOT_DECLARED: "rule not declared",
}
_CODES: dict[StrEnum, str] = {m: m.value for e in (AccessType, Action, Reason) for m in e}
"""Each member's code as a plain string, for the sort keys and decisions of many changes."""
_TYPE_ORDER = {t: t.order for t in AccessType}


@dataclass(frozen=True, slots=True, order=True)
class ChangeId:
    """A change's stable identity: what a reviewed plan and a fresh plan are matched on.

    Attributes:
        kind: the action code.
        access_type: professional or analyzer.
        subject: the user key (``directory\\userid`` casefolded) or the rule name casefolded.
        reason: the reason code.
    """

    kind: Action
    access_type: AccessType
    subject: str
    reason: Reason

    def __str__(self) -> str:
        return f"{self.kind}/{self.access_type}/{self.subject}/{self.reason}"

    def data(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "access_type": self.access_type.value,
            "subject": self.subject,
            "reason": self.reason.value,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ChangeId:
        """The inverse of :meth:`data`; raises ``ValueError`` or ``KeyError`` on bad input."""
        subject = data["subject"]
        if not isinstance(subject, str):
            msg = "subject must be a string"
            raise ValueError(msg)
        return cls(
            kind=Action(data["kind"]),
            access_type=AccessType(data["access_type"]),
            subject=subject,
            reason=Reason(data["reason"]),
        )


@dataclass(frozen=True, slots=True)
class UserTarget:
    """The QRS user a write acts on: its GUID and the two halves of its name."""

    id: str
    directory: str
    userid: str


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field of a licence rule that a change writes: the site's value and the declared one."""

    field: str
    actual: str | bool | None
    desired: str | bool | None


class _Common:
    """What every change type shares. Subclasses are frozen dataclasses with these fields:
    ``access_type``, ``reason``, ``detail``, ``source`` and a ``key`` (the casefolded subject)."""

    __slots__ = ()
    action: ClassVar[Action]
    phase: ClassVar[Phase]
    access_type: AccessType
    reason: Reason
    key: str

    @property
    def id(self) -> ChangeId:
        return ChangeId(self.action, self.access_type, self.key, self.reason)

    @property
    def depends_on(self) -> ChangeId | None:
        """The change that must have succeeded before this one runs (None: none)."""
        return None

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        # Tables rather than the members' properties: a plan sorts thousands of changes, and an
        # enum member's ``value`` or property costs a Python call each.
        return (
            _TYPE_ORDER[self.access_type],
            _DISPLAY_ORDER[self.action],
            _CODES[self.reason],
            self.key,
        )


class _AllocationCommon(_Common):
    __slots__ = ()
    user: str

    @property
    def subject(self) -> str:
        return self.user

    def decision(self) -> list[str]:
        return [_CODES[self.access_type], _CODES[self.action], self.key, _CODES[self.reason]]


@dataclass(frozen=True, slots=True)
class Allocate(_AllocationCommon):
    """Allocate an access type to a declared user: ``POST /qrs/license/<type>accesstype``.

    Attributes:
        user: ``DIRECTORY\\userid`` as the YAML spells it (for display).
        key: the user key.
        target: the QRS user (id, directory, userid as QRS spells them).
        detail: the ticket and note, for the reviewer.
    """

    action: ClassVar[Action] = Action.ALLOCATE
    phase: ClassVar[Phase] = Phase.GRANT

    access_type: AccessType
    user: str
    key: str
    target: UserTarget
    reason: Reason = Reason.DECLARED
    detail: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Reinstate(_AllocationCommon):
    """Give a declared user back their quarantined seat (the same seat: only they may have it).

    Attributes:
        allocation_id / modified_date: the quarantined allocation as read (sent back on PUT,
            so a change since the plan gives 409 rather than being overwritten).
        quarantine_end: when QRS frees the seat for anyone.
    """

    action: ClassVar[Action] = Action.REINSTATE
    phase: ClassVar[Phase] = Phase.GRANT

    access_type: AccessType
    user: str
    key: str
    target: UserTarget
    allocation_id: str
    modified_date: str = ""
    quarantine_end: dt.datetime | None = None
    last_used: dt.datetime | None = None
    reason: Reason = Reason.DECLARED
    detail: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Reclaim(_AllocationCommon):
    """Reclaim (the QMC says "deallocate") one allocation: ``DELETE .../<type>accesstype/{id}``.

    Attributes:
        user_id: the QRS user's GUID (None for a deleted user's quarantined seat).
        allocation_id / modified_date: the allocation as read.
        quarantine: QRS will quarantine the seat for 7 days (used within the last 7 days)
            instead of freeing it now.
        covered_by: declared rules of this type that certainly cover the user.
        needs: for a redundant analyzer seat, the professional allocation in the same plan that
            makes it redundant: this reclaim runs only if that one succeeded.
    """

    action: ClassVar[Action] = Action.RECLAIM

    access_type: AccessType
    user: str
    key: str
    reason: Reason
    allocation_id: str
    user_id: str | None = None
    modified_date: str = ""
    quarantine: bool = False
    last_used: dt.datetime | None = None
    covered_by: tuple[str, ...] = ()
    needs: ChangeId | None = None
    detail: str = ""
    source: Source | None = None

    @property
    def phase(self) -> Phase:  # type: ignore[override]  # a reclaim's phase depends on `needs`
        return Phase.RECLAIM if self.needs is None else Phase.DEPENDENT

    @property
    def depends_on(self) -> ChangeId | None:
        return self.needs


AllocationChange = Allocate | Reinstate | Reclaim


class _RuleCommon(_Common):
    __slots__ = ()
    name: str
    diff: tuple[FieldDiff, ...]

    @property
    def subject(self) -> str:
        return self.name

    def decision(self) -> list[str]:
        written = [f"{d.field}={json.dumps(d.desired)}" for d in self.diff]
        return [self.access_type.value, self.action.value, self.key, self.reason.value, *written]


@dataclass(frozen=True, slots=True)
class CreateRule(_RuleCommon):
    """Create a licence rule: its access group, then the ``License`` system rule naming it.

    A crash between the two leaves a half-created pair, which the next plan completes
    (:class:`CompleteRule`) instead of creating it again.
    """

    action: ClassVar[Action] = Action.CREATE_RULE
    phase: ClassVar[Phase] = Phase.RULES

    access_type: AccessType
    name: str
    key: str
    rule: DesiredRule
    diff: tuple[FieldDiff, ...] = ()
    reason: Reason = Reason.RULE_MISSING
    detail: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class CompleteRule(_RuleCommon):
    """Complete a half-created licence rule instead of creating a duplicate.

    Either the access group exists without its system rule (``group_id`` set: create the system
    rule whose ``resourceFilter`` names that group), or the system rule exists without its group
    (``rule_id`` set: create a group and point the rule at it with a PUT of ``rule_entity``,
    which carries the ``modifiedDate`` it was read with).
    """

    action: ClassVar[Action] = Action.COMPLETE_RULE
    phase: ClassVar[Phase] = Phase.RULES

    access_type: AccessType
    name: str
    key: str
    rule: DesiredRule
    group_id: str | None = None
    rule_id: str | None = None
    rule_entity: Mapping[str, Any] | None = field(default=None, compare=False)
    diff: tuple[FieldDiff, ...] = ()
    reason: Reason = Reason.RULE_HALF_CREATED
    detail: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class UpdateRule(_RuleCommon):
    """Update a licence rule's system rule: a PUT of the entity as read, declared fields changed.

    Attributes:
        rule_entity: the system rule exactly as read (with its ``modifiedDate``: a change since
            the plan gives 409, never a silent overwrite).
        diff: the fields that change, with the site's values (for display) and the declared ones.
    """

    action: ClassVar[Action] = Action.UPDATE_RULE
    phase: ClassVar[Phase] = Phase.RULES

    access_type: AccessType
    name: str
    key: str
    rule: DesiredRule
    rule_id: str
    group_id: str | None
    rule_entity: Mapping[str, Any] = field(compare=False)
    diff: tuple[FieldDiff, ...] = ()
    reason: Reason = Reason.RULE_DRIFT
    detail: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class DeleteRule(_RuleCommon):
    """Delete a licence rule nobody declares: its system rule, then its access group.

    Either half may be missing (a half-created or orphaned rule): what is there is deleted.
    """

    action: ClassVar[Action] = Action.DELETE_RULE
    phase: ClassVar[Phase] = Phase.RULES

    access_type: AccessType
    name: str
    key: str
    rule_id: str | None
    group_id: str | None
    condition: str = ""
    diff: tuple[FieldDiff, ...] = ()
    reason: Reason = Reason.RULE_NOT_DECLARED
    detail: str = ""
    source: Source | None = None


# -- fast constructors, for the thousands of changes of a large plan (see licsync.slots) --

_new = object.__new__
_target_id, _target_directory, _target_userid = slot_setters(
    UserTarget, ("id", "directory", "userid")
)


def new_user_target(id: str, directory: str, userid: str, /) -> UserTarget:
    """``UserTarget(...)`` with every field, faster (see :mod:`licsync.slots`)."""
    target: UserTarget = _new(UserTarget)
    _target_id(target, id)
    _target_directory(target, directory)
    _target_userid(target, userid)
    return target


(
    _allocate_access_type,
    _allocate_user,
    _allocate_key,
    _allocate_target,
    _allocate_reason,
    _allocate_detail,
    _allocate_source,
) = slot_setters(Allocate, ("access_type", "user", "key", "target", "reason", "detail", "source"))


def new_allocate(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    access_type: AccessType,
    user: str,
    key: str,
    target: UserTarget,
    reason: Reason,
    detail: str,
    source: Source | None,
    /,
) -> Allocate:
    """``Allocate(...)`` with every field, faster (see :mod:`licsync.slots`)."""
    change: Allocate = _new(Allocate)
    _allocate_access_type(change, access_type)
    _allocate_user(change, user)
    _allocate_key(change, key)
    _allocate_target(change, target)
    _allocate_reason(change, reason)
    _allocate_detail(change, detail)
    _allocate_source(change, source)
    return change


(
    _reclaim_access_type,
    _reclaim_user,
    _reclaim_key,
    _reclaim_reason,
    _reclaim_allocation_id,
    _reclaim_user_id,
    _reclaim_modified_date,
    _reclaim_quarantine,
    _reclaim_last_used,
    _reclaim_covered_by,
    _reclaim_needs,
    _reclaim_detail,
    _reclaim_source,
) = slot_setters(
    Reclaim,
    (
        "access_type",
        "user",
        "key",
        "reason",
        "allocation_id",
        "user_id",
        "modified_date",
        "quarantine",
        "last_used",
        "covered_by",
        "needs",
        "detail",
        "source",
    ),
)


def new_reclaim(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    access_type: AccessType,
    user: str,
    key: str,
    reason: Reason,
    allocation_id: str,
    user_id: str | None,
    modified_date: str,
    quarantine: bool,
    last_used: dt.datetime | None,
    covered_by: tuple[str, ...],
    needs: ChangeId | None,
    detail: str,
    source: Source | None,
    /,
) -> Reclaim:
    """``Reclaim(...)`` with every field, faster (see :mod:`licsync.slots`)."""
    change: Reclaim = _new(Reclaim)
    _reclaim_access_type(change, access_type)
    _reclaim_user(change, user)
    _reclaim_key(change, key)
    _reclaim_reason(change, reason)
    _reclaim_allocation_id(change, allocation_id)
    _reclaim_user_id(change, user_id)
    _reclaim_modified_date(change, modified_date)
    _reclaim_quarantine(change, quarantine)
    _reclaim_last_used(change, last_used)
    _reclaim_covered_by(change, covered_by)
    _reclaim_needs(change, needs)
    _reclaim_detail(change, detail)
    _reclaim_source(change, source)
    return change


RuleChange = CreateRule | CompleteRule | UpdateRule | DeleteRule
Change = Allocate | Reinstate | Reclaim | CreateRule | CompleteRule | UpdateRule | DeleteRule

PHASES: tuple[Phase, ...] = tuple(Phase)
"""The phases in execution order."""

_RULE_ORDER = {Action.DELETE_RULE: 0, Action.CREATE_RULE: 1, Action.COMPLETE_RULE: 2}


def execution_order(changes: Iterable[Change]) -> tuple[tuple[Change, ...], ...]:
    """The changes grouped into phases, in the order ``apply`` runs them.

    Within the rule phase deletes come first (a rule being replaced goes before its successor
    arrives), then creates, completions and updates. Within a phase the plan's own order is
    kept. A change whose :attr:`depends_on` names a change that is not in ``changes`` is still
    returned: the executor decides, from the results, whether it may run.
    """
    by_phase: dict[Phase, list[Change]] = {phase: [] for phase in PHASES}
    for change in changes:
        by_phase[change.phase].append(change)
    by_phase[Phase.RULES].sort(key=lambda c: _RULE_ORDER.get(c.action, 3))
    return tuple(tuple(by_phase[phase]) for phase in PHASES if by_phase[phase])
