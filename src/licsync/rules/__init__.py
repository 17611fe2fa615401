"""Qlik licence-rule conditions: parse them, and tell which users a rule would cover.

licsync must know before anyone logs in which users a licence (Professional / Analyzer access)
rule would cover: so as not to reclaim an allocation a declared rule would grant right back, to
tell an admin which rule would cover a user who was denied access, and to report a condition's
syntax error at its line in the YAML.

- :func:`parse_condition` turns condition text into a frozen :class:`Condition`
  (:mod:`licsync.rules.syntax` documents the grammar and its sources);
- :func:`evaluate` answers for one user with a :class:`Verdict` -- YES, NO, or UNKNOWN when the
  answer depends on the login (:mod:`licsync.rules.evaluate` documents the semantics);
- :class:`RuleCoverage` answers for a whole population at once (:mod:`licsync.rules.coverage`).

Pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

from licsync.rules.coverage import RuleCoverage
from licsync.rules.evaluate import evaluate
from licsync.rules.patterns import MAX_MATCH_INPUT
from licsync.rules.syntax import MAX_DEPTH, MAX_LENGTH, Caveat, Condition, parse_condition
from licsync.rules.verdict import Verdict

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_MATCH_INPUT",
    "Caveat",
    "Condition",
    "RuleCoverage",
    "Verdict",
    "evaluate",
    "parse_condition",
]
