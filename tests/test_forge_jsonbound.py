"""Forge answers decoded with memory a small multiple of their size (``forge.jsonbound``)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from licsync.errors import ForgeError
from licsync.forge import jsonbound


def test_values_inside_strings_are_not_counted() -> None:
    """Commas, brackets and escaped quotes inside strings are text, not values."""
    body = json.dumps([{"body": 'a, [b], {c}, \\"d\\", ' * 10_000, "n": [1, 2]}]).encode()
    assert jsonbound.value_count(body) == 6


def test_a_real_sized_page_of_long_strings_decodes() -> None:
    """100 comments of 65,536 commas each (a hostile commenter's text) still decode."""
    page = [{"id": i, "body": "," * 65_536, "user": {"type": "Bot"}} for i in range(100)]
    body = json.dumps(page).encode()
    assert jsonbound.decode(body, forge="GitHub", method="GET", path="/x") == page


def test_tiny_values_are_refused_before_they_cost_memory() -> None:
    """A 3 MB page of a million empty objects: refused with at most a few times its size spent."""
    body = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"
    tracemalloc.start()
    try:
        with pytest.raises(ForgeError, match=r"more than 500,000 JSON values in 3,000,001 bytes"):
            jsonbound.decode(body, forge="GitLab", method="GET", path="/notes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(body)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"\xff", "not UTF-8"), (b"<html>x</html>", "HTML, not JSON"), (b"[" * 100_000, "deeply")],
)
def test_what_is_not_json_says_so(body: bytes, words: str) -> None:
    """Not UTF-8, HTML, nesting past the recursion limit: a ForgeError naming the endpoint."""
    with pytest.raises(ForgeError, match=words) as caught:
        jsonbound.decode(body, forge="Azure DevOps", method="GET", path="/threads")
    assert "GET /threads: Azure DevOps's answer" in str(caught.value)
