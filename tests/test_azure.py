"""``licsync ci ... --forge azure`` against the Azure DevOps stand-in (REST API 7.1 over
loopback): the pull-request plan thread, the reviewed plan of a merge from a build artifact with
its origin proven, tracking work items; continuation tokens, rate limits, hostile answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from azure_standin import IDENTITY, TOKEN, AzureStandIn, Canned
from cli_runner import Licsync, Result
from forge_standin import example_plan_json

MERGE = "a" * 40
HEAD = "b" * 40
OTHER = "0d7a8f2e-9999-2222-3333-444455556666"


@pytest.fixture(scope="module")
def plan_json() -> str:
    return example_plan_json()


def _reviewed(licsync: Licsync, out: Path, *extra: str) -> Result:
    return licsync(
        ["ci", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out), *extra]
    )


def test_the_plan_thread_is_created_then_updated(
    licsync: Licsync, azure: AzureStandIn, plan_file: Path
) -> None:
    """Detected from TF_BUILD; one closed thread per site; a person's thread quoting the marker
    is left alone; every request has api-version and the bearer token."""
    azure.add_pull(7, head_sha=HEAD, merge_sha=None, completed=False)
    azure.add_comment_thread(7, "<!-- licsync:plan site=demo checksum=sha256:x -->", author=OTHER)
    first = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert first.exit_code == 0, first.output
    second = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert "updated the plan comment of site demo" in second.stdout, second.output
    mine = [t for t in azure.threads.values() if t["comments"][0]["author"] == IDENTITY]
    assert len(mine) == 1
    assert mine[0]["status"] == 4
    assert mine[0]["comments"][0]["content"].startswith("<!-- licsync:plan site=demo checksum=")
    assert all(r.query.get("api-version") in (["7.1"], ["7.1-preview"]) for r in azure.requests)
    assert {r.headers["authorization"] for r in azure.requests} == {f"Bearer {TOKEN}"}


def test_the_reviewed_plan_comes_from_the_pull_requests_build(
    licsync: Licsync, azure: AzureStandIn, plan_json: str, example: Path
) -> None:
    """Merge commit -> the completed pull request (pull request query) -> its builds, newest
    first across continuation pages -> the artifact's zip -> NAME/plan.json; apply accepts it."""
    azure.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    azure.add_plan_build(5, "demo", plan_json)
    for _ in range(5):  # newer builds of the pull request without the artifact (other sites)
        azure.add_plan_build(5, "other", plan_json)
    azure.add_plan_thread(5, plan_json)
    out = example.parent / "reviewed.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == plan_json
    pages = [r for r in azure.requests if r.path.endswith("/_apis/build/builds")]
    assert len(pages) == 3
    applied = licsync(["apply", str(example), "--plan", str(out)])
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize(
    ("build", "found"),
    [
        ({"reason": "manual"}, None),
        ({"yaml": "pipelines/ci.yml"}, "made by workflow 'pipelines/ci.yml'"),
        ({"fork": True}, "ran code from repository 'a fork' (a fork?)"),
        ({"head_sha": "c" * 40}, None),
        ({"branch": "refs/pull/6/merge"}, None),
    ],
    ids=["manual", "other-pipeline", "fork", "other-head", "other-branch"],
)
def test_an_artifact_from_any_other_build_is_refused(
    licsync: Licsync,
    azure: AzureStandIn,
    plan_json: str,
    tmp_path: Path,
    *,
    build: dict[str, object],
    found: str | None,
) -> None:
    azure.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    azure.add_plan_build(5, "demo", plan_json, **build)
    azure.add_plan_thread(5, plan_json)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 1, result.output
    assert not out.exists()
    if found is None:  # not listed as a pull-request build of #5 with that artifact at all
        assert "no reviewed plan: pull request #5" in result.stderr
    else:
        assert "apply must not run on a plan whose origin is not proven" in result.stderr
        assert found in result.stderr


def test_the_build_record_is_believed_over_the_listing(
    licsync: Licsync, azure: AzureStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A build listed for the pull request's merge branch whose trigger says another head."""
    azure.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    build = azure.add_plan_build(5, "demo", plan_json)
    build.head_sha = "c" * 40
    azure.add_plan_thread(5, plan_json)
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert f"ran on commit '{'c' * 40}'" in result.stderr


@pytest.mark.parametrize("thread", ["none", "person", "other-checksum"])
def test_the_plan_thread_must_show_the_plans_checksum(
    licsync: Licsync, azure: AzureStandIn, plan_json: str, tmp_path: Path, *, thread: str
) -> None:
    azure.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    azure.add_plan_build(5, "demo", plan_json)
    if thread == "person":
        azure.add_plan_thread(5, plan_json, author=OTHER)
    if thread == "other-checksum":
        azure.add_comment_thread(
            5, "<!-- licsync:plan site=demo checksum=sha256:" + "0" * 64 + " -->"
        )
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    words = {
        "none": "has no plan comment for the site by this token's identity",
        "person": "(1 by people, which do not count)",
        "other-checksum": "shows sha256:" + "0" * 64,
    }[thread]
    assert words in result.stderr


def test_a_direct_push_has_no_reviewed_plan(
    licsync: Licsync, azure: AzureStandIn, tmp_path: Path
) -> None:
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "is the merge commit of no pull request" in result.stderr


def test_every_pull_request_a_push_merged(
    licsync: Licsync, azure: AzureStandIn, plan_json: str, tmp_path: Path
) -> None:
    before, m1, m2 = "1" * 40, "2" * 40, "3" * 40
    azure.add_pull(11, head_sha="5" * 40, merge_sha=m1)
    azure.add_pull(12, head_sha="6" * 40, merge_sha=m2)
    azure.pushes[(before, m2)] = [m1, m2]
    for number in (11, 12):
        azure.add_plan_build(number, "demo", plan_json)
        azure.add_plan_thread(number, plan_json)
    folder = tmp_path / "plans"
    folder.mkdir()
    args = ["ci", "reviewed-plan", "--sha", m2, "--site", "demo", "--before", before]
    result = licsync([*args, "--out-dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["01-pr11.json", "02-pr12.json"]


def test_a_work_item_is_created_updated_and_reopened(
    licsync: Licsync, azure: AzureStandIn, tmp_path: Path
) -> None:
    """Tagged licsync-issue-KEY (a longer tag that contains it is another key); the body is
    shown as written (HTML-escaped); a Done item goes back to its type's Proposed state."""
    azure.add_work_item(1, tags="licsync-issue-k-longer")
    body = tmp_path / "body.md"
    body.write_text("<b>apply</b> failed & **why**", encoding="utf-8")
    args = ["ci", "issue", "--title", "licsync apply needs attention", "--key", "k", str(body)]
    first = licsync(args)
    assert first.exit_code == 0, first.output
    assert "created issue #2 (k)" in first.stdout
    item = azure.work_items[2]
    assert item["System.Tags"] == "licsync-issue-k"
    assert "&lt;b&gt;apply&lt;/b&gt; failed &amp; **why**" in item["System.Description"]
    item["System.State"] = "Done"
    again = licsync(args)
    assert "reopened issue #2" in again.stdout, again.output
    assert item["System.State"] == "To Do"
    assert "updated issue #2" in licsync(args).stdout


def test_rate_limits_are_waited_out(
    licsync: Licsync, azure: AzureStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    azure.add_pull(7, head_sha=HEAD, merge_sha=None, completed=False)
    azure.script(Canned(r"/threads$", 429, {"Retry-After": "11"}, b"", method="GET"))
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 0, result.output
    assert retry_waits == [11.0]


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (203, b"<html><body>Sign in</body></html>", "not JSON (HTML, not JSON)"),
        (200, b'{"value": {"not": "a list"}}', "not a listing"),
        (401, TOKEN.encode(), "401 (is SYSTEM_ACCESSTOKEN mapped"),
        (500, b'{"message": "' + TOKEN.encode() + b'"}', "500"),
    ],
    ids=["sign-in-page", "object", "401-echo", "500-echo"],
)
def test_hostile_answers_are_clear_errors_without_the_token(
    licsync: Licsync,
    azure: AzureStandIn,
    plan_file: Path,
    *,
    status: int,
    body: bytes,
    words: str,
) -> None:
    azure.add_pull(7, head_sha=HEAD, merge_sha=None, completed=False)
    for _ in range(6):
        azure.script(Canned(r"/threads$", status, {}, body, method="GET"))
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert TOKEN not in result.output
    assert "Traceback" not in result.output


def test_an_artifact_served_from_another_host_is_not_fetched_with_the_token(
    licsync: Licsync, azure: AzureStandIn, plan_json: str, tmp_path: Path
) -> None:
    azure.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    build = azure.add_plan_build(5, "demo", plan_json)
    azure.add_plan_thread(5, plan_json)
    name = f"licsync-plan-demo-{HEAD}"
    azure.script(
        Canned(
            rf"/builds/{build.id}/artifacts$",
            200,
            {},
            (
                '{"name": "' + name + '", "resource": {"type": "PipelineArtifact", '
                '"downloadUrl": "https://artprod.example.com/x?sig=SIGNED"}}'
            ).encode(),
        )
    )
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "its download is on another host (artprod.example.com)" in result.stderr
    assert "SIGNED" not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SYSTEM_ACCESSTOKEN", "", "SYSTEM_ACCESSTOKEN or LICSYNC_AZURE_TOKEN is not set"),
        ("BUILD_REPOSITORY_ID", "licences", "expected the repository's GUID"),
        ("SYSTEM_COLLECTIONURI", "http://tfs.example.com/tfs/", "plain http is allowed only"),
    ],
)
def test_bad_settings_are_usage_errors(
    licsync: Licsync,
    azure: AzureStandIn,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    variable: str,
    value: str,
    words: str,
) -> None:
    monkeypatch.setenv(variable, value)
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert azure.requests == []
