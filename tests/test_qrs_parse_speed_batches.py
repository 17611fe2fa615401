"""The chunked decoder's batches (a few elements decoded in one call, where the element before
ends the same way) give the elements, or the error, word for word, that it gives one by one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licsync.errors import QrsError
from licsync.qrs import jsonarray
from licsync.qrs.jsonarray import NotAnArray, iter_json_chunks

TAIL = '"schemaPath":"User"}'


def _user(n: int, extra: str = "") -> str:
    """A user spelled as QRS does: compact, every one ending in the same characters."""
    name = json.dumps("Zoë" * (n % 5) + extra, ensure_ascii=False)
    groups = ",".join(
        f'{{"attributeType":"Group","attributeValue":"G{k}","schemaPath":"UserAttribute"}}'
        for k in range(n % 7)
    )
    return (
        f'{{"id":"{n:08d}-0000-4000-8000-000000000000","userId":"user{n}","name":{name},'
        f'"attributes":[{groups}],"number":{n * 1.5},"tags":[],{TAIL}'
    )


def _body(users: list[str]) -> bytes:
    return ("[" + ",".join(users) + "]").encode()


def _outcome(body: bytes, size: int) -> tuple[str, object]:
    chunks = [body[at : at + size] for at in range(0, len(body), size)]
    try:
        return "values", list(iter_json_chunks(chunks, method="GET", path="/qrs/user/full"))
    except NotAnArray as exc:
        return "not an array", exc.value
    except QrsError as exc:
        return "error", str(exc)  # the whole message, the decoder's own words included


def _one_by_one(monkeypatch: pytest.MonkeyPatch, read: Callable[[], Any]) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(jsonarray, "_BATCH_MIN", 10**9)  # no element is long enough to batch
        return read()


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"batches": 0, "refused": 0}
    real = jsonarray._scan_batch

    def counted(*args: Any) -> Any:
        try:
            found = real(*args)
        except (StopIteration, ValueError, RecursionError):
            counts["refused"] += 1
            raise
        if found is not None:
            counts["batches"] += 1
            assert len(args[0][args[1] : found[1]]) <= jsonarray._BATCH_MAX + 1
        return found

    monkeypatch.setattr(jsonarray, "_scan_batch", counted)
    return counts


@pytest.mark.parametrize("size", [4096, 9000, 65536, 100_000])
def test_qrs_users_are_read_in_batches_as_one_by_one(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    body = _body([_user(n) for n in range(600)])
    counts = _counting(monkeypatch)
    got = _outcome(body, size)
    assert got == ("values", json.loads(body))
    assert counts["batches"] > 50  # the batches were taken
    assert got == _one_by_one(monkeypatch, lambda: _outcome(body, size))


ODD = {
    # The same ending inside a text: the guess falls inside an element, and is refused.
    "ending in a name": lambda n: _user(n, extra=TAIL + ",{") if n % 37 == 5 else _user(n),
    # ... and inside an array, as an object of its own.
    "ending nested": lambda n: (
        _user(n).replace('"tags":[]', f'"tags":[{{{TAIL},{{"x":1}}]') if n % 41 == 7 else _user(n)
    ),
    # Elements ending otherwise now and then, or spaced.
    "other endings": lambda n: (
        _user(n).replace(TAIL, '"schemaPath":"Usr"}') if n % 3 == 0 else _user(n)
    ),
    "spaced": lambda n: _user(n) + (" " if n % 11 == 3 else ""),
    "numbers between": lambda n: _user(n) + (',1e400,-0.5,"x",null' if n % 13 == 4 else ""),
    "deep": lambda n: _user(n) + ("," + "[" * 5000 + "]" * 5000 if n == 300 else ""),
}
FAULTS = {
    "none": lambda body: body,
    "no comma": lambda body: body.replace(TAIL + ",{", TAIL + "{", 1),
    "no comma later": lambda body: body[:-9000] + body[-9000:].replace(TAIL + ",{", TAIL + " {"),
    "extra comma later": lambda body: body[:-9000] + body[-9000:].replace(TAIL + ",", TAIL + ",,"),
    "cut short": lambda body: body[: len(body) * 2 // 3],
    "junk after": lambda body: body + " x",
    "two arrays": lambda body: body + "," + body,
    "closed early": lambda body: body[:-9000] + body[-9000:].replace(TAIL + ",{", TAIL + "],[{", 1),
    "bad value later": lambda body: (
        body[:-5000] + body[-5000:].replace('"tags":[]', '"tags":[tru]')
    ),
    "bad text": lambda body: body.replace('"userId":"user9', '"userId":"\\x', 1),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("odd", list(ODD))
@pytest.mark.parametrize("size", [1000, 8192, 65536])
def test_odd_bodies_read_in_batches_as_one_by_one(
    monkeypatch: pytest.MonkeyPatch, odd: str, fault: str, size: int
) -> None:
    """Guesses refused, errors after batches, deep nesting: the same values or error."""
    text = "[" + ",".join(ODD[odd](n) for n in range(500)) + "]"
    body = FAULTS[fault](text).encode()
    assert _outcome(body, size) == _one_by_one(monkeypatch, lambda: _outcome(body, size))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=60),
    st.sampled_from([None, '"', "}", "]", ",", " ", "x", "1e5", TAIL, TAIL + ","]),
    st.integers(min_value=0),
    st.sampled_from([97, 512, 2048, 7000, 1 << 16]),
)
def test_any_body_reads_in_batches_as_one_by_one(
    numbers: list[int], insert: str | None, where: int, size: int
) -> None:
    text = "[" + ",".join(_user(n) for n in numbers) + "]"
    if insert is not None:
        at = where % (len(text) + 1)
        text = text[:at] + insert + text[at:]
    body = text.encode()
    batched = _outcome(body, size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonarray, "_BATCH_MIN", 10**9)
        assert batched == _outcome(body, size)
