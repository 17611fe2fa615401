"""Renderers: a Plan in, text out. Pure; the CLI decides where the text goes."""

from __future__ import annotations

import json

from licsync.plan import Plan
from licsync.render.data import plan_data
from licsync.render.markdown import MAX_COMMENT, render_markdown
from licsync.render.text import render_text

__all__ = ["MAX_COMMENT", "plan_data", "render_json", "render_markdown", "render_text"]


def render_json(plan: Plan) -> str:
    """The versioned JSON plan (``schema/plan.schema.json``), stable key order."""
    return json.dumps(plan_data(plan), indent=2, ensure_ascii=False) + "\n"
