"""Compact JSON text of the values apply writes one line per change (the report's items, the
audit log's records), made without building a dict and encoding it.

Each piece is what ``json.dumps(value, ensure_ascii=False)`` writes for it: strings escaped by
the C function ``json`` itself uses, the enums' texts made once. Ten thousand changes made a
dict each, encoded, and that was most of the time the report and the audit log took.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Final

from licsync.identity import AccessType
from licsync.plan.changes import Action, Change, ChangeId, Reason
from licsync.results import Outcome

__all__ = ["ENUM_TEXT", "change_id_text", "escape", "instant_text", "int_text", "own_id_text"]

escape: Final = encode_basestring
"""A string's JSON text, quotes included."""

int_text: Final = int.__repr__

ENUM_TEXT: Final[dict[StrEnum, str]] = {
    member: escape(member.value)
    for kind in (Action, AccessType, Reason, Outcome)
    for member in kind
}
"""The JSON text of each member of the enums a change and its result hold."""


def change_id_text(change_id: ChangeId) -> str:
    """``json.dumps(change_id.data(), ensure_ascii=False)``."""
    return _id_text(change_id.kind, change_id.access_type, change_id.subject, change_id.reason)


def own_id_text(change: Change) -> str:
    """``change_id_text(change.id)``, from the fields ``Change.id`` is made of: building the
    ``ChangeId`` (a frozen dataclass) cost more than writing its text."""
    return _id_text(change.action, change.access_type, change.key, change.reason)


def _id_text(kind: Action, access_type: AccessType, subject: str, reason: Reason) -> str:
    return (
        f'{{"kind": {ENUM_TEXT[kind]}, "access_type": {ENUM_TEXT[access_type]}, '
        f'"subject": {escape(subject)}, "reason": {ENUM_TEXT[reason]}}}'
    )


def instant_text(value: dt.datetime) -> str:
    """``escape(instant(value))`` (:func:`licsync.render.data.instant`: UTC to the second, ``Z``).

    isoformat's own truncation to the second, not ``replace(microsecond=0)`` first, and no
    escaping: digits, '-', ':', 'T' and 'Z' are nothing json escapes.
    """
    return f'"{value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}"'
