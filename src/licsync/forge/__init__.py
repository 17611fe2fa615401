"""What licsync asks of a forge (GitHub, GitLab, Azure DevOps).

The CI story needs three things from wherever the repository lives, and nothing else:

- one comment per site on a pull request, found again by a hidden marker and replaced;
- the reviewed JSON plan of a merge: the plan artifact CI uploaded for the head commit of the
  pull request the merge belongs to, proven to come from the plan pipeline's run on that pull
  request and to be the plan its comment shows;
- one tracking issue per key, found by its marker, opened or updated (and reopened).

A forge implements :class:`Forge`. The markers and the artifact's name are defined here, once,
because the workflows and every forge must agree on them.

.. important:: Contract for implementers

   - Find by marker on the *first line* of a body only: a marker quoted further down (a reply
     that cites the comment) never matches.
   - Never send the token anywhere but the forge's API origin (not to a download's redirect,
     not to a pagination link on another host), and never put it in a message.
   - Retry politely on rate limits (bounded), through :func:`licsync.qrs.retry.wait` so tests
     never sleep.
   - Raise only :class:`~licsync.errors.ForgeError` (and
     :class:`~licsync.errors.ReviewedPlanMissing`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from licsync.errors import UsageError
from licsync.render import markdown

__all__ = [
    "COMMIT_SHA",
    "SITE_NAME",
    "Forge",
    "Posted",
    "ReviewedArtifact",
    "issue_marker",
    "plan_artifact_name",
    "plan_marker",
    "plan_marker_prefix",
    "slug",
]

SITE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
"""A site name a marker and an artifact name can carry (the schema allows only these)."""
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
"""A full commit sha as GitHub writes it (SHA-1, or SHA-256), lower case."""
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def _site(site: str) -> str:
    # A site name goes into a marker and an artifact name: refuse anything that could end the
    # HTML comment or change the name's meaning (the schema allows only these characters).
    if not SITE_NAME.fullmatch(site):
        raise UsageError(f"site name {site!r}: only letters, digits, '.', '_' and '-' (1-100)")
    return site


def plan_marker_prefix(site: str) -> str:
    """What a site's plan comment's first line starts with, whatever its checksum (the Markdown
    renderer's own marker, so ``plan --format markdown`` and the comment agree)."""
    return markdown.plan_marker_prefix(_site(site))


def plan_marker(site: str, checksum: str) -> str:
    """The first line of a site's plan comment: ``<!-- licsync:plan site=S checksum=C -->``."""
    if not re.fullmatch(r"[A-Za-z0-9:]{1,100}", checksum):
        raise UsageError(f"checksum {checksum!r} is not a licsync checksum")
    return markdown.plan_marker(_site(site), checksum)


def issue_marker(key: str) -> str:
    """The first line of a tracking issue: ``<!-- licsync:issue key=K -->``."""
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"issue key {key!r}: lower-case letters, digits, '.', '_' and '-' (1-100), "
            "starting with a letter or digit"
        )
    return f"<!-- licsync:issue key={key} -->"


def slug(title: str) -> str:
    """A tracking issue's default key: the title in lower case, runs of anything else as ``-``.

    Raises:
        UsageError: the title has no letter or digit to make a key of.
    """
    words = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")
    key = words[:80].strip("-")
    if not key:
        raise UsageError(f"title {title!r} has no letters or digits to make a key: give --key")
    return key


def plan_artifact_name(site: str, head_sha: str) -> str:
    """The name the plan workflow uploads a site's JSON plan under, for one head commit."""
    return f"licsync-plan-{_site(site)}-{head_sha}"


@dataclass(frozen=True, slots=True)
class Posted:
    """A comment or issue written.

    Attributes:
        action: ``created``, ``updated`` or ``reopened``.
        id: the comment's id or the issue's number.
        url: where a person reads it (``html_url``), "" when the forge did not say.
    """

    action: str
    id: int
    url: str


@dataclass(frozen=True, slots=True)
class ReviewedArtifact:
    """The plan a merge was reviewed with, as the forge holds it.

    Attributes:
        pull_request: the number of the merged pull request.
        head_sha: its head commit (the one the plan was made for).
        artifact: the artifact's name.
        plan_json: the bytes of ``plan.json`` inside it (not yet checked to be a plan).
    """

    pull_request: int
    head_sha: str
    artifact: str
    plan_json: bytes


class Forge(Protocol):
    """The forge operations the ``licsync github`` commands (and their successors) use.

    A forge holds connections: it is used as a context manager, which closes them.
    """

    def __enter__(self) -> Forge: ...

    def __exit__(self, *exc: object) -> None: ...

    def put_comment(self, pull_request: int, marker_prefix: str, body: str) -> Posted:
        """Replace the body of the comment on ``pull_request`` whose first line starts with
        ``marker_prefix``, or create one. ``body`` starts with the full marker line."""
        ...

    def reviewed_plans(
        self, merge_sha: str, site: str, *, before: str | None = None, plan_workflow: str = ""
    ) -> list[ReviewedArtifact]:
        """The reviewed plan of each pull request the push ``before..merge_sha`` merged (without
        ``before``: the one merged as ``merge_sha``), for ``site``, oldest merge first; each
        proven (:mod:`licsync.forge.provenance`) to be what the plan pipeline
        (``plan_workflow``, "" for the forge's default) made for the pull request's head and
        what its plan comment shows.

        Raises:
            ReviewedPlanMissing: no pull request, or no (unexpired) artifact for its head.
            ReviewedPlanRefused: artifacts exist, but none is proven.
        """
        ...

    def put_issue(self, title: str, marker: str, body: str) -> Posted:
        """Update (and reopen) the issue whose body's first line is ``marker``, or open one.
        ``body`` starts with the marker line."""
        ...
