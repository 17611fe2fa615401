"""Bounded, strict YAML loading with line and column marks.

PyYAML's safe loader keeps the last of two equal mapping keys without a word, which silently
drops a person's edit, and expands aliases without limit. This module composes the YAML with
libyaml (C) when available, then builds plain Python values itself from the node graph:

- duplicate mapping keys are errors, naming both lines;
- alias expansion, nesting depth and file size are bounded;
- non-UTF-8 bytes, tab indentation, empty files and several documents get clear messages;
- numbers licsync cannot use (``.nan``, ``.inf``, thousands of digits) are kept as
  :class:`BadNumber`, which the schema then rejects at their line;
- the node graph is kept so that any value's position can be found afterwards from its path
  (:meth:`YamlDocument.position`), which is how schema errors point at a line and column.

Timestamps are kept as the text written (``2026-12-31``): the schema decides what a date is.
No other module imports :mod:`yaml`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from licsync.errors import ConfigError, Problem

__all__ = ["ESCAPE_MEANINGS", "MAX_BYTES", "MAX_DEPTH", "BadNumber", "YamlDocument", "load_yaml"]

MAX_BYTES = 32 * 1024 * 1024  # far above any real licence file, far below a memory problem
MAX_DEPTH = 64  # the format nests at most five levels; anything deeper is an accident or an attack
MAX_ALIAS_EXPANSION = 100_000  # values an alias may add beyond what the file spells out
MAX_INT_DIGITS = 18  # every whole number licsync reads fits in 64 bits


@dataclass(frozen=True, slots=True)
class BadNumber:
    """A YAML number licsync cannot use: ``.nan``, ``.inf``, ``1e999``, or thousands of digits.

    It stands in the data where the number was, so that the schema rejects it like any value
    of the wrong type, at its own line and field, and no such number reaches the planner.

    Attributes:
        text: the number as written.
        why: what is wrong with it, to follow the number in a message.
    """

    text: str
    why: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 24 else self.text[:20] + "..."
        return f"{shown} {self.why}"


def _digits(text: str) -> int:
    # Letters count too: hexadecimal 0xFFFF... is as large a number.
    return sum(c.isalnum() for c in text.removeprefix("0x").removeprefix("0o"))


try:  # libyaml is an optional C extension of PyYAML: much faster when present
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_INT = "tag:yaml.org,2002:int"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

Path_ = tuple[str | int, ...]
_FAST_ENTRIES = True  # see _Builder._mapping; False only in tests, to compare both ways
_SCAN_LIMIT = 16  # mappings up to this size are scanned: cheaper than building an index


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML file: its plain data and the node graph for positions.

    Attributes:
        file: the path to show in messages.
        data: dicts, lists, str, int, float, bool and None.
        root: the composed root node.
    """

    file: str
    data: Any
    root: yaml.Node
    text: str = ""
    # Key lookups in large mappings, built on first use: scanning a mapping's keys once per
    # lookup made a file of 20,000 misspelled keys quadratic.
    _keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def node_at(self, path: Sequence[str | int], *, key: bool = False) -> yaml.Node:
        """The node at ``path``, or the deepest existing ancestor's node.

        With ``key=True`` and a path ending in a mapping key, the key's node is returned, which is
        where "unknown field" belongs.
        """
        node = self.root
        last = len(path) - 1
        for at, step in enumerate(path):
            if isinstance(node, yaml.MappingNode):
                found = self._entry(node, str(step))
                if found is None:
                    return node
                node = found[0] if key and at == last else found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    return node
                node = node.value[step]
            else:
                return node
        return node

    def _entry(self, node: yaml.MappingNode, name: str) -> tuple[yaml.Node, yaml.Node] | None:
        if len(node.value) <= _SCAN_LIMIT:
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
                    return key_node, value_node
            return None
        index = self._keys.get(id(node))
        if index is None:
            index = self._keys[id(node)] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    index.setdefault(key_node.value, (key_node, value_node))
        return index.get(name)

    def quoted_escape(self, path: Sequence[str | int]) -> tuple[str, str] | None:
        """For a double-quoted string at ``path`` whose backslashes YAML took as escapes: the
        first such escape as written (``\\b``) and the text between the quotes as written.

        None when the value is not double-quoted, or every backslash in it is ``\\\\`` or
        ``\\"`` (which mean what they show).
        """
        node = self.node_at(path)
        if getattr(node, "style", None) != '"' or not self.text:
            return None
        raw = self.text[node.start_mark.index : node.end_mark.index]
        inner = raw[1:-1]
        at = inner.find("\\")
        while 0 <= at < len(inner) - 1:
            if inner[at + 1] not in '\\"':
                return inner[at : at + 2], inner
            at = inner.find("\\", at + 2)
        return None

    def position(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (see :meth:`node_at`)."""
        mark = self.node_at(path, key=key).start_mark
        return mark.line + 1, mark.column + 1


def load_yaml(raw: bytes, file: str) -> YamlDocument:
    """Parse one YAML file strictly.

    Args:
        raw: the file's bytes.
        file: the path to name in messages.

    Raises:
        ConfigError: with one Problem locating what is wrong.
    """
    text = _decode(raw, file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_problem_from_yaml_error(exc, file, text)]) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError([_reader_problem(exc, file, text)]) from None
    except yaml.YAMLError as exc:  # unmarked: reader errors and the like
        raise ConfigError([Problem(file, 0, 0, "", f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ConfigError(
            [Problem(file, 1, 1, "", "file is empty: expected a mapping such as `professional:`")]
        )
    builder = _Builder(file)
    data = builder.build(root)
    return YamlDocument(file=file, data=data, root=root, text=text)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_BYTES:
        raise ConfigError(
            [Problem(file, 0, 0, "", f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")]
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            [Problem(file, 1, 1, "", "file is UTF-16; save it as UTF-8 (without BOM)")]
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        msg = f"not UTF-8: byte 0x{bad} cannot be decoded; save the file as UTF-8"
        raise ConfigError([Problem(file, line, col, "", msg)]) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise ConfigError([Problem(file, line, col, "", "NUL character in a text file")])
    return text


def _problem_from_yaml_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = exc.problem or "invalid YAML"
    if _char_at(text, line, col) == "\t":
        return Problem(
            file, line, col, "", "tab character in indentation: YAML indents with spaces"
        )
    if "expected a single document" in f"{problem} {exc.context}":
        return Problem(file, line, col, "", "several YAML documents (---) in one file; use one")
    if "quoted scalar" in str(exc.context) and ("escape" in problem or "hexdecimal" in problem):
        return Problem(file, line, col, "", _bad_escape(text, line, col))
    if "maximum nesting depth" in problem:
        return Problem(file, line, col, "", f"nesting deeper than libyaml allows: {problem}")
    context = f" ({exc.context})" if exc.context else ""
    return Problem(file, line, col, "", f"invalid YAML: {problem}{context}")


ESCAPE_MEANINGS = {
    "a": "a bell character",
    "b": "a backspace",
    "e": "an escape character",
    "f": "a form feed",
    "n": "a line break",
    "r": "a carriage return",
    "t": "a tab",
    "v": "a vertical tab",
    "0": "a NUL character",
    " ": "a plain space",
    "/": "a slash",
    "N": "a next-line character (U+0085)",
    "_": "a no-break space (U+00A0)",
    "L": "a line separator (U+2028)",
    "P": "a paragraph separator (U+2029)",
    "x": "the character with the hex code that follows",
    "u": "the character with the hex code that follows",
    "U": "the character with the hex code that follows",
}
"""What a backslash escape in a double-quoted YAML string means (YAML 1.1, section 5.6)."""


def _bad_escape(text: str, line: int, col: int) -> str:
    """The message for a double-quoted string with a backslash that is no YAML escape: the
    Windows ``DOMAIN\\user`` written in double quotes."""
    row = text.split("\n", line)[line - 1] if line > 0 else ""
    at = row.rfind("\\", 0, max(col, 1))
    escape = row[at : at + 2] if at >= 0 else "\\"
    return (
        f"a backslash inside double quotes starts an escape in YAML, and {escape} is not one "
        "(or is incomplete); write the value without quotes (user: CORP\\alice) or in single "
        "quotes (user: 'CORP\\alice'), where a backslash is just a backslash"
    )


def _reader_problem(exc: yaml.reader.ReaderError, file: str, text: str) -> Problem:
    """A character YAML refuses anywhere (a control character), at its line and column."""
    at = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return Problem(
        file,
        line,
        col,
        "",
        f"control character U+{code:04X} is not allowed in YAML (nor in a user id); remove it",
    )


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.split("\n", line)
    if line < 1 or len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[col - 1] if 0 < col <= len(row) else ""


class _Builder:
    """Turns a composed node graph into plain values, enforcing the limits."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.seen: set[int] = set()
        self.repeats = 0  # values built again from a node built before: alias expansion
        self.alias: yaml.Node | None = None  # the outermost alias being expanded
        self.active: set[int] = set()
        self.scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.MappingNode):
            kind = _kind(node)
            raise ConfigError(
                [
                    Problem(
                        self.file,
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                        "",
                        f"top level must be a mapping (site:, professional:, ...), found {kind}",
                    )
                ]
            )
        return self._value(node, 0)

    def _fail(self, node: yaml.Node, message: str) -> ConfigError:
        mark = node.start_mark
        return ConfigError([Problem(self.file, mark.line + 1, mark.column + 1, "", message)])

    def _value(self, node: yaml.Node, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail(node, f"nested deeper than {MAX_DEPTH} levels")
        ident = id(node)
        if ident in self.seen:  # an alias: the same node reached again
            self.repeats += 1
            if ident in self.active:
                raise self._fail(node, "an alias refers to a value that contains it (recursion)")
            if self.repeats > MAX_ALIAS_EXPANSION:
                # Report the outermost alias being expanded: its anchor is what blows up.
                culprit = self.alias or node
                raise self._fail(
                    culprit, "aliases expand to too many values (billion-laughs guard)"
                )
            if self.alias is None:
                self.alias = node
                try:
                    return self._build(node, ident, depth)
                finally:
                    self.alias = None
        else:
            self.seen.add(ident)
        return self._build(node, ident, depth)

    def _build(self, node: yaml.Node, ident: int, depth: int) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    raise self._fail(node, f"unsupported YAML tag {node.tag}")
                return [self._value(item, depth + 1) for item in node.value]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, depth)
        finally:
            self.active.discard(ident)
        raise self._fail(node, "unsupported YAML node")  # pragma: no cover - no other node kinds

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[Any, Any]:
        if node.tag != _MAP:
            raise self._fail(node, f"unsupported YAML tag {node.tag}")
        result: dict[Any, Any] = {}
        seen = self.seen
        # A value one level down is within the depth limit (the flag: tests compare both ways).
        text_values = _FAST_ENTRIES and depth < MAX_DEPTH
        for key_node, value_node in node.value:
            # The usual entry (thousands in a big file), `text: text`, seen for the first time:
            # what the careful way below and _value make of it, without their steps. Any other
            # key or value (a number, a list, an alias, a tag) goes the careful way.
            if (
                text_values
                and type(key_node) is yaml.ScalarNode
                and key_node.tag == _STR
                and type(value_node) is yaml.ScalarNode
                and value_node.tag == _STR
                and id(value_node) not in seen
                and key_node.value not in result
            ):
                seen.add(id(value_node))
                result[key_node.value] = value_node.value
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(
                    key_node, "mapping keys must be plain words, not lists or mappings"
                )
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._fail(key_node, "YAML merge keys (<<) are not supported; write keys out")
            key = self._scalar(key_node)
            if isinstance(key, float | bool | BadNumber) or key is None:
                key = key_node.value  # `yes:` or `1.0:` as a key means the text the user wrote
            if key in result:
                # Every entry before this one set a key, in order: the first of this key is
                # the entry at its place among the keys.
                first = node.value[list(result).index(key)][0]
                raise self._fail(
                    key_node,
                    f"duplicate key {_head(key)}: already set on line "
                    f"{first.start_mark.line + 1}; YAML would silently keep only the last one",
                )
            result[key] = self._value(value_node, depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        if tag == _INT and _digits(node.value) > MAX_INT_DIGITS:
            # Python refuses to parse more than 4,300 digits (a crash, once); licsync's numbers
            # are day counts and caps, so far fewer already mean a mistake.
            return BadNumber(node.value, f"has {_digits(node.value):,} digits, far too many")
        if tag in _SCALAR_TAGS:
            value = self.scalars.construct_object(node, deep=False)
            if isinstance(value, float) and not math.isfinite(value):
                # `.nan` compares false with every bound, so it slipped past minimum/maximum.
                why = "is not a number (NaN)" if math.isnan(value) else "is infinite"
                return BadNumber(node.value, why)
            return value
        if tag == "tag:yaml.org,2002:binary":
            raise self._fail(node, "binary values are not supported")
        raise self._fail(node, f"unsupported YAML tag {tag}")


def _head(value: object) -> str:
    text = repr(value[:80] if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        # Not quoted: a file that is one long value is rarely YAML someone wrote by hand, and
        # its first line may be anything (a password file, a key).
        return "a single value, not `key: value` lines"
    return "something else"
