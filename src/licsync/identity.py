"""Identities every part of licsync shares: the access types, rule contexts, user keys and
where in the YAML a value was written.

User identities are ``DIRECTORY\\userid``. QRS compares them case-insensitively, so every
lookup goes through :func:`user_key`; the spelling from the file is kept for display.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "QUARANTINE",
    "AccessType",
    "RuleContext",
    "Source",
    "split_user",
    "user_key",
]


QUARANTINE = dt.timedelta(days=7)
"""QRS's quarantine (QMC docs: seven days): a seat last used less than this long before it is
deallocated is not freed but quarantined for this long. The planner predicts it, apply reports
it, the simulator does it; all from this one value."""


class AccessType(StrEnum):
    """The two per-user licence types licsync manages."""

    PROFESSIONAL = "professional"
    ANALYZER = "analyzer"

    @property
    def title(self) -> str:  # type: ignore[override]  # str.title would be the same text anyway
        """``Professional`` / ``Analyzer``: the spelling QRS uses in type and resource names."""
        return self.value.capitalize()

    @property
    def order(self) -> int:
        """Professional first: the order plans and reports list the types in."""
        return 0 if self is AccessType.PROFESSIONAL else 1


class RuleContext(StrEnum):
    """Where a licence rule applies; QRS stores it as ``ruleContext`` 0/1/2."""

    BOTH = "both"
    HUB = "hub"
    QMC = "qmc"

    @property
    def qrs_value(self) -> int:
        return _RULE_CONTEXT_TO_QRS[self]

    @classmethod
    def from_qrs(cls, value: int) -> RuleContext:
        for ctx, number in _RULE_CONTEXT_TO_QRS.items():
            if number == value:
                return ctx
        msg = f"unknown ruleContext {value!r}"
        raise ValueError(msg)


_RULE_CONTEXT_TO_QRS = {RuleContext.BOTH: 0, RuleContext.HUB: 1, RuleContext.QMC: 2}


def split_user(text: str) -> tuple[str, str] | None:
    """Split ``DIRECTORY\\userid`` into its parts, or None when malformed.

    The directory is everything before the first backslash; a user id may itself contain
    backslashes. Surrounding whitespace, empty parts and control characters are malformed.
    """
    directory, sep, userid = text.partition("\\")
    if not sep or not directory or not userid:
        return None
    if text != text.strip() or directory != directory.strip() or userid != userid.strip():
        return None
    if len(directory) > 255 or len(userid) > 255:
        return None
    if _CONTROL.search(text):
        return None
    return directory, userid


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def user_key(directory: str, userid: str) -> str:
    """The case-insensitive identity QRS uses for a user: ``directory\\userid`` casefolded."""
    return f"{directory}\\{userid}".casefold()


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """Where in the desired-state files a value was written (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"
