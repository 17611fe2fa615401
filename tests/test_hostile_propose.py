"""``licsync propose`` on hostile YAML, hostile signals and a hostile ``--body``: the proposal is
made (or refused with a clear error), the YAML it writes loads, every other byte and value stays,
and the pull-request body makes nothing of the values it shows.

Hostile YAML that the strict loader refuses (huge, deep, billion laughs, /dev/zero, FIFOs, not
UTF-8, duplicate keys, tabs) is refused by propose the same way before anything is edited; the
loader's own tests cover those. Here: what only propose does with the text.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from cli_runner import Licsync, Result
from clock import NOW, NOW_ARG
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.sim import Simulator
from licsync.sim.store import SimStore

RECENT = NOW - dt.timedelta(days=2)
PRO = AccessType.PROFESSIONAL

SITE = """\
site:
  name: lab
  qrs_url: http://127.0.0.1:9
policy:
  ownership: {professional: OWNERSHIP, analyzer: additive}
  users: {inactive: reclaim, removed_externally: reclaim, blocked: reclaim}
  safety: {max_reclaims: 50, max_reclaim_share: 1.0, share_floor: 1}
  proposals: {denied: STYLE}
  denials:
    sources: [{csv: denied.csv}]
    max_age_days: 30
"""

# Values from QRS and the denial export that mean something to Markdown, HTML, GitHub or YAML.
HOSTILE_IDS = (
    "x`y|z <img src=x onerror=alert(1)> [l](https://evil.example) @org/team #12",
    "ali\u202ece",
    "zw\u200bsp",
)
HOSTILE_GROUPS = (
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "@here",
    "#1 | x",
    "`code`",
    "https://evil.example/x",
)


FOLD = re.compile(r"(<details>\n<summary>[^<>]*</summary>|</details>)")


def _organisation(store: SimStore, *denied: str) -> None:
    store.set_capacity(PRO, 50)
    store.set_capacity(AccessType.ANALYZER, 50)
    for userid, inactive in (("anna", False), ("bob", True), ("carl", True)):
        person = store.add_user("CORP", userid, groups=list(HOSTILE_GROUPS), inactive=inactive)
        store.add_allocation(PRO, str(person["id"]), last_used=RECENT)
    for userid in denied:
        store.add_user("CORP", userid, groups=list(HOSTILE_GROUPS))


def _site(
    root: Path,
    professional: str | bytes,
    *,
    ownership: str = "authoritative",
    style: str = "comment",
    denied: tuple[str, ...] = (),
) -> Path:
    site = root / "licenses"
    site.mkdir()
    (site / "site.yaml").write_text(
        SITE.replace("OWNERSHIP", ownership).replace("STYLE", style), encoding="utf-8"
    )
    raw = professional if isinstance(professional, bytes) else professional.encode("utf-8")
    (site / "professional.yaml").write_bytes(raw)
    (site / "analyzer.yaml").write_text(
        "analyzer:\n  allocations:\n    - user: CORP\\nobody\n", encoding="utf-8"
    )
    with open(site / "denied.csv", "w", encoding="utf-8", newline="") as stream:
        rows = csv.writer(stream)
        rows.writerow(["User", "Count", "Last denied"])
        for userid in denied:
            rows.writerow([f"CORP\\{userid}", "2", RECENT.strftime("%Y-%m-%d %H:%M:%S")])
    return site


def _propose(licsync: Licsync, sim: Simulator, site: Path, *more: str) -> Result:
    return licsync(["propose", str(site), "--qrs-url", sim.url, "--now", NOW_ARG, *more])


def _reclaimed(licsync: Licsync, sim: Simulator, site: Path) -> set[str]:
    result = licsync(["plan", str(site), "--qrs-url", sim.url, "--now", NOW_ARG])
    assert result.exit_code == 0, result.output
    return {u for u in ("anna", "bob", "carl") if f"- CORP\\{u} " in result.stdout}


# -- hostile signals --------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["until", "comment"])
def test_a_denied_user_no_file_can_name_does_not_stop_the_proposal(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path, style: str
) -> None:
    """A denied user whose id holds a bidi or zero-width character: left as it is, said why;
    the rest of the proposal (the inactive users, the other denied user) is made."""
    _organisation(sim_store, "ali\u202ece", "zw\u200bsp", "fine.user")
    professional = "professional:\n  allocations:\n    - user: CORP\\anna\n    - user: CORP\\bob\n"
    site = _site(
        tmp_path, professional, style=style, denied=("ali\u202ece", "zw\u200bsp", "fine.user")
    )
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 0, result.output
    assert "remove professional CORP\\bob" in result.stderr
    assert "CORP\\fine.user: denied 2x" in result.stderr
    left = [line for line in result.stderr.splitlines() if "left as it is" in line]
    assert any("CORP\\ali\\u202ece" in line for line in left), result.stderr
    assert any("CORP\\zw\\u200bsp" in line for line in left), result.stderr
    analyzer = (site / "analyzer.yaml").read_text(encoding="utf-8")
    assert "fine.user" in analyzer
    assert "ali" not in analyzer
    assert "zw" not in analyzer
    load_desired(site, today=NOW.date())


def test_the_body_makes_nothing_of_hostile_values(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """User ids and groups with Markdown, HTML, mentions, references and URLs: in the body
    (parsed as GitHub-flavoured Markdown) no link, no raw HTML, no mention, no reference."""
    _organisation(sim_store, *HOSTILE_IDS)
    professional = "professional:\n  allocations:\n    - user: CORP\\anna\n    - user: CORP\\bob\n"
    site = _site(tmp_path, professional, denied=HOSTILE_IDS)
    body = tmp_path / "body.md"
    result = _propose(licsync, sim, site, "--body", str(body))
    assert result.exit_code == 0, result.output
    text = body.read_text(encoding="utf-8")
    assert "<img" in text or "&lt;img" in text  # the hostile id is there, shown
    tokens = MarkdownIt("gfm-like").parse(text)
    every = [*tokens, *(c for t in tokens for c in (t.children or []))]
    kinds = {t.type for t in every}
    assert "link_open" not in kinds
    assert "image" not in kinds
    # The only HTML is the body's own folding of its lists.
    html = [t.content for t in every if t.type in ("html_inline", "html_block")]
    assert all(FOLD.fullmatch(block.strip()) for block in html), html
    prose = "".join(t.content for t in every if t.type == "text")
    for linked in ("@org", "@here", "#12", "#1", "https://"):
        assert linked not in prose, linked
    # Rows stay rows: one for bob, one for the nameable hostile id, two of capacity.
    rows = [t for t in tokens if t.type == "tr_open"]
    heads = [t for t in tokens if t.type == "thead_open"]
    assert len(rows) - len(heads) == 4, text


# -- hostile YAML -----------------------------------------------------------------------------


def test_a_comment_after_the_dash_goes_with_its_entry(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """'-   # why' then the entry on the next lines: the entry is removed whole, not cut inside
    its comment (which left a '-' with nothing after it, and the proposal refused)."""
    _organisation(sim_store)
    professional = (
        "professional:\n"
        "  allocations:\n"
        "    -   # bob: see LIC-7\n"
        "      user: CORP\\bob\n"
        "    -\n"
        "      # anna stays\n"
        "      user: CORP\\anna\n"
    )
    site = _site(tmp_path, professional)
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 0, result.output
    assert (site / "professional.yaml").read_text(encoding="utf-8") == (
        "professional:\n  allocations:\n    -\n      # anna stays\n      user: CORP\\anna\n"
    )
    assert _reclaimed(licsync, sim, site) == {"bob", "carl"}


def test_until_does_not_go_inside_a_kept_block_scalar(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """A note written '|+' keeps its trailing blank lines: ending the entry adds `until:` after
    them, so the note reads back unchanged."""
    _organisation(sim_store)
    professional = (
        "professional:\n"
        "  allocations:\n"
        "    - user: CORP\\bob\n"
        "      note: |+\n"
        "        kept\n"
        "\n"
        "\n"
        "    - user: CORP\\anna\n"
    )
    site = _site(tmp_path, professional, ownership="additive")
    before, _ = load_desired(site, today=NOW.date())
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 0, result.output
    after, _ = load_desired(site, today=NOW.date())
    notes = {a.user: a.note for a in after.of(PRO).allocations}
    assert notes["CORP\\bob"] == {a.user: a.note for a in before.of(PRO).allocations}["CORP\\bob"]
    assert notes["CORP\\bob"] == "kept\n\n\n"
    assert {a.user: a.until for a in after.of(PRO).allocations}["CORP\\bob"] is not None


def test_the_last_flow_entry_goes_without_the_comment_of_the_one_before(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """In a flow list over several lines, removing the last entry keeps the comment that
    belongs to the entry before it."""
    _organisation(sim_store)
    professional = (
        "professional:\n"
        "  allocations: [\n"
        "    {user: CORP\\anna},  # anna: LIC-1\n"
        "    {user: CORP\\bob}\n"
        "  ]\n"
    )
    site = _site(tmp_path, professional)
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 0, result.output
    text = (site / "professional.yaml").read_text(encoding="utf-8")
    assert "# anna: LIC-1" in text
    assert "bob" not in text
    assert _reclaimed(licsync, sim, site) == {"bob", "carl"}


@pytest.mark.parametrize("ownership", ["authoritative", "additive"])
def test_old_mac_line_breaks_are_edited_as_lines(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path, ownership: str
) -> None:
    """A file with CR-only line breaks (which YAML and the loader accept): the entry is removed
    or ended, the file keeps CR line breaks, and the next plan agrees."""
    _organisation(sim_store)
    professional = b"professional:\r  allocations:\r    - user: CORP\\bob\r    - user: CORP\\anna\r"
    site = _site(tmp_path, professional, ownership=ownership)
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 0, result.output
    raw = (site / "professional.yaml").read_bytes()
    assert b"\n" not in raw
    assert b"CORP\\anna\r" in raw
    assert "bob" in _reclaimed(licsync, sim, site)


# -- --body -----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_body_that_is_a_fifo_is_refused_before_the_site_is_read(
    sim_store: SimStore, sim: Simulator, licsync: Licsync, tmp_path: Path
) -> None:
    """--body naming a FIFO (or a device: /dev/stdout as root): refused, and left what it is,
    not replaced by a regular file."""
    _organisation(sim_store)
    site = _site(tmp_path, "professional:\n  allocations:\n    - user: CORP\\bob\n")
    fifo = tmp_path / "body.md"
    os.mkfifo(fifo)
    result = _propose(licsync, sim, site, "--body", str(fifo))
    assert result.exit_code == 1, result.output
    assert "FIFO" in result.stderr
    assert fifo.is_fifo()


def test_a_file_that_cannot_be_written_leaves_every_file_as_it_was(
    sim_store: SimStore,
    sim: Simulator,
    licsync: Licsync,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--write edits two files and the second cannot be written (a full disk, say): the first
    is put back byte for byte, and exit 1 says nothing was written."""
    from licsync.cli import output
    from licsync.cli import propose as propose_command

    _organisation(sim_store, "fine.user")
    professional = "\ufeffprofessional:\r\n  allocations:\r\n    - user: CORP\\bob\r\n"
    site = _site(tmp_path, professional, denied=("fine.user",))
    before = {p.name: p.read_bytes() for p in site.glob("*.yaml")}
    real_write = output.write_atomically

    def full_disk(path: Path, text: str) -> None:
        if path.name == "professional.yaml":
            raise output.OutputError(f"cannot write {path}: No space left on device")
        real_write(path, text)

    monkeypatch.setattr(propose_command, "write_atomically", full_disk)
    result = _propose(licsync, sim, site, "--write")
    assert result.exit_code == 1, result.output
    assert "nothing written" in result.stderr
    assert {p.name: p.read_bytes() for p in site.glob("*.yaml")} == before
