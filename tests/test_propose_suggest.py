"""``licsync propose`` on the demo site: suggestions for denied users, in both styles, once."""

from __future__ import annotations

from pathlib import Path

from cli_runner import Licsync, edit_file
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.sim.demo import DEMO_NOW


def _texts(site: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(site.glob("*.yaml"))}


def test_comment_suggestions_carry_the_evidence_and_come_once(
    example: Path, licsync: Licsync
) -> None:
    """Denied users get a commented-out entry with count, dates, groups and the rule; once."""
    result = licsync(["propose", "licenses", "--write", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output
    analyzer = (example / "analyzer.yaml").read_text(encoding="utf-8")
    assert "    # - user: CORP\\lena.berg\n" in analyzer
    assert "was denied access 3 times between 2026-11-17 and 2026-11-20" in analyzer
    assert "    # groups: Marketing\n" in analyzer
    assert 'a rule would: user.group = "Marketing"' in analyzer
    assert "declared rule 'Sales analyzers' covers them" in analyzer
    written = _texts(example)
    again = licsync(["propose", "licenses", "--write", "--detailed-exitcode"])
    assert again.exit_code == 0, again.output
    assert _texts(example) == written


def test_until_suggestions_are_entries_the_loader_accepts(example: Path, licsync: Licsync) -> None:
    """policy.proposals.denied: until adds entries ending until_days ahead, in the chosen list."""
    edit_file(example / "site.yaml", "    denied: comment\n", "    denied: until\n")
    edit_file(example / "site.yaml", "    until_days: 30\n", "    until_days: 14\n")
    result = licsync(["propose", "licenses", "--write"])
    assert result.exit_code == 0, result.output
    desired, _ = load_desired(example, today=DEMO_NOW.date())
    entries = {a.user: a for a in desired.of(AccessType.ANALYZER).allocations}
    lena = entries["CORP\\lena.berg"]
    assert lena.until is not None
    assert (lena.until - DEMO_NOW.date()).days == 14
    assert "denied access 3 times" in lena.note
    written = _texts(example)
    again = licsync(["propose", "licenses", "--write"])
    assert again.exit_code == 0, again.output
    assert _texts(example) == written


def test_ignore_suggests_nothing(example: Path, licsync: Licsync) -> None:
    """policy.proposals.denied: ignore leaves the denials to the plan's findings."""
    edit_file(example / "site.yaml", "    denied: comment\n", "    denied: ignore\n")
    before = (example / "analyzer.yaml").read_bytes()
    result = licsync(["propose", "licenses", "--write"])
    assert result.exit_code == 0, result.output
    assert (example / "analyzer.yaml").read_bytes() == before


def test_removing_every_entry_leaves_an_empty_list(example: Path, licsync: Licsync) -> None:
    """A block list whose every entry goes becomes [] (an empty block list is not YAML)."""
    edit_file(example / "site.yaml", "analyzer: additive", "analyzer: authoritative")
    edit_file(example / "site.yaml", "    days: 90\n", "    days: 1\n")
    result = licsync(["propose", "licenses", "--write"])
    assert result.exit_code == 0, result.output
    analyzer = (example / "analyzer.yaml").read_text(encoding="utf-8")
    assert "  allocations:\n    []\n" in analyzer
    assert licsync(["validate", "licenses"]).exit_code == 0
