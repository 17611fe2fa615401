"""Writing a dump: refuse to overwrite, check it loads back as the site, never leave half a file.

The files are written to a staging folder beside the output folder, loaded back with licsync's
own strict loader and compared with what was meant. Only then are they written into the output
folder itself, as hidden ``.NAME.*.tmp`` files (a rename moves a file only within one file
system, and a symlinked or mounted ``--out`` is on another than its parent), and each renamed
into place, so a reader sees the old file or the new one, never part of one. A rename that fails
after others succeeded puts every file back as it was: a dump is all three files or none. A dump
killed midway leaves at most ``.tmp`` files, which no plan reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Hashable
from pathlib import Path

from licsync import atomicfile
from licsync.desired import Desired
from licsync.dump.document import FILE_NAMES, SITE_FILE, Dump
from licsync.errors import ConfigError, DumpRefused
from licsync.identity import AccessType
from licsync.load import YAML_SUFFIXES, load_desired
from licsync.safefile import file_identity

__all__ = ["check_output", "write_dump"]


def check_output(out: Path, *, force: bool, keep_site: bool = False) -> None:
    """Refuse, before the site is read, an output folder the dump must not write into.

    With ``keep_site``, ``site.yaml`` is the admin's and stays as it is: only the allocation
    and rule files count as the dump's.

    Raises:
        DumpRefused: ``out`` is not a folder (or a symlink to nothing); one of the dump's files
            exists and ``force`` is not set, or is a folder; or the folder holds other YAML
            files, which a plan would merge with it.
    """
    if out.is_symlink() and not out.exists():
        msg = (
            f"cannot dump into {out}: it is a symbolic link to {os.readlink(out)}, "
            "which does not exist"
        )
        raise DumpRefused(msg)
    if out.exists() and not out.is_dir():
        msg = f"cannot dump into {out}: it is not a folder"
        raise DumpRefused(msg)
    if not out.exists():
        if not out.parent.is_dir():
            msg = f"cannot dump into {out}: {out.parent} does not exist"
            raise DumpRefused(msg)
        return
    names = [n for n in FILE_NAMES if not (keep_site and n == SITE_FILE)]
    existing = [out / name for name in names if (out / name).exists()]
    for path in existing:
        if path.is_dir():  # a rename cannot replace a folder with a file
            msg = f"cannot dump into {out}: {path} is a folder; nothing written"
            raise DumpRefused(msg)
    if existing and not force:
        shown = ", ".join(str(p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        kept = f"; {out / SITE_FILE} is kept as it is either way" if keep_site else ""
        msg = f"{shown} already {verb}; nothing written (--force overwrites{kept})"
        raise DumpRefused(msg)
    others = _other_yaml(out)
    if others:
        shown = ", ".join(str(p) for p in others[:5]) + (" ..." if len(others) > 5 else "")
        msg = (
            f"{out} holds other YAML files ({shown}) that a plan would merge with the dump; "
            "nothing written: dump into a new folder, or move them away"
        )
        raise DumpRefused(msg)


MAX_ENTRIES = 100_000
"""Entries looked at in ``--out`` before giving up: a licence folder holds a few dozen, and
``--out .`` in a large tree (or ``--out /``) must not walk it for minutes."""


def _other_yaml(out: Path) -> list[Path]:
    """Up to six YAML files below ``out`` that are not the dump's own, as the loader would find
    them (symlinked folders followed, each once).

    Raises:
        DumpRefused: a folder below ``out`` cannot be listed (its YAML would be merged unseen),
            or ``out`` holds more than :data:`MAX_ENTRIES` entries.
    """
    found: list[Path] = []
    seen: set[Hashable] = set()
    entries = 0

    def refuse(exc: OSError) -> None:
        msg = f"cannot dump into {out}: {exc.filename} cannot be listed ({exc.strerror or exc})"
        raise DumpRefused(msg)

    for folder, subfolders, names in os.walk(out, onerror=refuse, followlinks=True):
        identity = file_identity(folder, os.stat(folder))
        if identity in seen:
            subfolders.clear()  # a symlink loop, or a folder reached twice
            continue
        seen.add(identity)
        entries += len(subfolders) + len(names)
        if entries > MAX_ENTRIES:
            msg = (
                f"cannot dump into {out}: it holds more than {MAX_ENTRIES:,} files and folders; "
                "dump into a new folder"
            )
            raise DumpRefused(msg)
        for name in sorted(names):
            path = Path(folder) / name
            if path.suffix.lower() not in YAML_SUFFIXES:
                continue
            if path.relative_to(out).as_posix() in FILE_NAMES:
                continue
            found.append(path)
            if len(found) > 5:
                return found
    return sorted(found)


def write_dump(
    dump: Dump, out: Path, *, force: bool, today: dt.date, kept_site: bytes | None = None
) -> tuple[Path, ...]:
    """Write the dump's files into ``out`` (created if missing) and return their paths.

    ``kept_site``: the bytes of the admin's ``site.yaml``, which stays as it is (the dump's
    own site file is not written) and is what the written files are loaded back with.

    Raises:
        DumpRefused: see :func:`check_output`; the files would not load back as the site; or
            they cannot be written (nothing is written then, and files already there are kept).
    """
    # Checked again although the command checked before reading the site: that read can take
    # minutes, and files may have appeared in ``out`` meanwhile.
    check_output(out, force=force, keep_site=kept_site is not None)
    files = tuple((n, t) for n, t in dump.files if kept_site is None or n != SITE_FILE)
    staging: Path | None = None
    made = False
    try:
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.dump-"))
        for name, text in files:
            with open(staging / name, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        if kept_site is not None:
            (staging / SITE_FILE).write_bytes(kept_site)
        _check_loads_back(dump, staging, out, today=today)
        made = not out.exists()
        out.mkdir(exist_ok=True)  # only now: a refused dump leaves no empty folder behind
        return _commit(files, out)
    except OSError as exc:
        if made:  # nor does a dump that could not be written (a full disk): rmdir if empty
            with contextlib.suppress(OSError):
                out.rmdir()
        msg = f"cannot write into {out}: {exc.strerror or exc}"
        raise DumpRefused(msg) from exc
    finally:
        if staging is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)


def _commit(files: tuple[tuple[str, str], ...], out: Path) -> tuple[Path, ...]:
    """Put the files in ``out``: all of them, or (on an error) none, the old ones kept.

    Raises:
        OSError: a file could not be written or renamed; ``out`` is as it was.
    """
    fresh: dict[str, str] = {}  # name -> its temporary file in out
    kept: dict[str, str] = {}  # name -> the old file, renamed aside
    placed: list[str] = []
    try:
        for name, text in files:
            handle, temporary = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
            fresh[name] = temporary
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        for name, _ in files:
            target = out / name
            if target.exists() or target.is_symlink():
                handle, aside = tempfile.mkstemp(dir=out, prefix=f".{name}.old-", suffix=".tmp")
                os.close(handle)
                atomicfile.replace(target, aside)
                kept[name] = aside
            atomicfile.replace(fresh[name], target)
            del fresh[name]
            placed.append(name)
    except OSError:
        _undo(out, placed, kept)
        raise
    finally:
        for temporary in fresh.values():
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    for aside in kept.values():
        with contextlib.suppress(OSError):
            os.unlink(aside)
    return tuple(out / name for name, _ in files)


def _undo(out: Path, placed: list[str], kept: dict[str, str]) -> None:
    """Remove the files placed, and put back those renamed aside (best effort: it runs after a
    failure, and a second failure must not hide the first)."""
    for name in placed:
        if name not in kept:
            with contextlib.suppress(OSError):
                os.unlink(out / name)
    for name, aside in kept.items():
        with contextlib.suppress(OSError):
            atomicfile.replace(aside, out / name)


def _check_loads_back(dump: Dump, staging: Path, out: Path, *, today: dt.date) -> None:
    try:
        desired, _ = load_desired(staging, today=today)
    except ConfigError as exc:
        problems = "\n".join(str(p) for p in exc.problems).replace(str(staging), str(out))
        msg = f"the YAML made from the site does not load; nothing written:\n{problems}"
        raise DumpRefused(msg) from exc
    differences = _differences(dump, desired)
    if differences:
        msg = "the YAML made from the site does not read back as the site (a bug in licsync); "
        msg += "nothing written: " + "; ".join(differences[:5])
        raise DumpRefused(msg)


def _differences(dump: Dump, desired: Desired) -> list[str]:
    found: list[str] = []
    for access_type in AccessType:
        declared = desired.of(access_type)
        meant = [a.user for a in dump.allocations.get(access_type, ())]
        read = [a.user for a in declared.allocations]
        if meant != read:
            found.append(f"{access_type} allocations differ")
        meant_rules = [
            (r.name, r.condition, r.context, r.disabled, r.comment)
            for r in dump.rules.get(access_type, ())
        ]
        read_rules = [
            (r.name, r.condition, r.context, r.disabled, r.comment) for r in declared.rules
        ]
        if meant_rules != read_rules:
            found.append(f"{access_type} rules differ")
    return found
