"""Signals: what the site says beyond its allocations (denials, inactivity, idleness)."""
