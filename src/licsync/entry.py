"""The console script and ``python -m licsync``: ``licsync --version`` answered before the
commands (and the libraries they use) are imported; anything else runs :func:`.main.main`.

``--version`` is asked by scripts and shells and must not take the second a full start does.
This module imports nothing of licsync's until it knows which it is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``licsync`` with ``argv`` (default ``sys.argv[1:]``): see licsync.cli.main.main."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from licsync import __version__  # noqa: PLC0415 - the one light import it needs

        sys.stdout.write(f"licsync {__version__}\n")
        sys.stdout.flush()
        return 0
    from licsync.gcpause import freeze_on_resume, pause_start  # noqa: PLC0415 - tiny

    pause_start()  # ended once the command is loaded (licsync.cli.lazy)
    from licsync.cli.main import main as run  # noqa: PLC0415 - the full start, when needed

    freeze_on_resume()  # one command, then exit: what the big steps build lives until then
    return run(args)
