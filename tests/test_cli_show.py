"""``licsync show PLAN.json``: a saved plan rendered as ``plan`` renders it, once checked."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import Licsync


def test_show_renders_a_saved_plan_as_plan_does(example: Path, licsync: Licsync) -> None:
    """Text and Markdown of a saved plan are byte for byte plan's own; --findings applies."""
    assert licsync(["plan", "licenses", "--out", "p.json"]).exit_code == 0
    for fmt in ("text", "markdown"):
        planned = licsync(["plan", "licenses", "--format", fmt])
        shown = licsync(["show", "p.json", "--format", fmt])
        assert shown.exit_code == 0, shown.output
        assert shown.stdout == planned.stdout
    none = licsync(["show", "p.json", "--findings", "none"])
    assert "denied-user (2)" not in none.stdout
    assert "2 denied-user" in none.stdout


def test_show_refuses_an_edited_or_a_text_plan(example: Path, licsync: Licsync) -> None:
    """A plan edited after it was made fails its checksum; a text plan says how to save JSON."""
    assert licsync(["plan", "licenses", "--out", "p.json"]).exit_code == 0
    data = json.loads(Path("p.json").read_text(encoding="utf-8"))
    data["changes"] = data["changes"][1:]
    Path("edited.json").write_text(json.dumps(data), encoding="utf-8")
    edited = licsync(["show", "edited.json"])
    assert edited.exit_code == 1
    assert "checksum does not match" in edited.stderr
    assert licsync(["plan", "licenses", "--out", "p.txt"]).exit_code == 0
    text = licsync(["show", "p.txt"])
    assert text.exit_code == 1
    assert "a plan saved as text, not JSON" in text.stderr
    missing = licsync(["show", "nope.json"])
    assert missing.exit_code == 1
    assert "Traceback" not in missing.output
