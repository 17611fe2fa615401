"""``licsync key``: write a secret file (the client key) for its owner only, and check one.

CI writes the client key from a secret into the runner's temp folder; on a Windows runner a
file mode means nothing, so the workflows call ``licsync key write`` there and on Linux alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli._click import Typer
from licsync.cli.exitcodes import ExitCode
from licsync.errors import UsageError
from licsync.keyfile import exposure, write_private

__all__ = ["key_app", "register"]

# The most a PEM key (or certificate chain) from a secret can sensibly be.
MAX_KEY_BYTES = 1024 * 1024

key_app = Typer(
    name="key",
    add_completion=False,
    help="Write a secret file (the client key) readable by its owner only, or check one.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``key write`` and ``key check`` to the ``licsync`` app."""
    app.add_typer(key_app, name="key")


@key_app.command("write")
def write(
    path: Annotated[Path, typer.Argument(help="The file to write (replaced if it exists).")],
    from_env: Annotated[
        str,
        typer.Option(
            "--from-env",
            metavar="NAME",
            help="The environment variable holding the secret (never the secret itself on "
            "the command line, where other processes can see it).",
        ),
    ],
) -> int:
    """Write the value of an environment variable to a file only its owner can read.

    POSIX: mode 0600. Windows: an access-control list allowing the current user alone.
    """
    value = os.environ.get(from_env)
    if value is None:
        raise UsageError(f"the environment variable {from_env} is not set")
    data = value.encode("utf-8")
    if len(data) > MAX_KEY_BYTES:
        raise UsageError(f"the value of {from_env} is over {MAX_KEY_BYTES:,} bytes: not a key")
    write_private(path, data)
    typer.echo(f"licsync: wrote {path} (owner only)")
    return ExitCode.OK


@key_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="The secret file to check.")],
) -> int:
    """Say whether others than the owner can read a secret file; exit 1 if they can."""
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    exposed = exposure(path)
    if exposed is None:
        typer.echo(f"{path}: no other reader found")
        return ExitCode.OK
    typer.echo(f"{path}: {exposed}; rewrite it with licsync key write")
    return ExitCode.ERROR
