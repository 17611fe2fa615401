"""The ``licsync`` command line: thin commands over the library, one error boundary.

:func:`main` (the console script, ``python -m licsync``) runs the typer app of :mod:`.main`;
one module per command (:mod:`.validate`, :mod:`.plan`, :mod:`.sim`), shared options in
:mod:`.options`, the exit codes in :mod:`.exitcodes`.

``licsync --version`` is answered here, before the commands (and the libraries they use) are
imported: it is asked by scripts and shells, and must not take the second a full start does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``licsync`` with ``argv`` (default ``sys.argv[1:]``); see :func:`.main.main`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from licsync import __version__  # noqa: PLC0415 - the one light import it needs

        sys.stdout.write(f"licsync {__version__}\n")
        sys.stdout.flush()
        return 0
    from licsync.cli.main import main as run  # noqa: PLC0415 - the full start, when needed

    return run(args)


def __getattr__(name: str) -> Any:
    if name == "app":
        from licsync.cli.main import app  # noqa: PLC0415

        return app
    raise AttributeError(name)


if TYPE_CHECKING:
    app: typer.Typer
