"""licsync checks the plain values of its options without pydantic, and every answer it gives is
the one typer's own check gives (``licsync.cli._plainvalues``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from licsync.cli._plainvalues import UNDECIDED, plain_value
from licsync.cli.main import app

try:
    from typer._coercion import build_runtime_param
except ImportError:  # pragma: no cover - a typer that checks values without pydantic
    pytest.skip("this typer has no pydantic value check to agree with", allow_module_level=True)

REPO = Path(__file__).resolve().parent.parent


def _parameters(command: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    commands = getattr(command, "commands", None)
    if commands:
        for name in list(commands):
            yield from _parameters(commands[name], f"{path} {name}")
    for param in command.params:
        if getattr(param, "type_descriptor", None) is not None:
            yield f"{path} {param.name}", command, param


PARAMETERS = sorted(_parameters(typer.main.get_command(app), "licsync"), key=lambda p: p[0])


def _kind(param: Any) -> tuple[Any, ...]:
    """What decides how a value of ``param`` is checked (the same for many options)."""
    info = param.type_descriptor.parameter_info
    flags = ("parser", "min", "max", "clamp", "exists", "file_okay", "dir_okay", "writable")
    flags += ("readable", "resolve_path", "allow_dash", "path_type", "case_sensitive")
    checks = tuple(getattr(info, flag, None) for flag in flags)
    return (repr(param.type_descriptor.annotation), checks, param.multiple, param.nargs)


# One option of each kind: the property below is searched per kind, not 130 times over.
KINDS = list({_kind(param): (name, command, param) for name, command, param in PARAMETERS}.values())

_WORDS = st.sampled_from(
    [
        "8", "0", "-1", "64", "65", "1_0", "+3", " 3", "3.0", "2.5", "1e3", "-0.5", "nan", "inf",
        "007", "00", "-0", "-00.10", "1.", ".5", "9" * 18, "9" * 19,
        "", "x", "json", "JSON", "text", "markdown", "additive", "authoritative", "true", "no",
        "licenses", "licenses/", "./licenses", "README.md", "nope.json", "a//b", "..",
        "2026-06-01T00:00:00Z", "2026-06-01", "sha256:" + "0" * 64, "héllo", "\x00",
        "C:\\x", "C:/x", "licenses\\", "\\\\server\\share", "D:",
    ]
)  # fmt: skip
_VALUES = st.one_of(
    _WORDS,
    st.text(alphabet="0123456789-+._eE/ abjsonx", max_size=8),
    st.booleans(),
    st.integers(min_value=-10, max_value=100),
    st.floats(allow_nan=False, width=32),
    st.lists(_WORDS, max_size=3).map(tuple),
)


def _typer_says(param: Any, value: Any, ctx: Any) -> tuple[str, Any]:
    try:
        checked = build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=ctx)
    except Exception as exc:
        return "raises", type(exc)
    return "returns", checked


@pytest.mark.parametrize(("name", "command", "param"), KINDS, ids=[p[0] for p in KINDS])
@given(value=_VALUES)
def test_an_answer_is_typer_s_own(name: str, command: Any, param: Any, value: Any) -> None:
    """Wherever the plain check answers, typer's check returns the same value, of the same
    type, and raises nothing; everything else is left to typer."""
    with contextlib.chdir(REPO):  # the relative paths name real files and folders
        plain, ctx = _answer(command, param, value)
        if plain is UNDECIDED:
            return
        said = _typer_says(param, value, ctx)
    assert said == ("returns", plain), name
    assert type(said[1]) is type(plain), name


def _answer(command: Any, param: Any, value: Any) -> tuple[Any, Any]:
    """The plain check's answer for ``value`` of ``param``, and the context it was given."""
    descriptor = param.type_descriptor
    ctx = command.context_class(command)
    answer = plain_value(
        descriptor.annotation, descriptor.parameter_info, value, param=param, ctx=ctx
    )
    return answer, ctx


def _param(path: str) -> tuple[Any, Any]:
    [(command, param)] = [(c, p) for name, c, p in PARAMETERS if name == path]
    return command, param


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("licsync apply concurrency", "8", 8),
        ("licsync apply directory", "licenses", Path("licenses")),
        ("licsync apply auto_approve", True, True),
        ("licsync plan qrs_url", "embedded", "embedded"),
        ("licsync plan denial_logs", ("a.log", "b.log"), ["a.log", "b.log"]),
        ("licsync sim serve latency_ms", "20", 20.0),
    ],
)
def test_the_values_of_a_usual_command_line_are_answered(
    path: str, value: Any, expected: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The words, numbers, paths, flags and lists people type are answered here (pydantic
    stays unimported for them), not only left to typer."""
    monkeypatch.chdir(REPO)
    command, param = _param(path)
    answer, ctx = _answer(command, param, value)
    assert answer == expected
    assert type(answer) is type(expected)
    assert _typer_says(param, value, ctx) == ("returns", expected)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("licsync apply concurrency", "0"),  # out of range: typer words the error
        ("licsync apply concurrency", "1_0"),  # a spelling only typer's parser decides on
        ("licsync apply directory", "licenses/"),  # Path would respell it in an error
        ("licsync validate output_format", "xml"),  # not a choice
    ],
)
def test_what_only_typer_decides_is_left_to_it(
    path: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    command, param = _param(path)
    assert _answer(command, param, value)[0] is UNDECIDED
