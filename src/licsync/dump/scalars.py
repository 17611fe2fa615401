"""YAML scalars that read back as exactly the text written, whatever the site put in it.

Values from QRS (user ids, rule names, conditions, comments) may hold quotes, ``#``, ``: ``, a
leading ``-``, line breaks, bidi controls or nothing at all. Each is written in the plainest
style that still reads back unchanged: plain when it is a harmless word, single-quoted when
every character is printable (a backslash stays a backslash there, so ``CORP\\bjorn`` is not
the backspace it would be in double quotes), double-quoted with escapes otherwise.
"""

from __future__ import annotations

import re

import yaml

__all__ = ["comment_text", "scalar"]

# A plain scalar may start with a letter, digit, `_` or `(` (not with `-`, `?`, `:`, quotes,
# `&`, `*`, `!`, `|`, `>`, `%`, `@` or a bracket, which start other tokens), holds no `:`, `#`,
# bracket or brace, and neither starts nor ends with a space.
_PLAIN = re.compile(r"[\w(][^:#\[\]{}]*(?<! )")
_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"

# YAML's short escapes for the characters that have one (YAML 1.1 as PyYAML reads it).
_SHORT = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
}


def scalar(value: str) -> str:
    """``value`` as a YAML flow scalar that loads back as exactly ``value``."""
    if value.isprintable() and _PLAIN.fullmatch(value) and _implicit_str(value):
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_escaped(ch) for ch in value) + '"'


def comment_text(text: str) -> str:
    """``text`` made safe for one ``#`` comment line: unprintable characters escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _implicit_str(value: str) -> bool:
    """Whether YAML reads the plain word as text (not ``yes``, ``null``, ``1e3``, ...)."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR_TAG)


def _escaped(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
