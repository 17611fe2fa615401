"""One ``apply`` run: choose the approved changes of a fresh plan, execute them, settle what is
uncertain, and re-plan to show what remains.

1. **Plan afresh.** The site is read again; what gets applied is always a subset of this fresh
   plan, never a stale file's idea of the site.
2. **Approval.** ``auto``: the fresh plan. ``checksum``: the fresh plan, only if its checksum is
   the approved one (else :class:`~licsync.errors.ApplyRefused`). ``plan``: the reviewed file's
   decisions that the fresh plan still makes (:func:`~licsync.apply.reviewed.match`); reviewed
   decisions no longer needed are reported, fresh ones nobody reviewed are not applied.
3. **Safety.** A plan blocked by a safety cap, fresh or as reviewed, is refused unless forced
   with a reason (which the audit log keeps).
4. **Execute** (:func:`~licsync.apply.execute.execute`): phase by phase, concurrently, with
   allocations checked against the capacity read just before the grant phase.
5. **Settle.** A write that got no answer, a 5xx, a 409 (stale ``modifiedDate``) or a 429 is
   never blindly resent: the site is re-read and re-planned; a change the fresh plan no
   longer makes happened (or is so already), one it still makes is sent once more, built from
   what was just read; what that sent is settled the same way once more. Changes skipped
   because their dependency was uncertain get the same second chance.
6. **Re-plan** to report what is left (nothing, or e.g. seats in quarantine).

The run never stops at one failed item; every change ends with one :class:`Item`.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from licsync.actual import Capacity, Licence
from licsync.apply.audit import AuditLog
from licsync.apply.execute import INTERRUPTED, NOT_ATTEMPTED, execute
from licsync.apply.report import ApplyResult, Approval, Item
from licsync.apply.reviewed import ReviewedPlan, match
from licsync.apply.unneeded import why_not_needed
from licsync.apply.writer import Outcome, QrsWriter, RecordingWriter, Writer, WriteResult
from licsync.errors import ApplyRefused, QrsError, UsageError
from licsync.identity import QUARANTINE, AccessType
from licsync.plan import Plan
from licsync.plan.changes import (
    Allocate,
    Change,
    ChangeId,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Phase,
    Reclaim,
    Reinstate,
    UpdateRule,
)
from licsync.qrs import paths
from licsync.qrs import retry as retries
from licsync.qrs.parse import parse_capacity
from licsync.qrs.retry import RetryPolicy
from licsync.session import PlanRun, Session
from licsync.textsafe import escape_text

__all__ = ["ApplyOptions", "apply_changes"]

_SETTLE_STATUSES = frozenset({409, 429})
_SETTLE_ROUNDS = 2
"""Re-reads after the first pass: what the first re-read sent again and still did not get
done is looked at once more (under a flaky network a change meets two faults in a row)."""


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How to apply.

    Attributes:
        approval: what approved the run (mode, checksum, plan file, ``--force`` reason).
        reviewed: the reviewed plan (``plan`` mode).
        dry_run: list the requests, send none.
        concurrency: batches in flight at once.

    A plan blocked by safety is applied only when ``approval.force_reason`` says why
    (``--force --reason``).
    """

    approval: Approval
    reviewed: ReviewedPlan | None = None
    dry_run: bool = False
    concurrency: int = 8


OnItem = Callable[[Change, WriteResult], None]


def apply_changes(
    session: Session,
    options: ApplyOptions,
    *,
    audit: AuditLog | None = None,
    actor: Mapping[str, str] | None = None,
    on_result: OnItem | None = None,
    on_start: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    abort: threading.Event | None = None,
) -> ApplyResult:
    """Apply the approved changes of a fresh plan of ``session``'s site (see the module doc).

    Args:
        session: an open session (writable unless ``options.dry_run``).
        options: approval and execution settings.
        audit: where every attempt is recorded (None: no audit log, e.g. a dry run).
        actor: who applies (written to the audit log's start record).
        on_result: called once per attempt as its result is known (progress).
        on_start: called with the number of changes about to be executed.
        stop: set by the first Ctrl-C: nothing new starts (what is in flight finishes).
        abort: set by a second Ctrl-C, SIGTERM, SIGHUP or Ctrl-Break: changes in flight are
            recorded ``unknown`` and not waited for; the run still reports and audits.

    A write to the audit log that fails stops the run as ``stop`` does (nothing more is
    sent); the result's ``audit_error`` says why, and the run fails.

    Raises:
        ApplyRefused: blocked by safety without ``force``, or not the approved checksum.
        UsageError: the reviewed plan is for another site.
        QrsError: the site cannot be read (before anything was written).
        KeyboardInterrupt: a second Ctrl-C (in-flight changes were recorded as unknown).
    """
    started = time.perf_counter()
    requests_before = session.requests
    stop = stop or threading.Event()
    abort = abort or threading.Event()
    run = session.plan()
    fresh = run.plan
    approved, not_reviewed, no_longer = _select(fresh, options)
    forced = _check_safety(fresh, options)

    recorder = RecordingWriter() if options.dry_run else None
    writer: Writer = recorder if recorder is not None else QrsWriter(session.client)
    attempts: Counter[ChangeId] = Counter()
    gate = (
        None if options.dry_run else _CapacityGate(session, run.actual.licence, run.actual.capacity)
    )

    def record(change: Change, result: WriteResult) -> None:
        # Once per result, on the thread that also feeds the workers: the change's id (a new
        # ChangeId each time it is asked for) is built once, and the gate's refusals (failed
        # without a request: not an attempt) are looked in only when there are any.
        change_id = change.id
        if result.outcome is not Outcome.SKIPPED and not (
            gate is not None and gate.refused and change_id in gate.refused
        ):
            attempts[change_id] += 1
        if audit is not None:
            audit.change(change, result, flush=False)  # flushed by each batch's on_recorded
        if on_result is not None:
            on_result(change, result)

    flush = audit.flush if audit is not None else None
    if audit is not None:
        audit.on_failure = stop.set  # the record cannot be kept: nothing more is sent
        audit.start(
            options.approval, actor=actor or {}, changes=len(approved), dry_run=options.dry_run
        )
    if on_start is not None:
        on_start(len(approved))
    send = functools.partial(
        execute,
        writer=writer,
        on_result=record,
        concurrency=options.concurrency,
        gate=gate,
        stop=stop,
        on_recorded=flush,
        abort=abort,
        stop_reason=functools.partial(_stop_reason, audit),
        overlap=gate.grants_need_no_reclaims if gate is not None else None,
    )
    final: dict[ChangeId, WriteResult] = {}
    settled_plan: PlanRun | None = None
    try:
        final.update((r.change, r) for r in send(approved))
        for _ in range(_SETTLE_ROUNDS):
            if options.dry_run or stop.is_set():
                break
            settled = _settle(session, run, approved, final, send=send, record=record, flush=flush)
            final.update(settled.results)
            settled_plan = settled.plan
            for successor, original in settled.successors.items():
                attempts[original] += attempts.pop(successor, 0)
            if settled.plan is not None or not settled.results:
                break  # nothing was sent again (or nothing could be read): nothing to settle
    except BaseException as exc:
        # Whatever ends the run, the audit log says it ended, and how.
        if audit is not None:
            audit.end(interrupted=isinstance(exc, KeyboardInterrupt), remaining=None)
        raise
    interrupted = stop.is_set() and not (audit is not None and audit.error)
    # After an interrupt that let the changes in flight finish, the site is still read once
    # more, so that the report says what is left; an abort does not wait for that.
    skip = options.dry_run or abort.is_set()
    after, after_error = (None, "") if skip else _replan(session, run, settled_plan)
    if audit is not None:
        audit.end(
            interrupted=interrupted, remaining=len(after.changes) if after is not None else None
        )
    items = _items(approved, final, attempts, quarantined=run.now + QUARANTINE)
    return ApplyResult(
        site=fresh.site,
        fresh=fresh,
        items=(*items, *_unapplied(not_reviewed, no_longer, session, run)),
        after=after,
        requests=tuple(recorder.requests) if recorder is not None else (),
        dry_run=options.dry_run,
        interrupted=interrupted,
        seconds=time.perf_counter() - started,
        qrs_requests=session.requests - requests_before,
        forced=forced,
        approval=options.approval,
        replan_error=after_error,
        audit_error=audit.error or "" if audit is not None else "",
    )


def _stop_reason(audit: AuditLog | None) -> str:
    if audit is not None and audit.error is not None:
        return f"not started: {audit.error}"
    return f"{INTERRUPTED}: not started"


def _replan(session: Session, first: PlanRun, settled: PlanRun | None) -> tuple[Plan | None, str]:
    if settled is not None:  # the settle's own re-read, and nothing was written since
        return settled.plan, ""
    try:
        return session.plan(reusing=first).plan, ""
    except QrsError as exc:  # what was done stands; only the look afterwards failed
        return None, str(exc)


def _unapplied(
    not_reviewed: Sequence[Change],
    no_longer: Sequence[ChangeId],
    session: Session,
    run: PlanRun,
) -> list[Item]:
    items = [
        Item(c.id, Outcome.NOT_REVIEWED, "new since the review: not applied", change=c)
        for c in not_reviewed
    ]
    # The real reason each reviewed change is not needed: which input changed since.
    why = why_not_needed(no_longer, run.plan, session.desired, run.actual, run.now)
    items.extend(Item(i, Outcome.NO_LONGER_NEEDED, why[i]) for i in no_longer)
    return items


# -- approval and safety -----------------------------------------------------------------------


def _select(
    fresh: Plan, options: ApplyOptions
) -> tuple[tuple[Change, ...], tuple[Change, ...], tuple[ChangeId, ...]]:
    """(approved, not reviewed, reviewed but no longer needed)."""
    approval = options.approval
    if approval.mode == "checksum":
        if fresh.checksum != approval.checksum:
            raise ApplyRefused(_checksum_difference(fresh, approval.checksum or ""))
        return fresh.changes, (), ()
    if approval.mode == "plan":
        reviewed = options.reviewed
        if reviewed is None:  # the CLI always loads it; a caller that did not is wrong
            msg = "plan approval needs the reviewed plan"
            raise ValueError(msg)
        if reviewed.site != fresh.site:
            raise UsageError(
                f"{reviewed.path}: the plan is for site {reviewed.site!r}, not {fresh.site!r}"
            )
        matched = match(reviewed, fresh)
        return matched.approved, matched.not_reviewed, matched.no_longer_needed
    return fresh.changes, (), ()


def _checksum_difference(fresh: Plan, approved: str) -> str:
    lines = [
        f"the site's plan now has checksum {fresh.checksum}, not the approved {approved}: "
        "the site or the desired state changed since the review; nothing was written.",
        f"The plan now makes {len(fresh.changes)} changes:",
    ]
    shown = 20
    lines.extend(
        f"  {c.action.symbol} {c.access_type.value} {c.action.value} {escape_text(c.subject)} "
        f"({c.reason.label})"
        for c in fresh.changes[:shown]
    )
    if len(fresh.changes) > shown:
        lines.append(f"  ... and {len(fresh.changes) - shown} more (licsync plan shows them all)")
    lines.append("Plan again, have the new plan reviewed, and apply its checksum.")
    return "\n".join(lines)


def _check_safety(fresh: Plan, options: ApplyOptions) -> bool:
    """True when a block is overridden; raises when it is not."""
    reviewed_blocked = options.reviewed is not None and options.reviewed.blocked
    if not fresh.safety.blocked and not reviewed_blocked:
        return False
    if options.approval.force_reason:
        return True
    reasons = (
        "; ".join(r.message for r in fresh.safety.reasons)
        or "the reviewed plan was blocked by safety checks"
    )
    raise ApplyRefused(
        f"the plan is blocked by safety checks ({reasons}); nothing was written. If this is "
        'really wanted, apply with --force --reason "why" (the reason goes into the audit log)'
    )


# -- capacity before the grant phase ---------------------------------------------------------


class _CapacityGate:
    """Before allocating, read how many seats are free; an allocation beyond them fails
    without a request. Reinstatements take back a seat that is still counted: gated only by
    an expired licence, which fails every allocation and reinstatement without a request.

    The licence is the one the fresh plan read a moment before (the seats must be read again
    after the reclaims, the licence need not: one request less on the way to the grants). A
    licence that expires in between meets QRS's refusal, which the writer settles.

    Nor are the seats read again when the fresh plan's numbers already leave room for every
    allocation of the first grant phase: until then this run has only reclaimed (which frees
    seats or leaves them counted, never takes one) and changed rules (which allocate when a
    user logs in, not now). Someone else taking seats meanwhile meets QRS's refusal, as after
    a read. A second grant phase (the settling's) always reads: the first one took seats.
    """

    def __init__(
        self, session: Session, licence: Licence, capacity: Mapping[AccessType, Capacity]
    ) -> None:
        self._session = session
        self._licence = licence
        self._planned: Mapping[AccessType, Capacity] | None = capacity
        self.refused: set[ChangeId] = set()

    def grants_need_no_reclaims(self, changes: Sequence[Change]) -> bool:
        """Whether the first grant phase may start while the reclaims are still running: the
        fresh plan's numbers leave a seat for every allocation (a reinstatement takes back a seat
        still counted), so the grants need none the reclaims free, and the gate will not read."""
        planned = self._planned
        allocations = [c for c in changes if isinstance(c, Allocate)]
        return planned is not None and _room_for(allocations, planned)

    def __call__(self, phase: Phase, changes: Sequence[Change]) -> Mapping[ChangeId, WriteResult]:
        granting = [c for c in changes if isinstance(c, Allocate | Reinstate)]
        if phase is not Phase.GRANT or not granting:
            return {}
        expired = _expired_licence(self._licence)
        if expired is not None:  # QRS would answer each request 400 <BrokenRules>
            held = {c.id: WriteResult(c.id, Outcome.FAILED, expired) for c in granting}
            self.refused.update(held)
            return held
        allocations = [c for c in granting if isinstance(c, Allocate)]
        planned, self._planned = self._planned, None
        if not allocations or (planned is not None and _room_for(allocations, planned)):
            return {}
        client = self._session.client
        try:
            capacity = parse_capacity(client.get_json(paths.ACCESS_TYPE_OVERVIEW))
        except QrsError:
            return {}  # the writes themselves will say what QRS thinks
        refused: dict[ChangeId, WriteResult] = {}
        for access_type in AccessType:
            numbers = capacity.get(access_type)
            if numbers is None:
                continue
            wanted = [c for c in allocations if c.access_type is access_type]
            for change in wanted[max(numbers.available, 0) :]:
                refused[change.id] = WriteResult(
                    change.id,
                    Outcome.FAILED,
                    f"no {access_type.value} seat is free: QRS reports {numbers.available} "
                    f"available of {numbers.total} ({numbers.quarantined} in quarantine) after "
                    "the reclaims; not sent",
                )
        self.refused.update(refused)
        return refused


def _room_for(allocations: Sequence[Allocate], capacity: Mapping[AccessType, Capacity]) -> bool:
    """Whether ``capacity`` shows a free seat for every one of ``allocations`` (a type it
    does not report: not known to)."""
    wanted = Counter(c.access_type for c in allocations)
    return all(
        (numbers := capacity.get(kind)) is not None and numbers.available >= count
        for kind, count in wanted.items()
    )


def _expired_licence(licence: Licence) -> str | None:
    """Why nothing may be allocated (the site's licence has expired), or None."""
    if not licence.expired:
        return None
    because = f" ({licence.expired_reason})" if licence.expired_reason else ""
    return (
        f"the site's licence has expired{because}: QRS adds no access while it is; not sent "
        "(renew the licence in the QMC, then apply again)"
    )


# -- settling uncertain outcomes ---------------------------------------------------------------


def _uncertain(result: WriteResult) -> bool:
    if result.outcome in (Outcome.UNKNOWN, Outcome.PARTIAL) or result.resendable:
        return True
    if result.outcome is Outcome.FAILED and result.status is not None:
        return result.status in _SETTLE_STATUSES or result.status >= 500
    return result.outcome is Outcome.SKIPPED and result.message.startswith(NOT_ATTEMPTED)


@dataclass(slots=True)
class _Settled:
    """What settling decided: results by the approved change's identity, the re-read's plan
    when nothing was sent after it, and which fresh change carried on which approved one (a
    half-done create is completed by the fresh plan's ``complete-rule``)."""

    results: dict[ChangeId, WriteResult]
    plan: PlanRun | None = None
    successors: dict[ChangeId, ChangeId] = field(default_factory=dict)


def _settle(
    session: Session,
    first: PlanRun,
    approved: Sequence[Change],
    results: Mapping[ChangeId, WriteResult],
    *,
    send: Callable[[Sequence[Change]], tuple[WriteResult, ...]],
    record: OnItem,
    flush: Callable[[], None] | None,
) -> _Settled:
    """Re-read once and decide every uncertain change by what the site shows: done, or sent
    once more (the fresh plan's change for it, built from what was just read).

    A change counts as done only when the fresh plan proposes nothing more for its subject
    (for a rule: no change of that rule at all, a completion included) and, for a deleted
    rule, neither half is left on the site.
    """
    if not any(_uncertain(r) for r in results.values()):
        return _Settled({})  # the usual run: asked without building each change's id again
    uncertain = [c for c in approved if _uncertain(results[c.id])]
    asked = [w for c in uncertain if (w := results[c.id].retry_after) is not None]
    if asked:  # a 429 said how long to wait: honoured (capped) before looking again
        retries.wait(min(max(asked), RetryPolicy().max_retry_after))
    try:
        replan = session.plan(reusing=first)
    except QrsError:
        return _Settled({})  # cannot look: they stay as they are, and the next run decides
    still = {c.id: c for c in replan.plan.changes}
    rules = {
        (c.access_type, c.key): c
        for c in replan.plan.changes
        if isinstance(c, CreateRule | CompleteRule | UpdateRule | DeleteRule)
    }
    settled: dict[ChangeId, WriteResult] = {}
    again: list[Change] = []
    origin: dict[ChangeId, Change] = {}
    for change in uncertain:
        before = results[change.id]
        fresh = _still_to_do(change, before, still, rules, replan)
        if fresh is None:
            settled[change.id] = WriteResult(
                change.id,
                _done_outcome(before.outcome),
                f"re-read the site after {before.outcome.value} ({before.message}): it is done",
                status=before.status,
            )
            record(change, settled[change.id])
        else:
            again.append(fresh)
            origin[fresh.id] = change
    if flush is not None:
        flush()
    ids = {c.id for c in again}
    retry: list[Change] = []
    for change in again:
        if change.depends_on is None or change.depends_on in ids:
            retry.append(change)
        else:
            settled[origin[change.id].id] = results[origin[change.id].id]
    if not retry:
        return _Settled(settled, replan)
    successors: dict[ChangeId, ChangeId] = {}
    for result in send(retry):
        change = origin[result.change]
        before = results[change.id]
        if result.change != change.id:
            successors[result.change] = change.id
        settled[change.id] = _after_retry(change.id, before, result)
    return _Settled(settled, None, successors)


def _still_to_do(
    change: Change,
    before: WriteResult,
    still: Mapping[ChangeId, Change],
    rules: Mapping[tuple[AccessType, str], Change],
    replan: PlanRun,
) -> Change | None:
    """The fresh change that carries on ``change``, or None when the site shows it done."""
    fresh = still.get(change.id)
    if fresh is not None:
        return fresh
    if isinstance(change, CreateRule | CompleteRule | UpdateRule | DeleteRule):
        fresh = rules.get((change.access_type, change.key))
        if fresh is not None:
            return fresh
    if isinstance(change, DeleteRule) and _rule_left(change, replan):
        # The system rule went, its access group stayed: no plan proposes deleting a group
        # alone, so this run finishes it (the rule's delete now finds it gone).
        return change
    return None


def _rule_left(change: DeleteRule, replan: PlanRun) -> bool:
    ids = {change.rule_id, change.group_id} - {None}
    return any(
        r.rule_id in ids or r.group_id in ids for r in replan.actual.rules_of(change.access_type)
    )


def _done_outcome(before: Outcome) -> Outcome:
    if before is Outcome.UNKNOWN:
        return Outcome.APPLIED
    if before is Outcome.PARTIAL:
        return Outcome.COMPLETED
    return Outcome.ALREADY


def _after_retry(change_id: ChangeId, before: WriteResult, result: WriteResult) -> WriteResult:
    """The approved change's result once the fresh change sent for it has its own."""
    if result.change == change_id and before.outcome is not Outcome.PARTIAL:
        return result
    if result.ok:
        return WriteResult(
            change_id,
            Outcome.COMPLETED,
            f"first {before.outcome.value} ({before.message}); re-read the site and finished "
            f"it with {result.change.kind.value}"
            + (f" ({result.message})" if result.message else ""),
            created_id=result.created_id,
        )
    left = Outcome.PARTIAL if before.outcome is Outcome.PARTIAL else result.outcome
    return WriteResult(
        change_id,
        left,
        f"first {before.outcome.value} ({before.message}); re-read the site and sent "
        f"{result.change.kind.value}: {result.outcome.value} ({result.message})",
        status=result.status,
    )


def _items(
    approved: Sequence[Change],
    final: Mapping[ChangeId, WriteResult],
    attempts: Counter[ChangeId],
    *,
    quarantined: dt.datetime,
) -> list[Item]:
    """The report's line of each approved change; ``quarantined``: when a seat this run put
    in quarantine leaves it (one instant for them all).

    One item per change of a big run, built on the main thread at its end: each change's id
    is built once (a new ChangeId each time it is asked for), the fields passed by position.
    """
    items = []
    for change in approved:
        change_id = change.id
        result = final[change_id]
        status = result.outcome
        in_quarantine = (
            status is Outcome.APPLIED and isinstance(change, Reclaim) and change.quarantine
        )
        items.append(
            Item(
                change_id,
                status,
                result.message,
                result.status,
                change,
                quarantined if in_quarantine else None,
                attempts[change_id],
            )
        )
    return items
