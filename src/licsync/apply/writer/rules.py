"""Licence rules: an access group and the system rule naming it, created, completed,
updated and deleted together."""

from __future__ import annotations

from licsync.apply.writer.base import _failure, _reraise, _shape, _WriterBase, log
from licsync.apply.writer.requests import (
    NEW_GROUP_ID,
    NEW_RULE_ID,
    delete_group_request,
    delete_system_rule_request,
    group_request,
    new_rule_request,
    point_rule_request,
    update_rule_request,
)
from licsync.errors import QrsError, QrsNotFound, QrsTransportError
from licsync.identity import AccessType
from licsync.plan.changes import ChangeId, CompleteRule, CreateRule, DeleteRule, UpdateRule
from licsync.results import Outcome, Request, WriteResult


class RuleWrites(_WriterBase):
    """Create, complete, update and delete licence rules."""

    def create_rule(self, change: CreateRule) -> WriteResult:
        """Two POSTs: the access group, then the ``License`` system rule naming it.

        When the rule cannot be created the group stays without it; the result says so and the
        next plan completes it (:class:`~licsync.plan.changes.CompleteRule`).
        """
        return self._finish(self._create_rule(change))

    def _create_rule(self, change: CreateRule) -> WriteResult:
        kind = change.access_type
        try:
            group_id = self._create_group(kind, change.name)
        except QrsError as exc:
            note = (
                "the access group may have been created; if so the next plan completes it"
                if isinstance(exc, QrsTransportError)
                else "nothing was created"
            )
            return _failure(change.id, exc, note)
        post = new_rule_request(kind, group_id, change.rule, actions=self._rule_actions)
        left = (
            f"the {kind} access group {change.name!r} ({group_id}) was created and stays "
            "without its rule; the next plan completes it"
        )
        return self._post_rule(change.id, post, left)

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
            post = new_rule_request(kind, change.group_id, change.rule, actions=self._rule_actions)
            return self._post_rule(change.id, post, "")
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
            return _failure(change.id, exc, self._undo_group(kind, change.name, group_id))
        if not isinstance(updated, dict) or not isinstance(updated.get("id"), str):
            raise _shape(put, "the system rule with its id")
        return WriteResult(change.id, Outcome.APPLIED, created_id=group_id)

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
        """``PUT`` the system rule as read with the declared fields; a stale read gives 409."""
        return self._finish(self._update_rule(change))

    def _update_rule(self, change: UpdateRule) -> WriteResult:
        if not change.rule_entity:
            return WriteResult(
                change.id,
                Outcome.FAILED,
                "the change carries no system rule as read; nothing was sent (re-run plan)",
            )
        put = update_rule_request(change)
        try:
            updated = self._request(put, put.body)
        except QrsError as exc:
            return _failure(change.id, exc)
        if not isinstance(updated, dict):
            raise _shape(put, "the system rule")
        return WriteResult(change.id, Outcome.APPLIED)

    def delete_rule(self, change: DeleteRule) -> WriteResult:
        """``DELETE`` the system rule, then its access group: whichever of the two exist.

        A 404 counts as gone. When both were gone the result is ``already``. When the rule goes
        and the group cannot, the result says the group stays (the next plan deletes it again
        when ownership is authoritative). Whether deleting a rule takes back the seats it handed
        out is UNVERIFIED (the simulator keeps them).
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
        for what, request in steps:
            try:
                self._request(request)
            except QrsNotFound:
                gone.append(what)
                continue
            except QrsError as exc:
                note = (
                    f"{' and '.join(done)} was deleted but {what} stays; the next plan shows it"
                    if done
                    else ""
                )
                return _failure(change.id, exc, note)
            done.append(what)
        if not done:
            return WriteResult(change.id, Outcome.ALREADY, "QRS no longer has the rule")
        message = f"{' and '.join(gone)} was already gone" if gone else ""
        return WriteResult(change.id, Outcome.APPLIED, message)

    # -- shared steps

    def _create_group(self, kind: AccessType, name: str) -> str:
        request = group_request(kind, name)
        group = self._request(request, {"id": NEW_GROUP_ID, "name": name})
        group_id = group.get("id") if isinstance(group, dict) else None
        if not isinstance(group_id, str):
            raise _shape(request, "the access group with its id")
        return group_id

    def _post_rule(self, change_id: ChangeId, post: Request, left: str) -> WriteResult:
        try:
            rule = self._request(post, {**post.body, "id": NEW_RULE_ID})
        except QrsError as exc:
            _reraise(exc)
            if isinstance(exc, QrsTransportError):
                note = "the system rule may have been created; the next plan shows it"
                left = f"{note}; if not, {left}" if left else note
            return _failure(change_id, exc, left)
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(rule_id, str):
            raise _shape(post, "the system rule with its id")
        return WriteResult(change_id, Outcome.APPLIED, created_id=rule_id)
