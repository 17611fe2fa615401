"""One apply per site at a time, on this machine: an OS file lock, and a note naming its holder.

The lock is ``filelock``'s (``fcntl``/``msvcrt``): the operating system releases it when the
holding process ends, however it ends, so a crashed apply never leaves a site locked. Beside
the lock a small JSON note says who holds it (host, process, user, since when) so that a
refused apply can name the holder. CI runners on different machines do not share this lock:
the workflows use a concurrency group per site for that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import ipaddress
import json
import os
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import filelock

from licsync.errors import SiteLocked, UsageError
from licsync.timeutil import format_instant

__all__ = ["file_stem", "lock_path", "site_address", "site_lock", "state_directory"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_stem(site: str) -> str:
    """A site name as a file name on any system: runs of other characters become ``_``."""
    return _UNSAFE.sub("_", site)[:60]


def state_directory(env: Mapping[str, str]) -> Path:
    """Where licsync keeps machine-local state: ``$XDG_STATE_HOME/licsync``, on Windows
    ``%LOCALAPPDATA%\\licsync``, else ``~/.local/state/licsync``."""
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "licsync"
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "licsync"
    return Path.home() / ".local" / "state" / "licsync"


def lock_path(state: Path, site: str, qrs_url: str) -> Path:
    """The lock file of one site: its name, readable, and a hash of where QRS really is (the
    addresses its host resolves to and its port, :func:`site_address`): two checkouts, or
    ``localhost`` and ``127.0.0.1``, naming one site lock each other; two sites do not."""
    identity = f"{site.casefold()}\n{site_address(qrs_url)}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]
    return state / "locks" / f"{file_stem(site)}-{digest}.lock"


def site_address(qrs_url: str) -> str:
    """Where a QRS URL leads, spelled the same however the URL names it: the sorted addresses
    its host resolves to (any loopback address as ``loopback``), the port (the scheme's when
    none is given) and the path. A host that does not resolve is kept as its lower-cased name."""
    parts = urllib.parse.urlsplit(qrs_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    host = (parts.hostname or "").lower()
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        addresses = [host]
    else:
        addresses = sorted({_address(str(info[4][0])) for info in found}) or [host]
    if "loopback" in addresses:
        addresses = ["loopback"]
    return f"{','.join(addresses)}:{port}{parts.path.rstrip('/')}"


def _address(text: str) -> str:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    return "loopback" if address.is_loopback else str(address)


@contextlib.contextmanager
def site_lock(
    path: Path, *, site: str, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the site's lock for the ``with``; wait up to ``timeout`` seconds for it, first
    telling ``on_wait`` who holds it (a silent wait looks hung).

    Raises:
        SiteLocked: another process holds it after ``timeout`` (the message names it).
        UsageError: the lock's folder cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent} for the site lock: {exc.strerror}") from None
    note = path.with_suffix(".holder.json")
    lock = filelock.FileLock(path, timeout=max(timeout, 0))
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if timeout <= 0:
                raise
            if on_wait is not None:
                on_wait(_holder(note))
            lock.acquire()
    except filelock.Timeout:
        raise SiteLocked(
            f"site {site!r} is being applied by {_holder(note)}; "
            "wait for it, or give --lock-timeout SECONDS to wait longer"
        ) from None
    try:
        with contextlib.suppress(OSError):
            note.write_text(json.dumps(_me()), encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            note.unlink()
        lock.release()


def _me() -> dict[str, object]:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": user,
        "since": format_instant(dt.datetime.now(dt.UTC)),
    }


def _holder(note: Path) -> str:
    try:
        data = json.loads(note.read_text(encoding="utf-8")[:4096])
    except (OSError, ValueError):
        return "another process (its details are unavailable)"
    if not isinstance(data, dict):
        return "another process"
    return (
        f"{data.get('user', '?')} on {data.get('host', '?')} "
        f"(process {data.get('pid', '?')}, since {data.get('since', '?')})"
    )
