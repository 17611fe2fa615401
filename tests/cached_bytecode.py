"""Bytecode for the suite where the environment says to write none; imported first by conftest.

Where the environment says not to write bytecode (``PYTHONDONTWRITEBYTECODE``, as on this
project's build machines), pytest rewrote every test module, and every plugin's package that
conftest imports (Hypothesis alone is 73 modules), in every worker, and every licsync the tests
start compiled its sources again: about a fifth of the suite's CPU. The suite writes its bytecode
instead, into a folder of the checkout's own that git ignores (``.pycache/``), leaving the source
folders as the environment wanted them; the processes the tests start (xdist's workers, licsync)
inherit the same folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.dont_write_bytecode:
    FOLDER = str(Path(__file__).resolve().parent.parent / ".pycache")
    sys.dont_write_bytecode = False
    sys.pycache_prefix = FOLDER
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = FOLDER
