"""licsync: Qlik Sense Enterprise on Windows licences as code."""

from __future__ import annotations

from licsync._version import __version__

__all__ = ["__version__"]
