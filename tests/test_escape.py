"""Foreign text in the plan's text and Markdown: shown, never obeyed.

Values from QRS (user ids, names, rule names and conditions, the build version) and from the
YAML (notes, tickets) carry every kind of hostile text. The terminal rendering must hold no
control character but its own line breaks (and, coloured, its own SGR codes); no value can make
a line of its own. The Markdown rendering is parsed with a GitHub-flavoured parser
(markdown-it-py's ``gfm-like`` preset, tables and linkify on) and must have exactly the
structure the same plan has with harmless values in their place: no link, image, raw HTML or
extra table cell, and no text that GitHub would turn into a mention, an issue reference or a
link.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from builders import ANA, PRO, actual, alloc, arule, decl, desired, drule, user
from cli_runner import Licsync
from clock import NOW
from licsync.plan import Plan, plan
from licsync.render import render_markdown, render_text
from licsync.render.escape import escape_text, md_code, md_text
from licsync.signals import Signals

HOSTILE = (
    "x\nFAKE: Safety: OK",
    "x\r\nFAKE: line",
    "\x1b[2J\x1b[H\x1b]0;pwned\x07clear",
    "c1\x9b2J\x85next",
    "del\x7f nul\x00 bell\x07 tab\t",
    "bidi\u202eevil\u2066x\u2069\u200f",
    "sep\u2028line\u2029para",
    "`code` closes",
    "``` fence",
    "[click](https://evil.example/x)",
    "![img](https://evil.example/x.png)",
    "<img src=x onerror=alert(1)>",
    "<!-- hidden --> <b>bold</b> &lt;",
    "<https://evil.example/auto>",
    "| broken | table |",
    "https://evil.example/bare",
    "www.evil.example",
    "@org/team and @here",
    "#12 and org/repo#34 and GH-56",
    "mail me@evil.example",
    "*emph* _under_ ~~strike~~ $x^2$",
    "back\\slash \\| pipe",
)
HARMLESS = tuple(f"value{index}" for index in range(len(HOSTILE)))


def _plan(values: Sequence[str]) -> Plan:
    """A plan with every value in every place a foreign string reaches the renderers."""
    ids = [f"CORP\\{value}" for value in values]
    users = [user(ident) for ident in ids]
    allocations = [alloc(PRO, ident) for ident in ids]  # undeclared: reclaims
    rules = [arule(ANA, value, f'user.group = "{value}"') for value in values]  # undeclared
    declared = [
        dataclasses.replace(decl(f"DIR\\{value}"), note=value, ticket=value) for value in values
    ]
    wanted_rules = [drule(f"{value} rule", 'user.group = "Sales"') for value in values]
    site_desired = desired(ana=declared, pro_rules=wanted_rules)
    site_actual = dataclasses.replace(actual(users, allocations, rules), build_version=values[0])
    return plan(site_desired, site_actual, Signals(), NOW)


# -- the escapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_escape_text_leaves_nothing_a_terminal_obeys(value: str) -> None:
    """No character of the escaped text is unprintable."""
    assert escape_text(value).isprintable()


def test_escape_text_keeps_ordinary_text() -> None:
    """Printable text, backslashes and non-Latin letters included, is unchanged."""
    for value in ("CORP\\anna.berg", "Jürgen Ølstad", "山田", "a b"):
        assert escape_text(value) == value
    assert escape_text("a\nb\x1b") == "a\\nb\\x1b"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_code_span_holds_its_value(value: str) -> None:
    """Whatever the value, it is one code span whose content is the (escaped) value."""
    tokens = _inline(md_code(value))
    assert [t.type for t in tokens] == ["code_inline"]
    assert tokens[0].content == escape_text(value).replace("|", "¦")


@pytest.mark.parametrize("value", HOSTILE)
def test_prose_is_shown_not_interpreted(value: str) -> None:
    """Escaped prose is plain text whose visible characters are the value's."""
    tokens = _inline(md_text(value))
    assert {t.type for t in tokens} <= {"text", "softbreak"}, [t.type for t in tokens]
    shown = "".join(t.content for t in tokens).replace("\u2060", "")
    assert shown == escape_text(value)


# -- the renderings -----------------------------------------------------------------------------


_OUR_SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("color", [False, True])
def test_text_rendering_holds_no_foreign_control_character(color: bool) -> None:
    """Only our own line breaks and colours; no value forges a line."""
    text = render_text(_plan(HOSTILE), color=color)
    plain = _OUR_SGR.sub("", text)
    for line in plain.split("\n"):
        assert line.isprintable(), repr(line)
        assert not line.startswith(("FAKE", "next", "line", "para"))
    assert render_text(_plan(HOSTILE)).count("\n") == render_text(_plan(HARMLESS)).count("\n")


def test_markdown_has_the_structure_of_harmless_values() -> None:
    """Token for token, the hostile plan's Markdown is the harmless plan's: nothing added."""
    hostile = _tokens(render_markdown(_plan(HOSTILE)))
    harmless = _tokens(render_markdown(_plan(HARMLESS)))
    assert [(t.type, t.tag) for t in hostile] == [(t.type, t.tag) for t in harmless]


def test_markdown_has_no_link_image_html_mention_or_reference() -> None:
    """No link (autolinked or written), image or HTML; no text GitHub would link or ping."""
    tokens = _tokens(render_markdown(_plan(HOSTILE)))
    types = {t.type for t in tokens}
    assert not types & {"link_open", "image"}
    inline_html = {t.content for t in tokens if t.type == "html_inline"}
    assert inline_html <= {"<sub>", "</sub>"}, inline_html  # the checksum line's, ours
    html_blocks = [t.content for t in tokens if t.type == "html_block"]
    assert all(_ours(block) for block in html_blocks), html_blocks
    for token in tokens:
        if token.type == "text":
            _no_github_links(token.content)


def test_markdown_tables_keep_their_cells() -> None:
    """Every row of every table has as many cells as its header."""
    tokens = _tokens(render_markdown(_plan(HOSTILE)))
    cells = 0
    widths: list[int] = []
    for token in tokens:
        if token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            widths.append(cells)
    assert widths
    assert set(widths) == {5, 9}, widths  # the capacity table has 9 columns, changes 5


def test_a_yaml_note_cannot_ping_or_link() -> None:
    """Notes and tickets are the YAML author's text: escaped like QRS's."""
    text = render_markdown(_plan(HOSTILE))
    notes = [line for line in text.splitlines() if "DIR" in line and "allocate" in line]
    assert notes
    assert any("@\u2060org/team and @\u2060here" in line for line in notes)


# -- helpers ------------------------------------------------------------------------------------


def _parser() -> MarkdownIt:
    md = MarkdownIt("gfm-like")
    # GitHub links scheme://, www. and e-mail addresses, not bare domains.
    md.linkify.set({"fuzzy_link": False})
    return md


def _walk(tokens: Sequence[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _tokens(text: str) -> list[Token]:
    return list(_walk(_parser().parse(text)))


def _inline(text: str) -> list[Token]:
    (paragraph, inline, closing) = _parser().parse(text)
    assert (paragraph.type, closing.type) == ("paragraph_open", "paragraph_close")
    return list(inline.children or [])


_OUR_HTML = re.compile(
    r"^(<!-- licsync:plan site=\S+ checksum=\S+ -->|<details><summary>[^<>]*</summary>|</details>)"
)


def _ours(block: str) -> bool:
    return all(_OUR_HTML.match(line) for line in block.strip().splitlines())


_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
_REFERENCE = re.compile(r"#\d|\bGH-\d", re.IGNORECASE)
_URL = re.compile(r"://|\bwww\.", re.IGNORECASE)


def _no_github_links(text: str) -> None:
    assert not _MENTION.search(text), text
    assert not _REFERENCE.search(text), text
    assert not _URL.search(text), text


def test_a_file_name_with_control_characters_is_shown_escaped(
    example: Path, licsync: Licsync
) -> None:
    """validate's problems name files: a name holding ESC or a line break is escaped."""
    (example / "evil\x1b]0;pwned\x07\nFAKE.yaml").write_text("nonsense: 1\n", encoding="utf-8")
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output
    assert not any(line.startswith("FAKE") for line in result.output.splitlines())
    assert "evil\\x1b]0;pwned\\x07\\nFAKE.yaml" in result.output
    result = licsync(["plan", "licenses"])  # the same problem, through the error boundary
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output
    assert not any(line.startswith("FAKE") for line in result.output.splitlines())
