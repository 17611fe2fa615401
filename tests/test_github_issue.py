"""``licsync github issue``: one tracking issue per key, opened, updated or reopened."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import Licsync
from github_standin import REPO_PATH, GitHubStandIn


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "body.md"
    path.write_text("Apply of site **prod** failed: 2 items.\n", encoding="utf-8", newline="\n")
    return path


def test_opens_then_updates_one_issue(licsync: Licsync, github: GitHubStandIn, body: Path) -> None:
    """The first run opens an issue marked with the title's slug; the second updates it (after
    reading past 150 other issues and pull requests)."""
    for number in range(1, 151):
        if number % 2:
            github.add_pull(number, head_sha="f" * 40)
        else:
            github.add_issue(number, f"issue {number}")
    github.add_pull(151, head_sha="f" * 40)
    github.issues[151]["body"] = "<!-- licsync:issue key=licsync-apply-failed-prod -->"
    first = licsync(["github", "issue", "--title", "licsync: apply failed (prod)", str(body)])
    assert first.exit_code == 0, first.output
    assert "created issue #152 (licsync-apply-failed-prod)" in first.stdout
    created = github.issues[152]
    assert created["body"] == (
        "<!-- licsync:issue key=licsync-apply-failed-prod -->\n"
        "Apply of site **prod** failed: 2 items.\n"
    )
    assert created["title"] == "licsync: apply failed (prod)"
    body.write_text("Apply of site **prod** failed again.\n", encoding="utf-8", newline="\n")
    second = licsync(["github", "issue", "--title", "licsync: apply failed (prod)", str(body)])
    assert second.exit_code == 0, second.output
    assert "updated issue #152" in second.stdout
    assert github.issues[152]["body"].endswith("failed again.\n")
    assert len(github.issues) == 152
    (patch,) = [r for r in github.requests if r.method == "PATCH"]
    assert patch.path == f"{REPO_PATH}/issues/152"
    assert "state" not in patch.body
    listings = [r for r in github.requests if r.method == "GET"]
    assert listings[0].query == {
        "state": ["all"],
        "per_page": ["100"],
        "sort": ["created"],
        "direction": ["asc"],
    }
    assert [r.query.get("page") for r in listings] == [None, ["2"], None, ["2"]]


def test_a_closed_issue_is_reopened(licsync: Licsync, github: GitHubStandIn, body: Path) -> None:
    """Someone closed the tracking issue; the next failure reopens it (state=open)."""
    github.add_issue(4, "<!-- licsync:issue key=unreviewed-prod -->\nold", state="closed")
    result = licsync(["github", "issue", "--title", "x", "--key", "unreviewed-prod", str(body)])
    assert result.exit_code == 0, result.output
    assert "reopened issue #4 (unreviewed-prod)" in result.stdout
    assert github.issues[4]["state"] == "open"
    assert github.issues[4]["title"] == "x"


def test_a_huge_body_is_cut_at_a_line(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """A body over GitHub's 65,536 characters is cut at a line break, with a note."""
    path = tmp_path / "big.md"
    path.write_text(
        "".join(f"- item {i} ✓\n" for i in range(20_000)), encoding="utf-8", newline="\n"
    )
    result = licsync(["github", "issue", "--title", "big", str(path)])
    assert result.exit_code == 0, result.output
    text = github.issues[1]["body"]
    assert len(text) <= 65_536
    assert text.startswith("<!-- licsync:issue key=big -->\n- item 0 ✓\n")
    assert text.endswith("limit)\n")
    assert "\n\n…(cut here" in text
    assert text.split("\n\n…(cut here")[0].splitlines()[-1].endswith("✓")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--title", "x", "--key", "Bad Key"], "issue key 'Bad Key'"),
        (["--title", "!!!"], "no letters or digits to make a key"),
        (["--title", "   "], "the title is empty"),
        (["--title", "a\x1bb"], "at most 256 printable characters"),
    ],
    ids=["key", "slug", "empty", "control"],
)
def test_a_bad_title_or_key_exits_64(
    licsync: Licsync, github: GitHubStandIn, body: Path, *, args: list[str], words: str
) -> None:
    """Wrong --title/--key: exit 64, nothing sent."""
    result = licsync(["github", "issue", *args, str(body)])
    assert result.exit_code == 64, result.output
    assert words in result.stderr
    assert github.requests == []


def test_a_missing_body_file_exits_1(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """A body file that is not there: exit 1 naming it."""
    result = licsync(["github", "issue", "--title", "x", str(tmp_path / "nope.md")])
    assert result.exit_code == 1
    assert "nope.md: cannot read" in result.stderr
