"""The write contract's values: what one write sends (:class:`Request`) and what became of one
change (:class:`WriteResult`, :class:`Outcome`). Pure values, shared by the writers
(:mod:`licsync.apply.writer`), ``apply`` and the renderers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from licsync.plan.changes import ChangeId

__all__ = ["Outcome", "Request", "WriteResult"]


class Outcome(StrEnum):
    """What became of one change."""

    APPLIED = "applied"
    ALREADY = "already"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    """Not sent, and nothing changed: what it depends on did not succeed, or the run was
    interrupted before it started (``apply`` decides this; no write returns it)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of writing one change.

    Attributes:
        change: the identity of the change written.
        outcome: applied / already / failed / unknown.
        message: failed: QRS's status and message; unknown: what may have happened; already:
            why; applied: "" (or "dry run", or what a multi-step write did).
        status: the HTTP status when QRS answered with an error (failed, already by 404/400).
        created_id: the new allocation id or system rule id, when QRS said.
        retry_after: seconds QRS asked to wait before trying again (a 429's ``Retry-After``).
    """

    change: ChangeId
    outcome: Outcome
    message: str = ""
    status: int | None = None
    created_id: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True when the site is now as the change wanted (applied or already so)."""
        return self.outcome in (Outcome.APPLIED, Outcome.ALREADY)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request a writer sends (or would send). Never carries an xrfkey or a secret:
    the client adds the xrfkey and the auth headers when it sends."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
