"""User ids that are not what they look like: invisible characters and look-alike letters.

A user id pasted from a chat or a web page can carry characters nobody sees (a zero-width
space, a right-to-left mark) or letters from another script that look Latin (U+0430 Cyrillic
``a`` for Latin ``a``). QRS compares ids exactly (case aside), so such an id names another
user: the person it was meant for stays without a licence, and a second id holds one.

:func:`hidden_characters` finds the invisible ones (always an error in an id).
:func:`skeleton` folds an id to what it looks like, so that two ids differing only by
look-alikes compare equal (a warning: "probably the same person").

The fold is our own and deliberately small: NFKC (which maps full-width and other
compatibility forms to their plain letters), case folding, then the Cyrillic and Greek letters
that look like Latin ones in ordinary fonts. Unicode's full confusables table (UTS #39) covers
far more scripts, but a licence repository names directory accounts of one company: the
scripts that occur in practice are Latin with Cyrillic or Greek, and a table of our own needs
no dependency and no data file to keep current.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "declarable_user_id",
    "describe_character",
    "hidden_characters",
    "lookalike_characters",
    "skeleton",
    "visible",
]

# Control (Cc), format (Cf: zero-width, bidi controls, soft hyphen, BOM), line and paragraph
# separators, surrogates and private use: never part of a directory account name.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})

# Cyrillic and Greek letters, after case folding, that look like a Latin letter.
_FOLD = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a",
        "\u0432": "b",
        "\u0441": "c",
        "\u0501": "d",
        "\u0435": "e",
        "\u04bb": "h",
        "\u043d": "h",
        "\u0456": "i",
        "\u0458": "j",
        "\u043a": "k",
        "\u04cf": "l",
        "\u043c": "m",
        "\u043e": "o",
        "\u0440": "p",
        "\u051b": "q",
        "\u0455": "s",
        "\u0442": "t",
        "\u0443": "y",
        "\u0475": "v",
        "\u051d": "w",
        "\u0445": "x",
        "\u04af": "y",
        # Greek
        "\u03b1": "a",
        "\u03b2": "b",
        "\u03b5": "e",
        "\u03b6": "z",
        "\u03b7": "h",
        "\u03b9": "i",
        "\u03ba": "k",
        "\u03bc": "m",
        "\u03bd": "v",
        "\u03bf": "o",
        "\u03c1": "p",
        "\u03c4": "t",
        "\u03c5": "y",
        "\u03c7": "x",
    }
)
_LOOKALIKES = frozenset(chr(code) for code in _FOLD)


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """The (position, character) of every invisible or control character in ``text``."""
    if text.isascii() and text.isprintable():
        return []
    return [(at, c) for at, c in enumerate(text) if unicodedata.category(c) in _HIDDEN_CATEGORIES]


# The schema's DIRECTORY\\userid pattern (schema/licenses.schema.json): what an entry may hold.
_USER_ID = re.compile(r"[^\\\s][^\\]{0,254}\\\S(.{0,253}\S)?")


def declarable_user_id(text: str) -> bool:
    """Whether a desired-state file can name this user id: the schema's pattern, and no
    invisible character (what ``dump`` and ``propose`` may write for the strict loader)."""
    return _USER_ID.fullmatch(text) is not None and not hidden_characters(text)


def skeleton(text: str) -> str:
    """What ``text`` looks like: equal skeletons mean the ids are visually the same."""
    if text.isascii():
        return text.casefold()
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


def lookalike_characters(text: str) -> list[tuple[int, str]]:
    """The (position, character) of letters in ``text`` that imitate Latin ones."""
    if text.isascii():
        return []
    return [(at, c) for at, c in enumerate(text) if c.casefold() in _LOOKALIKES]


def describe_character(c: str) -> str:
    """``U+0430 CYRILLIC SMALL LETTER A``, ``U+0008 BACKSPACE``."""
    name = _CONTROL_NAMES.get(c) or unicodedata.name(c, "") or "control character"
    return f"U+{ord(c):04X} {name}"


def visible(text: str) -> str:
    """``text`` with its hidden characters shown as ``<U+200B>``."""
    hidden = dict(hidden_characters(text))
    if not hidden:
        return text
    return "".join(f"<U+{ord(c):04X}>" if at in hidden else c for at, c in enumerate(text))


# Unicode gives control characters no names; these are the ones a text editor or a YAML
# escape produces.
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\x07": "BELL",
    "\x08": "BACKSPACE",
    "\t": "TAB",
    "\n": "LINE FEED",
    "\x0b": "VERTICAL TAB",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}
