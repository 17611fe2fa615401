"""``reviewed-plan`` trusts a plan artifact only when GitHub's record of the run that uploaded it
says it is the plan workflow's run on the pull request, and the plan is the one its comment shows.

Every refusal says what was found. The stand-in answers ``GET /actions/runs/{id}`` with the fields
GitHub documents (``path``, ``event``, ``head_sha``, ``repository``, ``head_repository``,
``pull_requests``); artifacts name their run in ``workflow_run.id``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync, Result
from forge_standin import example_plan_json
from github_standin import BOT, OWNER, PLAN_WORKFLOW, REPO, GitHubStandIn, plan_zip
from licsync.plan import checksum
from licsync.render import render_json
from licsync.render.fromdata import plan_from_data

MERGE = "a" * 40
HEAD = "b" * 40
NAME = f"licsync-plan-demo-{HEAD}"


@pytest.fixture(scope="module")
def plan_json() -> str:
    return example_plan_json()


@pytest.fixture(scope="module")
def forged_json(plan_json: str) -> str:
    """A plan of the same site, consistent with itself, that nobody reviewed: the reviewed
    plan with one change fewer, its checksum recomputed as licsync computes it."""
    plan = plan_from_data(json.loads(plan_json), where="x")
    changes = plan.changes[1:]
    return render_json(
        dataclasses.replace(plan, changes=changes, checksum=checksum(plan.site, changes))
    )


def _reviewed(licsync: Licsync, out: Path, *extra: str) -> Result:
    return licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out), *extra]
    )


def _refused(result: Result, out: Path, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "apply must not run on a plan whose origin is not proven" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("run", "found"),
    [
        ({"path": ".github/workflows/ci.yml"}, "made by workflow '.github/workflows/ci.yml'"),
        ({"event": "workflow_dispatch"}, "started by event 'workflow_dispatch'"),
        ({"event": "push"}, "started by event 'push', not pull_request"),
        ({"event": "merge_group"}, "started by event 'merge_group'"),
        ({"event": "pull_request_target"}, "started by event 'pull_request_target'"),
        (
            {"head_repository": "mallory/licences", "pull_requests": ()},
            "ran code from repository 'mallory/licences' (a fork?)",
        ),
        ({"repository": "other/licences"}, "ran in repository 'other/licences'"),
        ({"pull_requests": (6,)}, "is not a run of pull request #5 (the forge lists #6)"),
        ({"pull_requests": ()}, "(the forge lists none)"),
    ],
    ids=[
        "other-workflow",
        "by-hand",
        "push",
        "merge-queue",
        "target",
        "fork",
        "other-repo",
        "other-pr",
        "no-pr",
    ],
)
def test_an_artifact_from_any_other_run_is_refused(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_json: str,
    tmp_path: Path,
    *,
    run: dict[str, Any],
    found: str,
) -> None:
    """Named right, consistent with itself, shown in the comment: still refused, with what the
    run was, when the run is not the plan workflow's on this repository's pull request."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    made_by = github.add_run(head_sha=HEAD, **run)
    artifact = github.add_artifact(NAME, HEAD, plan_zip(plan_json), run=made_by)
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    _refused(result, out, found, f"artifact {NAME} (id {artifact.id}), run {made_by.id}")
    assert "pull request #5" in result.stderr


def test_a_run_on_another_commit_is_refused(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """An artifact named for the head but uploaded by a run on another commit (as GitHub's
    own record of that run says): refused."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    other = "c" * 40
    github.add_artifact(NAME, other, plan_zip(plan_json))
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    _refused(_reviewed(licsync, out), out, f"uploaded by a run on commit '{other}'")


def test_a_run_whose_record_disagrees_with_the_listing_is_refused(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """The listing says the right head, the run itself says another: the run is believed."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    made_by = github.add_run(head_sha="c" * 40, pull_requests=(5,))
    github.add_artifact(NAME, HEAD, plan_zip(plan_json), run=made_by)
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    _refused(_reviewed(licsync, out), out, f"ran on commit '{'c' * 40}'")


def test_a_forged_plan_consistent_with_itself_is_refused_by_the_comment(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, forged_json: str, tmp_path: Path
) -> None:
    """A plan whose checksum matches its own changes but not the one the pull request's plan
    comment shows: refused, both checksums named."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(forged_json))
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    forged = json.loads(forged_json)["checksum"]
    shown = json.loads(plan_json)["checksum"]
    assert forged != shown
    _refused(_reviewed(licsync, out), out, f"states checksum {forged}", f"shows {shown}")


@pytest.mark.parametrize("comments", ["none", "person", "disagree"])
def test_no_plan_comment_by_the_plan_job_is_refused(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_json: str,
    forged_json: str,
    tmp_path: Path,
    *,
    comments: str,
) -> None:
    """No comment; one typed by a person (anyone can write the marker); two bot comments that
    disagree: nothing proves which plan was reviewed."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    if comments == "person":
        github.add_plan_comment(5, plan_json, user="mallory")
    if comments == "disagree":
        github.add_plan_comment(5, plan_json)
        github.add_plan_comment(5, forged_json, user="other-app[bot]")
    out = tmp_path / "p.json"
    words = {
        "none": "has no plan comment for the site by the plan job",
        "person": "(1 by people, which do not count)",
        "disagree": "plan comments disagree",
    }[comments]
    _refused(_reviewed(licsync, out), out, words)


def test_a_forged_newer_artifact_does_not_hide_the_proven_one(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, forged_json: str, tmp_path: Path
) -> None:
    """A newer artifact of the same name from a run by hand is passed over; the plan workflow's
    one, whose checksum the comment shows, is the reviewed plan."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json), created_at="2026-11-20T09:00:00Z")
    by_hand = github.add_run(head_sha=HEAD, event="workflow_dispatch", pull_requests=())
    github.add_artifact(
        NAME, HEAD, plan_zip(forged_json), run=by_hand, created_at="2026-11-20T12:00:00Z"
    )
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == plan_json


def test_the_path_as_owner_repo_path_at_ref_is_the_same_workflow(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """GitHub writes a run's path as `.github/workflows/x.yml` or `owner/repo/...x.yml@ref`."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    made_by = github.add_run(
        head_sha=HEAD, path=f"{OWNER}/{REPO}/{PLAN_WORKFLOW}@refs/pull/5/merge"
    )
    github.add_artifact(NAME, HEAD, plan_zip(plan_json), run=made_by)
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    assert _reviewed(licsync, out).exit_code == 0


def test_another_plan_workflow_is_named_with_an_option(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A repository whose plan workflow has another name says so: its runs are trusted, the
    default's are not."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    made_by = github.add_run(head_sha=HEAD, path=".github/workflows/qlik-plan.yml")
    github.add_artifact(NAME, HEAD, plan_zip(plan_json), run=made_by)
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    _refused(_reviewed(licsync, out), out, "not the plan workflow '.github/workflows/licenses")
    named = _reviewed(licsync, out, "--plan-workflow", ".github/workflows/qlik-plan.yml")
    assert named.exit_code == 0, named.output


def test_a_hostile_run_answer_is_shown_escaped(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A workflow path with control characters (a hostile answer) is escaped in the refusal."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    made_by = github.add_run(head_sha=HEAD, path="evil\x1b]0;pwned\x07.yml")
    github.add_artifact(NAME, HEAD, plan_zip(plan_json), run=made_by)
    github.add_plan_comment(5, plan_json)
    out = tmp_path / "p.json"
    result = _reviewed(licsync, out)
    _refused(result, out, "evil\\x1b]0;pwned\\x07.yml")
    assert "\x1b" not in result.output


def test_every_pull_request_a_push_merged_is_resolved(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """A merge queue's batch: one push, three merged pull requests (one changed nothing under
    licenses/, so it has no plan). --before resolves each; --out-dir writes each plan in merge
    order; --out alone refuses to pick one."""
    before, m1, m2, m3 = "1" * 40, "2" * 40, "3" * 40, "4" * 40
    heads = {11: "5" * 40, 12: "6" * 40, 13: "7" * 40}
    github.add_pull(11, head_sha=heads[11], merge_sha=m1)
    github.add_pull(12, head_sha=heads[12], merge_sha=m2)
    github.add_pull(13, head_sha=heads[13], merge_sha=m3)
    github.pushes[(before, m3)] = [m1, m2, m3]
    for number in (11, 13):
        github.add_artifact(
            f"licsync-plan-demo-{heads[number]}", heads[number], plan_zip(plan_json)
        )
        github.add_plan_comment(number, plan_json)
    folder = tmp_path / "plans"
    folder.mkdir()
    args = ["github", "reviewed-plan", "--sha", m3, "--site", "demo", "--before", before]
    written = licsync([*args, "--out-dir", str(folder)])
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in folder.iterdir()) == ["01-pr11.json", "02-pr13.json"]
    one = licsync([*args, "--out", str(tmp_path / "p.json")])
    assert one.exit_code == 1
    assert "merged 2 pull requests with plans of site demo (#11, #13)" in one.stderr
    # Without --before only the pull request merged as the pushed commit counts.
    last = licsync(
        [
            "github",
            "reviewed-plan",
            "--sha",
            m3,
            "--site",
            "demo",
            "--out",
            str(tmp_path / "p.json"),
        ]
    )
    assert last.exit_code == 0, last.output
    assert "pull request #13" in last.stdout


def test_a_push_with_a_refused_plan_refuses_all(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """One pull request of the batch with a plan from the wrong run: nothing is written."""
    before, m1, m2 = "1" * 40, "2" * 40, "3" * 40
    github.add_pull(11, head_sha="5" * 40, merge_sha=m1)
    github.add_pull(12, head_sha="6" * 40, merge_sha=m2)
    github.pushes[(before, m2)] = [m1, m2]
    github.add_artifact(f"licsync-plan-demo-{'5' * 40}", "5" * 40, plan_zip(plan_json))
    github.add_plan_comment(11, plan_json)
    by_hand = github.add_run(head_sha="6" * 40, event="workflow_dispatch")
    github.add_artifact(f"licsync-plan-demo-{'6' * 40}", "6" * 40, plan_zip(plan_json), run=by_hand)
    github.add_plan_comment(12, plan_json)
    folder = tmp_path / "plans"
    folder.mkdir()
    result = licsync(
        [
            "github",
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
    assert result.exit_code == 1
    assert "pull request #12" in result.stderr
    assert list(folder.iterdir()) == []


def test_the_ci_group_is_the_same_command(
    licsync: Licsync, github: GitHubStandIn, plan_json: str, tmp_path: Path
) -> None:
    """`licsync ci reviewed-plan --forge github` and the GitHub Actions detection do the same."""
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(NAME, HEAD, plan_zip(plan_json))
    github.add_plan_comment(5, plan_json, user=BOT)
    out = tmp_path / "p.json"
    args = ["ci", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(out)]
    assert licsync([*args, "--forge", "github"]).exit_code == 0
    undetected = licsync(args)
    assert undetected.exit_code == 1
    assert "give --forge github|gitlab|azure" in undetected.stderr
