"""The Mermaid charts of the Markdown plan and the ``propose`` body: every block parses, and,
where a headless Chromium and the mermaid package are installed, renders in a real browser to
the chart it claims to be (never to Mermaid's "Syntax error" picture)."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from licsync.identity import AccessType
from licsync.plan import Plan
from licsync.render import render_markdown
from licsync.session import SessionRequest, open_session

_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.S | re.M)
_PIE_HEAD = re.compile(r"pie showData title [^\n\"]+")
_PIE_SLICE = re.compile(r'    "[a-z ]+" : [1-9][0-9]*')
_XY = (
    re.compile(r"xychart-beta"),
    re.compile(r'    title "[^"\n]+"'),
    re.compile(r'    x-axis \[("[^"\n]+", )*"[^"\n]+"\]'),
    re.compile(r'    y-axis "[^"\n]+" 0 --> [0-9]+'),
    re.compile(r"    bar \[([0-9]+, )*[0-9]+\]"),
)


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    """The demo plan, and one with a shortfall and an empty access type."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        with open_session(SessionRequest(directory=Path("licenses"))) as session:
            demo = session.plan().plan
    line = demo.capacity[AccessType.PROFESSIONAL]
    short = dataclasses.replace(line, available_after=-3, allocated_after=line.total + 3)
    shortfall = dataclasses.replace(
        demo,
        capacity={AccessType.PROFESSIONAL: short},
        idle_ages={AccessType.ANALYZER: (0, 0, 0, 0, 0, 0, 9)},
    )
    return [demo, shortfall]


def _blocks(plans: list[Plan]) -> list[str]:
    found = [m.group(1) for p in plans for m in _BLOCK.finditer(render_markdown(p))]
    assert found, "the Markdown plan draws its capacity and idle ages"
    return found


def _parses(block: str) -> str:
    """The chart kind of a block, after checking each line against the grammar we write."""
    lines = block.rstrip("\n").split("\n")
    if lines[0].startswith("pie"):
        assert _PIE_HEAD.fullmatch(lines[0]), lines[0]
        assert lines[1:], "a pie with no slice"
        for line in lines[1:]:
            assert _PIE_SLICE.fullmatch(line), line
        return "pie"
    assert len(lines) == len(_XY), block
    for pattern, line in zip(_XY, lines, strict=True):
        assert pattern.fullmatch(line), line
    labels = lines[2].count('"') // 2
    assert labels == lines[4].count(",") + 1, "one bar per label"
    return "xychart"


def test_every_chart_block_parses(plans: list[Plan]) -> None:
    """Each block is a pie or an xychart whose every line follows Mermaid's grammar."""
    kinds = [_parses(b) for b in _blocks(plans)]
    assert set(kinds) == {"pie", "xychart"}
    assert any("short by 3" in b for b in _blocks(plans))


def _browser() -> str | None:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _mermaid_js() -> Path | None:
    named = os.environ.get("MERMAID_JS")
    if named:
        return Path(named)
    npm = shutil.which("npm")
    if npm is None:
        return None
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False)
    candidate = Path(root.stdout.strip()) / "mermaid" / "dist" / "mermaid.min.js"
    return candidate if candidate.is_file() else None


def test_charts_render_in_a_real_browser(plans: list[Plan], tmp_path: Path) -> None:
    """Headless Chromium with the real mermaid library draws each block as its chart."""
    browser, script = _browser(), _mermaid_js()
    if browser is None:
        pytest.skip("no headless Chromium (Debian: apt-get install chromium-headless-shell)")
    if script is None:
        pytest.skip("no mermaid.min.js (npm install -g mermaid, or MERMAID_JS=PATH)")
    blocks = _blocks(plans)
    page = tmp_path / "charts.html"
    pre = "".join(f'<pre class="mermaid">{html.escape(b)}</pre>' for b in blocks)
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><script src="{script.as_uri()}">'
        f"</script></head><body>{pre}<script>mermaid.initialize({{startOnLoad: false}});"
        "mermaid.run({querySelector: '.mermaid', suppressErrors: true}).then("
        "() => document.body.setAttribute('data-done', 'yes'));</script></body></html>",
        encoding="utf-8",
    )
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    dom = result.stdout
    assert 'data-done="yes"' in dom, result.stderr[-2000:]
    drawn = re.findall(r'<svg[^>]*aria-roledescription="([a-z]+)"', dom)
    assert drawn == [_parses(b) for b in blocks]
    assert "Syntax error" not in dom
