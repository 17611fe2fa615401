"""Renderers: a Plan in, text out. Pure; the CLI decides where the text goes."""

from __future__ import annotations

from licsync.plan import Plan
from licsync.render.data import plan_data
from licsync.render.jsontext import dumps_indented
from licsync.render.markdown import MAX_COMMENT, render_markdown
from licsync.render.text import render_text

__all__ = ["MAX_COMMENT", "plan_data", "render_json", "render_markdown", "render_text"]


def render_json(plan: Plan) -> str:
    """The versioned JSON plan (``schema/plan.schema.json``), stable key order."""
    return dumps_indented(plan_data(plan, lazy=True), end="\n")
