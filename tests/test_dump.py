"""``licsync dump``: the YAML it writes loads back as the site, and the first plan is empty."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_runner import Licsync
from clock import NOW, NOW_ARG
from dump_sites import ANA, PRO, messy_site
from inprocess import in_process_simulator
from licsync.identity import AccessType, RuleContext
from licsync.load import load_desired
from licsync.qrs import QrsClient, read_actual
from licsync.signals.licenselog import usage_denied, write_license_log
from licsync.sim import SimStore
from licsync.sim.seed import synthetic_organisation

MODES = ("observe", "additive", "authoritative")


def dump_then_plan(licsync: Licsync, store: SimStore, out: Path, mode: str) -> tuple[str, str]:
    """Serve the store, dump it into ``out`` and plan the dump; both must succeed."""
    with in_process_simulator(store) as sim:
        dumped = licsync(["dump", "--qrs-url", sim.url, "--out", str(out), "--ownership", mode])
        assert dumped.exit_code == 0, dumped.output
        planned = licsync(
            ["plan", str(out), "--qrs-url", sim.url, "--now", NOW_ARG, "--detailed-exitcode"]
        )
        assert planned.exit_code == 0, planned.output
        assert "Plan: no changes" in planned.stdout
    return dumped.output, planned.stdout


@settings(
    # a dump and a plan of a whole site per example: a third of the profile's count
    max_examples=max(3, settings.default.max_examples // 3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    users=st.sampled_from([0, 20, 120, 400]),
    seed=st.integers(0, 10_000),
    mode=st.sampled_from(MODES),
)
def test_the_first_plan_of_a_dump_is_empty(
    licsync: Licsync, tmp_path_factory: pytest.TempPathFactory, users: int, seed: int, mode: str
) -> None:
    """On messy seeded sites of several sizes and seeds, in every mode: dump, plan, no changes."""
    out = tmp_path_factory.mktemp("dump") / "site"
    _, planned = dump_then_plan(licsync, messy_site(users, seed), out, mode)
    # What YAML cannot declare is a finding, never a change.
    assert "half made" in planned
    # The second rule of a name: kept, reported.
    assert "undeclared-rule-kept (" in planned
    assert "    analyzer rule 'analyzer twice'" in planned.casefold()


def test_dump_writes_what_the_site_holds(licsync: Licsync, tmp_path: Path) -> None:
    """Flagged users' seats, both types, every rule field: as on the site; rule-held left out."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    for kind in AccessType:
        store.set_capacity(kind, 50)
    gone = store.add_user("CORP", "gone", inactive=True, removed_externally=True)
    both = store.add_user("CORP", "both", groups=["Sales"])
    held = store.add_user("CORP", "held", groups=["Sales"])
    resting = store.add_user("CORP", "resting")
    store.add_allocation(PRO, gone["id"], last_used=NOW - dt.timedelta(days=200))
    store.add_allocation(PRO, both["id"], last_used=NOW - dt.timedelta(days=1))
    store.add_allocation(ANA, both["id"])
    store.add_allocation(ANA, held["id"], last_used=NOW - dt.timedelta(days=3))
    store.add_allocation(
        PRO,
        resting["id"],
        last_used=NOW - dt.timedelta(days=1),
        quarantined_until=NOW + dt.timedelta(days=6),
    )
    store.add_rule(ANA, "Sales", 'user.group = "Sales"', context=RuleContext.BOTH, comment="S")
    store.add_rule(PRO, "Off", 'user.group = "Dev"', context=RuleContext.QMC, disabled=True)
    out = tmp_path / "site"
    dumped, planned = dump_then_plan(licsync, store, out, "authoritative")
    assert "quarantined-seat (1)\n    CORP\\resting's professional seat is quarantined" in planned
    desired, _ = load_desired(out, today=NOW.date())
    assert [a.user for a in desired.of(PRO).allocations] == ["CORP\\both", "CORP\\gone"]
    # held holds analyzer only through "Sales": not an explicit allocation; both is kept
    # beside professional, or the plan would reclaim it as redundant.
    assert [a.user for a in desired.of(ANA).allocations] == ["CORP\\both"]
    (sales,) = desired.of(ANA).rules
    assert (sales.condition, sales.context, sales.disabled, sales.comment) == (
        'user.group = "Sales"',
        RuleContext.BOTH,
        False,
        "S",
    )
    (off,) = desired.of(PRO).rules
    assert (off.context, off.disabled, off.comment) == (RuleContext.QMC, True, "")
    text = (out / "professional.yaml").read_text(encoding="utf-8")
    last_used = (NOW - dt.timedelta(days=200)).date()
    assert f"- user: CORP\\gone  # last used {last_used}; QRS: inactive, removed externally" in text
    assert (
        f"CORP\\resting's seat is quarantined until {(NOW + dt.timedelta(days=6)).date()}" in text
    )
    assert "never used" in (out / "analyzer.yaml").read_text(encoding="utf-8")
    assert "1 more users hold analyzer only through a rule" in (out / "analyzer.yaml").read_text(
        encoding="utf-8"
    )
    assert "CORP\\resting's seat is quarantined" in dumped
    site = (out / "site.yaml").read_text(encoding="utf-8")
    assert "professional: authoritative" in site
    assert "inactive: report" in site


def test_dump_of_the_embedded_demo_plans_nothing(licsync: Licsync, tmp_path: Path) -> None:
    """``qrs_url: embedded``: the demo organisation dumped, then planned, changes nothing."""
    out = tmp_path / "demo"
    dumped = licsync(["dump", "--qrs-url", "embedded", "--out", str(out)])
    assert dumped.exit_code == 0, dumped.output
    assert "site.yaml" in dumped.stdout
    assert "name: demo" in (out / "site.yaml").read_text(encoding="utf-8")
    planned = licsync(["plan", str(out), "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output
    for mode in ("additive", "authoritative"):
        fresh = tmp_path / mode
        again = licsync(["dump", "--qrs-url", "embedded", "--out", str(fresh), "--ownership", mode])
        assert again.exit_code == 0, again.output
        assert licsync(["plan", str(fresh), "--detailed-exitcode"]).exit_code == 0


def test_done_when_3000_users_seed_4(licsync: Licsync, tmp_path: Path) -> None:
    """As a new user would: a 3,000-user seed-4 site, dump, plan --detailed-exitcode exits 0."""
    store = synthetic_organisation(3000, 4, NOW)
    dump_then_plan(licsync, store, tmp_path / "site", "observe")


def test_existing_files_are_not_overwritten_without_force(licsync: Licsync, tmp_path: Path) -> None:
    """A second dump into the same folder refuses (exit 1) and leaves the files; --force writes."""
    out = tmp_path / "site"
    assert licsync(["dump", "--qrs-url", "embedded", "--out", str(out)]).exit_code == 0
    mine = "professional:\n  allocations: []\n"
    (out / "professional.yaml").write_text(mine, encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    refused = licsync(["dump", "--qrs-url", "embedded", "--out", str(out)])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("licsync: error: ")
    assert "already exist" in refused.stderr
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    forced = licsync(["dump", "--qrs-url", "embedded", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "professional.yaml").read_text(encoding="utf-8") != mine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging left behind


def test_other_yaml_in_the_folder_is_refused(licsync: Licsync, tmp_path: Path) -> None:
    """Files a plan would merge with the dump: refused even with --force, nothing written."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "team.yaml").write_text("analyzer:\n  allocations: []\n", encoding="utf-8")
    refused = licsync(["dump", "--qrs-url", "embedded", "--out", str(out), "--force"])
    assert refused.exit_code == 1
    assert "team.yaml" in refused.stderr
    assert "merge" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["team.yaml"]


def test_site_settings_come_from_the_site_file(licsync: Licsync, tmp_path: Path) -> None:
    """With a site file in DIR (and --force), its settings are kept: name, user, timeout."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "site.yaml").write_text(
        "site:\n  name: prod\n  qrs_url: embedded\n  auth:\n    mode: certificate\n"
        "    user: INTERNAL\\sa_repository\n  request_timeout: 60\n",
        encoding="utf-8",
    )
    dumped = licsync(["dump", "--out", str(out)])
    assert dumped.exit_code == 0, dumped.output
    desired, _ = load_desired(out, today=NOW.date())
    assert (desired.site.name, desired.site.auth.user, desired.site.request_timeout) == (
        "prod",
        "INTERNAL\\sa_repository",
        60,
    )


def test_no_site_and_no_url_is_a_clear_error(licsync: Licsync, tmp_path: Path) -> None:
    """Nothing to connect to: exit 1 naming --qrs-url and site.yaml; an https URL alone too."""
    result = licsync(["dump", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "--qrs-url" in result.stderr
    assert "site.yaml" in result.stderr
    result = licsync(["dump", "--out", str(tmp_path / "x"), "--qrs-url", "https://q.example.com"])
    assert result.exit_code == 1
    assert "certificate" in result.stderr
    assert not (tmp_path / "x").exists()
    bad = licsync(["dump", "--ownership", "owner", "--qrs-url", "embedded"])
    assert bad.exit_code == 64


HOSTILE = (
    "o'brien",
    'say "hi"',
    "hash#tag",
    "colon: space",
    "-leading",
    "Bj\u00f6rn \u00c5s\u00e9",
    "\u0639\u0631\u0628\u064a",
    "null",
    "yes",
    "x" * 200,
)


def test_hostile_values_round_trip_exactly(licsync: Licsync, tmp_path: Path) -> None:
    """Quotes, #, ': ', leading '-', unicode, line breaks, very long: read back unchanged."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    for kind in AccessType:
        store.set_capacity(kind, 100)
    for userid in HOSTILE:
        person = store.add_user("CORP", userid, groups=["G"])
        store.add_allocation(PRO, person["id"], last_used=NOW - dt.timedelta(days=2))
    names = [
        'it\'s "quoted" # not a comment: really',
        "- dash\nand a line break\ttab",
        "\u202eevil bidi \x1b[31m red",
        "n" * 255,
    ]
    comments = ["", "multi\nline\r\ncomment", "#" * 255, "  padded  "]
    conditions = [
        'user.name = "a#b: c"',
        'user.group = "Dev"\nor user.group = "Ops"',
        'user.name like "*\u00e9*"',
        f'user.group = "{"g" * 1500}"',
    ]
    for name, comment, condition in zip(names, comments, conditions, strict=True):
        store.add_rule(ANA, name, condition, comment=comment)
    out = tmp_path / "site"
    dump_then_plan(licsync, store, out, "authoritative")
    desired, _ = load_desired(out, today=NOW.date())
    assert sorted(a.user for a in desired.of(PRO).allocations) == sorted(
        f"CORP\\{u}" for u in HOSTILE
    )
    with in_process_simulator(store) as sim, QrsClient(sim.url) as client:
        on_site = read_actual(client).actual.rules_of(ANA)
    read = [(r.name, r.condition, r.comment) for r in desired.of(ANA).rules]
    assert read == [(r.name, r.condition, r.comment) for r in on_site]
    text = (out / "analyzer.yaml").read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert "\u202e" not in text


ADMIN_SITE = """\
# Written by the admin: every byte of this file must survive a re-dump.
site:
  name: prod
  qrs_url: embedded   # the demo organisation
  auth: {mode: certificate, user: INTERNAL\\sa_repository}
policy:
  ownership:
    professional: observe
    analyzer: observe
  denials:
    sources:
      - logs: ./logs   # mounted ArchivedLogs share
    lookback_days: 14
"""


def test_a_redump_keeps_the_admins_site_file_byte_for_byte(
    licsync: Licsync, tmp_path: Path
) -> None:
    """The admin's site.yaml (comments, denial sources, lookback, ownership) survives dump and
    dump --force; only the allocation and rule files are written."""
    out = tmp_path / "licenses"
    out.mkdir()
    trace = out / "logs" / "node1" / "Repository" / "Trace"
    trace.mkdir(parents=True)
    denied = usage_denied(NOW - dt.timedelta(days=1), "CORP\\new.hire")
    write_license_log(trace / "NODE1_License_Repository.txt", [denied])
    raw = ADMIN_SITE.replace("\n", "\r\n").encode("utf-8")  # CRLF too: bytes, not text
    (out / "site.yaml").write_bytes(raw)
    # The README's adoption command, as pasted: site.yaml first, then dump (no --force).
    first = licsync(["dump", "--qrs-url", "embedded", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert (out / "site.yaml").read_bytes() == raw
    assert "kept" in first.stdout
    assert "professional observe" in first.stdout
    assert {p.name for p in out.iterdir()} == {
        "site.yaml",
        "professional.yaml",
        "analyzer.yaml",
        "logs",
    }
    (out / "analyzer.yaml").write_text("analyzer:\n  allocations: []\n", encoding="utf-8")
    refused = licsync(["dump", "--out", str(out)])
    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    assert "site.yaml is kept" in refused.stderr
    forced = licsync(["dump", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "site.yaml").read_bytes() == raw
    assert "allocations: []" not in (out / "analyzer.yaml").read_text(encoding="utf-8")
    desired, _ = load_desired(out, today=NOW.date())
    assert desired.policy.denial_lookback_days == 14
    planned = licsync(["plan", str(out), "--detailed-exitcode", "--now", NOW_ARG])
    assert planned.exit_code == 0, planned.output


def test_a_kept_site_file_refuses_ownership_and_allocations(
    licsync: Licsync, tmp_path: Path
) -> None:
    """--ownership cannot be honoured without rewriting the admin's policy, and allocations in
    site.yaml would be declared twice: both refused, saying what to do, nothing written."""
    out = tmp_path / "licenses"
    out.mkdir()
    (out / "site.yaml").write_text(ADMIN_SITE, encoding="utf-8")
    refused = licsync(["dump", "--out", str(out), "--ownership", "additive"])
    assert refused.exit_code == 1
    assert "policy.ownership" in refused.stderr
    text = ADMIN_SITE + "professional:\n  allocations:\n    - user: CORP\\a\n"
    (out / "site.yaml").write_text(text, encoding="utf-8")
    refused = licsync(["dump", "--out", str(out), "--force"])
    assert refused.exit_code == 1
    assert "move those sections out of site.yaml" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["site.yaml"]


def test_quiet_leaves_out_warnings_about_what_licsync_wrote(
    licsync: Licsync, tmp_path: Path
) -> None:
    """A dump declares an analyzer seat beside a professional one (or the plan would reclaim
    it); the loader's warning about that follows every plan, unless --quiet."""
    out = tmp_path / "demo"
    assert licsync(["dump", "--qrs-url", "embedded", "--out", str(out)]).exit_code == 0
    loud = licsync(["plan", str(out)])
    assert "declared for both professional" in loud.stderr
    for command in (["plan", str(out)], ["propose", str(out)]):
        quiet = licsync([*command, "--quiet"])
        assert quiet.exit_code == 0, quiet.output
        assert "declared for both" not in quiet.stderr
    quiet_apply = licsync(["apply", str(out), "--auto-approve", "--quiet", "--dry-run"])
    assert quiet_apply.exit_code == 0, quiet_apply.output
    assert "declared for both" not in quiet_apply.stderr
