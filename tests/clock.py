"""The instant tests run at: one ``NOW`` for every test that is not about a particular instant.

A test about another instant names it for what it is (``DEMO_NOW``: the demo organisation's
frozen clock, which its seats' dates are relative to; ``LATER``: the month an admin moved a
site's clock to).
"""

from __future__ import annotations

import datetime as dt

from licsync.sim.demo import DEMO_NOW

__all__ = ["DEMO_NOW_ARG", "NOW", "NOW_ARG"]

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
"""The instant of every plan, simulator clock and desired state built for a test."""

NOW_ARG = NOW.isoformat()
""":data:`NOW` as ``--now`` takes it."""

DEMO_NOW_ARG = DEMO_NOW.isoformat()
"""The demo organisation's clock as ``--now`` takes it (plans of the demo site as of its day)."""
