"""Where a rule's ``user.<...>`` property paths find their values on an :class:`ActualUser`.

Mapping (property names compared case-insensitively, as the QMC spells them both ways):

=====================  ===============================================
``user.name``          ``ActualUser.name`` (one value)
``user.userId``        ``ActualUser.userid`` (one value)
``user.userDirectory`` ``ActualUser.directory`` (one value)
``user.roles``         ``ActualUser.roles``
``user.group``         ``attributes["group"]``
``user.email``         ``attributes["email"]``
``user.@X``            ``custom_properties[x.casefold()]``
``user.X`` (any other) ``attributes[x.casefold()]`` (attributes delivered by the UDC)
=====================  ===============================================

Anything else cannot be known before the user logs in and resolves to ``None``:
``user.environment.*`` (browser, device, IP, context of the request), deeper paths such as
``user.X.Y``, every ``resource.*`` property, and objects other than ``user``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from licsync.actual import ActualUser

__all__ = [
    "Source",
    "SourceKind",
    "multi_values",
    "resolve",
    "scalar_values",
    "values_getter",
    "values_of",
]


class SourceKind(enum.Enum):
    """Which part of :class:`ActualUser` holds a property's values."""

    NAME = "name"
    USERID = "userid"
    DIRECTORY = "directory"
    ROLES = "roles"
    ATTRIBUTE = "attribute"
    CUSTOM = "custom"


_SINGLE_VALUED = frozenset({SourceKind.NAME, SourceKind.USERID, SourceKind.DIRECTORY})

_FIXED: dict[str, tuple[SourceKind, str]] = {
    "name": (SourceKind.NAME, ""),
    "userid": (SourceKind.USERID, ""),
    "userdirectory": (SourceKind.DIRECTORY, ""),
    "roles": (SourceKind.ROLES, ""),
    "group": (SourceKind.ATTRIBUTE, "group"),
    "email": (SourceKind.ATTRIBUTE, "email"),
}


@dataclass(frozen=True, slots=True)
class Source:
    """A knowable user property: its kind and, for attributes and custom properties, its key.

    Attributes:
        kind: which part of the user holds the values.
        key: casefolded attribute type or custom property name; "" for the fixed fields.
    """

    kind: SourceKind
    key: str = ""

    @property
    def multi_valued(self) -> bool:
        """Whether a user can hold several values (roles, attributes, custom properties)."""
        return self.kind not in _SINGLE_VALUED


def resolve(path: tuple[str, ...]) -> Source | None:
    """The source of a property path such as ``("user", "@Dept")``; None when unknowable."""
    if len(path) != 2 or path[0].casefold() != "user":
        return None
    name = path[1]
    if name.startswith("@"):
        return Source(SourceKind.CUSTOM, name[1:].casefold())
    folded = name.casefold()
    if folded == "environment":
        return None
    kind, key = _FIXED.get(folded, (SourceKind.ATTRIBUTE, folded))
    return Source(kind, key)


def values_getter(source: Source) -> Callable[[ActualUser], tuple[str, ...]]:
    """A function returning a user's values of ``source``, for tight loops over many users."""
    kind, key = source.kind, source.key
    if kind is SourceKind.NAME:
        return lambda user: (user.name,)
    if kind is SourceKind.USERID:
        return lambda user: (user.userid,)
    if kind is SourceKind.DIRECTORY:
        return lambda user: (user.directory,)
    if kind is SourceKind.ROLES:
        return lambda user: user.roles
    if kind is SourceKind.ATTRIBUTE:
        return lambda user: user.attributes.get(key, ())
    return lambda user: user.custom_properties.get(key, ())


def scalar_values(source: Source, users: Sequence[ActualUser]) -> list[str]:
    """The one value of a single-valued ``source`` for each of ``users``, in order."""
    if source.kind is SourceKind.NAME:
        return [user.name for user in users]
    if source.kind is SourceKind.USERID:
        return [user.userid for user in users]
    if source.kind is SourceKind.DIRECTORY:
        return [user.directory for user in users]
    raise ValueError(f"{source} is multi-valued")


def multi_values(source: Source, users: Sequence[ActualUser]) -> list[tuple[str, ...]]:
    """Every value of a multi-valued ``source`` for each of ``users``, in order."""
    key = source.key
    if source.kind is SourceKind.ROLES:
        return [user.roles for user in users]
    if source.kind is SourceKind.ATTRIBUTE:
        return [user.attributes.get(key, ()) for user in users]
    if source.kind is SourceKind.CUSTOM:
        return [user.custom_properties.get(key, ()) for user in users]
    raise ValueError(f"{source} is single-valued")


def values_of(source: Source, user: ActualUser) -> tuple[str, ...]:
    """Every value ``user`` has for ``source`` (empty when the user lacks the property)."""
    return values_getter(source)(user)
