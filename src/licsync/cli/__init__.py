"""The ``licsync`` command line: thin commands over the library, one error boundary.

:func:`main` (the console script, ``python -m licsync``) runs the typer :data:`app`; one module
per command (:mod:`.validate`, :mod:`.plan`, :mod:`.sim`), shared options in :mod:`.options`,
the exit codes in :mod:`.exitcodes`.
"""

from __future__ import annotations

from licsync.cli.main import app, main

__all__ = ["app", "main"]
