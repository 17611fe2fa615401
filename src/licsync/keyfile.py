"""Secret files (a client key) readable by their owner only, on POSIX and on Windows.

POSIX: mode 0600, set when the file is created. A mode means nothing on NTFS, so on Windows the
file is created with a protected access-control list that allows the current user alone (not
inherited from the folder: a runner's temp folder may grant its whole group), through the
Windows API (``CreateFileW`` with a security descriptor, no sharing while it is written).
Either way the secret goes to a new temporary file in the same folder, then replaces the target
in one rename: no moment in which the secret sits in a file anyone else may open.

:func:`exposure` says who else can read a key file: by mode on POSIX, by its ACL on Windows
(the owner, the current user, SYSTEM and Administrators are expected, as OpenSSH expects them).
Where it cannot tell (no ACL to read, an API that fails), it says nothing rather than guess.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from licsync import atomicfile
from licsync.errors import UsageError

__all__ = ["exposure", "write_private"]

# Who may hold a Windows key file besides its owner: LocalSystem and BUILTIN\Administrators
# can take any file anyway (OpenSSH accepts them on a private key too).
_EXPECTED_SIDS = frozenset({"S-1-5-18", "S-1-5-32-544"})


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (replacing it) readable and writable by the owner only.

    Raises:
        UsageError: the file cannot be written (the message names it and why).
    """
    target = Path(path)
    try:
        if sys.platform == "win32":
            temporary = _windows_private_temporary(target, data)
        else:
            temporary = _posix_private_temporary(target, data)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        atomicfile.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc


def exposure(path: str | os.PathLike[str]) -> str | None:
    """Who other than the owner can read ``path``, in words; None if nobody or cannot tell."""
    if sys.platform == "win32":
        from licsync import winacl  # noqa: PLC0415 - ctypes Windows API, Windows only

        readers = winacl.other_readers(os.fspath(path), _EXPECTED_SIDS)
        if not readers:
            return None
        return "its access-control list lets " + ", ".join(readers) + " read it"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return f"its mode {stat.S_IMODE(mode):04o} lets others than its owner open it"
    return None


def _posix_private_temporary(target: Path, data: bytes) -> str:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(handle, 0o600)  # mkstemp makes it 0600; say so, whatever the platform
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary


def _windows_private_temporary(target: Path, data: bytes) -> str:
    from licsync import winacl  # noqa: PLC0415 - ctypes Windows API, Windows only

    for attempt in range(100):
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{attempt}.tmp")
        try:
            winacl.create_private(str(temporary), data)
        except FileExistsError:
            continue
        return str(temporary)
    raise FileExistsError(f"no free temporary name next to {target}")
