"""The terminal renderer's own ANSI styler writes exactly what ``typer.style`` wrote before it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from licsync.render import render_text
from licsync.render import text as text_module
from licsync.session import SessionRequest, open_session

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("fg", [None, "red", "green", "yellow", "blue"])
@pytest.mark.parametrize("bold", [None, False, True])
def test_style_matches_typer(fg: str | None, bold: bool | None) -> None:
    """Each colour the renderer uses, bold or not, gives typer.style's bytes."""
    assert text_module._style("licsync", fg=fg, bold=bold) == typer.style(
        "licsync", fg=fg, bold=bold
    )


def test_coloured_demo_plan_is_byte_identical_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coloured demo plan is the same with our styler as with typer.style."""
    monkeypatch.chdir(REPO)
    with open_session(SessionRequest(directory=Path("licenses"))) as session:
        plan = session.plan().plan
    ours = render_text(plan, color=True)
    monkeypatch.setattr(text_module, "_style", typer.style)
    assert render_text(plan, color=True) == ours
    assert "\x1b[" in ours
