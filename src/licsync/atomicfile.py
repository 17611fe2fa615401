"""The rename that makes a write atomic, retried while Windows says the target is in use.

On Windows, ``os.replace`` onto a file that another program holds open without
``FILE_SHARE_DELETE`` (an editor showing the plan, an antivirus scanner or the search indexer
reading the file just written, a sync client) fails with "access denied" or a sharing
violation, usually for a fraction of a second. So the rename is retried for a short while, then
refused with an error that says what to do. POSIX renames do not fail that way, and a
permission error there is real: it is never retried.
"""

from __future__ import annotations

import errno
import os
import stat
import time

__all__ = ["HELD_OPEN_SECONDS", "replace"]

HELD_OPEN_SECONDS = 2.0
"""How long a Windows target held open is waited for before the write is refused."""

# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: what a rename onto a file
# that another process holds open reports.
_HELD_OPEN = frozenset({5, 32, 33})


def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``os.replace(source, target)``, retried while ``target`` is held open on Windows.

    Raises:
        OSError: the rename failed; when the target stayed held open, ``strerror`` says so
            and what to do.
    """
    deadline = time.monotonic() + HELD_OPEN_SECONDS
    pause = 0.02
    while True:
        try:
            os.replace(source, target)
            return
        except PermissionError as exc:
            if getattr(exc, "winerror", None) not in _HELD_OPEN:
                raise
            if _read_only(target):
                # Windows refuses to replace a read-only file; waiting will not change that.
                message = "it is read-only; clear its read-only attribute, or write elsewhere"
                raise PermissionError(errno.EACCES, message, os.fspath(target)) from exc
            if time.monotonic() + pause > deadline:
                message = (
                    f"another program holds it open (an editor, an antivirus scanner, a sync "
                    f"client?) and it could not be replaced within {HELD_OPEN_SECONDS:g} s; "
                    "close it and run again"
                )
                raise PermissionError(errno.EACCES, message, os.fspath(target)) from exc
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _read_only(target: str | os.PathLike[str]) -> bool:
    try:
        attributes = getattr(os.stat(target), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_READONLY", 0))
