"""``licsync github reviewed-plan``: the plan a merge was reviewed with, from its artifact."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from cli_runner import Licsync, Result
from forge_standin import example_plan_json
from github_standin import BOT, REPO_PATH, TOKEN, Canned, GitHubStandIn, plan_zip
from licsync.errors import ForgeError
from licsync.forge.artifact import plan_from_zip

MERGE = "a" * 40
HEAD = "b" * 40
NAME = f"licsync-plan-demo-{HEAD}"


@pytest.fixture(scope="module")
def plan_json() -> str:
    """The example site's JSON plan against the embedded demo organisation."""
    return example_plan_json()


def _reviewed(licsync: Licsync, out: Path, *, sha: str = MERGE, site: str = "demo") -> Result:
    return licsync(["github", "reviewed-plan", "--sha", sha, "--site", site, "--out", str(out)])


def test_finds_the_merged_pull_requests_plan_across_pages(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """Merge sha -> its merged pull request -> head sha -> the newest unexpired artifact of
    that name (on the third page of the listing) -> zip from the blob host, without the token."""
    github.add_pull(3, head_sha="c" * 40, merged=False, commits=(MERGE,))  # contains it, open
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    for _ in range(230):
        github.add_artifact(NAME, HEAD, b"old", expired=True)
    github.add_artifact(NAME, HEAD, plan_zip("{}"), created_at="2026-11-20T08:00:00Z")
    wanted = github.add_artifact(NAME, HEAD, plan_zip(plan_json), created_at="2026-11-20T09:30:00Z")
    github.add_artifact(NAME, "d" * 40, plan_zip("{}"), created_at="2026-11-21T00:00:00Z")
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "reviewed.json"
    result = licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == plan_json
    assert f"pull request #5 (head {HEAD})" in result.stdout
    paths = [(r.method, r.path) for r in github.requests]
    listing = f"{REPO_PATH}/actions/artifacts"
    assert paths == [
        ("GET", f"{REPO_PATH}/commits/{MERGE}/pulls"),
        ("GET", listing),
        ("GET", listing),
        ("GET", listing),
        ("GET", f"{REPO_PATH}/actions/runs/{wanted.run_id}"),
        ("GET", f"{listing}/{wanted.id}/zip"),
        ("GET", f"{REPO_PATH}/issues/5/comments"),
    ]
    assert github.requests[1].query == {"name": [NAME], "per_page": ["100"]}
    assert github.requests[3].query == {"name": [NAME], "page": ["3"], "per_page": ["100"]}
    (blob,) = github.blob_requests
    assert blob.path == f"/blob/{wanted.id}"
    assert "authorization" not in blob.headers
    assert TOKEN not in json.dumps(blob.headers)


def test_the_plan_then_applies_as_reviewed(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, example: Path
) -> None:
    """What reviewed-plan writes is what apply --plan accepts (the embedded demo site)."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    github.add_plan_comment(5, plan_json)
    out = example.parent / "reviewed.json"
    assert _reviewed(licsync, out).exit_code == 0
    applied = licsync(["apply", str(example), "--plan", str(out)])
    assert applied.exit_code == 0, applied.output
    assert "nothing left to do" in applied.stdout


def test_the_commits_only_merged_pull_request_is_used(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A merged pull request listed for the commit but naming another merge commit is used
    when it is the only one."""
    github.add_pull(9, head_sha=HEAD, merge_sha="e" * 40, commits=(MERGE,))
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    github.add_plan_comment(9, plan_json)
    out = tmp_path / "p.json"
    result = licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "pull request #9" in result.stdout


@pytest.mark.parametrize("expired", [False, True], ids=["none", "expired"])
def test_no_artifact_says_which_and_exits_1(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path, *, expired: bool
) -> None:
    """Merged before its plan finished (or the plan failed, or it expired): the message names
    the pull request, the head sha and the artifact; nothing is written."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    if expired:
        github.add_artifact(NAME, HEAD, plan_zip("{}"), expired=True)
    github.add_artifact(f"licsync-plan-other-{HEAD}", HEAD, plan_zip("{}"))
    out = tmp_path / "p.json"
    result = licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "pull request #5" in result.stderr
    assert HEAD in result.stderr
    assert NAME in result.stderr
    assert "apply must not run on a guess" in result.stderr
    assert not out.exists()


def test_a_commit_of_no_pull_request_exits_1(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """A commit pushed to main directly has no reviewed plan."""
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "belongs to no pull request" in result.stderr


def test_a_plan_of_another_site_is_refused(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """The artifact named for site prod holding demo's plan: refused, nothing written."""
    head_name = f"licsync-plan-prod-{HEAD}"
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(head_name, HEAD, plan_zip(plan_json))
    # Even a plan comment of site prod showing that checksum does not make it prod's plan.
    checksum = json.loads(plan_json)["checksum"]
    github.add_comment(5, f"<!-- licsync:plan site=prod checksum={checksum} -->\nx", user=BOT)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out, site="prod")
    assert result.exit_code == 1
    assert "a plan of site demo, not prod" in result.stderr
    assert not out.exists()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            _zip({"other.json": b"{}"}),
            "no plan.json at the top of the archive (it holds 'other.json')",
        ),
        (_zip({"../plan.json": b"{}", "plan.json": b"{}"}), "'../plan.json' has an unsafe path"),
        (_zip({"/etc/cron.d/x": b"", "plan.json": b"{}"}), "has an unsafe path"),
        (_zip({"C:evil": b"", "plan.json": b"{}"}), "has an unsafe path"),
        (b"<html>not a zip</html>", "the download is not a zip archive"),
        (_zip({"plan.json": b"\xff\xfe"}), "plan.json: not UTF-8 text"),
        (_zip({"plan.json": b'{"format_version": "1.2"'}), "plan.json:1:25: not JSON"),
        (_zip({"plan.json": b"[]"}), "plan.json: expected an object"),
    ],
    ids=["no-plan", "dotdot", "absolute", "drive", "not-zip", "not-utf8", "truncated", "array"],
)
def test_hostile_artifacts_are_refused(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path, *, content: bytes, words: str
) -> None:
    """Whatever the zip holds, a clear error naming the artifact, exit 1, nothing written."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, content)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 1, result.output
    assert f"artifact {NAME}" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_zip_bomb_stops_at_the_cap() -> None:
    """plan.json that inflates past the cap is refused after reading at most the cap, whether
    its header says so or lies."""
    bomb = _zip({"plan.json": b"0" * 5_000_000})
    assert len(bomb) < 50_000
    with pytest.raises(ForgeError, match="over 1,000,000"):
        plan_from_zip(io.BytesIO(bomb), what="artifact x", limit=1_000_000)
    # The same entry with its declared size rewritten to 10 bytes: the read stops anyway.
    lying = bytearray(bomb)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = lying.index(signature) + offset
        lying[at : at + 4] = (10).to_bytes(4, "little")
    with pytest.raises(ForgeError, match="artifact x"):
        plan_from_zip(io.BytesIO(bytes(lying)), what="artifact x", limit=1_000_000)


def test_the_redirect_must_not_be_plain_http_elsewhere(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A download redirected to http:// on another machine is refused (no request sent)."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    github.blob_redirect = lambda artifact: "http://blob.example.com/x?sig=SIGNED"
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "redirected to plain http on another machine" in result.stderr
    assert "SIGNED" not in result.output


def test_a_relative_redirect_stays_on_the_api_host_without_the_token(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A download redirected to a path (no host) is fetched from the API's host, without the
    token, as GitLab's and Azure DevOps' downloads are."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    github.blob_redirect = lambda artifact: "/elsewhere/blob?sig=SIGNED"
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    followed = [r for r in github.requests if r.path == "/elsewhere/blob"]
    assert len(followed) == 1
    assert "authorization" not in followed[0].headers
    assert "user-agent" in followed[0].headers  # the names are recorded lower-case
    assert "SIGNED" not in result.output
    assert github.blob_requests == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sha", "main", "--site", "demo"], "'main' is not a full commit sha"),
        (["--sha", MERGE, "--site", "demo/../x"], "a site name is letters"),
    ],
    ids=["sha", "site"],
)
def test_a_bad_command_line_exits_64(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path, *, args: list[str], words: str
) -> None:
    """A wrong --sha or --site is a wrong command line: exit 64, no request."""
    result = licsync(["github", "reviewed-plan", *args, "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 64
    assert words in result.stderr
    assert github.requests == []


def test_github_answering_html_is_a_clear_error(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """A proxy's HTML error page instead of JSON: named as such, exit 1."""
    github.script(Canned(r"/pulls$", 200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><p>x"))
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert f"GET {REPO_PATH}/commits/{MERGE}/pulls: GitHub's answer is not JSON (HTML" in (
        result.stderr
    )


def test_an_open_pull_request_is_not_a_review(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """The commit's only pull request is still open (the commit reached main another way):
    its plan was not what was merged, so there is none; exit 1."""
    github.add_pull(4, head_sha=HEAD, merged=False, commits=(MERGE,))
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "belongs to 1 pull request (#4) and none was merged as it" in result.stderr
