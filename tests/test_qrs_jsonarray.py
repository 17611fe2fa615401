"""Element-by-element decoding of big JSON arrays: same values as json.loads, same refusals."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.errors import QrsError
from licsync.qrs.jsonarray import OUT_OF_RANGE, NotAnArray, iter_json_array

# Numbers as QRS writes them: int64 and finite doubles (others decode as OUT_OF_RANGE, below).
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
values = st.recursive(
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def decode(body: bytes) -> list[object]:
    return list(iter_json_array(body, method="GET", path="/qrs/user/full"))


@given(st.lists(values, max_size=8), st.sampled_from([None, 1, 2]))
def test_same_values_as_json_loads(items: list[object], indent: int | None) -> None:
    """Any array, compact or indented, decodes to exactly what json.loads gives."""
    body = json.dumps(items, indent=indent).encode()
    assert decode(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"[]", b"  [ ]  ", b"\n[\n]\n"])
def test_empty_arrays(body: bytes) -> None:
    """An empty array, with any surrounding whitespace, has no elements."""
    assert decode(body) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'[{"a": 1}, {"b": 2}', "expected ',' or ']'"),
        (b'[{"a": 1} {"b": 2}]', "expected ',' or ']'"),
        (b'[{"a": 1}, ]', "no value at character"),
        (b'[{"a": 1}] trailing', "extra data"),
        (b'[{"a": tru}]', "no value at character"),
        (b"", "Expecting value"),
        (b"not json", "Expecting value"),
    ],
)
def test_malformed_bodies_are_qrs_errors(body: bytes, fragment: str) -> None:
    """A body that is not JSON is a QrsError naming the request, wherever the fault is."""
    with pytest.raises(QrsError, match="GET /qrs/user/full: the answer is not JSON") as info:
        decode(body)
    assert fragment in str(info.value)


def test_other_json_is_handed_back() -> None:
    """Valid JSON that is not an array is handed back for the caller to name the shape."""
    with pytest.raises(NotAnArray) as info:
        decode(b'{"error": "nope"}')
    assert info.value.value == {"error": "nope"}


@pytest.mark.parametrize(
    "number",
    [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", b"9" * 5000, b"-" + b"9" * 20],
)
def test_numbers_out_of_range_decode_as_a_marker(number: bytes) -> None:
    """No QRS field holds these: decoded as OUT_OF_RANGE for the parsers to name, never an
    OverflowError or Python's 4,300-digit ValueError."""
    assert decode(b'[{"total": ' + number + b"}]") == [{"total": OUT_OF_RANGE}]


def test_deep_nesting_is_a_qrs_error_not_a_recursion_error() -> None:
    """100,000 nested arrays: a QrsError naming the request."""
    body = b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]"
    with pytest.raises(QrsError, match="GET /qrs/user/full: the answer is nested too deeply"):
        decode(body)
