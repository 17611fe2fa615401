"""The issue's "done when": a seeded 3,000-user site, its YAML written from what it holds, the
policy set to reclaim idle and inactive users, the clock moved 120 days: ``propose --write``
ends exactly the users that went idle or inactive and leaves every other line as it was."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from cli_runner import Licsync
from clock import NOW
from inprocess import in_process_simulator
from licsync.identity import AccessType
from licsync.qrs import QrsClient, read_actual
from licsync.sim.seed import synthetic_organisation

SITE = """\
site:
  name: seeded
  qrs_url: http://127.0.0.1:9

policy:
  ownership:
    professional: authoritative
    analyzer: additive
  users:
    inactive: reclaim
    removed_externally: report
    blocked: report
  idle:
    days: 90
    action: reclaim
  protected:
    - INTERNAL\\*
"""


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    minus, plus = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            minus.append(line[2:])
        elif line.startswith("+ "):
            plus.append(line[2:])
    return minus, plus


def test_seeded_site_after_120_days(licsync: Licsync, tmp_path: Path) -> None:
    """Exactly the idle or inactive declared users go; no other line of any file changes."""
    store = synthetic_organisation(3000, 4, NOW)
    site = tmp_path / "site"
    site.mkdir()
    with in_process_simulator(store) as sim:
        with QrsClient(sim.url) as client:
            actual = read_actual(client).actual
        (site / "site.yaml").write_text(SITE, encoding="utf-8")
        for t in AccessType:
            held = sorted(
                (a for a in actual.allocations_of(t) if not a.quarantined), key=lambda a: a.key
            )
            lines = [f"{t}:", "  allocations:"]
            for a in held:
                lines += [f"    - user: {a.directory}\\{a.userid}", f"      note: seat {a.id[:8]}"]
            (site / f"{t}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        before = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.yaml")}

        store.advance(dt.timedelta(days=120))
        now = store.now()
        # Every allocation would be idle 120 days on: a third of the people used theirs since.
        for t in AccessType:
            for number, a in enumerate(actual.allocations_of(t)):
                if number % 3 == 0 and a.user_id is not None and not a.quarantined:
                    store.record_use(t.value, a.user_id, now - dt.timedelta(days=5))
        with QrsClient(sim.url) as client:
            moved = read_actual(client).actual
        expected: dict[AccessType, set[str]] = {}
        for t in AccessType:
            gone = set()
            for a in moved.allocations_of(t):
                user = moved.users.get(a.key)
                if a.quarantined or user is None or a.directory == "INTERNAL":
                    continue
                since = a.last_used or a.created
                idle = since is not None and (now - since).days > 90
                if user.inactive or idle:
                    gone.add(f"{a.directory}\\{a.userid}")
            expected[t] = gone
        assert expected[AccessType.PROFESSIONAL]
        assert expected[AccessType.ANALYZER]

        result = licsync(
            ["propose", str(site), "--qrs-url", sim.url, "--now", now.isoformat(), "--write"]
        )
        assert result.exit_code == 0, result.output

    after = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.yaml")}
    assert after["site.yaml"] == before["site.yaml"]
    # Authoritative professional: the entries (two lines each) are removed, nothing added.
    minus, plus = _changed(before["professional.yaml"], after["professional.yaml"])
    assert plus == []
    removed = {line.split("user: ", 1)[1] for line in minus if "user: " in line}
    assert removed == expected[AccessType.PROFESSIONAL]
    assert len(minus) == 2 * len(removed)
    # Additive analyzer: a removal reclaims nothing, so each such entry gets `until:` yesterday.
    minus, plus = _changed(before["analyzer.yaml"], after["analyzer.yaml"])
    assert minus == []
    yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
    assert set(plus) == {f"      until: {yesterday}"}
    ended = []
    lines = after["analyzer.yaml"].splitlines()
    for number, line in enumerate(lines):
        if line == f"      until: {yesterday}":
            ended.append(lines[number - 2].split("user: ", 1)[1])
    assert set(ended) == expected[AccessType.ANALYZER]
    assert len(ended) == len(plus)
