"""Taking ``plan.json`` out of a downloaded artifact zip, trusting nothing the zip says.

An artifact is written by a workflow, and a workflow runs what a pull request contains: the zip
may be anything. Names are checked before anything is read (absolute paths, ``..``, drive
letters and backslashes refuse the whole archive, so no later step can be tricked into writing
outside its folder); only ``plan.json`` at the top is read, and it is read in chunks up to a
cap, whatever sizes the zip's headers claim (a zip bomb stops at the cap).
"""

from __future__ import annotations

import re
import zipfile
from typing import IO

from licsync.errors import ForgeError
from licsync.textsafe import escape_text

__all__ = ["MAX_UNZIPPED_PLAN", "PLAN_NAME", "plan_from_zip"]

PLAN_NAME = "plan.json"
MAX_UNZIPPED_PLAN = 256 * 1024 * 1024
"""A JSON plan of 200,000 changes is about 250 MB; a larger ``plan.json`` is not one of ours."""

_MAX_ENTRIES = 1000
_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe(name: str) -> bool:
    if name.startswith("/") or "\\" in name or _DRIVE.match(name) or "\x00" in name:
        return True
    return any(part == ".." for part in name.split("/"))


def plan_from_zip(
    stream: IO[bytes], *, what: str, limit: int = MAX_UNZIPPED_PLAN, member: str = PLAN_NAME
) -> bytes:
    """The bytes of ``plan.json`` in the zip ``stream`` (seekable), at most ``limit`` of them.

    Args:
        stream: the downloaded archive.
        what: how messages name the archive (the artifact's name).
        limit: the most bytes ``plan.json`` may hold once decompressed.
        member: where ``plan.json`` is in the archive (Azure DevOps zips a build artifact
            under its name: ``NAME/plan.json``).

    Raises:
        ForgeError: not a zip, an entry with an unsafe name, no ``plan.json`` at the top, one
            larger than ``limit``, or a corrupt entry.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ForgeError(f"{what}: the download is not a zip archive ({exc})") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > _MAX_ENTRIES:
            raise ForgeError(f"{what}: {len(entries)} entries; a plan artifact holds one file")
        for entry in entries:
            if _unsafe(entry.filename):
                raise ForgeError(
                    f"{what}: entry {escape_text(entry.filename)!r} has an unsafe path "
                    "(absolute, '..' or a drive); refusing the whole artifact"
                )
        found = [e for e in entries if e.filename == member]
        if not found:
            names = ", ".join(repr(escape_text(e.filename)) for e in entries[:5]) or "nothing"
            where = "at the top of the archive" if member == PLAN_NAME else f"as {member}"
            raise ForgeError(f"{what}: no {PLAN_NAME} {where} (it holds {names})")
        if len(found) > 1:
            raise ForgeError(f"{what}: {member} is in the archive twice")
        return _read_capped(archive, found[0], what=what, limit=limit)


def _read_capped(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, *, what: str, limit: int
) -> bytes:
    if entry.file_size > limit:
        raise ForgeError(f"{what}: {PLAN_NAME} is {entry.file_size:,} bytes, over {limit:,}")
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(entry) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > limit:  # the header lied: stop at the cap, never inflate the rest
                    raise ForgeError(f"{what}: {PLAN_NAME} inflates past {limit:,} bytes")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression method.
        raise ForgeError(f"{what}: {PLAN_NAME} cannot be read from the archive ({exc})") from None
    return b"".join(chunks)
