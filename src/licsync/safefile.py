"""Opening files licsync did not write, without trusting what they are.

A path in the desired state or a denial source can name a FIFO (opening one blocks until a
writer comes, so licsync would hang), a device (``/dev/zero`` never ends: validate once read
6.8 GB of it), or a file far larger than any licence file. So the type is checked on the opened
descriptor before a byte is read, and whole-file reads are capped: the open is non-blocking,
which is what keeps a FIFO from hanging it, and checking the descriptor rather than the path
leaves no moment for the path to be swapped between the check and the read.

On Windows there is no ``O_NONBLOCK`` (nor ``os.set_blocking`` for files) and none is needed:
opening a named pipe or a device (``NUL``, ``CON``) never waits for a writer, and ``fstat`` of
the handle still says what it is (``FILE_TYPE_PIPE`` is a FIFO, ``FILE_TYPE_CHAR`` a device).
There is no ``O_NOFOLLOW`` either: a symbolic link (or junction) in the last component is
refused by looking at the path itself right after the open.

Failures are raised as :class:`OSError` with a readable ``strerror``, the way ``open()`` itself
reports "is a directory": every caller already turns an ``OSError`` into its own error (a
:class:`~licsync.errors.Problem`, a :class:`~licsync.errors.SignalError`) naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import BinaryIO

__all__ = ["describe_mode", "file_identity", "is_inside", "open_regular", "read_regular"]

# POSIX: the open must not block on a FIFO; Windows has no such flag (and needs none).
_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)


def describe_mode(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: ``a FIFO (named pipe)``, ``a folder``."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], *, follow: bool = True) -> BinaryIO:
    """Open ``path`` for reading in binary, refusing anything but a regular file.

    Args:
        path: the file.
        follow: False refuses a symbolic link in the last component (``O_NOFOLLOW``), for a
            path already checked not to be one.

    Raises:
        OSError: cannot be opened, or is a folder, FIFO, device or socket (``strerror`` says
            which).
    """
    flags = os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not follow:
        flags |= nofollow
    try:
        fd = os.open(path, flags)
    except PermissionError:
        # Windows refuses to open a folder as a file ("access denied"): say what it is.
        if sys.platform == "win32" and os.path.isdir(path):
            raise OSError(errno.EISDIR, "it is a folder, not a regular file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"it is {describe_mode(mode)}, not a regular file")
        if not follow and not nofollow and _is_link(path):
            raise OSError(errno.ELOOP, "it is a symbolic link, not a regular file")
        if _NONBLOCK:
            # Only FIFOs and devices care about O_NONBLOCK; reads of a regular file should block.
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], *, limit: int, follow: bool = True) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    The size is checked before reading, and the read stops one byte past ``limit`` whatever
    the file claims (files in ``/proc`` report size 0; a file may grow while it is read).

    Raises:
        OSError: as :func:`open_regular`, or the file is larger than ``limit``.
    """
    with open_regular(path, follow=follow) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size <= limit:
            # Read what the file says it holds (plus one byte, to see it grew), then on in
            # chunks: read(limit + 1) would allocate the whole cap first (512 MiB for a plan).
            data = stream.read(size + 1)
            if len(data) > size:
                pieces = [data]
                total = len(data)
                while total <= limit and (piece := stream.read(min(1 << 20, limit + 1 - total))):
                    pieces.append(piece)
                    total += len(piece)
                data = b"".join(pieces)
            if len(data) <= limit:
                return data
            size = len(data)
    raise OSError(errno.EFBIG, f"it is over {limit:,} bytes ({size:,}), far larger than expected")


def _is_link(path: str | os.PathLike[str]) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode) or _is_junction(info)


def _is_junction(info: os.stat_result) -> bool:
    # A junction (mount point) is a reparse point that lstat does not call a link.
    tag = getattr(info, "st_reparse_tag", 0)
    return bool(tag) and tag == getattr(stat, "IO_REPARSE_TAG_MOUNT_POINT", -1)


def file_identity(path: str | os.PathLike[str], info: os.stat_result) -> Hashable:
    """What tells two names of one file (or folder) apart from two files: for "read once".

    POSIX: the device and inode of ``info``. ``os.DirEntry.stat()`` on Windows leaves
    ``st_ino`` 0 (every file would look like the first one), so there the file index comes
    from ``os.stat`` of the path, which asks the file system through an open handle. Where
    even that has none (some network and FAT volumes report 0), the fully resolved,
    case-folded path stands in: the names of one file then agree once links are resolved.
    """
    if info.st_ino == 0:
        with contextlib.suppress(OSError):
            info = os.stat(path, follow_symlinks=not stat.S_ISLNK(info.st_mode))
    if info.st_ino != 0:
        return (info.st_dev, info.st_ino)
    return os.path.normcase(os.path.realpath(path))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents
