"""A reviewed plan: the JSON plan a person approved, read back and checked.

The JSON plan carries every change's identity and the decisions its checksum covers, so the
checksum can be recomputed from the file itself: a plan edited by hand after review no longer
matches its own checksum and is refused. What a reviewed plan binds is its decisions, matched
by :class:`~licsync.plan.changes.ChangeId` against a fresh plan (:func:`match`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from licsync.errors import UsageError
from licsync.plan.changes import Action, Change, ChangeId, CompleteRule
from licsync.plan.document import Plan, checksum_of_decisions
from licsync.planfile import read_plan_json

__all__ = ["MAX_PLAN_BYTES", "Match", "ReviewedPlan", "load_reviewed", "match"]

MAX_PLAN_BYTES = 512 * 1024 * 1024
"""A JSON plan of 200,000 changes is about 250 MB; anything larger is not a plan of ours."""


@dataclass(frozen=True, slots=True)
class ReviewedPlan:
    """What a reviewed JSON plan binds.

    Attributes:
        path: the file, as given.
        site: the site it was made for.
        checksum: its checksum (verified against its own decisions).
        ids: the identities of its changes, in the file's order.
        format_version: as written in the file.
        blocked: the plan was blocked by safety checks when it was reviewed.
        now: the instant it was planned as of (``apply --plan`` applies as of it).
        decisions: each change's decision as the checksum covers it (what a rule change
            writes), by identity.
    """

    path: str
    site: str
    checksum: str
    ids: tuple[ChangeId, ...]
    format_version: str
    blocked: bool = False
    decisions: Mapping[ChangeId, tuple[str, ...]] = field(default_factory=dict)
    now: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """A reviewed plan against a fresh one.

    Attributes:
        approved: fresh changes that the review approved: these are applied.
        no_longer_needed: reviewed decisions the fresh plan no longer makes (someone fixed it
            in the QMC, the user logged in): skipped and reported.
        not_reviewed: fresh changes nobody reviewed: never applied, reported.
    """

    approved: tuple[Change, ...]
    no_longer_needed: tuple[ChangeId, ...]
    not_reviewed: tuple[Change, ...]


def load_reviewed(path: str | Path) -> ReviewedPlan:
    """Read a JSON plan written by ``licsync plan --format json`` and check it is intact.

    Raises:
        UsageError: the file cannot be read, is not a licsync JSON plan of a major version
            this licsync reads, or its checksum does not match its own decisions.
    """
    shown = str(path)
    data = read_plan_json(Path(path), where=shown, limit=MAX_PLAN_BYTES, for_review=True)
    if not isinstance(data, dict):
        raise UsageError(f"{shown}: not a licsync JSON plan (expected an object)")
    version = _field(data, "format_version", str, shown)
    if version.split(".", 1)[0] != "1":
        raise UsageError(f"{shown}: format_version {version!r}: this licsync reads 1.x plans")
    site = _field(data, "site", str, shown)
    checksum = _field(data, "checksum", str, shown)
    changes = _field(data, "changes", list, shown)
    ids: list[ChangeId] = []
    decisions: list[list[str]] = []
    for index, item in enumerate(changes):
        where = f"{shown}: changes[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), dict):
            raise UsageError(
                f"{where}.id: missing; plans of format 1.0 carry no change ids: re-plan with "
                "this licsync"
            )
        try:
            change_id = ChangeId.from_data(item["id"])
        except (KeyError, ValueError) as exc:
            raise UsageError(f"{where}.id: not a change identity ({exc})") from None
        ids.append(change_id)
        decisions.append(_decision(change_id, item, where))
    if len(set(ids)) != len(ids):
        raise UsageError(f"{shown}: the same change is listed twice")
    if checksum_of_decisions(site, decisions) != checksum:
        raise UsageError(
            f"{shown}: its checksum does not match its changes: the file was edited after it "
            "was planned; plan again and have the new plan reviewed"
        )
    safety = data.get("safety")
    if not isinstance(safety, dict) or not isinstance(safety.get("blocked"), bool):
        # Without its verdict a plan cannot say it was not blocked: never read as "not blocked".
        raise UsageError(
            f"{shown}: safety.blocked: missing or not true/false; a plan licsync wrote always "
            "has it: plan again and have the new plan reviewed"
        )
    blocked = safety["blocked"]
    return ReviewedPlan(
        path=shown,
        site=site,
        checksum=checksum,
        ids=tuple(ids),
        format_version=version,
        blocked=blocked,
        decisions={i: tuple(d) for i, d in zip(ids, decisions, strict=True)},
        now=_instant(_field(data, "now", str, shown), shown),
    )


def _instant(text: str, shown: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{shown}: now: {text[:40]!r} is not an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise UsageError(f"{shown}: now: {text[:40]!r} has no UTC offset")
    return value.astimezone(dt.UTC)


def match(reviewed: ReviewedPlan, fresh: Plan) -> Match:
    """Which fresh changes the review approved, which reviewed ones are no longer needed, and
    which fresh ones nobody reviewed. A change that depends on one not approved is not approved
    either (it would be executed without its dependency).

    A reviewed ``create-rule`` that an earlier run got half-way through is, in the fresh plan,
    the ``complete-rule`` of the same rule: approved by that review as long as it writes
    nothing the create did not (the fields and values it writes are among the create's)."""
    wanted = set(reviewed.ids)
    present = fresh.ids()
    covered: set[ChangeId] = set()
    approved: list[Change] = []
    for change in fresh.changes:
        if change.id in wanted:
            approved.append(change)
            continue
        create = _reviewed_create(reviewed, change)
        if create is not None:
            approved.append(change)
            covered.add(create)
    approved_ids = {c.id for c in approved}
    kept = [c for c in approved if c.depends_on is None or c.depends_on in approved_ids]
    dropped = [c for c in approved if c not in kept]
    return Match(
        approved=tuple(kept),
        no_longer_needed=tuple(i for i in reviewed.ids if i not in present and i not in covered),
        not_reviewed=tuple(c for c in fresh.changes if c.id not in approved_ids) + tuple(dropped),
    )


def _reviewed_create(reviewed: ReviewedPlan, change: Change) -> ChangeId | None:
    """The reviewed create-rule that approves ``change``, a completion of the same rule."""
    if not isinstance(change, CompleteRule):
        return None
    for create_id, decision in reviewed.decisions.items():
        if (
            create_id.kind is Action.CREATE_RULE
            and create_id.access_type is change.access_type
            and create_id.subject == change.key
            and set(change.decision()[4:]) <= set(decision[4:])
        ):
            return create_id
    return None


def _field(data: Mapping[str, Any], name: str, kind: type, shown: str) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise UsageError(f"{shown}: {name}: missing or not a {kind.__name__}")
    return value


def _decision(change_id: ChangeId, item: Mapping[str, Any], where: str) -> list[str]:
    """The same list :meth:`Change.decision` gives, rebuilt from the JSON."""
    decision = [
        change_id.access_type.value,
        change_id.kind.value,
        change_id.subject,
        change_id.reason.value,
    ]
    if item.get("kind") != "rule":
        return decision
    diff = item.get("diff")
    if not isinstance(diff, list):
        raise UsageError(f"{where}.diff: missing or not a list")
    for entry in diff:
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            raise UsageError(f"{where}.diff: an entry without a field name")
        decision.append(f"{entry['field']}={json.dumps(entry.get('desired'))}")
    return decision
