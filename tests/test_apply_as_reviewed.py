"""``apply --plan`` applies as of the reviewed plan's instant, within a bound of the site's
clock; a change it does not apply says which input changed; a site's clock far from the
instant planned as of is said."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync, edit_file
from inprocess import in_process_simulator
from licsync.identity import AccessType
from licsync.session import clock_skew
from licsync.sim import Simulator
from licsync.sim.demo import DEMO_NOW, demo_organisation
from licsync.sim.entities import USER

LATER = DEMO_NOW + dt.timedelta(days=137)  # the month the admin moved the clock to
LATER_ARG = LATER.isoformat().replace("+00:00", "Z")


@pytest.fixture
def demo() -> Iterator[Simulator]:
    """The demo organisation served over loopback, its clock (and its Date header) at the
    demo's instant."""
    with in_process_simulator(demo_organisation()) as running:
        set_site_clock(running, DEMO_NOW)  # its HTTP Date reads the demo's day too
        yield running


def set_site_clock(sim: Simulator, when: dt.datetime) -> None:
    """Move the simulated site's clock to ``when``, its repository and its HTTP ``Date`` alike
    (as on a real server whose clock reads ``when``): a frozen demo clock starts elsewhere than
    the Date header, which follows this machine's."""
    sim.set_now(when)
    moved = sim.store.clock_moved.total_seconds()
    sim.app.date_skew_seconds = (when - dt.datetime.now(dt.UTC)).total_seconds() - moved


def _plan(licsync: Licsync, sim: Simulator, out: Path, *more: str, code: int = 0) -> dict[str, Any]:
    args = ["plan", "licenses", "--qrs-url", sim.url, "--out", str(out), *more]
    result = licsync(args)
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _apply(licsync: Licsync, sim: Simulator, plan: Path, *more: str) -> Any:
    return licsync(["apply", "licenses", "--qrs-url", sim.url, "--plan", str(plan), *more])


def test_a_plan_of_a_moved_clock_is_applied_as_of_its_instant(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    """The admin moves the site's clock, plans with --now of that day, and applies the plan
    without --now: the until-passed reclaim the review saw is applied, not skipped."""
    edit_file(example / "site.yaml", "max_reclaims: 10 ", "max_reclaims: 1000 ")
    edit_file(
        example / "professional.yaml",
        "      ticket: LIC-101\n",
        f"      ticket: LIC-101\n      until: {(LATER - dt.timedelta(days=1)).date()}\n",
    )
    set_site_clock(demo, LATER)
    reviewed = _plan(licsync, demo, tmp_path / "p.json", "--now", LATER_ARG)
    ids = [c["id"] for c in reviewed["changes"]]
    wanted = {"kind": "reclaim", "access_type": "professional", "subject": "corp\\anna.berg",
              "reason": "until-passed"}  # fmt: skip
    assert wanted in ids
    result = _apply(licsync, demo, tmp_path / "p.json", "--format", "json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    (anna,) = [i for i in items if i["id"] == wanted]
    assert anna["status"] == "applied"
    assert {i["status"] for i in items} <= {"applied", "already"}
    # A --now that is not the plan's is a wrong command line, not a silent second instant.
    other = _apply(licsync, demo, tmp_path / "p.json", "--now", DEMO_NOW.isoformat())
    assert other.exit_code == 64
    assert "leave --now out" in other.stderr


def test_a_plan_far_from_the_sites_clock_is_refused(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    """A what-if plan of a future day, and a plan older than the bound, are refused (exit 3,
    nothing written), saying how far and what to do."""
    _plan(licsync, demo, tmp_path / "future.json", "--now", LATER_ARG, code=3)  # over a cap
    demo.reset_counts()
    future = _apply(licsync, demo, tmp_path / "future.json")
    assert future.exit_code == 3, future.output
    assert "after the site's clock" in future.stderr
    assert "plan again" in future.stderr
    assert not {"POST", "PUT", "DELETE"} & set(demo.request_counts())
    old = DEMO_NOW - dt.timedelta(days=30)
    _plan(licsync, demo, tmp_path / "old.json", "--now", old.isoformat())
    stale = _apply(licsync, demo, tmp_path / "old.json")
    assert stale.exit_code == 3, stale.output
    assert "30 days before the site's clock" in stale.stderr


def test_a_skipped_reviewed_change_says_which_input_changed(
    example: Path, licsync: Licsync, demo: Simulator, tmp_path: Path
) -> None:
    """Reviewed reclaims whose seat someone removed in the QMC, whose user QRS no longer flags,
    or whose declaration changed: each says so, in the plan's words."""
    reviewed = _plan(licsync, demo, tmp_path / "p.json", "--now", DEMO_NOW.isoformat())
    by_reason = {c["reason"]: c for c in reviewed["changes"] if c["action"] == "reclaim"}
    gone, flagged = by_reason["not-declared"], by_reason["inactive"]
    demo.store.deallocate(AccessType(gone["access_type"]), gone["allocation_id"], "CORP\\qmc")
    person = demo.store.get(USER, flagged["user_id"])
    demo.store.update_user(person["id"], {**person, "inactive": False}, "CORP\\qmc")
    edit_file(example / "professional.yaml", "      until: 2026-10-31\n", "")
    result = _apply(licsync, demo, tmp_path / "p.json")
    assert result.exit_code == 0, result.output
    text = result.stdout
    key = gone["user"].casefold()
    assert f"- reclaim {key} (professional, not declared): no longer needed: " in text
    assert f"already so: {gone['user']} holds no professional seat now" in text
    assert f"QRS no longer marks {flagged['user']} inactive" in text
    assert "CORP\\carla.diaz's declaration has no until date now (the files changed)" in text
    assert "= reclaim" not in text
    assert "until-passed" not in text


def test_a_sites_clock_far_from_the_planned_instant_is_said(
    example: Path, licsync: Licsync, demo: Simulator
) -> None:
    """The simulator's clock moved 137 days: a plan without --now says the site's clock
    differs, and how to plan as of it; with --now at the site's time it says nothing."""
    # No cap to pass at any instant: the plan without --now is as of this machine's clock.
    edit_file(example / "site.yaml", "max_reclaims: 10 ", "max_reclaims: 1000 ")
    set_site_clock(demo, LATER)
    result = licsync(["plan", "licenses", "--qrs-url", demo.url])
    assert result.exit_code == 0, result.output
    assert "site's clock reads" in result.stderr
    # The site's Date ran on from LATER while the plan ran: a second or more on a busy machine.
    suggested = re.search(r"--now (\S+)", result.stderr)
    assert suggested is not None, result.stderr
    said = dt.datetime.fromisoformat(suggested[1])
    assert LATER <= said < LATER + dt.timedelta(minutes=1), suggested[1]
    quiet = licsync(["plan", "licenses", "--qrs-url", demo.url, "--now", LATER_ARG])
    assert quiet.exit_code == 0, quiet.output
    assert "site's clock" not in quiet.stderr


def test_the_out_name_chooses_the_format_and_a_text_plan_says_how_to_make_json(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """--out NAME.json is JSON and NAME.md Markdown; a text plan given to apply --plan says
    how to save a JSON one (exit 1, nothing read from the site)."""
    for name, start in (("p.json", "{"), ("p.md", "<!-- licsync:plan site=demo "),
                        ("p.txt", "licsync plan for site demo")):  # fmt: skip
        result = licsync(["plan", "licenses", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
    for name, kind in (("p.txt", "text"), ("p.md", "Markdown")):
        refused = licsync(["apply", "licenses", "--plan", str(tmp_path / name)])
        assert refused.exit_code == 1, refused.output
        assert f"a plan saved as {kind}, not JSON" in refused.stderr
        assert "licsync plan DIR --out plan.json" in refused.stderr
    explicit = licsync(["plan", "licenses", "--format", "text", "--out", str(tmp_path / "t.json")])
    assert explicit.exit_code == 0
    assert (tmp_path / "t.json").read_text(encoding="utf-8").startswith("licsync plan")


def test_clock_skew_from_a_date_header() -> None:
    """An HTTP Date gives the server's clock minus ours; none or garbage gives nothing."""
    received = dt.datetime(2026, 12, 7, 15, 0, 0, 400_000, tzinfo=dt.UTC)
    assert clock_skew("Mon, 07 Dec 2026 16:00:00 GMT", received) == dt.timedelta(hours=1)
    assert clock_skew("Mon, 07 Dec 2026 15:00:00 GMT", received) == dt.timedelta()
    assert clock_skew(None, received) is None
    assert clock_skew("yesterday", received) is None
