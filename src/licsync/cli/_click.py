"""The click exceptions typer's parser raises.

Typer vendors click as ``typer._click`` since 0.2x; before that it depended on the click
package. Import them from here so the boundary catches the very classes typer raises.
(``typer.Abort`` and ``typer.Exit`` are public in every typer.)
"""

from __future__ import annotations

try:
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - typer releases that still depend on click
    from click.exceptions import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        ClickException,
        UsageError,
    )

__all__ = ["ClickException", "UsageError"]
