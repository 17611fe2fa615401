"""Desired state: what the YAML in ``licenses/`` declares, as frozen values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from licsync.identity import AccessType, RuleContext, Source
from licsync.policy import Policy
from licsync.site import Site

__all__ = [
    "Desired",
    "DesiredAllocation",
    "DesiredRule",
    "DesiredType",
]


@dataclass(frozen=True, slots=True)
class DesiredAllocation:
    """An explicit allocation declared in YAML.

    Attributes:
        user: ``DIRECTORY\\userid`` as spelled in the file.
        key: :func:`user_key` of it.
        until: reclaim after this date (the allocation is kept through that day).
    """

    user: str
    key: str
    note: str = ""
    ticket: str = ""
    until: dt.date | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class DesiredRule:
    """A licence access rule declared in YAML (a QRS access group plus its system rule).

    Attributes:
        name: unique per access type; QRS group and system rule both carry it.
        condition: Qlik rule syntax, e.g. ``user.group = "Sales"``.
        condition_source: where the condition text starts, for syntax errors.
    """

    name: str
    condition: str
    context: RuleContext = RuleContext.HUB
    disabled: bool = False
    comment: str = ""
    source: Source | None = None
    condition_source: Source | None = None


@dataclass(frozen=True, slots=True)
class DesiredType:
    """Everything declared for one access type."""

    allocations: tuple[DesiredAllocation, ...] = ()
    rules: tuple[DesiredRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Desired:
    """A site's whole desired state, merged from every file under its directory.

    Attributes:
        root: the directory the files were read from (relative paths in policy resolve here).
        files: the files merged, sorted.
    """

    site: Site
    types: Mapping[AccessType, DesiredType]
    policy: Policy
    root: str = "."
    files: tuple[str, ...] = ()

    def of(self, access_type: AccessType) -> DesiredType:
        return self.types.get(access_type, DesiredType())
