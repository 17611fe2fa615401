"""The documentation cites only what a reader of the repository can open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
# A relative Markdown link, inline or as a reference definition.
_LINK = re.compile(
    r"\]\((?!https?://|#|mailto:)([^)\s#]+)[^)]*\)|^\[[^\]]+\]:\s+(?!https?://)(\S+)", re.M
)
# A path (with a folder) in a code span that names a Markdown file: a file the repository holds.
_CITED = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.md)(?:\s*§[\d.]+)?`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_and_cited_files_exist(doc: Path) -> None:
    """Every relative link and every ``*.md`` named in a code span resolves in the repository."""
    text = doc.read_text(encoding="utf-8")
    missing = []
    for match in _LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if target.startswith("../shared/"):  # the team's folder beside the repository
            continue
        if not (doc.parent / target).exists():
            missing.append(target)
    for match in _CITED.finditer(text):
        name = match.group(1)
        if name.startswith("../shared/"):
            continue
        if not ((doc.parent / name).exists() or (ROOT / name).exists()):
            missing.append(name)
    assert missing == [], f"{doc.name} cites what the repository does not hold: {missing}"
    assert "§" not in text, f"{doc.name} cites sections of a file outside the repository"


def test_readme_curl_commands_print_no_progress_meter() -> None:
    """A curl whose output is piped or shown prints no progress meter: every one says -s."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    calls = re.findall(r"curl\b[^\n`]*", text)
    assert calls, "the README shows how to move the simulator's clock with curl"
    assert [c for c in calls if not re.search(r"\s-s", c)] == []
