"""Standard output and error that never fail on encoding, on any console or redirection.

Windows CPython encodes a redirected stdout in the locale's code page (cp1252, cp850), and
``PYTHONIOENCODING`` can name any codec: a user name in Cyrillic, or the Markdown plan's emoji,
then raised ``UnicodeEncodeError`` mid-output. So before a command runs:

- output that is not a terminal (a pipe, a file: what CI and scripts read) is UTF-8 with
  ``\\n`` line ends, byte for byte what Linux writes, whatever the code page;
- a terminal keeps its own encoding (a Windows console is UTF-8 already; a legacy one, or a
  POSIX terminal in another locale, would show UTF-8 bytes as mojibake), and whatever it cannot
  show is escaped (``\\u2796``) instead of failing.

On Windows, writing to a pipe whose reader has gone (``licsync plan | Select-Object -First 5``)
fails with ``EINVAL`` rather than ``EPIPE``; such a stream is re-opened so that it says
``BrokenPipeError``, which the command line already treats as the reader having stopped.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from typing import TYPE_CHECKING, TextIO

from licsync.textsafe import escape_text

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["shown", "utf8_streams"]

ESCAPE = "backslashreplace"


def utf8_streams() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` UTF-8 (or escaping, on a terminal); see above."""
    sys.stdout = _utf8(sys.stdout)
    sys.stderr = _utf8(sys.stderr)


def _utf8(stream: TextIO) -> TextIO:
    if not isinstance(stream, io.TextIOWrapper):
        return stream  # not a text stream over bytes (a test's capture): nothing to encode
    try:
        terminal = stream.isatty()
    except (OSError, ValueError):
        return stream
    if terminal:
        if stream.errors == "strict":
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors=ESCAPE)
        return stream
    if sys.platform == "win32" and _is_pipe(stream):
        if isinstance(getattr(stream.buffer, "raw", None), _PipeOutput):
            return stream  # made here by an earlier run in this process
        return _reopened(stream)
    with contextlib.suppress(OSError, ValueError):
        stream.reconfigure(encoding="utf-8", errors=ESCAPE, newline="\n")
    return stream


def _is_pipe(stream: TextIO) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


class _PipeOutput(io.FileIO):
    """A Windows pipe's write end that reports a gone reader as ``BrokenPipeError``."""

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise BrokenPipeError(errno.EPIPE, "the reader of this output has gone") from exc
            raise


def _reopened(stream: io.TextIOWrapper) -> TextIO:
    try:
        stream.flush()
        raw = _PipeOutput(stream.fileno(), "wb", closefd=False)
    except (OSError, ValueError):
        return stream
    return io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding="utf-8",
        errors=ESCAPE,
        newline="\n",
        line_buffering=stream.line_buffering,
        write_through=stream.write_through,
    )


def shown(message: str) -> str:
    """A message for the terminal: its own lines kept, any other control character escaped.

    Messages quote QRS answers, file names and log lines; whoever wrote those must not be able
    to move the cursor, set the window title or forge a line of their own inside one.
    """
    return "\n".join(escape_text(line) for line in message.split("\n"))
