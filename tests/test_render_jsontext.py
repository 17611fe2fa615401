"""render.jsontext writes what json.dumps(indent=2, ensure_ascii=False) writes, byte for byte."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.render.jsontext import dumps_indented

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_KEYS = st.text() | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(_KEYS, inner, max_size=5)
    ),
    max_leaves=40,
)


class _Colour(enum.StrEnum):
    RED = "red"


class _Size(enum.IntEnum):
    BIG = 7


class _Ratio(float):
    pass


def _expected(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@given(_VALUES)
def test_same_text_as_json_dumps(value: Any) -> None:
    """Any JSON-able value of scalars, lists, tuples and dicts gives json.dumps' text."""
    assert dumps_indented(value) == _expected(value)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": [], "b": {}, "c": [[]], "d": [{}]},
        {'é\u2028\x00"\\': "line\nbreak\ttab \ud800"},
        {_Colour.RED: _Colour.RED, "n": _Size.BIG, "r": _Ratio(0.5)},
        {3: "int", 2.5: "float", True: "bool", None: "null"},
        [float("nan"), float("inf"), -float("inf"), -0.0, 10**40],
    ],
)
def test_edge_values(value: Any) -> None:
    """Empty containers, escapes, lone surrogates, enums and non-text keys as json writes them."""
    assert dumps_indented(value) == _expected(value)


@pytest.mark.parametrize("value", [{1, 2}, {"a": object()}, {(1, 2): "tuple key"}])
def test_refuses_what_json_refuses(value: Any) -> None:
    """A value json cannot write is a TypeError, as from json.dumps."""
    with pytest.raises(TypeError):
        _expected(value)
    with pytest.raises(TypeError):
        dumps_indented(value)


def test_a_map_is_written_as_a_list_and_end_is_appended() -> None:
    """map objects (made item by item) are lists; ``end`` follows the text, empty or not."""
    items = [{"a": 1}, {"b": [2]}]
    assert dumps_indented({"x": map(dict, items)}, end="\n") == _expected({"x": items}) + "\n"
    assert dumps_indented(map(str, []), end="\n") == "[]\n"
    assert dumps_indented("text", end="!") == '"text"!'
