"""``licsync github comment``: one sticky plan comment per site, against the GitHub stand-in."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from builders import PRO, actual, alloc, desired, policy, user
from cli_runner import Licsync
from clock import NOW
from github_standin import OWNER, REPO, TOKEN, GitHubStandIn
from licsync.desired import Desired
from licsync.forge.bodies import plan_comment
from licsync.plan import Plan, plan
from licsync.policy import SafetyPolicy
from licsync.render import render_json
from licsync.render.fromdata import plan_from_data
from licsync.session import SessionRequest, open_session
from licsync.signals import Signals
from licsync.site import Site

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMENTS = f"/repos/{OWNER}/{REPO}/issues/7/comments"


@pytest.fixture(scope="module")
def demo_plan() -> Plan:
    """The example site's plan against the embedded demo organisation."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)
        with open_session(SessionRequest(directory=Path("licenses"))) as session:
            return session.plan().plan


def _demo(**kw: object) -> Desired:
    """A desired state of site ``demo`` (the example's name)."""
    return dataclasses.replace(desired(**kw), site=Site(name="demo", qrs_url="embedded"))  # type: ignore[arg-type]


def _write(tmp_path: Path, result: Plan, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(render_json(result), encoding="utf-8")
    return path


def test_creates_one_comment_after_reading_every_page(
    licsync: Licsync, github: GitHubStandIn, demo_plan: Plan, tmp_path: Path
) -> None:
    """With 130 other comments on the pull request, both pages are read (per_page=100), then
    one comment is created whose first line is the site's marker with the checksum."""
    for i in range(130):
        github.add_comment(7, f"comment {i}")
    result = licsync(["github", "comment", "--pr", "7", str(_write(tmp_path, demo_plan))])
    assert result.exit_code == 0, result.output
    assert "created the plan comment of site demo (12 changes) on pull request #7" in result.stdout
    gets = [r for r in github.requests if r.method == "GET"]
    assert [r.path for r in gets] == [COMMENTS, COMMENTS]
    assert gets[0].query == {"per_page": ["100"]}
    assert gets[1].query == {"page": ["2"], "per_page": ["100"]}
    posts = [r for r in github.requests if r.method == "POST"]
    assert [r.path for r in posts] == [COMMENTS]
    body = posts[0].body["body"]
    assert body.split("\n", 1)[0] == (
        f"<!-- licsync:plan site=demo checksum={demo_plan.checksum} -->"
    )
    assert body == plan_comment(demo_plan)
    assert "### licsync plan for site `demo`: 12 changes" in body
    for request in github.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"].startswith("licsync/")


def test_a_second_push_updates_the_same_comment(
    licsync: Licsync, github: GitHubStandIn, demo_plan: Plan, tmp_path: Path
) -> None:
    """The comment of the site is PATCHed in place; another site's comment and a reply quoting
    the marker on a later line are left alone."""
    other = github.add_comment(7, "<!-- licsync:plan site=demo2 checksum=sha256:00 -->\nold")
    quoting = github.add_comment(7, "> see\n<!-- licsync:plan site=demo checksum=x -->")
    plan_file = _write(tmp_path, demo_plan)
    assert licsync(["github", "comment", "--pr", "7", str(plan_file)]).exit_code == 0
    ours = [cid for cid, c in github.comments.items() if c["user"] == "github-actions[bot]"]
    assert len(ours) == 1
    second = licsync(["github", "comment", "--pr", "7", str(plan_file)])
    assert second.exit_code == 0, second.output
    assert "updated the plan comment of site demo" in second.stdout
    patches = [r for r in github.requests if r.method == "PATCH"]
    assert [r.path for r in patches] == [f"/repos/{OWNER}/{REPO}/issues/comments/{ours[0]}"]
    assert len(github.comments_on(7)) == 3
    assert github.comments[other]["body"].endswith("old")
    assert github.comments[quoting]["body"].startswith("> see")


def test_a_plan_without_changes_says_so_in_the_same_comment(
    licsync: Licsync, github: GitHubStandIn, demo_plan: Plan, tmp_path: Path
) -> None:
    """When a push makes the site match, the comment is replaced by "no changes"."""
    assert (
        licsync(["github", "comment", "--pr", "7", str(_write(tmp_path, demo_plan))]).exit_code == 0
    )
    empty = plan(_demo(), actual([], []), Signals(), NOW)
    result = licsync(["github", "comment", "--pr", "7", str(_write(tmp_path, empty, "e.json"))])
    assert result.exit_code == 0, result.output
    assert "(no changes)" in result.stdout
    (comment,) = github.comments_on(7)
    assert "### licsync plan for site `demo`: no changes" in comment["body"]
    assert "The site matches the desired state." in comment["body"]
    assert f"checksum={empty.checksum}" in comment["body"].splitlines()[0]


def _huge_plan(n: int) -> Plan:
    users = [user(f"CORP\\someone.with.a.rather.long.name{i:05d}") for i in range(n)]
    state = actual(users, [alloc(PRO, u.display, used_days=30) for u in users])
    pol = policy(safety=SafetyPolicy(max_reclaims=10, max_reclaim_share=0.1, share_floor=5))
    return plan(_demo(site_policy=pol), state, Signals(), NOW)


def test_a_huge_plan_fits_in_one_comment(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """3,000 reclaims: the comment stays under 65,536 characters with its marker whole, the
    summary and capacity first, and a note saying rows were left out."""
    big = _huge_plan(3000)
    result = licsync(["github", "comment", "--pr", "7", str(_write(tmp_path, big))])
    assert result.exit_code == 0, result.output
    (comment,) = github.comments_on(7)
    body = comment["body"]
    assert len(body) <= 65_536
    assert body.startswith(f"<!-- licsync:plan site=demo checksum={big.checksum} -->\n")
    assert body.index("| professional | authoritative |") < body.index("#### Professional")
    assert "rows left out to stay under GitHub's comment limit" in body


def test_hostile_user_names_render_inert(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """Markdown, HTML, mentions and links in a user name from QRS become text in the comment."""
    evil = "CORP\\x<img src=x onerror=alert(1)>@admins [click](https://evil.example) #1 |"
    state = actual([user(evil)], [alloc(PRO, evil, used_days=30)])
    result = licsync(
        [
            "github",
            "comment",
            "--pr",
            "7",
            str(_write(tmp_path, plan(_demo(), state, Signals(), NOW))),
        ]
    )
    assert result.exit_code == 0, result.output
    body = github.comments_on(7)[0]["body"]
    tokens = MarkdownIt("gfm-like").parse(body)
    every = [*tokens, *(c for t in tokens for c in (t.children or []))]
    assert "link_open" not in {t.type for t in every}
    ours = ("<!--", "<details", "</details", "<sub>", "</sub>")
    html = [t.content.strip() for t in every if t.type in ("html_inline", "html_block")]
    assert html
    assert all(h.startswith(ours) for h in html), html
    text = "".join(t.content for t in every if t.type == "text")
    assert "@admins" not in text
    assert "#1" not in text
    assert "img" in text or "img" in "".join(t.content for t in every if t.type == "code_inline")


def test_an_edited_plan_is_refused_before_anything_is_sent(
    licsync: Licsync, github: GitHubStandIn, demo_plan: Plan, tmp_path: Path
) -> None:
    """A JSON plan whose changes no longer match its checksum: exit 1, no request."""
    data = json.loads(render_json(demo_plan))
    data["changes"].pop()
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = licsync(["github", "comment", "--pr", "7", str(path)])
    assert result.exit_code == 1
    assert "checksum does not match" in result.stderr
    assert github.requests == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format_version": "2.0"}, "format_version '2.0'"),
        ({"site": 5}, "plan.json.site: missing or not a string"),
        ({"now": "yesterday"}, "plan.json.now: 'yesterday' is not an ISO 8601 instant"),
    ],
    ids=["version", "site", "now"],
)
def test_a_broken_plan_names_the_field(
    licsync: Licsync,
    github: GitHubStandIn,
    demo_plan: Plan,
    tmp_path: Path,
    *,
    change: dict[str, object],
    words: str,
) -> None:
    """A wrong field of the JSON plan: exit 1, the message names the file and field."""
    data = json.loads(render_json(demo_plan)) | change
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = licsync(["github", "comment", "--pr", "7", str(path)])
    assert result.exit_code == 1
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_not_json_names_line_and_column(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """A file that is not JSON: file:line:col, exit 1."""
    path = tmp_path / "plan.json"
    path.write_text('{\n  "a": ,\n}', encoding="utf-8")
    result = licsync(["github", "comment", "--pr", "7", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2:8: not JSON" in result.stderr


def test_read_back_plan_renders_as_the_original(demo_plan: Plan) -> None:
    """The demo plan read back from its JSON renders exactly as the plan itself."""
    again = plan_from_data(json.loads(render_json(demo_plan)))
    assert plan_comment(again) == plan_comment(demo_plan)
    big = _huge_plan(50)
    assert plan_comment(plan_from_data(json.loads(render_json(big)))) == plan_comment(big)


def test_a_planted_marker_cannot_stop_or_steal_the_comment(
    licsync: Licsync, github: GitHubStandIn, demo_plan: Plan, tmp_path: Path
) -> None:
    """Someone posts a comment starting with the site's marker first: the bot's own comment
    is the one updated; with none yet and the planted one not editable (403), a new one is
    created instead of failing."""
    github.others_editable = False
    planted = github.add_comment(7, "<!-- licsync:plan site=demo checksum=x -->\nfake plan")
    plan_file = _write(tmp_path, demo_plan)
    first = licsync(["github", "comment", "--pr", "7", str(plan_file)])
    assert first.exit_code == 0, first.output
    assert "created the plan comment" in first.stdout
    assert "cannot be edited (403)" in first.stderr
    second = licsync(["github", "comment", "--pr", "7", str(plan_file)])
    assert second.exit_code == 0, second.output
    assert "updated the plan comment" in second.stdout
    assert github.comments[planted]["body"].endswith("fake plan")
    bots = [c for c in github.comments_on(7) if c["user"] == "github-actions[bot]"]
    assert len(bots) == 1
    assert bots[0]["body"] == plan_comment(demo_plan)
