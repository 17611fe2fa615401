"""Whether a plan artifact is the plan reviewers saw: the run that made it, and the comment.

Any run in a repository can upload an artifact of any name: a pull request that edits a
workflow, a run by hand, a fork's pull request. The plan's checksum has no key, so a forged plan
consistent with itself passes every check of the plan alone. What proves a plan's origin is the
forge's own record of the run that uploaded it, and the sticky comment reviewers read:

- the run is of the plan workflow (its file's path in the repository), for a pull-request
  event, ran in this repository on code from this repository (not a fork), for the pull
  request's head commit, and the forge lists that pull request as the run's own;
- the plan's checksum is the one the pull request's plan comment for the site shows (the
  comment written by the plan run's own identity: a bot, not a person who can type a marker).

Each forge gathers those facts in its own vocabulary into :class:`PlanRun` and
:class:`PlanComment`; the decisions are here, once, and say what was found when they refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from licsync.errors import ForgeError, ReviewedPlanMissing, ReviewedPlanRefused, UsageError
from licsync.forge import COMMIT_SHA, ReviewedArtifact
from licsync.jsonfile import parse_plan_json
from licsync.textsafe import escape_text

__all__ = [
    "MAX_CANDIDATES",
    "MAX_PUSHED_COMMITS",
    "CommentChecksum",
    "Expected",
    "PlanComment",
    "PlanRun",
    "checksum_in",
    "comment_checksum",
    "proven_plans",
    "pushed_merges",
    "run_problems",
    "same_path",
    "shown_value",
]

MAX_CANDIDATES = 10
"""Plan artifacts of one request looked at (each download is up to hundreds of MB)."""
MAX_PUSHED_COMMITS = 250
"""Commits of one push resolved to pull requests (a merge queue batches a few)."""

_MARKER_CHECKSUM = re.compile(r"\bchecksum=([A-Za-z0-9:]{1,100}) -->$")
_SHOWN = 120

_Merge = TypeVar("_Merge")


def proven_plans(
    merges: Sequence[_Merge], prove: Callable[[_Merge], ReviewedArtifact]
) -> list[ReviewedArtifact]:
    """The proven plan of each merged pull or merge request, in order, for every forge.

    A request without any plan artifact (it changed nothing under ``licenses/``) is passed
    over as long as another has one; an artifact that fails a check is never passed over.

    Raises:
        ReviewedPlanMissing: the only request, or every one, has no plan artifact.
        ReviewedPlanRefused: an artifact exists but is not proven.
    """
    found: list[ReviewedArtifact] = []
    missing: list[ReviewedPlanMissing] = []
    for merge in merges:
        try:
            found.append(prove(merge))
        except ReviewedPlanRefused:
            raise
        except ReviewedPlanMissing as exc:
            missing.append(exc)
    if missing and (not found or len(merges) == 1):
        raise missing[0]
    return found


def pushed_merges(
    before: str,
    after: str,
    shas: Iterable[object],
    *,
    added: int,
    merges_of: Callable[[str], Iterable[dict[str, Any]]],
    number: str,
    merged: Callable[[dict[str, Any], list[str]], bool],
) -> list[dict[str, Any]]:
    """Every request merged by the push ``before..after``, in the order of its commits (empty
    when none is), for every forge.

    Args:
        shas: the commits the push added, oldest first, as the forge named them (a value that
            is no commit sha is passed over); ``after`` is looked at in any case.
        added: how many commits the forge says the push added.
        merges_of: the requests a commit belongs to.
        number: the field holding a request's number (a request is taken once).
        merged: whether a request was merged by one of the push's commits.

    Raises:
        ReviewedPlanMissing: the push added more than :data:`MAX_PUSHED_COMMITS` commits.
    """
    if added > MAX_PUSHED_COMMITS:
        raise ReviewedPlanMissing(
            f"no reviewed plan: the push {before}..{after} added more than "
            f"{MAX_PUSHED_COMMITS} commits; apply must not run on a guess"
        )
    pushed = [s for s in shas if isinstance(s, str) and COMMIT_SHA.fullmatch(s)]
    if after not in pushed:
        pushed.append(after)
    seen: set[int] = set()
    merges: list[dict[str, Any]] = []
    for sha in pushed:
        for merge in merges_of(sha):
            key = merge.get(number)
            if isinstance(key, int) and key not in seen and merged(merge, pushed):
                seen.add(key)
                merges.append(merge)
    return merges


class CommentChecksum:
    """The checksum a request's plan comment shows, read once, when an artifact first needs it,
    and each artifact's plan held against it.

    Args:
        read: the checksum shown, or None and why there is none (:func:`comment_checksum`).
        comment: the comment, for messages ("comment on pull request #7").
    """

    def __init__(self, read: Callable[[], tuple[str | None, str]], comment: str) -> None:
        self._read = read
        self._comment = comment
        self._sticky: tuple[str | None, str] | None = None

    @property
    def shown(self) -> str | None:
        """The checksum shown (read now if it was not yet), or None."""
        return self._shown_and_why()[0]

    def _shown_and_why(self) -> tuple[str | None, str]:
        if self._sticky is None:
            self._sticky = self._read()
        return self._sticky

    def refusal(self, content: bytes, name: str, what: str) -> str | None:
        """Why the plan of artifact ``name`` (``what``, for messages) is not the one the comment
        shows, or None when it is.

        Raises:
            ForgeError: the plan is not a JSON object.
        """
        shown, why = self._shown_and_why()
        stated = checksum_in(content, where=f"artifact {name}: plan.json")
        if shown is None:
            return f"{what}: {why}"
        if stated != shown:
            return (
                f"{what}: its plan states checksum {stated or '(none)'}, but the plan "
                f"{self._comment} shows {shown}"
            )
        return None


def shown_value(value: object) -> str:
    """A value from the forge, for a message: escaped, quoted, cut at 120 characters."""
    text = escape_text(str(value))
    return "'" + (text if len(text) <= _SHOWN else text[:_SHOWN] + "...") + "'"


@dataclass(frozen=True, slots=True)
class Expected:
    """What the run that made a reviewed plan must be.

    Attributes:
        workflow: the plan workflow's (or pipeline definition's) path in the repository.
        events: the forge's names for a pull-request event (e.g. ``pull_request``).
        repository: this repository, as the forge names it (compared case-insensitively).
        pull_request: the merged pull request's number.
        head_sha: its head commit.
    """

    workflow: str
    events: tuple[str, ...]
    repository: str
    pull_request: int
    head_sha: str


@dataclass(frozen=True, slots=True)
class PlanRun:
    """The forge's record of the run that uploaded an artifact (``None``: the forge said nothing).

    Attributes:
        id: the run's (pipeline's, build's) id, for messages.
        workflow: the path of the workflow file it ran.
        event: what started it.
        head_sha: the commit it ran on.
        repository: where it ran.
        head_repository: where its code came from (a fork's name for a fork's pull request).
        pull_requests: the pull requests the forge lists as the run's own.
    """

    id: str
    workflow: str | None
    event: str | None
    head_sha: str | None
    repository: str | None
    head_repository: str | None
    pull_requests: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class PlanComment:
    """A comment on the pull request whose first line is a site's plan marker.

    Attributes:
        id: the comment's id, for messages.
        by_bot: written by an automation identity (the plan job's token), not a person.
        first_line: the marker line.
    """

    id: str
    by_bot: bool
    first_line: str


def same_path(found: str, wanted: str, repository: str) -> bool:
    """Whether a run's workflow path is ``wanted``: forges write it as ``.github/workflows/x.yml``
    or as ``owner/repo/.github/workflows/x.yml@ref``; a leading ``/`` or ``./`` is dropped."""
    path = found.split("@", 1)[0] if "@" in found else found
    prefix = repository.casefold() + "/"
    if path.casefold().startswith(prefix):
        path = path[len(prefix) :]
    return _bare(path) == _bare(wanted)


def _bare(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    return path


def run_problems(run: PlanRun, expected: Expected) -> list[str]:
    """What is wrong with ``run`` as the maker of the reviewed plan; empty when nothing is."""
    problems: list[str] = []
    if run.workflow is None or not same_path(run.workflow, expected.workflow, expected.repository):
        problems.append(
            f"made by workflow {shown_value(run.workflow)}, not the plan workflow "
            f"{shown_value(expected.workflow)}"
        )
    if run.event not in expected.events:
        wanted = " or ".join(expected.events)
        problems.append(f"started by event {shown_value(run.event)}, not {wanted}")
    repo = expected.repository.casefold()
    if run.repository is None or run.repository.casefold() != repo:
        problems.append(
            f"ran in repository {shown_value(run.repository)}, not {expected.repository}"
        )
    if run.head_repository is None or run.head_repository.casefold() != repo:
        problems.append(
            f"ran code from repository {shown_value(run.head_repository)} (a fork?), not "
            f"{expected.repository}"
        )
    if run.head_sha != expected.head_sha:
        problems.append(
            f"ran on commit {shown_value(run.head_sha)}, not the pull request's head "
            f"{expected.head_sha}"
        )
    if run.pull_requests is None or expected.pull_request not in run.pull_requests:
        listed = ", ".join(f"#{n}" for n in (run.pull_requests or ())[:10]) or "none"
        problems.append(
            f"is not a run of pull request #{expected.pull_request} (the forge lists {listed})"
        )
    return problems


def comment_checksum(comments: Iterable[PlanComment]) -> tuple[str | None, str]:
    """The checksum the pull request's plan comment shows, or None and why there is none.

    Only comments by bots count (anyone can type a marker). Two bot comments that disagree
    prove nothing: None.
    """
    people: list[str] = []
    found: dict[str, str] = {}
    for comment in comments:
        if not comment.by_bot:
            people.append(comment.id)
            continue
        match = _MARKER_CHECKSUM.search(comment.first_line)
        if match:
            found.setdefault(match[1], comment.id)
    if len(found) == 1:
        return next(iter(found)), ""
    if len(found) > 1:
        shown = ", ".join(f"{c} (comment {i})" for c, i in list(found.items())[:5])
        return None, f"the pull request's plan comments disagree: {shown}"
    by_people = f" ({len(people)} by people, which do not count)" if people else ""
    return None, f"the pull request has no plan comment for the site by the plan job{by_people}"


def checksum_in(plan_json: bytes, *, where: str) -> str | None:
    """The ``checksum`` a JSON plan states (not yet verified against its changes), if any.

    Raises:
        ForgeError: ``plan_json`` is not UTF-8 JSON holding an object (``where`` names it).
    """
    try:
        data = parse_plan_json(plan_json, where)  # the checksum only: bounded memory
    except UsageError as exc:
        raise ForgeError(str(exc)) from None
    if not isinstance(data, dict):
        raise ForgeError(f"{where}: expected an object (a licsync JSON plan)")
    value = data.get("checksum")
    return value if isinstance(value, str) else None
