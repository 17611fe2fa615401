"""Showing text licsync did not write: QRS answers, logs, CSV exports, file names, YAML notes.

Such text reaches two readers that interpret it: a terminal (which obeys control characters: a
line break forges a line, ESC sequences clear the screen or set the window title, bidi controls
reorder what is shown) and GitHub's Markdown (which turns punctuation into links, images, raw
HTML, table cells, mentions and issue references; GitLab's and Azure DevOps' references too).
Each renderer passes every foreign value through one function here, so what is shown is the
value, and only the value. The terminal's half, :func:`escape_text`, lives below the renderers in
:mod:`licsync.textsafe` (loading and applying need it too) and is re-exported here.
"""

from __future__ import annotations

import re

from licsync.textsafe import escape_text

__all__ = ["escape_text", "md_code", "md_text"]

_WORD_JOINER = "\u2060"

# Markdown punctuation that starts something: code spans, emphasis, links and images, tables,
# strikethrough, math; and HTML, which is written as entities.
_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]|~$])")
# What GitHub links after rendering, in text: @mentions (and e-mail addresses), #12 and GH-12
# issue references, and bare URLs (scheme://, www.). A word joiner after the marker breaks the
# pattern and shows nothing.
_GITHUB_LINKS = re.compile(r"([@#])|(?<=gh)(-)(?=\d)|(:)(?=//)|(?<=www)(\.)", re.IGNORECASE)
# What GitLab links besides: !12 merge requests, ~label and ~"a label", %milestone, &12 epics
# (written &amp; by then), $12 snippets (\$ by then), [vulnerability]+ and *iteration: each
# marker followed by a word or a quote. Azure DevOps links #12 work items and !12 pull requests
# (and @mentions): covered by the two patterns together. The joiner goes after the marker.
_GITLAB_LINKS = re.compile(r"(?:[!~%$]|&amp;)(?=[\w\"])")


def md_text(text: str) -> str:
    """``text`` for Markdown prose or a table cell: shown as it is, interpreted as nothing.

    Control characters are escaped as for a terminal (so no line break can end a table row),
    Markdown punctuation is backslash-escaped, ``<``, ``>`` and ``&`` become entities, and a
    word joiner (U+2060, invisible) follows ``@``, ``#``, ``GH-``'s ``-`` and the ``:`` of
    ``://``, and precedes the ``.`` of ``www.``, so GitHub makes no mention, issue reference or
    link of them; and after GitLab's ``!`` ``~`` ``%`` ``&`` ``$`` before a word or a quote
    (merge requests, labels, milestones, epics, snippets), which also covers Azure DevOps'
    ``#12`` and ``!12``. The same text is safe on all three forges.
    """
    text = escape_text(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    text = _GITLAB_LINKS.sub(lambda m: m.group(0) + _WORD_JOINER, text)
    return _GITHUB_LINKS.sub(_break_link, text)


def _break_link(match: re.Match[str]) -> str:
    # Before the dot of www. (so "www." never appears), after every other marker.
    return _WORD_JOINER + "." if match.group(4) else match.group(0) + _WORD_JOINER


def md_code(text: str) -> str:
    """``text`` as a Markdown code span that nothing inside it can close or break.

    The fence is one backtick longer than the longest run inside; control characters are
    escaped; ``|`` becomes ``¦`` because table cells are split on pipes before code spans are
    recognised (and GitHub's and other parsers disagree on ``\\|`` inside code). Code spans are
    where GitHub makes no mentions, references or links.
    """
    text = escape_text(text).replace("|", "¦")
    if not text:
        return "(empty)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"
