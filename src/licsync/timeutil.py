"""QRS date-times: parsing and formatting in one place.

QRS writes ISO 8601 UTC with milliseconds (``2019-12-19T16:10:20.947Z``). For "never" live
servers send ``1753-01-01T00:00:00.000Z`` (SQL Server's smallest datetime) and Qlik's
documentation shows ``0001-01-01T00:00:00.000Z``; both, and an absent field, read as None.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["format_instant", "format_qrs_datetime", "parse_qrs_datetime", "require_aware"]

_NEVER_YEAR = 1900  # anything before this is QRS's "never" placeholder


def parse_qrs_datetime(text: str | None) -> dt.datetime | None:
    """Parse a QRS date-time into an aware UTC datetime; None for absent or "never".

    Raises:
        ValueError: the text is not an ISO 8601 date-time.
    """
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if value.year < _NEVER_YEAR:
        return None
    return value.astimezone(dt.UTC)


def format_qrs_datetime(value: dt.datetime | None) -> str:
    """Format as QRS does: UTC, milliseconds, ``Z``; None becomes the "never" placeholder."""
    if value is None:
        return "0001-01-01T00:00:00.000Z"
    utc = require_aware(value).astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_instant(value: dt.datetime) -> str:
    """An instant as licsync's output shows it: UTC to the second, ``Z`` (no milliseconds)."""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def require_aware(value: dt.datetime) -> dt.datetime:
    """Return ``value`` if it carries a timezone; naive datetimes are a programming error."""
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"naive datetime {value.isoformat()} where an aware one is required"
        raise ValueError(msg)
    return value
