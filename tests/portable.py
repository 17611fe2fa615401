"""What tests need to run on Windows CPython as well as on POSIX, and the skips where they cannot.

- A test that cannot run on Windows at all skips there with its reason (``posix_only``).
- A test that fails only because of Wine (``../shared/windows/``) skips when ``WINPY_UNDER_WINE``
  is set, naming the gap from that folder's README table (``wine_gap``); on Windows it runs.
- Interrupts: on Windows ``os.kill(pid, SIGINT)`` is not a signal but ``TerminateProcess`` (it
  would end pytest itself), so a test interrupts its own process with ``signal.raise_signal``
  and a child started with :data:`NEW_GROUP` with ``CTRL_BREAK_EVENT``, which is how a
  Windows user's Ctrl-Break reaches licsync.
"""

from __future__ import annotations

import functools
import os
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WINDOWS = sys.platform == "win32"
UNDER_WINE = WINDOWS and bool(os.environ.get("WINPY_UNDER_WINE"))

# The rows of ../shared/windows/README.md's table that tests run into.
WINE_NO_ACL = "Wine has no NTFS access-control lists: a file's ACL cannot be checked or set"
WINE_NO_CONSOLE = (
    "Wine emulates no console: Ctrl-Break cannot be sent to a child (GenerateConsoleCtrlEvent)"
)
WINE_NO_SSPI = (
    "Wine's SSPI has no NTLM package (it needs Samba's ntlm_auth): a client with a user and "
    "password cannot get an SSPI credential"
)

NO_CONTROL_NAMES = "file names cannot hold control characters (a line break, an escape)"

NEW_GROUP: int = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
"""``creationflags`` for a child that a test will interrupt (0 on POSIX)."""


def native(path: str) -> str:
    """A relative path as licsync names it on this system: ``licenses\\x.yaml`` on Windows,
    where messages name files with the separator the user's shell uses."""
    return path.replace("/", os.sep)


def posix_only(reason: str) -> pytest.MarkDecorator:
    """Skip on Windows, saying why the test has no meaning there."""
    return pytest.mark.skipif(WINDOWS, reason=f"Windows: {reason}")


def wine_gap(gap: str) -> pytest.MarkDecorator:
    """Skip under Wine only (the test runs on Windows), naming Wine's gap."""
    return pytest.mark.skipif(UNDER_WINE, reason=f"under Wine: {gap}")


@functools.cache
def can_symlink() -> bool:
    """Whether this process may create symbolic links (Windows: Developer Mode or admin)."""
    with tempfile.TemporaryDirectory() as folder:
        link = Path(folder) / "link"
        (Path(folder) / "target").write_text("x", encoding="utf-8")
        try:
            link.symlink_to("target")
            return link.read_text(encoding="utf-8") == "x"
        except (OSError, NotImplementedError):
            return False


needs_symlinks = pytest.mark.skipif(
    not can_symlink(),
    reason="cannot create symbolic links here (Windows needs Developer Mode or an "
    "administrator; Wine makes none)",
)


def owner_only(path: Path) -> bool:
    """Whether only the owner may read ``path``: mode 0600 on POSIX, its ACL on Windows."""
    from licsync.keyfile import exposure

    if WINDOWS:
        return exposure(path) is None
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def interrupt_self() -> None:
    """A Ctrl-C to this process, from any thread, as the main thread will see it."""
    if WINDOWS:
        signal.raise_signal(signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGINT)


# A child inherits an ignored SIGINT (a script's background job: `cmd &`), and Python then
# installs no KeyboardInterrupt handler; a test about Ctrl-C puts the terminal's back first.
_CTRL_C_PRELUDE = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'licsync'; runpy.run_module('licsync', run_name='__main__', alter_sys=True)"
)


def licsync_taking_ctrl_c(*args: str) -> list[str]:
    """``python -m licsync ARGS`` in a child that takes Ctrl-C as from a terminal, even when
    the suite itself runs with SIGINT ignored."""
    return [sys.executable, "-c", _CTRL_C_PRELUDE, *args]


def interrupt(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Ctrl-C (POSIX: SIGINT) or Ctrl-Break (Windows) to a child started with NEW_GROUP."""
    if WINDOWS:
        process.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        process.send_signal(signal.SIGINT)
