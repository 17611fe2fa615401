"""The chunked decoder's shortcuts (QRS's compact "},{" and the copy of a window's end) give the
elements of the whole body, however it is spelled and cut."""

from __future__ import annotations

import json

import pytest

from licsync.qrs.jsonarray import iter_json_chunks


def _users(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"{n:08d}-0000-4000-8000-000000000000",
            "userId": f"user{n}",
            "name": "Zoë" * (n % 7),
            "attributes": [
                {"attributeType": "Group", "attributeValue": f"G{k}"} for k in range(n % 9)
            ],
            "number": n * 1.5,
            "big": n * 10**12,
        }
        for n in range(count)
    ]


ITEMS = [*_users(400), 1, 2.5e3, "x", None, [], {}, *_users(5)]
SPELLINGS = {
    "compact": json.dumps(ITEMS, separators=(",", ":"), ensure_ascii=False),
    "spaced": json.dumps(ITEMS, ensure_ascii=False),
    "indented": json.dumps(ITEMS, indent=2),
    "comma first": json.dumps(ITEMS).replace(", {", "\n,{"),
}


@pytest.mark.parametrize("size", [1000, 4093, 8192, 65536])
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_chunked_elements_are_the_whole_bodys(spelling: str, size: int) -> None:
    body = SPELLINGS[spelling].encode()
    chunks = [body[at : at + size] for at in range(0, len(body), size)]
    assert list(iter_json_chunks(chunks, method="GET", path="/qrs/user/full")) == json.loads(body)


def test_tiny_elements_after_a_huge_one() -> None:
    """The copies of a window's end follow the element before: a huge one, then thousands of
    tiny ones, decode as the whole body does."""
    items: list[object] = [{"x": "y" * 100_000}, *range(20_000), {"x": "y" * 9_000}, *range(50)]
    body = json.dumps(items, separators=(",", ":")).encode()
    chunks = [body[at : at + 4096] for at in range(0, len(body), 4096)]
    assert list(iter_json_chunks(chunks, method="GET", path="/qrs/user/full")) == items
