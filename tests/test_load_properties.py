"""Property tests: nothing a user can put in a file escapes as anything but our ConfigError."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from licsync.errors import ConfigError
from licsync.load import check_directory
from licsync.yamlsafe import load_yaml

TODAY = dt.date(2026, 11, 28)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["CORP\\alice", "hub", "2026-12-31", "professional", "site"]),
)
keys = st.one_of(
    st.sampled_from(
        ["site", "professional", "analyzer", "policy", "allocations", "rules", "user", "name"]
    ),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_config_error(raw: bytes) -> None:
    """Random bytes either load or raise ConfigError carrying at least one problem."""
    try:
        load_yaml(raw, "f.yaml")
    except ConfigError as exc:
        problems = exc.problems
    else:
        return
    assert problems


@given(documents)
def test_arbitrary_yaml_never_crashes_the_loader(document: object) -> None:
    """Any YAML document, checked as a desired-state file, yields problems, never an exception."""
    text = yaml.safe_dump(document, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "site.yaml").write_text(
            "site: {name: s, qrs_url: embedded}\n", encoding="utf-8"
        )
        (directory / "x.yaml").write_text(text, encoding="utf-8")
        report = check_directory(directory, today=TODAY)
    for problem in report.problems:
        assert problem.file.endswith(".yaml")
        assert problem.message


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    """Arbitrary text (broken indentation, stray quotes, tabs) yields problems, never a crash."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "site.yaml").write_text(
            "site: {name: s, qrs_url: embedded}\n", encoding="utf-8"
        )
        (directory / "x.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        check_directory(directory, today=TODAY)
