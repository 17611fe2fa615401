"""``licsync ci ... --forge gitlab`` against the GitLab stand-in (REST API v4 over loopback):
the merge-request plan note, the reviewed plan of a merge from a plan job's artifact file with
its origin proven, tracking issues; pagination, rate limits, hostile answers, the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import Licsync, Result
from forge_standin import example_plan_json
from gitlab_standin import PROJECT_ID, TOKEN, Canned, GitLabStandIn

MERGE = "a" * 40
HEAD = "b" * 40
PROJECT = f"/api/v4/projects/{PROJECT_ID}"


@pytest.fixture(scope="module")
def plan_json() -> str:
    return example_plan_json()


def _reviewed(licsync: Licsync, out: Path, *extra: str) -> Result:
    return licsync(
        ["ci", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out), *extra]
    )


def test_the_forge_is_detected_from_gitlab_ci(
    licsync: Licsync, gitlab: GitLabStandIn, plan_file: Path
) -> None:
    """In GitLab CI/CD (GITLAB_CI=true) `licsync ci comment` talks to GitLab without --forge;
    every request carries the token in PRIVATE-TOKEN and nothing else."""
    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 0, result.output
    assert "created the plan comment of site demo" in result.stdout
    (note,) = gitlab.notes_on(7)
    assert note["body"].startswith("<!-- licsync:plan site=demo checksum=sha256:")
    assert {r.headers.get("private-token") for r in gitlab.requests} == {TOKEN}
    assert all("authorization" not in r.headers for r in gitlab.requests)


def test_the_plan_note_is_updated_across_pages_and_others_are_left(
    licsync: Licsync, gitlab: GitLabStandIn, plan_file: Path
) -> None:
    """45 other notes (three pages of 20... read at 100 a page: one page), a person's note
    quoting the marker, a system note: the bot's own plan note is the one replaced."""
    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    for i in range(130):
        gitlab.add_note(7, f"note {i}", author=5)
    gitlab.add_note(7, "<!-- licsync:plan site=demo checksum=sha256:x -->\nfake", author=5)
    gitlab.add_note(7, "<!-- licsync:plan site=demo checksum=sha256:x -->", system=True)
    mine = gitlab.add_note(7, "<!-- licsync:plan site=demo checksum=sha256:old -->\nold")
    result = licsync(["ci", "comment", "--forge", "gitlab", "--pr", "7", str(plan_file)])
    assert result.exit_code == 0, result.output
    assert "updated the plan comment" in result.stdout
    assert "checksum=sha256:old" not in gitlab.notes[mine]["body"]
    gets = [r for r in gitlab.requests if r.method == "GET" and r.path.endswith("/notes")]
    assert len(gets) == 2  # 133 notes at 100 a page
    puts = [r for r in gitlab.requests if r.method == "PUT"]
    assert [r.path for r in puts] == [f"{PROJECT}/merge_requests/7/notes/{mine}"]


def test_the_reviewed_plan_comes_from_the_plan_jobs_artifact(
    licsync: Licsync, gitlab: GitLabStandIn, plan_json: str, tmp_path: Path, example: Path
) -> None:
    """Merge commit -> its merged merge request -> the newest of its pipelines with the plan
    job -> the artifact file licsync-plan-demo-HEAD/plan.json; proven; then apply accepts it."""
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE)
    gitlab.add_plan_job(5, "demo", plan_json)
    gitlab.add_plan_note(5, plan_json)
    out = example.parent / "reviewed.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == plan_json
    assert "pull request #5" in result.stdout
    applied = licsync(["apply", str(example), "--plan", str(out)])
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize(
    ("job", "found"),
    [
        ({"source": "push"}, "started by event 'push', not merge_request_event"),
        ({"source": "web"}, "started by event 'web'"),
        ({"job_name": "evil-plan-demo"}, None),
        ({"project_id": 78}, "ran in repository '78', not 77"),
        ({"head_sha": "c" * 40}, None),
        ({"ref": "refs/merge-requests/6/head"}, "is not a run of pull request #5"),
    ],
    ids=["push", "web", "other-job", "fork-project", "other-head", "other-mr"],
)
def test_an_artifact_from_any_other_pipeline_is_refused(
    licsync: Licsync,
    gitlab: GitLabStandIn,
    plan_json: str,
    tmp_path: Path,
    *,
    job: dict[str, object],
    found: str | None,
) -> None:
    """A plan file from a pipeline that is not the plan job's merge-request pipeline of this
    project on the head: refused saying what the pipeline was (or, when no plan job made it
    for the head at all, missing)."""
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE)
    gitlab.add_plan_job(5, "demo", plan_json, **job)  # type: ignore[arg-type]
    gitlab.add_plan_note(5, plan_json)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 1, result.output
    assert not out.exists()
    if found is None:
        assert "no reviewed plan: merge request !5" in result.stderr
    else:
        assert "apply must not run on a plan whose origin is not proven" in result.stderr
        assert found in result.stderr


def test_a_fork_merge_request_is_refused(
    licsync: Licsync, gitlab: GitLabStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A merge request from a fork whose pipeline ran in this project: its code is the fork's."""
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE, source_project_id=4000)
    gitlab.add_plan_job(5, "demo", plan_json)
    gitlab.add_plan_note(5, plan_json)
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    assert "ran code from repository '4000' (a fork?)" in result.stderr


@pytest.mark.parametrize("note", ["none", "person", "other-checksum"])
def test_the_plan_note_must_show_the_plans_checksum(
    licsync: Licsync, gitlab: GitLabStandIn, plan_json: str, tmp_path: Path, *, note: str
) -> None:
    """Only a note by this token's own user counts, and it must show the plan's checksum."""
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE)
    gitlab.add_plan_job(5, "demo", plan_json)
    if note == "person":
        gitlab.add_plan_note(5, plan_json, author=5)
    if note == "other-checksum":
        gitlab.add_note(5, "<!-- licsync:plan site=demo checksum=sha256:" + "0" * 64 + " -->")
    result = _reviewed(licsync, tmp_path / "p.json")
    assert result.exit_code == 1
    words = {
        "none": "has no plan comment for the site by this token's user",
        "person": "(1 by people, which do not count)",
        "other-checksum": "shows sha256:" + "0" * 64,
    }[note]
    assert words in result.stderr


def test_no_pipeline_and_no_merge_request_say_so(
    licsync: Licsync, gitlab: GitLabStandIn, tmp_path: Path
) -> None:
    out = tmp_path / "p.json"
    direct = _reviewed(licsync, out)
    assert direct.exit_code == 1
    assert "belongs to no merge request" in direct.stderr
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE)
    none = _reviewed(licsync, out)
    assert none.exit_code == 1
    assert "has no job licsync-plan-demo with the artifact" in none.stderr


def test_a_matrix_job_name_is_the_same_job(
    licsync: Licsync, gitlab: GitLabStandIn, plan_json: str, tmp_path: Path
) -> None:
    """parallel:matrix names the job `licsync-plan: [demo]`."""
    gitlab.add_merge_request(5, head_sha=HEAD, merge_sha=MERGE)
    gitlab.add_plan_job(5, "demo", plan_json, job_name="licsync-plan: [demo]")
    gitlab.add_plan_note(5, plan_json)
    assert _reviewed(licsync, tmp_path / "p.json").exit_code == 0


def test_every_merge_request_a_push_merged(
    licsync: Licsync, gitlab: GitLabStandIn, plan_json: str, tmp_path: Path
) -> None:
    before, m1, m2 = "1" * 40, "2" * 40, "3" * 40
    gitlab.add_merge_request(11, head_sha="5" * 40, merge_sha=m1)
    gitlab.add_merge_request(12, head_sha="6" * 40, merge_sha=m2)
    gitlab.pushes[(before, m2)] = [m1, m2]
    for iid in (11, 12):
        gitlab.add_plan_job(iid, "demo", plan_json)
        gitlab.add_plan_note(iid, plan_json)
    folder = tmp_path / "plans"
    folder.mkdir()
    result = licsync(
        [
            "ci",
            "reviewed-plan",
            "--sha",
            m2,
            "--site",
            "demo",
            "--before",
            before,
            "--out-dir",
            str(folder),
        ]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["01-pr11.json", "02-pr12.json"]


def test_tracking_issue_created_updated_reopened(
    licsync: Licsync, gitlab: GitLabStandIn, tmp_path: Path
) -> None:
    body = tmp_path / "body.md"
    body.write_text("apply failed", encoding="utf-8")
    args = ["ci", "issue", "--title", "licsync apply needs attention", "--key", "k", str(body)]
    for i in range(1, 120):
        gitlab.add_issue(i, f"other {i}")
    first = licsync(args)
    assert first.exit_code == 0, first.output
    assert "created issue #120 (k)" in first.stdout
    assert gitlab.issues[120]["description"].startswith("<!-- licsync:issue key=k -->\n")
    gitlab.issues[120]["state"] = "closed"
    again = licsync(args)
    assert "reopened issue #120" in again.stdout
    assert gitlab.issues[120]["state"] == "opened"
    assert "updated issue #120" in licsync(args).stdout


def test_rate_limits_are_waited_out(
    licsync: Licsync, gitlab: GitLabStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """429 with Retry-After, then 429 with only RateLimit-Reset: waited, then done."""
    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    gitlab.script(Canned(r"/notes$", 429, {"Retry-After": "7"}, b'{"message":"Retry later"}'))
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 0, result.output
    assert retry_waits == [7.0]


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (200, b"<!DOCTYPE html><p>sign in", "not JSON (HTML, not JSON)"),
        (200, b'{"not": "a list"}', "not a listing"),
        (200, b"\xff\xfe", "not UTF-8"),
        (401, b'{"message": "401 Unauthorized ' + TOKEN.encode() + b'"}', "401"),
        (403, b'{"message": "403 Forbidden"}', "api scope"),
    ],
    ids=["html", "object", "bytes", "401-echo", "403"],
)
def test_hostile_answers_are_clear_errors_without_the_token(
    licsync: Licsync,
    gitlab: GitLabStandIn,
    plan_file: Path,
    *,
    status: int,
    body: bytes,
    words: str,
) -> None:
    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    gitlab.script(Canned(r"/notes$", status, {}, body, method="GET"))
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert TOKEN not in result.output
    assert "Traceback" not in result.output


def test_a_next_page_on_another_host_is_not_followed(
    licsync: Licsync, gitlab: GitLabStandIn, plan_file: Path
) -> None:
    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    link = '<https://evil.example.com/api/v4/x?page=2>; rel="next"'
    gitlab.script(Canned(r"/notes$", 200, {"Link": link}, b"[]", method="GET"))
    result = licsync(["ci", "comment", "--pr", "7", str(plan_file)])
    assert result.exit_code == 1
    assert "the next page is on another host" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CI_API_V4_URL", "http://gitlab.example.com/api/v4", "plain http is allowed only"),
        ("CI_API_V4_URL", "https://u:p@gitlab.example.com/api/v4", "no query, fragment or cred"),
        ("CI_PROJECT_ID", "group/project", "expected the project's number"),
        ("LICSYNC_GITLAB_TOKEN", "", "LICSYNC_GITLAB_TOKEN or GITLAB_TOKEN is not set"),
    ],
)
def test_bad_settings_are_usage_errors(
    licsync: Licsync,
    gitlab: GitLabStandIn,
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
    assert "u:p" not in result.output
    assert gitlab.requests == []


def test_a_server_that_drips_its_answer_is_ended_by_the_deadline(gitlab: GitLabStandIn) -> None:
    """One command's deadline bounds every byte, however slowly they come (the read timeout
    alone restarts with each byte)."""
    import os

    from licsync.errors import ForgeError
    from licsync.forge.gitlab import GitLab, settings_from_env

    gitlab.add_merge_request(7, head_sha=HEAD, merged=False)
    gitlab.script(Canned(r"/notes$", 200, {}, b"[" + b" " * 200 + b"]", method="GET", drip=0.05))
    with (
        pytest.raises(ForgeError, match="did not finish answering within 1 s"),
        GitLab(settings_from_env(os.environ), deadline=1.0) as client,
    ):
        client.put_comment(7, "<!-- licsync:plan site=demo ", "x")  # 200 bytes: 10 s of drip
