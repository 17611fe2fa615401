"""The JSON Schemas shipped with licsync, found the same way in a wheel and in a checkout.

``schema/`` at the repository root is the one copy of the truth; the wheel carries it as
``licsync/schema``. An editable install or a source checkout has no packaged copy, so the
repository's folder (two levels above this file) is used; never the working directory.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from licsync.errors import LicsyncError

__all__ = [
    "APPLY_SCHEMA",
    "AUDIT_SCHEMA",
    "LICENSES_SCHEMA",
    "PLAN_SCHEMA",
    "load_schema",
    "schema_dir",
]

LICENSES_SCHEMA = "licenses.schema.json"
PLAN_SCHEMA = "plan.schema.json"
APPLY_SCHEMA = "apply.schema.json"
AUDIT_SCHEMA = "audit.schema.json"


def schema_dir() -> Traversable:
    """The folder holding licsync's JSON Schemas."""
    packaged = resources.files("licsync") / "schema"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent.parent / "schema"
    if checkout.is_dir():
        return checkout
    msg = "licsync's JSON Schemas are missing from this installation (reinstall licsync)"
    raise LicsyncError(msg)


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Parse one schema by file name (cached: schemas do not change while running)."""
    text = (schema_dir() / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
