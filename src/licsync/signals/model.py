"""The signals' value types: what the readers produce and the pure planner consumes.

No I/O here (the readers are :mod:`licsync.signals.denials` and
:mod:`licsync.signals.licenselog`), so the planner can import these without pulling in file
reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from licsync.policy import DenialSourceKind

__all__ = ["Denial", "DenialReport", "Signals", "SourceReport"]


@dataclass(frozen=True, slots=True)
class Denial:
    """One user denied access, all sources merged.

    Attributes:
        user: ``DIRECTORY\\userid`` as first seen (files are read oldest first).
        key: :func:`licsync.identity.user_key` of it.
        user_id: the QRS user GUID of the latest denial that names one (logs only).
        count: denials at or after ``since``.
        first, last: earliest and latest of them, in UTC; None only for CSV rows without times.
    """

    user: str
    key: str
    user_id: str | None
    count: int
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one configured source held.

    Attributes:
        path: the source path as configured.
        kind: ``logs`` or ``csv``.
        files: files read. A file named by two sources counts for both, but its denials are
            counted once (for the first).
        rows: data rows in them, any operation.
        skipped: malformed lines or rows met (see :class:`licsync.signals.licenselog.LogScan`).
        duplicates: denials ignored because a row with the same ``Id`` was already counted.
        newest_entry: UTC time of the newest row of any operation, to judge whether log
            collection is running; for CSV the newest time in the export; None when unknown.
    """

    path: str
    kind: DenialSourceKind
    files: int
    rows: int
    skipped: int = 0
    duplicates: int = 0
    newest_entry: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DenialReport:
    """Users denied access since ``since``, from every configured source.

    Attributes:
        denials: one per user, sorted by key.
        excluded: service account (first-seen spelling) -> its loopback denials left out.
        sources: one report per configured source, in configuration order.
    """

    since: dt.datetime
    denials: tuple[Denial, ...] = ()
    excluded: Mapping[str, int] = field(default_factory=dict)
    sources: tuple[SourceReport, ...] = ()


@dataclass(frozen=True, slots=True)
class Signals:
    """Signal sources' data for one plan.

    Attributes:
        denials: users denied access and the freshness of each source; None when the policy
            names no denial source.
    """

    denials: DenialReport | None = None
