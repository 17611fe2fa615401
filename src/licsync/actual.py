"""Actual state: what the Qlik Repository Service holds, as frozen values.

Built by :mod:`licsync.qrs` from QRS JSON; consumed by the signals and the planner, which never
see JSON or HTTP. Keys are :func:`licsync.identity.user_key` strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from licsync.identity import AccessType, RuleContext, user_key
from licsync.slots import slot_setters

__all__ = [
    "Actual",
    "ActualAllocation",
    "ActualRule",
    "ActualUser",
    "Capacity",
    "Licence",
    "LicenceKind",
    "UnreadableRow",
    "new_actual_allocation",
    "new_actual_user",
]


@dataclass(frozen=True, slots=True)
class ActualUser:
    """A QRS user (``/qrs/user/full``).

    Attributes:
        id: QRS GUID.
        attributes: directory attributes by ``attributeType`` casefolded (``group``, ``email``,
            ...), each with every value the user has, in QRS order.
        custom_properties: custom property values by definition name casefolded.
        blocked: QRS ``blacklisted`` (shown as "Blocked" in the QMC).
    """

    id: str
    directory: str
    userid: str
    name: str = ""
    inactive: bool = False
    removed_externally: bool = False
    blocked: bool = False
    roles: tuple[str, ...] = ()
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom_properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    created: dt.datetime | None = None

    @property
    def key(self) -> str:
        return user_key(self.directory, self.userid)

    @property
    def display(self) -> str:
        return f"{self.directory}\\{self.userid}"

    @property
    def groups(self) -> tuple[str, ...]:
        """Directory groups: the ``group`` attribute values (QRS ``attributeType`` "Group")."""
        return self.attributes.get("group", ())


@dataclass(frozen=True, slots=True)
class ActualAllocation:
    """A Professional or Analyzer allocation (``/qrs/license/<type>accesstype/full``).

    Attributes:
        user_id: QRS GUID of the user; None when the user was deleted while quarantined.
        directory, userid: from the embedded user, or ``deletedUser*`` for a deleted user.
        last_used: None when never used (QRS writes ``0001-01-01T00:00:00Z`` or omits it).
        modified_date: the ``modifiedDate`` string exactly as read (sent back on PUT).
    """

    id: str
    access_type: AccessType
    user_id: str | None
    directory: str
    userid: str
    last_used: dt.datetime | None = None
    created: dt.datetime | None = None
    quarantined: bool = False
    quarantine_end: dt.datetime | None = None
    excess: bool = False
    modified_date: str = ""

    @property
    def key(self) -> str:
        return user_key(self.directory, self.userid)

    @property
    def display(self) -> str:
        return f"{self.directory}\\{self.userid}"


# -- fast constructors, for reading a large site (see licsync.slots) ---------------------------


_new = object.__new__
(
    _user_id,
    _user_directory,
    _user_userid,
    _user_name,
    _user_inactive,
    _user_removed_externally,
    _user_blocked,
    _user_roles,
    _user_attributes,
    _user_custom_properties,
    _user_tags,
    _user_created,
) = slot_setters(
    ActualUser,
    (
        "id",
        "directory",
        "userid",
        "name",
        "inactive",
        "removed_externally",
        "blocked",
        "roles",
        "attributes",
        "custom_properties",
        "tags",
        "created",
    ),
)


def new_actual_user(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    id: str,
    directory: str,
    userid: str,
    name: str,
    inactive: bool,
    removed_externally: bool,
    blocked: bool,
    roles: tuple[str, ...],
    attributes: Mapping[str, tuple[str, ...]],
    custom_properties: Mapping[str, tuple[str, ...]],
    tags: tuple[str, ...],
    created: dt.datetime | None,
    /,
) -> ActualUser:
    """``ActualUser(...)`` with every field, in half the time (see above)."""
    user: ActualUser = _new(ActualUser)
    _user_id(user, id)
    _user_directory(user, directory)
    _user_userid(user, userid)
    _user_name(user, name)
    _user_inactive(user, inactive)
    _user_removed_externally(user, removed_externally)
    _user_blocked(user, blocked)
    _user_roles(user, roles)
    _user_attributes(user, attributes)
    _user_custom_properties(user, custom_properties)
    _user_tags(user, tags)
    _user_created(user, created)
    return user


(
    _seat_id,
    _seat_access_type,
    _seat_user_id,
    _seat_directory,
    _seat_userid,
    _seat_last_used,
    _seat_created,
    _seat_quarantined,
    _seat_quarantine_end,
    _seat_excess,
    _seat_modified_date,
) = slot_setters(
    ActualAllocation,
    (
        "id",
        "access_type",
        "user_id",
        "directory",
        "userid",
        "last_used",
        "created",
        "quarantined",
        "quarantine_end",
        "excess",
        "modified_date",
    ),
)


def new_actual_allocation(  # noqa: PLR0917  (the fields, positionally: the point is speed)
    id: str,
    access_type: AccessType,
    user_id: str | None,
    directory: str,
    userid: str,
    last_used: dt.datetime | None,
    created: dt.datetime | None,
    quarantined: bool,
    quarantine_end: dt.datetime | None,
    excess: bool,
    modified_date: str,
    /,
) -> ActualAllocation:
    """``ActualAllocation(...)`` with every field, in half the time (see above)."""
    seat: ActualAllocation = _new(ActualAllocation)
    _seat_id(seat, id)
    _seat_access_type(seat, access_type)
    _seat_user_id(seat, user_id)
    _seat_directory(seat, directory)
    _seat_userid(seat, userid)
    _seat_last_used(seat, last_used)
    _seat_created(seat, created)
    _seat_quarantined(seat, quarantined)
    _seat_quarantine_end(seat, quarantine_end)
    _seat_excess(seat, excess)
    _seat_modified_date(seat, modified_date)
    return seat


@dataclass(frozen=True, slots=True)
class ActualRule:
    """A licence rule as QRS holds it: an access group paired with its ``License`` system rule.

    Either half may be missing: a group without a rule is a half-created rule (creation failed
    between the two POSTs); a rule whose ``resourceFilter`` names no existing group is orphaned.

    Attributes:
        rule_id / group_id: GUIDs of the two halves (None when absent).
        name: the system rule's name, or the group's when there is no rule.
        rule_entity: the system rule exactly as read, for PUT with ``modifiedDate``.
    """

    access_type: AccessType
    name: str
    condition: str
    context: RuleContext
    disabled: bool
    comment: str
    rule_id: str | None
    group_id: str | None
    actions: int = 1
    rule_entity: Mapping[str, Any] | None = None

    @property
    def half_created(self) -> bool:
        return self.rule_id is None or self.group_id is None


@dataclass(frozen=True, slots=True)
class Capacity:
    """One access type's numbers from ``/qrs/license/accesstypeoverview``."""

    enabled: bool
    total: int
    allocated: int
    used: int
    quarantined: int
    excess: int
    available: int


class LicenceKind(StrEnum):
    """How the site is licensed (``GET /qrs/license``)."""

    SERIAL = "serial"
    """A serial and control number (``serial``, ``check``): QRS quarantines a reclaimed seat
    used in the last seven days (help.qlik.com, "Professional access allocations")."""
    KEY = "key"
    """A signed licence key (``key``, ``keyDetails``): seats are released at once; the
    entitlement may be shared with Qlik Cloud tenants."""
    UNKNOWN = "unknown"
    """``/qrs/license`` could not be read or names neither: quarantine is assumed (a seat is
    never counted free that might not be)."""

    @property
    def words(self) -> str:
        return _LICENCE_WORDS[self]


_LICENCE_WORDS = {
    LicenceKind.SERIAL: "serial and control number",
    LicenceKind.KEY: "signed licence key",
    LicenceKind.UNKNOWN: "licence kind unknown",
}


@dataclass(frozen=True, slots=True)
class Licence:
    """The site's licence, as far as licsync needs it (never its serial, control number or key).

    Attributes:
        kind: see :class:`LicenceKind`.
        expired: ``isExpired``: QRS refuses to add any access (``400 <BrokenRules>``).
        expired_reason: ``expiredReason`` as QRS words it.
        subscription: ``isSubscription``.
    """

    kind: LicenceKind = LicenceKind.UNKNOWN
    expired: bool = False
    expired_reason: str = ""
    subscription: bool = False

    @property
    def quarantines(self) -> bool:
        """Whether a reclaimed, recently used seat goes into quarantine (and keeps counting)."""
        return self.kind is not LicenceKind.KEY


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """An allocation QRS listed that licsync cannot read: never reclaimed, never counted free.

    Attributes:
        index: its place in QRS's answer.
        id: its ``id``, when that much could be read.
        why: what is wrong with it (the field and what it holds, never the value).
    """

    access_type: AccessType
    index: int
    id: str | None
    why: str


@dataclass(frozen=True, slots=True)
class Actual:
    """The site's whole actual state, read in a constant number of requests.

    Attributes:
        users: by :func:`user_key`.
        allocations: per access type, in QRS order.
        rules: per access type.
        capacity: per access type.
        build_version: ``/qrs/about`` ``buildVersion``.
        licence: ``/qrs/license``: its kind and whether it expired.
        unreadable: allocations QRS listed that licsync cannot read.
    """

    users: Mapping[str, ActualUser]
    allocations: Mapping[AccessType, tuple[ActualAllocation, ...]]
    rules: Mapping[AccessType, tuple[ActualRule, ...]]
    capacity: Mapping[AccessType, Capacity]
    build_version: str = ""
    licence: Licence = Licence()
    unreadable: tuple[UnreadableRow, ...] = ()

    def unreadable_of(self, access_type: AccessType) -> tuple[UnreadableRow, ...]:
        return tuple(r for r in self.unreadable if r.access_type is access_type)

    def allocations_of(self, access_type: AccessType) -> tuple[ActualAllocation, ...]:
        return self.allocations.get(access_type, ())

    def rules_of(self, access_type: AccessType) -> tuple[ActualRule, ...]:
        return self.rules.get(access_type, ())
