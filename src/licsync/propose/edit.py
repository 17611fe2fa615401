"""A proposal as byte-range edits of the desired-state files: every other byte stays.

ruamel.yaml composes each file (no values are built, nothing is dumped): its nodes carry the
character positions of every list item, mapping and scalar. The composer is ruamel's C one
(ruamel.yaml.clib; ruamel falls back to its pure-Python one where that is missing): positions
are the same in every mode, and the round-trip composer, which also collects comments, takes
33 s for a file of 100,000 entries where the C one takes 5 s. Comments need no collecting here:
they are kept because the text around an edit is never touched. The edits are made to the original
text at those positions, so comments, blank lines, key order, quoting, flow style, anchors and
line endings outside the edited entries are the file's own. Re-dumping a document through any
YAML emitter rewrites some of those; cutting the text never does.

Pure: texts in, texts out. The caller reads the files, checks the result with the loader and
writes it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from licsync.errors import ConfigError, Problem
from licsync.identity import AccessType
from licsync.policy import ProposalStyle
from licsync.propose.decide import Edit, Kept, Proposal, Removal, Suggestion
from licsync.textsafe import escape_text

__all__ = ["EditResult", "edit_files"]

_PLAIN_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*\\[A-Za-z0-9._@-][A-Za-z0-9._@\\-]*")
_SUGGESTED = re.compile(r"^[ \t]*#[ \t]*-[ \t]*user:[ \t]*(.+?)[ \t]*$", re.MULTILINE)


class _PlainResolver(VersionedResolver):
    """Tags every node by its kind only. Edits need positions and the text of scalars, never
    their types; resolving each plain scalar's implicit type was a third of composing."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:seq" if kind is SequenceNode else "tag:yaml.org,2002:map"


@dataclass(frozen=True, slots=True)
class EditResult:
    """The edited texts and what of the proposal they hold.

    Attributes:
        texts: every file edited, by name, with its new text (files not edited are absent).
        proposal: the part of the proposal the edits carry out.
        skipped: what could not be edited, and why.
    """

    texts: Mapping[str, str]
    proposal: Proposal
    skipped: tuple[Kept, ...] = ()


@dataclass(frozen=True, slots=True)
class _Cut:
    start: int
    end: int
    text: str


@dataclass(slots=True)
class _File:
    name: str
    text: str  # without a byte-order mark
    bom: str
    nl: str
    root: Node | None
    cuts: list[_Cut]
    index: dict[AccessType, dict[str, int]] = field(default_factory=dict)


def edit_files(
    texts: Mapping[str, str], proposal: Proposal, *, today: dt.date, order: Sequence[str] = ()
) -> EditResult:
    """Edit ``texts`` (file name -> text, every file of the site) to carry out ``proposal``.

    Args:
        today: the date a suggestion's comment names.
        order: the files in the order a suggestion looks for its list (default: sorted).

    Raises:
        ConfigError: a file ruamel.yaml cannot parse (the loader accepted it, so this is rare).
    """
    files: dict[str, _File] = {}

    def opened(name: str) -> _File:
        found = files.get(name)
        if found is None:
            found = files[name] = _open(name, texts[name])
        return found

    removals: list[Removal] = []
    skipped: list[Kept] = []
    for removal in proposal.removals:
        if removal.source is None or removal.source.file not in texts:
            skipped.append(Kept(removal.access_type, removal.user, "its file is not known"))
            continue
        f = opened(removal.source.file)
        item = _find_item(f, removal.access_type, removal.key)
        if item is None:
            skipped.append(Kept(removal.access_type, removal.user, f"not found in {f.name}"))
            continue
        seq, index = item
        if removal.edit is Edit.REMOVE:
            if _anchored_elsewhere(f, seq.value[index]):
                why = "its entry holds an anchor that an alias elsewhere refers to"
                skipped.append(Kept(removal.access_type, removal.user, why))
                continue
            f.cuts.extend(_remove(f, seq, index))
        else:
            assert removal.until is not None  # decide gives every expire its date
            f.cuts.append(_expire(f, seq.value[index], removal.until))
        removals.append(removal)
    _merge_whole_list_removals(files)

    suggestions: list[Suggestion] = []
    names = list(order) or sorted(texts)
    already = _suggested_before(texts)
    for suggestion in proposal.suggestions:
        if suggestion.key in already:
            continue  # an earlier proposal suggested it: not again
        placed = False
        for name in names:
            f = opened(name)
            target = _allocations(f, suggestion.access_type)
            if target is None:
                continue
            f.cuts.append(_suggest(f, target, suggestion, today))
            placed = True
            break
        if placed:
            suggestions.append(suggestion)
        else:
            why = f"no file declares {suggestion.access_type}.allocations to add it to"
            skipped.append(Kept(suggestion.access_type, suggestion.user, why))

    out = {name: _applied(f) for name, f in files.items() if f.cuts}
    return EditResult(
        texts=out,
        proposal=replace(proposal, removals=tuple(removals), suggestions=tuple(suggestions)),
        skipped=tuple(skipped),
    )


# -- reading ------------------------------------------------------------------------------------


def _open(name: str, raw: str) -> _File:
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    text = raw[len(bom) :]
    try:
        composer = YAML(typ="safe", pure=False)
        composer.Resolver = _PlainResolver
        root = composer.compose(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise ConfigError([Problem(name, line, col, "", f"cannot edit: {exc}")]) from exc
    nl = "\r\n" if "\r\n" in text else "\r" if "\r" in text and "\n" not in text else "\n"
    return _File(name=name, text=text, bom=bom, nl=nl, root=root, cuts=[])


def _child(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v  # type: ignore[no-any-return]  # ruamel's nodes are untyped
    return None


def _allocations(f: _File, access_type: AccessType) -> SequenceNode | None:
    seq = _child(_child(f.root, access_type.value), "allocations")
    return seq if isinstance(seq, SequenceNode) else None


def _find_item(f: _File, access_type: AccessType, key: str) -> tuple[SequenceNode, int] | None:
    seq = _allocations(f, access_type)
    if seq is None:
        return None
    index = f.index.get(access_type)
    if index is None:  # built once per list: a scan per removal is quadratic at 100,000
        index = f.index[access_type] = {}
        for number, item in enumerate(seq.value):
            user = _child(item, "user")
            if isinstance(user, ScalarNode):
                index.setdefault(str(user.value).casefold(), number)
    found = index.get(key)
    return None if found is None else (seq, found)


_ANCHOR = re.compile(r"(?:^|(?<=[\s\[{,:-]))&([^\s,\[\]{}]+)")


def _anchored_elsewhere(f: _File, item: Node) -> bool:
    """Whether removing ``item`` would leave an alias with no anchor (the file would not load).

    Read from the text: the C composer keeps no anchor names on nodes. A ``&name`` inside a
    quoted string counts too, which only ever leaves an entry that could have gone.
    """
    start, end = item.start_mark.index, _content_end(f.text, item)
    names = set(_ANCHOR.findall(f.text[start:end]))
    if not names:
        return False
    rest = f.text[:start] + f.text[end:]
    return any(re.search(rf"\*{re.escape(name)}(?![^\s,\]}}])", rest) for name in names)


def _suggested_before(texts: Mapping[str, str]) -> set[str]:
    """Users an earlier proposal suggested as a commented-out entry (``# - user: X``)."""
    found = set()
    for text in texts.values():
        for match in _SUGGESTED.finditer(text):
            value = match.group(1).strip()
            if value.startswith('"'):
                try:
                    value = str(json.loads(value))
                except ValueError:
                    continue
            found.add(value.casefold())
    return found


# -- positions ------------------------------------------------------------------------------------


def _content_end(text: str, node: Node) -> int:
    """Where ``node``'s own text ends: a block node's end mark runs on over the comments and
    blank lines after it, which belong to what follows."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(node, MappingNode):
            key, value = last
            return max(_content_end(text, key), _content_end(text, value))
        return _content_end(text, last)
    end = node.end_mark.index
    if isinstance(node, ScalarNode) and _keeps_trailing_lines(text, node):
        # `|+` / `>+`: the blank lines after the text are the value's own, up to the end mark
        # (at the start of the next line): its last line break is where the node ends.
        return int(end) - 1
    while end > node.start_mark.index and text[end - 1] in " \t\r\n":
        end -= 1
    return int(end)


_BLOCK_HEADER = re.compile(r"[|>][0-9+-]*")


def _keeps_trailing_lines(text: str, node: ScalarNode) -> bool:
    if node.style not in ("|", ">"):
        return False
    header = _BLOCK_HEADER.match(text, node.start_mark.index)
    return header is not None and "+" in header.group(0)


# YAML's line breaks: CRLF, LF, and CR alone (old Mac files, which the loader accepts).
_BREAK = re.compile(r"\r\n?|\n")


def _line_end(text: str, index: int) -> int:
    """The index just past the line break of the line holding ``index`` (or the text's end)."""
    found = _BREAK.search(text, index)
    return len(text) if found is None else found.end()


def _line_start(text: str, index: int) -> int:
    # The CR search stops at the LF found: in an LF file an unbounded one scanned back to the
    # file's start for every entry (quadratic: 10 s of a 100,000-entry proposal).
    lf = text.rfind("\n", 0, index)
    return max(lf, text.rfind("\r", lf + 1, index)) + 1


def _ends_with_break(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def _dash(text: str, item: Node) -> int:
    """The ``-`` that opens a block sequence item.

    Only blanks, line breaks and comments stand between the dash and the item (an anchor or a
    tag is part of the item), so the search goes back over those: a comment after the dash
    (``-   # why``) is skipped, not taken for the dash.
    """
    index: int = item.start_mark.index - 1
    while index >= 0:
        while index >= 0 and text[index] in " \t\r\n":
            index -= 1
        start = _line_start(text, index)
        comment = _comment_start(text, start, index + 1)
        if comment is None:
            return index
        index = comment - 1
    return index


def _comment_start(text: str, start: int, end: int) -> int | None:
    """Where a comment begins in ``text[start:end]`` (one line), or None: a ``#`` at the line's
    start or after a blank. Between a dash and its item no quoted text can hold a ``#``."""
    for at in range(start, end):
        if text[at] == "#" and (at == start or text[at - 1] in " \t"):
            return at
    return None


def _comma_after(text: str, index: int) -> int | None:
    """The flow separator ``,`` after ``index``, past blanks, line breaks and comments."""
    while index < len(text):
        ch = text[index]
        if ch in " \t\r\n":
            index += 1
        elif ch == "#":
            index = _line_end(text, index)
        else:
            return index if ch == "," else None
    return None


# -- edits --------------------------------------------------------------------------------------


def _remove(f: _File, seq: SequenceNode, index: int) -> list[_Cut]:
    text, item = f.text, seq.value[index]
    if seq.flow_style:
        items = seq.value
        if index + 1 < len(items):
            return [_Cut(item.start_mark.index, items[index + 1].start_mark.index, "")]
        if index > 0:
            before = _content_end(text, items[index - 1])
            comma = _comma_after(text, before)
            if comma is None or "#" not in text[before : item.start_mark.index]:
                return [_Cut(before, _content_end(text, item), "")]
            # The comma goes, and the item with its own line; comments between the two stay
            # (they belong to the item before: `{user: A},  # why A`).
            start, end = item.start_mark.index, _content_end(text, item)
            line = _line_start(text, start)
            rest = text[end : _line_end(text, end)].strip(" \t\r\n")
            if not text[line:start].strip(" \t") and (not rest or rest.startswith("#")):
                start, end = line, _line_end(text, end)
            return [_Cut(comma, comma + 1, ""), _Cut(start, end, "")]
        return [_Cut(item.start_mark.index, _content_end(text, item), "")]
    dash = _dash(text, item)
    start = _line_start(text, dash)
    if text[start:dash].strip(" \t"):
        start = dash  # something else shares the line: cut from the dash only
    return [_Cut(start, _line_end(text, _content_end(text, item)), "")]


def _merge_whole_list_removals(files: Mapping[str, _File]) -> None:
    """A block list whose every item goes becomes ``[]``: an empty block list is not YAML."""
    for f in files.values():
        if f.root is None:
            continue
        for access_type in AccessType:
            seq = _allocations(f, access_type)
            if seq is None or seq.flow_style or not seq.value:
                continue
            starts = {_line_start(f.text, _dash(f.text, item)) for item in seq.value}
            cut_starts = {c.start for c in f.cuts if c.text == ""}
            if not starts <= cut_starts:
                continue
            first = min(starts)
            for number, cut in enumerate(f.cuts):
                if cut.start == first and cut.text == "":
                    indent = f.text[first : _dash(f.text, seq.value[0])]
                    f.cuts[number] = _Cut(cut.start, cut.end, f"{indent}[]{f.nl}")


def _expire(f: _File, item: Node, until: dt.date) -> _Cut:
    text = f.text
    value = _child(item, "until")
    if value is not None:
        return _Cut(value.start_mark.index, _content_end(text, value), until.isoformat())
    assert isinstance(item, MappingNode)  # the loader accepted it: an entry is a mapping
    if item.flow_style:
        at = _content_end(text, item.value[-1][1])
        return _Cut(at, at, f", until: {until.isoformat()}")
    column = item.value[0][0].start_mark.column
    at = _line_end(text, _content_end(text, item))
    line = f"{' ' * column}until: {until.isoformat()}"
    if at == len(text) and not _ends_with_break(text):
        return _Cut(at, at, f"{f.nl}{line}")
    return _Cut(at, at, f"{line}{f.nl}")


def _suggest(f: _File, seq: SequenceNode, suggestion: Suggestion, today: dt.date) -> _Cut:
    text, nl = f.text, f.nl
    evidence = _evidence(suggestion, today)
    user = _scalar(suggestion.user)
    note = json.dumps(_note(suggestion))
    if seq.flow_style:
        column = seq.start_mark.column
        if suggestion.style is ProposalStyle.UNTIL:
            assert suggestion.until is not None
            entry = f"{{user: {user}, note: {note}, until: {suggestion.until.isoformat()}}}"
            if seq.value:
                at = _content_end(text, seq.value[-1])
                return _Cut(at, at, f", {entry}")
            at = seq.start_mark.index + 1
            return _Cut(at, at, entry)
        lines = [f"# {line}" for line in evidence]
        lines += [f"# - user: {user}", f"#   note: {note}"]
    else:
        column = _dash(text, seq.value[0]) - _line_start(text, _dash(text, seq.value[0]))
        lines = [f"# {line}" for line in evidence]
        if suggestion.style is ProposalStyle.UNTIL:
            assert suggestion.until is not None
            lines += [f"- user: {user}", f"  note: {note}", f"  until: {suggestion.until}"]
        else:
            lines += [f"# - user: {user}", f"#   note: {note}"]
    end = _content_end(text, seq.value[-1]) if seq.value else _content_end(text, seq)
    at = _line_end(text, end)
    block = "".join(f"{' ' * column}{line}{nl}" for line in lines)
    if at == len(text) and not _ends_with_break(text):
        return _Cut(at, at, nl + block[: -len(nl)])
    return _Cut(at, at, block)


def _scalar(user: str) -> str:
    """``user`` as a YAML scalar: plain when that reads back the same, else double-quoted."""
    return user if _PLAIN_USER.fullmatch(user) else json.dumps(user)


def _when(suggestion: Suggestion) -> str:
    first, last = suggestion.first, suggestion.last
    if first is None or last is None:
        return ""
    if first.date() == last.date():
        return f" on {first.date().isoformat()}"
    return f" between {first.date().isoformat()} and {last.date().isoformat()}"


def _note(suggestion: Suggestion) -> str:
    times = "once" if suggestion.count == 1 else f"{suggestion.count} times"
    return escape_text(f"denied access {times}{_when(suggestion)} (proposed by licsync propose)")


def _evidence(suggestion: Suggestion, today: dt.date) -> list[str]:
    times = "once" if suggestion.count == 1 else f"{suggestion.count} times"
    lines = [
        f"licsync propose {today.isoformat()}: {suggestion.user} was denied access "
        f"{times}{_when(suggestion)}",
        "groups: " + (", ".join(suggestion.groups) or "none"),
    ]
    if suggestion.covering:
        names = ", ".join(repr(r) for r in suggestion.covering)
        lines.append(f"declared rule {names} covers them: no seat was free, check capacity")
    else:
        lines.append(f"no declared rule covers them; a rule would: {suggestion.rule_hint}")
    return [escape_text(line) for line in lines]


def _applied(f: _File) -> str:
    # One pass from the start, joining the kept stretches and the new text: cutting the string
    # once per edit copied it 16,000 times for a proposal of 16,000 removals. Of insertions at
    # one place, the first made comes first.
    ordered = sorted(enumerate(f.cuts), key=lambda n: (n[1].start, n[1].end, n[0]))
    text = f.text
    pieces = [f.bom]
    at = 0
    for _, cut in ordered:
        pieces.append(text[at : cut.start])
        pieces.append(cut.text)
        at = max(at, cut.end)
    pieces.append(text[at:])
    return "".join(pieces)
