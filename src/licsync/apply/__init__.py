"""Applying a plan: executing its changes through a writer, in dependency order."""

from __future__ import annotations

from licsync.apply.execute import NOT_ATTEMPTED, execute

__all__ = ["NOT_ATTEMPTED", "execute"]
