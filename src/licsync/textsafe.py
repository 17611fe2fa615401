"""Showing text licsync did not write, on a terminal: QRS answers, logs, CSV exports, file names,
YAML notes, forge answers.

A terminal obeys control characters (a line break forges a line, ESC sequences clear the screen or
set the window title, bidi controls reorder what is shown), so every foreign value on its way to
one passes through :func:`escape_text`. This is the low level that loading, applying, the forges
and the command line share; :mod:`licsync.render.escape` builds the Markdown escapes on it.
"""

from __future__ import annotations

__all__ = ["escape_text"]


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_text(text: str) -> str:
    """``text`` with every character a terminal would act on shown as a Python-style escape.

    Line breaks, tabs, ESC and every other C0 control, DEL, the C1 controls, bidi controls and
    every other character Python counts as unprintable (format characters, separators other than
    the plain space) become ``\\n``, ``\\x1b``, ``\\u202e`` ... Backslashes are kept as they are
    (``CORP\\alice`` is a user name), so the escape is for the eye, not to be parsed back.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)
