"""Element-by-element decoding of big JSON arrays: same values as json.loads, same refusals."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.errors import QrsError
from licsync.qrs.jsonarray import OUT_OF_RANGE, NotAnArray, iter_json_array, iter_json_chunks

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


def _pieces(body: bytes, cuts: list[int]) -> list[bytes]:
    """``body`` cut at these offsets (anywhere: inside a number, a string, a UTF-8 character)."""
    edges = sorted({0, len(body), *(cut % (len(body) + 1) for cut in cuts)})
    return [body[low:high] for low, high in itertools.pairwise(edges)]


def _outcome(elements: Callable[[], Iterator[object]]) -> tuple[str, object]:
    try:
        return "values", list(elements())
    except NotAnArray as exc:
        return "not an array", exc.value
    except QrsError as exc:
        return "error", str(exc)


_CHUNKED_BODIES = st.lists(values, max_size=6).flatmap(
    lambda items: st.sampled_from(
        [
            json.dumps(items).encode(),
            json.dumps(items, indent=1, ensure_ascii=False).encode(),
            json.dumps(items, ensure_ascii=False).encode()[:-1],  # cut short
            json.dumps(items).encode() + b" x",
            json.dumps({"items": items}).encode(),
            json.dumps(items, ensure_ascii=False).encode().replace(b",", b" ", 1),
        ]
    )
)


@given(_CHUNKED_BODIES, st.lists(st.integers(min_value=0), max_size=12))
def test_chunks_decode_as_the_joined_body(body: bytes, cuts: list[int]) -> None:
    """However the body is cut into chunks, the elements (or the refusal) are those of the
    whole body; the chunk list is consumed."""
    chunks = _pieces(body, cuts)
    expected = _outcome(lambda: iter_json_array(body, method="GET", path="/qrs/user/full"))
    got = _outcome(lambda: iter_json_chunks(chunks, method="GET", path="/qrs/user/full"))
    assert got == expected
    if got[0] == "values":
        assert chunks == []


@pytest.mark.parametrize("number", [b"1.5e3", b"-12345678", b"1E-7", b"0.25"])
def test_a_number_cut_by_a_chunk_boundary_is_read_whole(number: bytes) -> None:
    """A number split between two chunks at every place is one number, not two pieces."""
    body = b"[" + number + b"," + number + b"]"
    for cut in range(1, len(body)):
        assert list(
            iter_json_chunks([body[:cut], body[cut:]], method="GET", path="/qrs/user/full")
        ) == json.loads(body)


def test_chunk_errors_name_the_offset_in_the_whole_body() -> None:
    """A fault past the first chunk is placed by its offset in the body, not in the chunk."""
    body = b'[{"a": 1}, {"b": 2} {"c": 3}]'
    with pytest.raises(QrsError, match="expected ',' or ']' at character 20"):
        list(iter_json_chunks([body[:12], body[12:]], method="GET", path="/qrs/user/full"))


@pytest.mark.parametrize("indent", [None, 1])
@pytest.mark.parametrize("share", [0.0, 0.3, 0.6, 0.99])
@pytest.mark.parametrize("size", [5, 1000, 65536])
def test_a_json_error_in_chunks_reads_as_in_the_whole_body(
    indent: int | None, share: float, size: int
) -> None:
    """json's own message (line, column and character) is the whole body's, wherever the
    fault is and however the body came in chunks: the decoder saw only a window of it."""
    body = json.dumps([{"id": n, "name": "x" * 40} for n in range(2000)], indent=indent).encode()
    at = body.index(b'"id"', int(len(body) * share))
    bad = body[:at] + b"@" + body[at + 1 :]
    _fails_alike_in_chunks(bad, size, "JSONDecodeError")


_TEXT = json.dumps([{"id": n, "name": "Åsa " * 10} for n in range(500)], ensure_ascii=False)
_BODY = _TEXT.encode()
_AT = _BODY.index(b"\xc3", len(_BODY) // 2)  # the first byte of an Å half-way through


@pytest.mark.parametrize(
    "bad",
    [
        _BODY[:_AT] + b"\xff" + _BODY[_AT + 1 :],  # a byte UTF-8 never uses
        _BODY[:_AT] + b"\xc3A" + _BODY[_AT + 2 :],  # a character's second byte missing
        _BODY[:_AT] + b"\xe2\x82A" + _BODY[_AT + 2 :],  # two of three bytes, then another
        _BODY[:-2] + b"\xc3",  # cut short inside a character
    ],
    ids=["invalid byte", "no continuation", "two of three", "cut short"],
)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000, 65536])
def test_bytes_that_are_not_utf8_read_as_in_the_whole_body(bad: bytes, size: int) -> None:
    """Not UTF-8: the position is the byte's in the body, however the chunks cut it (the
    decoder counts in what it was given, and holds back a character cut in two)."""
    _fails_alike_in_chunks(bad, size, "UnicodeDecodeError")


def _fails_alike_in_chunks(bad: bytes, size: int, kind: str) -> None:
    """``bad`` refused with a ``kind`` error, in chunks of ``size`` as in one piece."""
    chunks = [bad[k : k + size] for k in range(0, len(bad), size)]
    path = "/qrs/user/full"
    whole = _outcome(lambda: iter_json_array(bad, method="GET", path=path))
    assert whole[0] == "error"
    assert kind in str(whole[1])
    assert _outcome(lambda: iter_json_chunks(chunks, method="GET", path=path)) == whole
