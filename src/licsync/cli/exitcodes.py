"""The exit codes of every ``licsync`` command (the README's table says the same)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a ``licsync`` process's exit status means; CI branches on these."""

    OK = 0
    """Success; ``plan``: no changes, or changes without ``--detailed-exitcode``."""
    ERROR = 1
    """An error licsync recognises (bad input, unreadable file, QRS unreachable or refusing)."""
    CHANGES = 2
    """``--detailed-exitcode``: the plan has changes (``propose``: something is proposed).
    Nothing else ever exits 2."""
    BLOCKED = 3
    """Blocked: a safety cap, or (``apply``) a reviewed plan that no longer matches."""
    USAGE = 64
    """The command line is wrong: unknown option, bad value (BSD sysexits ``EX_USAGE``)."""
    BUG = 70
    """An unexpected crash: a bug in licsync (BSD sysexits ``EX_SOFTWARE``)."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C): 128 + SIGINT, as shells report it."""
