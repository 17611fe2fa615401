"""The admin's month, replayed: dump, edit, plan, show, apply --plan, the clock moved, propose,
explain; none of issue 20's surprises on the way.

A 300-user synthetic site served over loopback. The admin writes site.yaml first (connection,
denial logs, look-back, observe ownership, comments), dumps, tightens the policy, ends one
seat with ``until:``, moves the site's clock a month on, reviews a plan of that day, applies
it, and asks what happened to the user.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from clock import NOW
from inprocess import in_process_simulator
from licsync.identity import AccessType
from licsync.signals.licenselog import usage_denied, write_license_log
from licsync.sim.entities import ALLOCATION, USER
from licsync.sim.seed import synthetic_organisation
from test_apply_as_reviewed import set_site_clock

MONTH = NOW + dt.timedelta(days=30)
MONTH_ARG = MONTH.isoformat().replace("+00:00", "Z")

SITE = """\
# Our production site: written by hand, every byte of it ours.
site:
  name: prod
  qrs_url: {url}
policy:
  ownership:
    professional: observe   # until the first plans are understood
    analyzer: observe
  denials:
    sources:
      - logs: logs          # the ArchivedLogs share, mounted read-only
    lookback_days: 45
    max_age_days: 40
  safety:
    max_reclaims: 500
"""


def test_the_admins_month(  # noqa: PLR0915 - one month, told in order
    licsync: Licsync, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step exits as documented and says what is true."""
    monkeypatch.chdir(tmp_path)
    store = synthetic_organisation(300, 7, NOW)
    site = tmp_path / "licenses"
    trace = site / "logs" / "node1" / "Repository" / "Trace"
    trace.mkdir(parents=True)
    write_license_log(
        trace / "NODE1_License_Repository.txt",
        [usage_denied(NOW - dt.timedelta(days=2), "CORP\\denied.person")],
    )
    with in_process_simulator(store) as sim:
        set_site_clock(sim, NOW)  # the site's Date header reads its own day
        text = SITE.format(url=sim.url)
        (site / "site.yaml").write_text(text, encoding="utf-8")
        raw = (site / "site.yaml").read_bytes()

        # 1. dump: the README's adoption command as pasted (site.yaml first, no --force).
        dumped = licsync(["dump", "--out", str(site)])
        assert dumped.exit_code == 0, dumped.output
        assert (site / "site.yaml").read_bytes() == raw
        first = licsync(["plan", str(site), "--now", NOW.isoformat(), "--detailed-exitcode",
                         "--quiet"])  # fmt: skip
        assert first.exit_code == 0, first.output
        assert first.stderr == ""  # --quiet: no warning about the files licsync wrote
        assert "Findings (" in first.stdout

        # 2. edit: professional becomes authoritative; one seat ends with until:.
        edit_file(site / "site.yaml", "professional: observe", "professional: authoritative")
        pro = (site / "professional.yaml").read_text(encoding="utf-8")
        ending = pro.split("- user: ", 2)[1].split("\n", 1)[0].split("#", 1)[0].strip()
        edit_file(
            site / "professional.yaml",
            f"- user: {ending}",
            f"- user: {ending}\n      until: {(MONTH - dt.timedelta(days=1)).date()}",
        )

        # 3. the month passes on the site's clock; the admin plans as of that day.
        set_site_clock(sim, MONTH)
        skewed = licsync(["plan", str(site), "--quiet"])
        assert "site's clock reads" in skewed.stderr  # planned as of this machine's clock
        planned = licsync(["plan", str(site), "--now", MONTH_ARG, "--out", "plan.json",
                           "--quiet"])  # fmt: skip
        assert planned.exit_code == 0, planned.output
        assert planned.stderr == ""
        plan = json.loads(Path("plan.json").read_text(encoding="utf-8"))  # .json: JSON
        assert plan["format_version"] == "1.5"
        wanted = {"kind": "reclaim", "access_type": "professional",
                  "subject": ending.casefold(), "reason": "until-passed"}  # fmt: skip
        assert wanted in [c["id"] for c in plan["changes"]]

        # 4. show: the reviewer sees what plan showed, findings counted first.
        shown = licsync(["show", "plan.json"])
        assert shown.exit_code == 0, shown.output
        text_plan = licsync(["plan", str(site), "--now", MONTH_ARG, "--quiet"]).stdout
        assert shown.stdout == text_plan
        assert shown.stdout.index("Checksum:") > shown.stdout.index("Findings (")
        markdown = licsync(["show", "plan.json", "--format", "markdown"]).stdout
        assert markdown.startswith(f"<!-- licsync:plan site=prod checksum={plan['checksum']}")
        assert "```mermaid" in markdown

        # 5. apply --plan, without --now: as of the reviewed instant, the until reclaim made.
        applied = licsync(["apply", str(site), "--plan", "plan.json", "--format", "json",
                           "--audit-log", str(tmp_path / "audit.jsonl"), "--quiet"])  # fmt: skip
        assert applied.exit_code == 0, applied.output
        items = json.loads(applied.stdout)["items"]
        (item,) = [i for i in items if i["id"] == wanted]
        assert item["status"] == "applied"
        assert not [i for i in items if i["status"] == "no-longer-needed"]
        holder = store.find_user(*ending.split("\\", 1))
        assert holder is not None
        seats = store.entities(ALLOCATION[AccessType.PROFESSIONAL])[1]
        assert not [s for s in seats if s["user"] and s["user"]["id"] == holder["id"]
                    and not s.get("quarantined")]  # fmt: skip

        # 6. the next month's proposal: a diff that says it wrote nothing, a truthful body.
        proposed = licsync(["propose", str(site), "--now", MONTH_ARG, "--body", "body.md",
                            "--quiet"])  # fmt: skip
        assert proposed.exit_code == 0, proposed.output
        assert "edited" not in proposed.stderr.splitlines()[-1]
        body = Path("body.md").read_text(encoding="utf-8")
        assert "reclaim the seats listed below" not in body

        # 7. explain: the user's story, as of the month, after the apply.
        story = licsync(["explain", ending, str(site), "--now", MONTH_ARG, "--format", "json",
                         "--quiet"])  # fmt: skip
        assert story.exit_code == 0, story.output
        told = json.loads(story.stdout)
        assert told["declared"][0]["where"].endswith(f"professional.yaml:{_line(site, ending)}:13")
        assert told["declared"][0]["until"] == str((MONTH - dt.timedelta(days=1)).date())
        assert all(s["quarantined"] for s in told["seats"])
        assert store.get(USER, holder["id"])["userId"] == ending.split("\\", 1)[1]


def _line(site: Path, user: str) -> int:
    lines = (site / "professional.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if f"- user: {user}" in line)
