"""Licence rules: an access group and the system rule naming it, created, completed,
updated and deleted together.

A rule write is two requests, and either can fail or lose its answer. After a step that failed
or went unanswered the writer reads the access group and the system rule back and goes by what
the site shows: a step that did happen counts as done, one that did not is sent once more (it
is known not to have happened, so that is not a blind resend), and the result says what the
site holds: ``applied``, ``completed`` (part of it needed finishing), ``partial`` (what is on
the site and what is left) or ``failed``. ``unknown`` only when the site could not be read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from licsync.apply.writer.base import _failure, _reraise, _shape, _status, _wait, _WriterBase, log
from licsync.apply.writer.requests import (
    NEW_GROUP_ID,
    NEW_RULE_ID,
    delete_group_request,
    delete_system_rule_request,
    group_request,
    new_rule_request,
    point_rule_request,
    resource_filter,
    update_rule_request,
)
from licsync.desired import DesiredRule
from licsync.errors import QrsError, QrsNotFound, QrsTransportError
from licsync.identity import AccessType
from licsync.plan.changes import ChangeId, CompleteRule, CreateRule, DeleteRule, UpdateRule
from licsync.qrs import filters, paths
from licsync.results import Outcome, Request, WriteResult

_SENDS = 2
"""How often one step is sent at most: once, and once more after a re-read showed that the
first did not happen."""


@dataclass(frozen=True, slots=True)
class _Seen:
    """A licence rule's halves as the site shows them, found by name."""

    groups: tuple[str, ...]
    rules: tuple[tuple[str, str], ...]  # (system rule id, resourceFilter)

    def rule_naming(self, kind: AccessType, group_id: str) -> str | None:
        wanted = resource_filter(kind, group_id).casefold()
        return next((rid for rid, rf in self.rules if rf.casefold() == wanted), None)

    def lone_group(self, kind: AccessType) -> str | None:
        """An access group of the name that no system rule of the name points at."""
        return next((g for g in self.groups if self.rule_naming(kind, g) is None), None)


class _Step:
    """What one multi-step write did so far, for its message."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.settled = False  # a failure or a lost answer was settled by reading the site

    def note(self, text: str, *, settled: bool = True) -> None:
        """``settled``: the site showed a step done that had failed or lost its answer (the
        result is ``completed``); False: it showed the step not done, and it was sent again."""
        self.notes.append(text)
        self.settled = self.settled or settled

    def message(self) -> str:
        return "; ".join(self.notes)


class RuleWrites(_WriterBase):
    """Create, complete, update and delete licence rules."""

    def create_rule(self, change: CreateRule) -> WriteResult:
        """Two POSTs: the access group, then the ``License`` system rule naming it.

        A failed or unanswered step is settled by reading both halves back (see the module
        doc). When the system rule cannot be created the group stays without it; the result is
        ``partial`` and the next plan completes it
        (:class:`~licsync.plan.changes.CompleteRule`, which a reviewed create covers).
        """
        return self._finish(self._create_rule(change))

    def _create_rule(self, change: CreateRule) -> WriteResult:
        kind = change.access_type
        step = _Step()
        group = self._ensure_group(change.id, kind, change.name, step)
        if isinstance(group, WriteResult):
            return group
        return self._ensure_rule(change, group, step)

    def complete_rule(self, change: CompleteRule) -> WriteResult:
        """Complete a half-created licence rule; never creates a second pair.

        ``group_id`` set (a group without its rule): ``POST`` the system rule naming that group.
        ``rule_id`` set (a rule naming a group that does not exist): ``POST`` a new group, then
        ``PUT`` the rule as read (with its ``modifiedDate``) naming it, with the declared fields.
        If that PUT fails, the new group is deleted again, so that the site is as before and the
        next plan proposes the same completion (a group left over would pair with nothing).
        """
        return self._finish(self._complete_rule(change))

    def _complete_rule(self, change: CompleteRule) -> WriteResult:
        kind = change.access_type
        if change.group_id is not None and change.rule_id is None:
            return self._ensure_rule(change, change.group_id, _Step())
        if change.rule_id is None or change.group_id is not None or not change.rule_entity:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "the change names no half-created rule this writer can complete (it needs "
                "group_id alone, or rule_id with the rule as read); nothing was sent",
            )
        try:
            group_id = self._create_group(kind, change.name)
        except QrsError as exc:
            note = (
                "an access group may have been created; the next plan shows it"
                if isinstance(exc, QrsTransportError)
                else "nothing was changed"
            )
            return _failure(change.id, exc, note)
        put = point_rule_request(change, group_id)
        try:
            updated = self._request(put, {**put.body, "id": change.rule_id})
        except QrsError as exc:
            _reraise(exc)
            if self._names_group(kind, change.rule_id, group_id):
                return WriteResult(
                    change.id,
                    Outcome.APPLIED,
                    f"QRS's answer to the PUT was lost ({exc}); re-read: the system rule names "
                    "the new access group",
                    created_id=group_id,
                )
            return _failure(change.id, exc, self._undo_group(kind, change.name, group_id))
        if not isinstance(updated, dict) or not isinstance(updated.get("id"), str):
            raise _shape(put, "the system rule with its id")
        return WriteResult(change.id, Outcome.APPLIED, created_id=group_id)

    def _names_group(self, kind: AccessType, rule_id: str, group_id: str) -> bool:
        """The system rule now points at ``group_id`` (False when it cannot be read)."""
        try:
            rule = self._read(Request("GET", paths.entity(paths.SYSTEM_RULE, rule_id)))
        except QrsError:
            return False
        wanted = resource_filter(kind, group_id).casefold()
        return isinstance(rule, dict) and str(rule.get("resourceFilter", "")).casefold() == wanted

    def _undo_group(self, kind: AccessType, name: str, group_id: str) -> str:
        try:
            self._request(delete_group_request(kind, group_id))
        except QrsError as exc:
            _reraise(exc)
            log.warning("complete rule: could not delete access group %s again: %s", group_id, exc)
            return (
                f"the {kind} access group {name!r} ({group_id}) was created and stays (deleting "
                "it again failed); the next plan shows it beside the rule it was made for"
            )
        return (
            f"the {kind} access group {name!r} ({group_id}) created for it was deleted again; "
            "the site is as before and the next plan proposes the same completion"
        )

    def update_rule(self, change: UpdateRule) -> WriteResult:
        """``PUT`` the system rule as read with the declared fields; a stale read gives 409.

        A PUT that failed or went unanswered is settled by reading the rule back: declared
        already means applied; unchanged since the plan (same ``modifiedDate``) means it did
        not happen, and it is sent once more; changed by someone else means failed.
        """
        return self._finish(self._update_rule(change))

    def _update_rule(self, change: UpdateRule) -> WriteResult:
        if not change.rule_entity:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "the change carries no system rule as read; nothing was sent (re-run plan)",
            )
        put = update_rule_request(change)
        first: QrsError | None = None
        for _ in range(_SENDS):
            try:
                updated = self._request(put, put.body)
            except QrsError as exc:
                _reraise(exc)
                first = first or exc
                try:
                    entity = self._read(
                        Request("GET", paths.entity(paths.SYSTEM_RULE, change.rule_id))
                    )
                except QrsError:
                    return _failure(change.id, exc, "the rule could not be read back")
                if _declared_as(entity, change.rule):
                    return WriteResult(
                        change.id,
                        Outcome.APPLIED,
                        f"{_answer(first)}; re-read: the system rule is as declared",
                    )
                read_date = change.rule_entity.get("modifiedDate")
                if not isinstance(entity, dict) or entity.get("modifiedDate") != read_date:
                    return _failure(change.id, exc, "re-read: the rule was changed by someone else")
                continue  # the site shows the rule as planned from: the PUT did not happen
            if not isinstance(updated, dict):
                raise _shape(put, "the system rule")
            message = f"{_answer(first)}; re-read: not done, sent again" if first else ""
            return WriteResult(change.id, Outcome.APPLIED, message)
        assert first is not None
        return _failure(change.id, first, "re-read: the system rule is unchanged")

    def delete_rule(self, change: DeleteRule) -> WriteResult:
        """``DELETE`` the system rule, then its access group: whichever of the two exist.

        A 404 counts as gone. A failed or unanswered delete is settled by reading the entity
        back: gone counts as done, still there is deleted once more. When both were gone the
        result is ``already``; when the rule went and the group stays, ``partial`` says so (the
        group alone is never deleted by a later plan: apply sends this change again).
        Whether deleting a rule takes back the seats it handed out is UNVERIFIED (the simulator
        keeps them).
        """
        return self._finish(self._delete_rule(change))

    def _delete_rule(self, change: DeleteRule) -> WriteResult:
        kind = change.access_type
        steps: list[tuple[str, Request]] = []
        if change.rule_id is not None:
            steps.append(
                (f"the system rule {change.rule_id}", delete_system_rule_request(change.rule_id))
            )
        if change.group_id is not None:
            steps.append(
                (f"the access group {change.group_id}", delete_group_request(kind, change.group_id))
            )
        done: list[str] = []
        gone: list[str] = []
        step = _Step()
        for what, request in steps:
            verdict = self._delete_one(what, request, step)
            if verdict is True:
                done.append(what)
            elif verdict is False:
                gone.append(what)
            else:
                exc = verdict
                if done:
                    return WriteResult(
                        change.id,
                        Outcome.PARTIAL,
                        f"{' and '.join(done)} was deleted, but {what} stays: {exc}"
                        + (f"; {step.message()}" if step.notes else ""),
                        status=_status(exc),
                        retry_after=_wait(exc),
                    )
                return _failure(change.id, exc, step.message() or "nothing was deleted")
        if not done:
            return WriteResult(change.id, Outcome.ALREADY, "QRS no longer has the rule")
        notes = [f"{' and '.join(gone)} was already gone"] if gone else []
        notes.extend(step.notes)
        outcome = Outcome.COMPLETED if step.settled else Outcome.APPLIED
        return WriteResult(change.id, outcome, "; ".join(notes))

    def _delete_one(self, what: str, request: Request, step: _Step) -> bool | QrsError:
        """True: deleted now; False: it was gone already; an error: it stays."""
        last: QrsError | None = None
        for _ in range(_SENDS):
            try:
                self._request(request)
            except QrsNotFound:
                if last is not None:
                    step.note(f"{_answer(last)} for {what}; re-read: it is gone")
                    return True
                return False
            except QrsError as exc:
                _reraise(exc)
                last = exc
                try:
                    self._read(Request("GET", request.path))
                except QrsNotFound:
                    step.note(f"{_answer(exc)} for {what}; re-read: it is gone")
                    return True
                except QrsError:
                    return exc  # cannot tell: it stays as far as this run knows
                continue  # still there: the delete did not happen, so it goes once more
            if last is not None:
                step.note(
                    f"{_answer(last)} for {what}; re-read: still there, deleted again",
                    settled=False,
                )
            return True
        assert last is not None
        return last

    # -- shared steps

    def _ensure_group(
        self, change_id: ChangeId, kind: AccessType, name: str, step: _Step
    ) -> str | WriteResult:
        """The access group's id, created here (or found after a lost answer), or the result
        of a create that did not happen."""
        last: QrsError | None = None
        for _ in range(_SENDS):
            try:
                group_id = self._create_group(kind, name)
            except QrsError as exc:
                _reraise(exc)
                last = exc
                seen = self._look(kind, name)
                if seen is None:
                    note = (
                        "the access group may have been created (it could not be read back); "
                        "if so the next plan completes it"
                        if isinstance(exc, QrsTransportError)
                        else "nothing was created"
                    )
                    return _failure(change_id, exc, note)
                group = seen.lone_group(kind)
                if group is not None:
                    step.note(f"{_answer(exc)} for the access group; re-read: it was created")
                    return group
                continue
            if last is not None:
                step.note(
                    f"{_answer(last)} for the access group; re-read: not created, sent again",
                    settled=False,
                )
            return group_id
        assert last is not None
        return WriteResult(
            change_id,
            Outcome.FAILED,
            f"{last}; re-read: nothing was created",
            status=_status(last),
            retry_after=_wait(last),
        )

    def _ensure_rule(
        self, change: CreateRule | CompleteRule, group_id: str, step: _Step
    ) -> WriteResult:
        """POST the system rule naming ``group_id``; settle a failure by reading it back."""
        change_id, kind, name, rule = change.id, change.access_type, change.name, change.rule
        post = new_rule_request(kind, group_id, rule, actions=self._rule_actions)
        last: QrsError | None = None
        unreadable = False
        for _ in range(_SENDS):
            try:
                answer = self._request(post, {**post.body, "id": NEW_RULE_ID})
            except QrsError as exc:
                _reraise(exc)
                last = exc
                seen = self._look(kind, name)
                if seen is None:
                    unreadable = True
                    break
                found = seen.rule_naming(kind, group_id)
                if found is not None:
                    step.note(f"{_answer(exc)} for the system rule; re-read: it was created")
                    return _done(change_id, step, found)
                if group_id not in seen.groups:
                    break  # the group went meanwhile: not this run's to re-create
                continue
            rule_id = answer.get("id") if isinstance(answer, dict) else None
            if not isinstance(rule_id, str):
                raise _shape(post, "the system rule with its id")
            if last is not None:
                step.note(
                    f"{_answer(last)} for the system rule; re-read: not created, sent again",
                    settled=False,
                )
            return _done(change_id, step, rule_id)
        assert last is not None
        left = (
            f"the {kind} access group {name!r} ({group_id}) is on the site without its system "
            f"rule ({last}); the next plan completes it"
        )
        if unreadable and isinstance(last, QrsTransportError):
            return WriteResult(
                change_id, Outcome.UNKNOWN, f"{last}; the system rule may have been created; {left}"
            )
        return WriteResult(
            change_id,
            Outcome.PARTIAL,
            "; ".join((*step.notes, left)),
            status=_status(last),
            retry_after=_wait(last),
        )

    def _create_group(self, kind: AccessType, name: str) -> str:
        request = group_request(kind, name)
        group = self._request(request, {"id": NEW_GROUP_ID, "name": name})
        group_id = group.get("id") if isinstance(group, dict) else None
        if not isinstance(group_id, str):
            raise _shape(request, "the access group with its id")
        return group_id

    def _look(self, kind: AccessType, name: str) -> _Seen | None:
        """Both halves of the rule named ``name`` as the site shows them (None: unreadable)."""
        where = {"filter": filters.eq("name", name)}
        try:
            groups = self._read(Request("GET", paths.access_group(kind), where))
            rules = self._read(Request("GET", paths.SYSTEM_RULE_FULL, where))
        except QrsError as exc:
            log.warning("rule %r: could not read it back: %s", name, exc)
            return None
        folded = name.casefold()
        return _Seen(
            groups=tuple(_ids(groups, lambda g: _named(g, folded))),
            rules=tuple(
                (str(r["id"]), str(r.get("resourceFilter") or ""))
                for r in _entities(rules)
                if _named(r, folded) and str(r.get("category", "")).casefold() == "license"
            ),
        )


def _done(change_id: ChangeId, step: _Step, rule_id: str) -> WriteResult:
    outcome = Outcome.COMPLETED if step.settled else Outcome.APPLIED
    return WriteResult(change_id, outcome, step.message(), created_id=rule_id)


def _answer(exc: QrsError) -> str:
    """How a failed step reads in a result's message."""
    if isinstance(exc, QrsTransportError):
        return f"QRS's answer was lost ({exc})"
    return f"QRS refused it ({exc})"


def _declared_as(entity: Any, rule: DesiredRule) -> bool:
    if not isinstance(entity, dict):
        return False
    return (
        entity.get("rule") == rule.condition
        and entity.get("ruleContext") == rule.context.qrs_value
        and bool(entity.get("disabled")) == rule.disabled
        and (entity.get("comment") or "") == rule.comment
        and entity.get("name") == rule.name
    )


def _entities(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        return []
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)]


def _named(entity: dict[str, Any], folded: str) -> bool:
    name = entity.get("name")
    return isinstance(name, str) and name.casefold() == folded


def _ids(data: Any, keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [str(e["id"]) for e in _entities(data) if keep(e)]
