"""``licsync propose`` against the simulator: byte-exact edits, then plan, then idempotence."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from pathlib import Path

import pytest

from cli_runner import Licsync
from clock import NOW, NOW_ARG
from licsync.sim import Simulator
from licsync.sim.store import SimStore

LONG_AGO = NOW - dt.timedelta(days=200)
RECENT = NOW - dt.timedelta(days=2)

SITE = """\
# The site: comments everywhere must survive.
site:
  name: lab   # trailing comment
  qrs_url: http://127.0.0.1:9

policy:
  ownership: {professional: authoritative, analyzer: OWNERSHIP}
  users:
    inactive: reclaim
    removed_externally: reclaim
    blocked: reclaim
  idle:
    days: 90
    action: reclaim
  protected: ['INTERNAL\\*', CORP\\keeper]
  safety: {max_reclaims: 50, max_reclaim_share: 1.0, share_floor: 1}
"""

PROFESSIONAL = """\
# yaml-language-server: $schema=x
professional:
  # who builds apps
  allocations:
    # first entry's comment
    - user: CORP\\anna     # active: stays
      note: 'single quoted'
      ticket: "LIC-1"

    - user: CORP\\bob      # inactive: goes
      note: >-
        folded note
        on two lines
    - &keep
      user: CORP\\keeper   # idle but protected
      note: anchored
    - {user: CORP\\carl, note: idle in flow style}   # idle: goes
    - user: CORP\\dora
      until: 2025-01-31  # until passed: goes
  # between allocations and rules
  rules: []
"""

ANALYZER = """\
analyzer:
  allocations: [{user: CORP\\erik, note: inactive}, {user: CORP\\fay, note: fine}]
  rules:
    - name: Sales analyzers
      condition: user.group = "Sales"
"""


def _organisation(store: SimStore) -> None:
    def user(userid: str, **flags: bool) -> str:
        return str(store.add_user("CORP", userid, groups=["Staff"], **flags)["id"])

    store.add_allocation("professional", user("anna"), last_used=RECENT)
    store.add_allocation("professional", user("bob", inactive=True), last_used=RECENT)
    store.add_allocation("professional", user("keeper"), last_used=LONG_AGO)
    store.add_allocation("professional", user("carl"), last_used=LONG_AGO)
    store.add_allocation("professional", user("dora"), last_used=RECENT)
    store.add_allocation("analyzer", user("erik", inactive=True), last_used=RECENT)
    store.add_allocation("analyzer", user("fay"), last_used=RECENT)


def _site(root: Path, *, crlf: bool = False, ownership: str = "additive") -> Path:
    site = root / "licenses"
    site.mkdir()
    files = {
        "site.yaml": SITE.replace("OWNERSHIP", ownership),
        "professional.yaml": PROFESSIONAL,
        "analyzer.yaml": ANALYZER,
    }
    for name, text in files.items():
        written = text.replace("\n", "\r\n") if crlf else text
        (site / name).write_bytes(written.encode("utf-8"))
    return site


def _snapshot(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(site.glob("*.yaml"))}


def _removed_lines(before: bytes, after: bytes) -> tuple[list[str], list[str]]:
    """(lines only in before, lines only in after), by a line diff of the raw bytes."""
    a = before.decode().splitlines(keepends=True)
    b = after.decode().splitlines(keepends=True)
    minus, plus = [], []
    for line in difflib.ndiff(a, b):
        if line.startswith("- "):
            minus.append(line[2:])
        elif line.startswith("+ "):
            plus.append(line[2:])
    return minus, plus


def _args(sim: Simulator, site: Path, *more: str) -> list[str]:
    return ["propose", str(site), "--qrs-url", sim.url, "--now", NOW_ARG, *more]


def _reclaims(licsync: Licsync, sim: Simulator, site: Path) -> set[tuple[str, str, str]]:
    result = licsync(
        ["plan", str(site), "--qrs-url", sim.url, "--now", NOW_ARG, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {
        (c["access_type"], c["user"].casefold(), c["reason"])
        for c in data["changes"]
        if c["action"] == "reclaim"
    }


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_write_removes_exactly_the_entries_and_keeps_every_other_byte(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path, crlf: bool
) -> None:
    """Inactive, idle and expired entries go (block, flow, folded, anchored); nothing else moves."""
    _organisation(sim_store)
    site = _site(tmp_path, crlf=crlf)
    before = _snapshot(site)
    result = licsync(_args(sim, site, "--write", "--detailed-exitcode"))
    assert result.exit_code == 2, result.output
    after = _snapshot(site)
    nl = "\r\n" if crlf else "\n"
    assert after["site.yaml"] == before["site.yaml"]
    minus, plus = _removed_lines(before["professional.yaml"], after["professional.yaml"])
    assert plus == []
    assert minus == [
        f"    - user: CORP\\bob      # inactive: goes{nl}",
        f"      note: >-{nl}",
        f"        folded note{nl}",
        f"        on two lines{nl}",
        f"    - {{user: CORP\\carl, note: idle in flow style}}   # idle: goes{nl}",
        f"    - user: CORP\\dora{nl}",
        f"      until: 2025-01-31  # until passed: goes{nl}",
    ]
    # The byte-for-byte check: the file is the original minus those lines, in order.
    kept = [
        line
        for line in before["professional.yaml"].decode().splitlines(keepends=True)
        if line not in minus
    ]
    assert after["professional.yaml"].decode() == "".join(kept)
    # Analyzer is additive: a removal would reclaim nothing, so the flow entry ends instead.
    assert after["analyzer.yaml"].decode() == ANALYZER.replace(
        "{user: CORP\\erik, note: inactive}",
        "{user: CORP\\erik, note: inactive, until: 2025-03-09}",
    ).replace("\n", nl)


def test_next_plan_shows_exactly_the_proposed_reclaims(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """After --write, plan's reclaims are the proposal's; a second propose proposes nothing."""
    _organisation(sim_store)
    site = _site(tmp_path)
    assert _reclaims(licsync, sim, site) == {
        ("professional", "corp\\bob", "inactive"),
        ("professional", "corp\\dora", "until-passed"),
        ("analyzer", "corp\\erik", "inactive"),
    }
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 0, result.output
    assert _reclaims(licsync, sim, site) == {
        ("professional", "corp\\bob", "inactive"),
        ("professional", "corp\\carl", "not-declared"),  # idle: reported before, reclaimed now
        ("professional", "corp\\dora", "not-declared"),
        ("analyzer", "corp\\erik", "until-passed"),
    }
    snapshot = _snapshot(site)
    again = licsync(_args(sim, site, "--detailed-exitcode"))
    assert again.exit_code == 0, again.output
    assert again.stdout == ""
    assert "0 removals, 0 suggestions, 0 files to edit" in again.stderr
    assert _snapshot(site) == snapshot


def test_diff_is_the_default_and_writes_nothing(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """Without --write the files stay; the diff names each file and the lines that go."""
    _organisation(sim_store)
    site = _site(tmp_path)
    before = _snapshot(site)
    result = licsync(_args(sim, site, "--body", str(tmp_path / "body.md")))
    assert result.exit_code == 0, result.output
    assert _snapshot(site) == before
    assert f"--- a/{site / 'professional.yaml'}" in result.stdout
    assert "-    - user: CORP\\bob      # inactive: goes" in result.stdout
    assert "protected (user CORP\\*" not in result.stdout
    assert "CORP\\keeper" in result.stderr
    assert "protected" in result.stderr
    body = (tmp_path / "body.md").read_text(encoding="utf-8")
    assert "<summary>Allocations that go (4)</summary>" in body
    assert "`CORP\\bob`" in body
    assert "`until: 2025-03-09`" in body
    # The effect first, the list of users after it, folded.
    assert body.index("### Capacity effect") < body.index("<summary>Allocations that go")
    assert body.index("### Plan after this proposal") < body.index("<details>")
    assert "additive ownership removing an entry reclaims nothing" in body
    # The diff wrote nothing, and says so; the body's claim matches its rows.
    assert "files edited" not in result.stderr
    assert "files to edit (shown as a diff; --write edits them)" in result.stderr
    seats = body.count("yes: reclaimed on merge")
    assert f"reclaim {seats} seat{'s' if seats != 1 else ''}:" in body
    assert "freed now" not in body
    # Pictures: capacity after the proposal and the idle ages, drawn from the body itself.
    assert "```mermaid\npie showData title Professional seats after the plan" in body
    assert "xychart-beta" in body


def test_a_body_of_thousands_of_users_fits_a_pull_request(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """GitHub takes at most 65,536 characters: the list stops there and says how many more."""
    names = [f"inactive-person-with-a-long-name-{n:05d}" for n in range(2000)]
    for name in names:
        person = sim_store.add_user("CORP", name, inactive=True)
        sim_store.add_allocation("professional", str(person["id"]), last_used=RECENT)
    site = tmp_path / "licenses"
    site.mkdir()
    (site / "site.yaml").write_text(SITE.replace("OWNERSHIP", "authoritative"), encoding="utf-8")
    entries = "".join(f"    - user: CORP\\{name}\n" for name in names)
    (site / "professional.yaml").write_text(
        f"professional:\n  allocations:\n{entries}", encoding="utf-8"
    )
    body_file = tmp_path / "body.md"
    result = licsync(_args(sim, site, "--body", str(body_file)))
    assert result.exit_code == 0, result.output
    body = body_file.read_text(encoding="utf-8")
    assert len(body) <= 65_536
    assert "<summary>Allocations that go (2000)</summary>" in body
    shown = [name for name in names if f"`CORP\\{name}`" in body]
    assert 100 < len(shown) < len(names)
    assert f"… and {len(names) - len(shown)} more" in body
    assert body.rstrip().endswith("</details>")
    assert "### Capacity effect" in body


def test_user_in_a_file_with_rules_and_several_files(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """A removal in a file that also holds rules and the site: only that entry's lines go."""
    _organisation(sim_store)
    site = tmp_path / "licenses"
    site.mkdir()
    combined = (
        SITE.replace("OWNERSHIP", "authoritative")
        + "\n"
        + PROFESSIONAL.replace(
            "  rules: []\n",
            '  rules:\n    - name: Builders\n      condition: user.group = "Builders"\n',
        )
    )
    (site / "all.yaml").write_text(combined, encoding="utf-8", newline="\n")
    (site / "team").mkdir()
    (site / "team" / "analyzer.yaml").write_text(ANALYZER, encoding="utf-8")
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 0, result.output
    minus, plus = _removed_lines(combined.encode(), (site / "all.yaml").read_bytes())
    assert plus == []
    assert len(minus) == 7
    assert all("CORP\\anna" not in line for line in minus)
    erik = (site / "team" / "analyzer.yaml").read_text(encoding="utf-8")
    # Authoritative analyzer: the first item of a flow list goes with its comma.
    assert erik == ANALYZER.replace("{user: CORP\\erik, note: inactive}, ", "")


def test_rule_covered_user_is_ended_not_removed(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """Authoritative, but a declared rule covers the user: removal would keep the seat, so the
    entry gets `until:` and the next plan reclaims it."""
    _organisation(sim_store)
    site = _site(tmp_path)
    professional = site / "professional.yaml"
    text = professional.read_text(encoding="utf-8").replace(
        "  rules: []\n", '  rules:\n    - name: Staff\n      condition: user.group = "Staff"\n'
    )
    professional.write_text(text, encoding="utf-8")
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 0, result.output
    after = professional.read_text(encoding="utf-8")
    assert after == text.replace(
        "        on two lines\n", "        on two lines\n      until: 2025-03-09\n"
    ).replace(
        "note: idle in flow style}", "note: idle in flow style, until: 2025-03-09}"
    )  # dora's until passed already: the plan reclaims her as it is
    reclaims = _reclaims(licsync, sim, site)
    assert ("professional", "corp\\carl", "until-passed") in reclaims
    assert ("professional", "corp\\bob", "until-passed") in reclaims


def test_an_entry_whose_anchor_an_alias_uses_is_left(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """Removing an entry that holds an anchor used elsewhere would break the file: left, said."""
    _organisation(sim_store)
    site = _site(tmp_path)
    professional = site / "professional.yaml"
    text = professional.read_text(encoding="utf-8")
    text = text.replace("      note: >-\n", "      note: &gone >-\n").replace(
        "      note: anchored\n", "      note: *gone\n"
    )
    professional.write_text(text, encoding="utf-8")
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 0, result.output
    after = professional.read_text(encoding="utf-8")
    assert "CORP\\bob" in after
    assert "CORP\\carl" not in after
    assert "an alias elsewhere refers to" in result.stderr


def test_observe_mode_proposes_nothing(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """In observe mode licsync only reports: propose edits nothing of that type."""
    _organisation(sim_store)
    site = _site(tmp_path, ownership="observe")
    edit = site / "site.yaml"
    edit.write_text(
        edit.read_text(encoding="utf-8").replace(
            "professional: authoritative", "professional: observe"
        ),
        encoding="utf-8",
    )
    before = _snapshot(site)
    result = licsync(_args(sim, site, "--write", "--detailed-exitcode"))
    assert result.exit_code == 0, result.output
    assert _snapshot(site) == before


def test_edits_the_loader_rejects_are_never_written(
    sim_store: SimStore,
    sim: Simulator,
    licsync: Licsync,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the edited files would not load, propose says where and writes nothing (exit 1)."""
    from licsync.propose import edit, run

    def broken(*args: object, **kwargs: object) -> edit.EditResult:
        result = edit.edit_files(*args, **kwargs)  # type: ignore[arg-type]
        texts = {name: text + "professional: {}\n" for name, text in result.texts.items()}
        return edit.EditResult(texts, result.proposal, result.skipped)

    monkeypatch.setattr(run, "edit_files", broken)
    _organisation(sim_store)
    site = _site(tmp_path)
    before = _snapshot(site)
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 1
    assert f"{site / 'professional.yaml'}:" in result.stderr
    assert "the proposal's edit would not load" in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(site) == before


def test_additive_entry_ended_then_removed_once_the_seat_is_gone(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """Month one ends the additive entry with until:, apply reclaims it, month two removes it."""
    _organisation(sim_store)
    site = _site(tmp_path)
    assert licsync(_args(sim, site, "--write")).exit_code == 0
    assert "CORP\\erik, note: inactive, until: 2025-03-09}" in (site / "analyzer.yaml").read_text(
        encoding="utf-8"
    )
    applied = licsync(
        ["apply", str(site), "--qrs-url", sim.url, "--now", NOW_ARG, "--auto-approve",
         "--audit-log", str(tmp_path / "audit.jsonl")]
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert _reclaims(licsync, sim, site) == set()
    result = licsync(_args(sim, site, "--write"))
    assert result.exit_code == 0, result.output
    assert (site / "analyzer.yaml").read_text(encoding="utf-8") == ANALYZER.replace(
        "{user: CORP\\erik, note: inactive}, ", ""
    )
    assert "the site holds no seat for them" in result.stderr
    body = tmp_path / "body.md"
    assert licsync(_args(sim, site, "--body", str(body))).exit_code == 0
    text = body.read_text(encoding="utf-8")
    assert "reclaim the seats listed below" not in text
    assert "Merging reclaims no seat" in text
