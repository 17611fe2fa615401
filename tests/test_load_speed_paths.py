"""The short ways of loading a big desired-state file give what the careful ways give.

``yamlsafe`` builds the usual mapping entry (``text: text``) without its general steps;
``load.build`` leaves out, for a printable ASCII user id, the checks that cannot find anything
in one, and builds allocations with fast constructors. Here YAML of every shape is built both
ways (the short way switched off by a patch): the same data, or the same error, word for word;
what the user-id shortcut relies on is checked for every printable ASCII text; and the fast
constructors give what the classes give.
"""

from __future__ import annotations

import datetime as dt
import pickle
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from licsync import yamlsafe
from licsync.desired import DesiredAllocation
from licsync.errors import ConfigError
from licsync.identity import Source, split_user, user_key
from licsync.load import build, check_directory
from licsync.lookalike import hidden_characters, lookalike_characters, skeleton
from licsync.yamlsafe import MAX_DEPTH, load_yaml

TODAY = dt.date(2026, 11, 28)


def _load(text: str) -> Any:
    try:
        return load_yaml(text.encode("utf-8", "surrogatepass"), "f.yaml").data
    except ConfigError as exc:
        return exc.problems


def _both_ways(monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[Any, Any]:
    fast = _load(text)
    with monkeypatch.context() as patch:
        patch.setattr(yamlsafe, "_FAST_ENTRIES", False)
        careful = _load(text)
    return fast, careful


def _nested(depth: int, leaf: str) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + leaf + "\n"


HOSTILE = [
    "a: x\nb: y\na: z\n",  # a duplicate key, after text entries
    "a: 1\nb: x\n'a': y\n",  # ... after a number
    "1: a\nx: b\n0x1: c\n",  # equal once read as numbers
    "yes: 1\nx: y\n'yes': 2\n",  # a bool key means its text
    "? [a]\n: b\n",  # a key that is a list
    "a: &x v\nb: *x\nc: *x\n",  # a text value reached again through aliases
    "a: &x {k: v}\nb: *x\n",
    "a: &x [*x]\n",  # recursion
    "a: &x {k: *x}\n",
    "base: &b {user: u}\nm:\n  <<: *b\n",  # a merge key
    "a: !!str x\nb: !custom y\n",  # tags
    "a: !!binary aGVsbG8=\n",
    "a: 2026-01-01\nb: ~\nc: .nan\nd: 1e999\ne: 123456789012345678901234\n",
    "a: 'q'\nb: \"d\"\nc: |\n  block\nd: >\n  folded\n",
    "a: ''\n'': b\n",
    'l1: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    "l2: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "l3: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "l4: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "l5: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "l6: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",  # billion laughs
    'm: &m {a: "x", b: "y"}\n' + "".join(f"r{i}: *m\n" for i in range(50_001)),
    _nested(MAX_DEPTH - 1, "v: x"),  # text values at the depth limit and beyond
    _nested(MAX_DEPTH, "v: x"),
    _nested(MAX_DEPTH + 1, "v: x"),
    _nested(MAX_DEPTH, "v: [x]"),
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_yaml_is_built_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    fast, careful = _both_ways(monkeypatch, text)
    assert fast == careful


def test_the_limits_still_hold_with_text_entries() -> None:
    laughs = 'm: &m {a: "x", b: "y"}\n' + "".join(f"r{i}: *m\n" for i in range(50_001))
    assert "billion-laughs" in str(_load(laughs)[0])
    assert "nested deeper" in str(_load(_nested(MAX_DEPTH, "v: x"))[0])
    assert "already set on line 1" in str(_load("a: x\nb: y\na: z\n")[0])


# Small alphabets, so that keys repeat and values are aliases, anchors, numbers and lists.
_keys = st.sampled_from(["a", "b", "user", "'a'", '"b"', "1", "0x1", "yes", "~", "!!str a"])
_values = st.sampled_from(
    ["x", "&v x", "*v", "&w {k: x}", "*w", "1", "yes", "~", "'q'", '"d"', "[x, *v]", "!!str 1"]
)


@given(st.lists(st.lists(st.tuples(_keys, _values), max_size=5), min_size=1, max_size=5))
def test_generated_mappings_are_built_the_same_both_ways(
    entries: list[list[tuple[str, str]]],
) -> None:
    # A flow mapping per line, as items of a list: anchors set in one are used in the next.
    text = "".join(
        "- {" + ", ".join(f"{key}: {value}" for key, value in mapping) + "}\n"
        for mapping in entries
    )
    text = "root:\n" + "".join("  " + line for line in text.splitlines(keepends=True))
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, careful = _both_ways(monkeypatch, text)
    assert fast == careful


_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=20,
)


@given(_plain)
def test_dumped_documents_are_built_the_same_both_ways(document: object) -> None:
    text = yaml.safe_dump({"root": document}, allow_unicode=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, careful = _both_ways(monkeypatch, text)
    assert fast == careful


@given(st.text(alphabet=string.printable[:95]))  # printable ASCII: letters to '~' and space
def test_a_printable_ascii_id_has_nothing_the_careful_checks_find(text: str) -> None:
    """What load.build skips for such an id: no hidden character, no look-alike letter, and
    its skeleton is its key."""
    assert text.isascii()
    assert text.isprintable()
    assert hidden_characters(text) == []
    assert lookalike_characters(text) == []
    parts = split_user(text)
    if parts is not None:
        assert skeleton(text) == user_key(*parts)


def test_an_ascii_id_after_its_look_alike_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("site: {name: s, qrs_url: embedded}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        "professional:\n  allocations:\n    - user: CORP\\\u0430lice\n    - user: CORP\\alice\n",
        encoding="utf-8",
    )
    report = check_directory(tmp_path, today=TODAY)
    found = [
        p.message
        for p in report.warnings
        if (p.line, p.field) == (4, "professional.allocations[1].user")
    ]
    assert len(found) == 1
    assert found[0].startswith("CORP\\alice looks the same as CORP\\\u0430lice (")


def test_the_fast_constructors_build_what_the_classes_build() -> None:
    source = build._new_source("p.yaml", 3, 13)
    assert type(source) is Source
    assert source == Source("p.yaml", 3, 13)
    assert hash(source) == hash(Source("p.yaml", 3, 13))
    assert repr(source) == repr(Source("p.yaml", 3, 13))
    for until in (None, dt.date(2026, 1, 2)):
        fast = build._new_allocation("CORP\\Al", "corp\\al", "n", "T-1", until, source)
        slow = DesiredAllocation(
            user="CORP\\Al", key="corp\\al", note="n", ticket="T-1", until=until, source=source
        )
        assert type(fast) is DesiredAllocation
        assert fast == slow
        assert hash(fast) == hash(slow)
        assert repr(fast) == repr(slow)
        assert pickle.loads(pickle.dumps(fast)) == slow
