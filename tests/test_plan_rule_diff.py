"""A licence rule's field diff, written without deepdiff, is the one DeepDiff gave: the fields
whose values or types differ, in the rules' field order."""

from __future__ import annotations

from enum import StrEnum

from deepdiff import DeepDiff
from hypothesis import given
from hypothesis import strategies as st

from licsync.plan.changes import FieldDiff
from licsync.plan.rulechanges import _RULE_FIELDS, _rule_diff


class _Context(StrEnum):
    BOTH = "both"


def _deepdiff(
    present: dict[str, str | bool], wanted: dict[str, str | bool]
) -> tuple[FieldDiff, ...]:
    """How the diff was made before (deepdiff 7+)."""
    diff = DeepDiff(dict(present), dict(wanted), verbose_level=1)
    changed = (*diff.get("values_changed", {}), *diff.get("type_changes", {}))
    fields = {path.split("'")[1] for path in changed}
    return tuple(FieldDiff(f, present[f], wanted[f]) for f in _RULE_FIELDS if f in fields)


_VALUES = st.one_of(
    st.booleans(),
    st.sampled_from(["", "both", "BOTH", "a", "é", "user.name like '*'"]),
    st.just(_Context.BOTH),
    st.text(max_size=3),
)
# Both sides have every field, as the planner builds them (_rule_fields).
_FIELDS = st.fixed_dictionaries(dict.fromkeys(_RULE_FIELDS, _VALUES))


@given(_FIELDS, _FIELDS)
def test_rule_diff_is_deepdiffs(
    present: dict[str, str | bool], wanted: dict[str, str | bool]
) -> None:
    assert _rule_diff(present, wanted) == _deepdiff(present, wanted)


def test_a_str_enum_is_another_type_than_its_text() -> None:
    present: dict[str, str | bool] = dict.fromkeys(_RULE_FIELDS, "")
    (diff,) = _rule_diff({**present, "context": _Context.BOTH}, {**present, "context": "both"})
    assert diff.field == "context"
