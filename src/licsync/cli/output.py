"""Writing what a command produces to a file: atomically, with errors a user can act on."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from licsync import atomicfile
from licsync.errors import LicsyncError
from licsync.safefile import describe_mode

__all__ = ["OutputError", "check_target", "write_atomically"]


class OutputError(LicsyncError):
    """An output file (``--out``) cannot be written; nothing was written."""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8: a temporary file in the same folder, then a rename.

    A reader (CI uploading the plan) never sees half a file, and a failure leaves any earlier
    file in place.

    Raises:
        OutputError: the folder does not exist, ``path`` is a folder, or writing fails.
    """
    check_target(path)
    folder = path.parent
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(temporary, _mode_for(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        atomicfile.replace(temporary, path)
        temporary = None
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise OutputError(msg) from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def check_target(path: Path) -> None:
    """Refuse, before any work, an output path that cannot become a file.

    Raises:
        OutputError: ``path`` is a folder, a FIFO, a device or a socket, or its folder does not
            exist.
    """
    if path.is_dir():
        msg = f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'plan.json'}"
        raise OutputError(msg)
    with contextlib.suppress(OSError):  # missing (or a dangling symlink): a new file is made
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            # The rename that makes the write atomic would replace it with a regular file
            # (as root, /dev/stdout or /dev/null itself).
            msg = f"cannot write {path}: it is {describe_mode(mode)}; give a file name"
            raise OutputError(msg)
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        msg = f"cannot write {path}: {folder} {what}"
        raise OutputError(msg)


def _mode_for(path: Path) -> int:
    """The permissions ``path`` keeps (when it exists) or gets (as ``open`` would: umask)."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o7777
    umask = os.umask(0o022)  # read the umask: setting it is the only way
    os.umask(umask)
    return 0o666 & ~umask
