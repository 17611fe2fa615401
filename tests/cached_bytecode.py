"""Bytecode for the suite where the environment says to write none; imported first by conftest.

Where the environment says not to write bytecode (``PYTHONDONTWRITEBYTECODE``, as on this
project's build machines), pytest rewrote every test module in every worker on every run, and
every licsync the tests start compiled its sources again: about a fifth of the suite's CPU. The
suite writes its bytecode as Python does by default, beside the sources (``__pycache__``, which
git ignores), and the processes it starts (xdist's workers, licsync) do the same. Installed
packages keep the bytecode pip wrote for them: a ``PYTHONPYCACHEPREFIX`` folder, tried before,
hid it, and a first run compiled every library again into that folder, in each worker.
"""

from __future__ import annotations

import os
import sys

if sys.dont_write_bytecode:
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
