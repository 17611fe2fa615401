"""What licsync writes to a forge: a plan comment and a tracking issue, each under the limit.

GitHub refuses a comment or issue body over 65,536 characters, so each body is made to fit
here, before anything is sent: the plan by the Markdown renderer's own folding (it cuts whole
rows and says how many, so no marker, code span or escape is cut in half); an issue body,
which licsync did not render, at a line break with a note.
"""

from __future__ import annotations

from licsync.forge import issue_marker, plan_marker
from licsync.plan import Plan
from licsync.render.markdown import MAX_COMMENT, render_markdown

__all__ = ["MAX_BODY", "issue_body", "plan_comment"]

MAX_BODY = MAX_COMMENT
"""GitHub's limit on a comment or issue body, in characters."""

_CUT_NOTE = "\n\n…(cut here to stay under GitHub's {limit:,}-character limit)\n"


def plan_comment(plan: Plan) -> str:
    """The sticky comment of ``plan``: its marker line (site, checksum), then the Markdown plan.

    A plan with no changes says so in the same comment ("no changes"), so a push that makes
    the site match replaces the previous plan instead of leaving it standing.
    """
    marker = plan_marker(plan.site, plan.checksum)  # refuses a site a marker cannot carry
    body = render_markdown(plan, limit=MAX_BODY)  # which starts with that marker line
    if len(body) > MAX_BODY or not body.startswith(f"{marker}\n"):  # a bug, if ever
        msg = f"plan comment of {len(body)} characters does not start with {marker}"
        raise AssertionError(msg)
    return body


def issue_body(key: str, text: str) -> str:
    """A tracking issue's body: its marker line, then ``text``, cut at a line break to fit."""
    marker = issue_marker(key)
    body = f"{marker}\n{text}"
    if len(body) <= MAX_BODY:
        return body
    note = _CUT_NOTE.format(limit=MAX_BODY)
    room = MAX_BODY - len(note)
    cut = body.rfind("\n", 0, room)
    if cut <= len(marker):  # one enormous line: cut inside it, but never inside the marker
        cut = room
    return body[:cut] + note
