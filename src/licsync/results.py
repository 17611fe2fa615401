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
    """What became of one change: the one vocabulary of the writers, ``apply``'s report, its
    audit log and the renderers. Every value says what the site shows, never what was meant."""

    APPLIED = "applied"
    """The site shows the change (re-read, when the answer was lost)."""
    COMPLETED = "completed"
    """Partly applied, then finished in the same run: the site shows the whole change (e.g. an
    access group whose system rule's first POST failed, the rule created after a re-read)."""
    ALREADY = "already"
    """The site was so already: nothing needed sending."""
    PARTIAL = "partial"
    """Part of the change is on the site, the rest is not: the message says what is left (an
    access group without its system rule, a deleted rule whose access group stays)."""
    FAILED = "failed"
    """Not done: QRS refused it (``status`` and QRS's message are kept), nothing changed."""
    UNKNOWN = "unknown"
    """No answer, and the site could not be re-read: it may have happened."""
    SKIPPED = "skipped"
    """Not sent, and nothing changed: what it depends on did not succeed, or the run was
    interrupted before it started (``apply`` decides this; no write returns it)."""
    NOT_REVIEWED = "not-reviewed"
    """In the fresh plan but not in the reviewed one: not applied."""
    NO_LONGER_NEEDED = "no-longer-needed"
    """Reviewed, but the fresh plan no longer makes it: not sent."""

    @property
    def done(self) -> bool:
        """The site is as the change wanted."""
        return self in _DONE

    @property
    def failed(self) -> bool:
        """The change is not (or may not be) on the site although it was meant to be: exit 1."""
        return self in _FAILED


_DONE = frozenset({Outcome.APPLIED, Outcome.COMPLETED, Outcome.ALREADY})
_FAILED = frozenset({Outcome.PARTIAL, Outcome.FAILED, Outcome.UNKNOWN})


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of writing one change.

    Attributes:
        change: the identity of the change written.
        outcome: what the site shows (see :class:`Outcome`; a writer never returns
            ``skipped``, ``not-reviewed`` or ``no-longer-needed``).
        message: failed: QRS's status and message; partial: what is on the site and what is
            left; unknown: what may have happened; already: why; applied / completed: "" (or
            "dry run", or how a lost answer was settled by re-reading).
        status: the HTTP status when QRS answered with an error (failed, already by 404/400).
        created_id: the new allocation id or system rule id, when QRS said.
        retry_after: seconds QRS asked to wait before trying again (a 429's ``Retry-After``).
        resendable: certainly nothing was written (a read or a selection before the write
            failed) and the failure may pass: ``apply`` may send it again after a re-read.
    """

    change: ChangeId
    outcome: Outcome
    message: str = ""
    status: int | None = None
    created_id: str | None = None
    retry_after: float | None = None
    resendable: bool = False

    @property
    def ok(self) -> bool:
        """True when the site is now as the change wanted (applied or already so)."""
        return self.outcome.done


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request a writer sends (or would send). Never carries an xrfkey or a secret:
    the client adds the xrfkey and the auth headers when it sends."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
