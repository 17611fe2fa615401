from __future__ import annotations

from licsync.cli import main

main()
