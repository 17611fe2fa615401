"""Issue 11's story from start to end, with exactly the commands the workflows run: a seeded
site adopted with ``dump`` (its first plan empty); a pull request that adds two users and
changes a rule, planned and commented once; a second push updating that comment; after the
merge, ``github reviewed-plan`` + ``apply --plan`` making exactly the reviewed changes, and the
next plan empty; then, 120 days on, the monthly ``propose --write --body`` proposing to reclaim
the inactive and idle users, and nothing else. The site is the simulator over loopback, GitHub
the stand-in."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from github_standin import GitHubStandIn, plan_zip
from inprocess import in_process_simulator
from licsync.actual import Actual
from licsync.identity import AccessType
from licsync.qrs import QrsClient, read_actual
from licsync.sim import SimStore, Simulator
from licsync.sim.seed import synthetic_organisation

START = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
PRO, ANA = AccessType.PROFESSIONAL, AccessType.ANALYZER
MERGE, HEAD1, HEAD2 = "e" * 40, "1" * 40, "2" * 40
PR = 7
IDLE_DAYS = 90


@pytest.fixture
def store() -> SimStore:
    return synthetic_organisation(400, 4, START)


@pytest.fixture
def site_sim(store: SimStore) -> Iterator[Simulator]:
    with in_process_simulator(store) as running:
        yield running


def _actual(sim: Simulator) -> Actual:
    with QrsClient(sim.url) as client:
        return read_actual(client).actual


def _seatless(actual: Actual, count: int) -> list[str]:
    """Active people of CORP who hold no seat of either type, in a stable order."""
    holders = {a.key for t in AccessType for a in actual.allocations_of(t)}
    free = sorted(
        f"{u.directory}\\{u.userid}"
        for key, u in actual.users.items()
        if key not in holders
        and u.directory == "CORP"
        and not (u.inactive or u.removed_externally or u.blocked)
    )
    assert len(free) >= count
    return free[:count]


def _changes(plan_file: Path) -> set[tuple[str, str]]:
    data = json.loads(plan_file.read_text(encoding="utf-8"))
    return {(c["action"], c.get("user") or c.get("name")) for c in data["changes"]}


def _plan_json(
    licsync: Licsync, site: Path, qrs: list[str], now: dt.datetime, out: Path, *, code: int = 0
) -> Path:
    planned = licsync(["plan", str(site), *qrs, "--now", now.isoformat(), "--format", "json"])
    # 3: over a safety cap (a month of idle seats at once); the changes are listed all the same
    assert planned.exit_code == code, planned.output
    out.write_text(planned.stdout, encoding="utf-8")
    return out


def _reclaims(plan_file: Path) -> set[str]:
    return {user for action, user in _changes(plan_file) if action == "reclaim"}


def _touched_users(before: str, after: str) -> tuple[set[str], list[str]]:
    """The users whose entries a proposal removed or ended, and every changed line."""
    changed = [
        line
        for line in difflib.ndiff(before.splitlines(), after.splitlines())
        if line.startswith(("- ", "+ "))
    ]
    users = {line.split("user: ", 1)[1].split()[0] for line in changed if "- user: " in line}
    lines = after.splitlines()
    for number, line in enumerate(lines):
        if line.strip().startswith("until: ") and line not in before.splitlines():
            users.add(lines[number - 1].split("user: ", 1)[1].split()[0])
    return users, changed


def _proposal_expected(moved: Actual, files: dict[str, str], later: dt.datetime) -> set[str]:
    """Declared people whose seat is inactive or idle: what the monthly proposal should end."""
    declared = {
        line.split("user: ", 1)[1].split()[0]
        for text in files.values()
        for line in text.splitlines()
        if line.lstrip().startswith("- user: ")
    }
    expected: set[str] = set()
    for t in AccessType:
        for a in moved.allocations_of(t):
            person = f"{a.directory}\\{a.userid}"
            user = moved.users.get(a.key)
            if a.quarantined or user is None or a.directory == "INTERNAL":
                continue
            if person not in declared:
                continue
            since = a.last_used or a.created
            idle = since is not None and (later - since).days > IDLE_DAYS
            # Removed and blocked users are only reported; their idle seats still go.
            if user.inactive or idle:
                expected.add(person)
    return expected


def _review_merge_apply(
    licsync: Licsync,
    site: Path,
    *,
    site_sim: Simulator,
    github: GitHubStandIn,
    site_name: str,
    tmp_path: Path,
) -> None:
    """A pull request, planned and commented; a second push; the merge, applied as reviewed."""
    qrs = ["--qrs-url", site_sim.url]
    now = ["--now", START.isoformat()]
    # The pull request: two people get professional, a professional rule covers one role more.
    lena, mats, erik = _seatless(_actual(site_sim), 3)
    edit_file(
        site / "professional.yaml",
        "professional:\n  allocations:\n",
        f"professional:\n  allocations:\n    - user: {lena}\n      ticket: LIC-200\n"
        f"    - user: {mats}\n",
    )
    edit_file(
        site / "professional.yaml",
        '((user.roles="RootAdmin"))',
        '((user.roles="RootAdmin" or user.roles="ContentAdmin"))',
    )
    reviewed_changes = {
        ("allocate", lena),
        ("allocate", mats),
        ("update-rule", "Root admins in the QMC"),
    }
    plan1 = tmp_path / "plan1.json"
    planned = licsync(["plan", str(site), *qrs, *now, "--format", "json", "--out", str(plan1)])
    assert planned.exit_code == 0, planned.output
    assert _changes(plan1) == reviewed_changes
    assert licsync(["github", "comment", "--pr", str(PR), str(plan1)]).exit_code == 0
    (comment,) = github.comments_on(PR)
    assert f"site={site_name}" in comment["body"].splitlines()[0]
    assert "3 changes" in comment["body"]
    assert f"`{mats}`" in comment["body"]

    # A second push: Erik instead of Mats; the same comment, updated.
    edit_file(site / "professional.yaml", f"    - user: {mats}\n", f"    - user: {erik}\n")
    plan2 = tmp_path / "plan2.json"
    planned = licsync(["plan", str(site), *qrs, *now, "--format", "json", "--out", str(plan2)])
    assert planned.exit_code == 0, planned.output
    reviewed_changes = (reviewed_changes - {("allocate", mats)}) | {("allocate", erik)}
    assert _changes(plan2) == reviewed_changes
    assert licsync(["github", "comment", "--pr", str(PR), str(plan2)]).exit_code == 0
    (comment,) = github.comments_on(PR)
    assert f"`{erik}`" in comment["body"]
    assert f"`{mats}`" not in comment["body"]

    # The plan workflow kept each head's plan; the merge is of the second head.
    github.add_artifact(f"licsync-plan-{site_name}-{HEAD1}", HEAD1, plan_zip(plan1.read_bytes()))
    github.add_artifact(f"licsync-plan-{site_name}-{HEAD2}", HEAD2, plan_zip(plan2.read_bytes()))
    github.add_pull(PR, head_sha=HEAD2, merge_sha=MERGE)
    reviewed = tmp_path / "reviewed.json"
    found = licsync(
        ["github", "reviewed-plan", "--sha", MERGE, "--site", site_name, "--out", str(reviewed)]
    )
    assert found.exit_code == 0, found.output
    assert reviewed.read_bytes() == plan2.read_bytes()

    audit = tmp_path / "audit.jsonl"
    applied = licsync(
        [
            "apply",
            str(site),
            *qrs,
            *now,
            "--plan",
            str(reviewed),
            "--audit-log",
            str(audit),
            "--detailed-exitcode",
            "--format",
            "json",
        ]
    )
    assert applied.exit_code == 0, applied.output
    items = json.loads(applied.stdout)["items"]
    assert {i["status"] for i in items} == {"applied"}
    assert len(items) == len(reviewed_changes)
    after_merge = licsync(["plan", str(site), *qrs, *now, "--detailed-exitcode"])
    assert after_merge.exit_code == 0, after_merge.output


def test_adopt_review_merge_apply_then_the_monthly_proposal(
    licsync: Licsync,
    store: SimStore,
    site_sim: Simulator,
    github: GitHubStandIn,
    tmp_path: Path,
) -> None:
    site = tmp_path / "licenses"
    qrs = ["--qrs-url", site_sim.url]
    now = ["--now", START.isoformat()]

    # Adoption: dump, and the first plan has no changes.
    dumped = licsync(["dump", *qrs, "--out", str(site), "--ownership", "authoritative"])
    assert dumped.exit_code == 0, dumped.output
    first = licsync(["plan", str(site), *qrs, *now, "--detailed-exitcode"])
    assert first.exit_code == 0, first.output
    name = licsync(["plan", str(site), *qrs, *now, "--format", "json"])
    site_name = json.loads(name.stdout)["site"]

    _review_merge_apply(
        licsync, site, site_sim=site_sim, github=github, site_name=site_name, tmp_path=tmp_path
    )

    # The monthly run, 120 days on, with the policy reclaiming inactive and idle users; a
    # third of the seats were used since.
    edit_file(site / "site.yaml", "    inactive: report\n", "    inactive: reclaim\n")
    edit_file(site / "site.yaml", "    action: report\n", "    action: reclaim\n")
    before = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.yaml")}
    store.advance(dt.timedelta(days=120))
    later = store.now()
    adopted = _actual(site_sim)
    for t in AccessType:
        for number, a in enumerate(adopted.allocations_of(t)):
            if number % 3 == 0 and a.user_id is not None and not a.quarantined:
                store.record_use(t.value, a.user_id, later - dt.timedelta(days=5))
    expected = _proposal_expected(_actual(site_sim), before, later)
    assert expected

    before_plan = _plan_json(licsync, site, qrs, later, tmp_path / "before.json")
    body = tmp_path / "body.md"
    proposed = licsync(
        [
            "propose",
            str(site),
            *qrs,
            "--now",
            later.isoformat(),
            "--write",
            "--body",
            str(body),
            "--detailed-exitcode",
        ]
    )
    assert proposed.exit_code == 2, proposed.output  # 2: something is proposed
    after = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.yaml")}
    assert after["site.yaml"] == before["site.yaml"]
    touched: set[str] = set()
    for file in ("professional.yaml", "analyzer.yaml"):
        users, changed = _touched_users(before[file], after[file])
        touched |= users
        # Every changed line is an entry of a proposed user: a user line, its fields, an until.
        assert all(("user: " in line) or line[2:].startswith("      ") for line in changed)
    assert touched == expected
    text = body.read_text(encoding="utf-8")
    assert all(f"`{person}`" in text for person in expected)

    # The plan after the proposal reclaims what the plan before it did (the policy alone now
    # reclaims inactive users, declared or not, and idle seats nobody declares) and the
    # proposed users: the idle declared ones are new.
    after_plan = _plan_json(licsync, site, qrs, later, tmp_path / "after.json", code=3)
    assert _reclaims(after_plan) == _reclaims(before_plan) | expected
    assert _reclaims(after_plan) != _reclaims(before_plan)
