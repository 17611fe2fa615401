"""What an ``apply`` run did: one :class:`Item` per change, and the run's totals. Pure values,
so that renderers can show them without importing anything that talks to QRS."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from licsync.identity import AccessType
from licsync.plan import Plan
from licsync.plan.changes import Change, ChangeId
from licsync.results import Outcome, Request

__all__ = ["ApplyResult", "Approval", "Item"]


@dataclass(frozen=True, slots=True)
class Approval:
    """What approved the run: a reviewed plan file, a checksum, or ``--auto-approve``.

    Attributes:
        mode: ``plan`` | ``checksum`` | ``auto``.
        checksum: the approved checksum (plan and checksum modes).
        plan_file: the reviewed plan's path (plan mode).
        force_reason: the ``--reason`` given with ``--force`` (a safety block overridden).
    """

    mode: str
    checksum: str | None = None
    plan_file: str | None = None
    force_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the report.

    Attributes:
        id: the change's identity.
        status: what became of it (the writers' own :class:`~licsync.results.Outcome`).
        message: why (QRS's message for a failure, what settled an uncertain one, ...).
        status_code: QRS's HTTP status, when it answered with an error.
        change: the change as planned (None for a reviewed decision no longer needed).
        quarantine_until: a reclaimed seat QRS keeps in quarantine until then.
        attempts: how many times it was sent (0: never).
    """

    id: ChangeId
    status: Outcome
    message: str = ""
    status_code: int | None = None
    change: Change | None = None
    quarantine_until: dt.datetime | None = None
    attempts: int = 0

    @property
    def access_type(self) -> AccessType:
        return self.id.access_type

    @property
    def subject(self) -> str:
        return self.change.subject if self.change is not None else self.id.subject


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What a run did.

    Attributes:
        site: the site.
        fresh: the plan the run started from.
        items: every approved change, then the ones not reviewed, then reviewed decisions no
            longer needed.
        after: the plan right after applying (None for a dry run or an interrupted run).
        requests: a dry run's requests, in order (empty otherwise).
        interrupted: Ctrl-C stopped the run before every change was started.
        seconds: wall time of the run, reading included.
        qrs_requests: QRS requests the run made, reads included.
        forced: a safety block was overridden.
        replan_error: why the re-plan after applying failed ("" when it did not).
        audit_error: why the audit log could not be written ("" when it could): the run sent
            nothing after that, and it fails.
        exit_code: for an interrupted run, the exit code of the signal that stopped it (128 +
            its number); None: 130.
    """

    site: str
    fresh: Plan
    items: tuple[Item, ...]
    after: Plan | None
    requests: tuple[Request, ...] = ()
    dry_run: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    qrs_requests: int = 0
    forced: bool = False
    approval: Approval = field(default_factory=lambda: Approval("auto"))
    replan_error: str = ""
    audit_error: str = ""
    exit_code: int | None = None

    @property
    def failed(self) -> bool:
        """True when an item failed, is partly done or may not have happened, or the audit log
        could not be written (exit 1)."""
        return bool(self.audit_error) or any(i.status.failed for i in self.items)

    @property
    def not_reviewed(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.status is Outcome.NOT_REVIEWED)

    def counts(self) -> dict[AccessType, Counter[Outcome]]:
        """Items per access type and status."""
        result: dict[AccessType, Counter[Outcome]] = {t: Counter() for t in AccessType}
        for item in self.items:
            result[item.access_type][item.status] += 1
        return result
