"""The fast schema check never calls an invalid document valid, and it does call the shipped
example valid (so ``validate`` of a good directory never imports jsonschema)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.fastschema import certainly_valid, fast_validator
from licsync.schemas import LICENSES_SCHEMA, load_schema
from licsync.yamlsafe import load_yaml

REPO = Path(__file__).resolve().parent.parent
SCHEMA = load_schema(LICENSES_SCHEMA)
CERTAIN = certainly_valid(SCHEMA)
PLAIN = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
EXAMPLES = sorted((REPO / "licenses").glob("*.yaml")) + sorted(
    (REPO / "tests" / "data").glob("*/*.yaml")
)


def _data(path: Path) -> Any:
    try:
        return load_yaml(path.read_bytes(), str(path)).data
    except Exception:
        return None


DOCUMENTS = [data for data in map(_data, EXAMPLES) if data is not None]


def test_the_whole_schema_compiles() -> None:
    assert CERTAIN is not None


@pytest.mark.parametrize("path", sorted((REPO / "licenses").glob("*.yaml")), ids=lambda p: p.name)
def test_the_example_is_certainly_valid(path: Path) -> None:
    """The shipped example takes the fast path: validating it needs no jsonschema."""
    assert CERTAIN is not None
    assert CERTAIN(_data(path))


@pytest.mark.parametrize("data", DOCUMENTS)
def test_every_example_good_or_bad_is_judged_soundly(data: Any) -> None:
    assert CERTAIN is not None
    if CERTAIN(data):
        assert list(PLAIN.iter_errors(data)) == []


_WORDS = [
    "", "x", "CORP\\ann", "CORP\\", "\\x", "2026-01-01", "2026-02-30", "26-01-01",
    "professional", "analyzer", "authoritative", "additive", "observe", "header", "jwt",
    "ntlm", "certificate", "negotiate", "reclaim", "keep", "both", "hub", "qmc",
    "https://qlik.example:4242", "embedded", "${QRS_TOKEN}", "a" * 300,
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=200_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_WORDS),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["name", "user", "mode", "logs", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*at, index))
    return found


@given(data=st.data())
def test_a_changed_document_is_never_called_valid_wrongly(data: st.DataObject) -> None:
    """Any value anywhere in an example replaced, removed or joined by another key: whenever
    the fast check says valid, jsonschema finds nothing wrong either."""
    assert CERTAIN is not None
    document = copy.deepcopy(data.draw(st.sampled_from(DOCUMENTS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(document)))
        if not path:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(_VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "mode", "user", "days"]))] = data.draw(
                _VALUES
            )
    if CERTAIN(document):
        assert list(PLAIN.iter_errors(document)) == [], document


@pytest.mark.parametrize("data", DOCUMENTS)
def test_the_item_fast_path_reports_what_jsonschema_reports(data: Any) -> None:
    fast = fast_validator(SCHEMA)
    assert sorted(e.message for e in fast.iter_errors(data)) == sorted(
        e.message for e in PLAIN.iter_errors(data)
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "if": {"type": ["string", "null"]}, "then": {"minLength": 1}},
        {"type": "object", "minimum": "x"},
        {"pattern": "("},
        {"if": {"properties": {"n": {"const": 1}}}, "then": {"required": ["m"]}},
        {"enum": [[True]]},
        {"$ref": "https://example.com/other.json"},
        {"not": {"type": "string"}},
    ],
)
def test_what_the_compiler_cannot_read_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    """A list of types in an ``if``, a bound that is not a number, a pattern Python rejects, a
    number const (1 equals 1.0 in JSON Schema), an enum of containers, a remote reference, a
    keyword not modelled: no fast check (jsonschema decides), and no crash."""
    assert certainly_valid(schema) is None
