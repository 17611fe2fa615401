"""Opening files licsync did not write, without trusting what they are.

A path in the desired state or a denial source can name a FIFO (opening one blocks until a
writer comes, so licsync would hang), a device (``/dev/zero`` never ends: validate once read
6.8 GB of it), or a file far larger than any licence file. So the type is checked on the opened
descriptor before a byte is read, and whole-file reads are capped: the open is non-blocking,
which is what keeps a FIFO from hanging it, and checking the descriptor rather than the path
leaves no moment for the path to be swapped between the check and the read.

Failures are raised as :class:`OSError` with a readable ``strerror``, the way ``open()`` itself
reports "is a directory": every caller already turns an ``OSError`` into its own error (a
:class:`~licsync.errors.Problem`, a :class:`~licsync.errors.SignalError`) naming the file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["describe_mode", "is_inside", "open_regular", "read_regular"]


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
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"it is {describe_mode(mode)}, not a regular file")
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
            data = stream.read(limit + 1)
            if len(data) <= limit:
                return data
            size = len(data)
    raise OSError(errno.EFBIG, f"it is over {limit:,} bytes ({size:,}), far larger than expected")


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents
