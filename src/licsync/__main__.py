"""``python -m licsync``: the same entry point as the ``licsync`` console script."""

from __future__ import annotations

import sys

from licsync.entry import main

sys.exit(main())
