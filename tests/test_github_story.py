"""The pull-request story of issue 11, step by step with the commands the workflows run: a
pull request's plan commented, a second push updating that comment, the merge applying exactly
the reviewed plan, and the next plan empty. The site is the demo organisation served by the
simulator, GitHub the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from clock import DEMO_NOW_ARG
from github_standin import GitHubStandIn, plan_zip
from inprocess import in_process_simulator
from licsync.sim import Simulator
from licsync.sim.demo import demo_organisation

MERGE, HEAD1, HEAD2 = "a" * 40, "1" * 40, "2" * 40


@pytest.fixture
def demo() -> Iterator[Simulator]:
    """The demo organisation served over loopback (its clock is the demo's)."""
    with in_process_simulator(demo_organisation()) as running:
        yield running


def _ids(plan_file: Path) -> set[tuple[str, str]]:
    data = json.loads(plan_file.read_text(encoding="utf-8"))
    return {(c["action"], c.get("user") or c.get("name")) for c in data["changes"]}


def test_pull_request_comment_merge_apply_converges(
    example: Path, licsync: Licsync, demo: Simulator, github: GitHubStandIn, tmp_path: Path
) -> None:
    """Two users added and a rule changed: one comment with exactly those changes, updated
    by a second push; after the merge, reviewed-plan + apply --plan make exactly those and
    the next plan is empty."""
    site = ["--qrs-url", demo.url, "--now", DEMO_NOW_ARG]
    start = licsync(["apply", "licenses", *site, "--auto-approve"])
    assert start.exit_code == 0, start.output  # the site now matches main

    # The pull request: two users, and the Sales rule's comment.
    edit_file(
        example / "professional.yaml",
        "    - user: CORP\\anna.berg\n",
        "    - user: CORP\\lena.berg\n      ticket: LIC-200\n"
        "    - user: CORP\\mats.holm\n    - user: CORP\\anna.berg\n",
    )
    edit_file(
        example / "analyzer.yaml",
        "      comment: Everyone in Sales reads the pipeline apps",
        "      comment: Sales reads the pipeline and forecast apps",
    )
    first = tmp_path / "plan1.json"
    planned = licsync(["plan", "licenses", *site, "--format", "json", "--out", str(first)])
    assert planned.exit_code == 0, planned.output
    assert _ids(first) == {
        ("allocate", "CORP\\lena.berg"),
        ("allocate", "CORP\\mats.holm"),
        ("update-rule", "Sales analyzers"),
    }
    commented = licsync(["github", "comment", "--pr", "12", str(first)])
    assert commented.exit_code == 0, commented.output
    (comment,) = github.comments_on(12)
    assert "3 changes" in comment["body"]
    assert "`CORP\\mats.holm`" in comment["body"]

    # A second push: Erik instead of Mats. The same comment is updated.
    edit_file(example / "professional.yaml", "CORP\\mats.holm", "CORP\\erik.holm")
    second = tmp_path / "plan2.json"
    planned = licsync(["plan", "licenses", *site, "--format", "json", "--out", str(second)])
    assert planned.exit_code == 0, planned.output
    assert licsync(["github", "comment", "--pr", "12", str(second)]).exit_code == 0
    (comment,) = github.comments_on(12)
    assert "`CORP\\erik.holm`" in comment["body"]
    assert "`CORP\\mats.holm`" not in comment["body"]  # (a finding still names his denial)
    assert json.loads(second.read_text(encoding="utf-8"))["checksum"] in comment["body"]

    # CI uploaded each head's plan; the pull request is merged with the second head.
    github.add_artifact(f"licsync-plan-demo-{HEAD1}", HEAD1, plan_zip(first.read_bytes()))
    github.add_artifact(f"licsync-plan-demo-{HEAD2}", HEAD2, plan_zip(second.read_bytes()))
    github.add_pull(12, head_sha=HEAD2, merge_sha=MERGE)
    reviewed = tmp_path / "reviewed.json"
    found = licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(reviewed)]
    )
    assert found.exit_code == 0, found.output
    assert reviewed.read_bytes() == second.read_bytes()

    applied = licsync(["apply", "licenses", *site, "--plan", str(reviewed), "--format", "json"])
    assert applied.exit_code == 0, applied.output
    report = json.loads(applied.stdout)
    done = {
        (i["id"]["kind"], i["id"]["subject"]) for i in report["items"] if i["status"] == "applied"
    }
    assert done == {
        ("allocate", "corp\\lena.berg"),
        ("allocate", "corp\\erik.holm"),
        ("update-rule", "sales analyzers"),
    }
    after = licsync(["plan", "licenses", *site, "--detailed-exitcode"])
    assert after.exit_code == 0, after.output  # 2 would mean changes are left
