"""typer's value check of the plain values licsync's options take, without pydantic.

typer (0.2x) checks every parameter's value through a pydantic ``TypeAdapter``. Importing
pydantic and building the adapter cost about 50 ms of every command that is given an option, or
has a flag: a fifth of ``licsync validate``'s start, and as much again of every ``licsync`` the
test suite starts. For the values licsync's commands take (a word, a flag, a number, a path, a
choice, a list of words, a value through its own parser) the adapter's answer is known:
:func:`plain_value` gives it, using typer's own choice and path checks where typer does. Any
other value (a number written ``1_000``, a path that is not written as Python writes it, one
that fails a check) is left to typer: it is checked, and its error worded, exactly as before.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, Final

try:
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
    from typer._typing import is_literal_type, literal_values
except ImportError:  # pragma: no cover - another typer: every value goes to typer's check
    coerce_cli_choice = coerce_cli_path = routes_to_path = None  # type: ignore[assignment]
    is_literal_type = literal_values = None  # type: ignore[assignment]

__all__ = ["UNDECIDED", "plain_value"]

UNDECIDED: Final = object()
"""What :func:`plain_value` returns for a value it leaves to typer's check."""

_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")


def plain_value(annotation: Any, info: Any, value: Any, *, param: Any, ctx: Any) -> Any:
    """What typer's check of ``value`` returns, or :data:`UNDECIDED` (and nothing raised).

    Args:
        annotation: the parameter's type, as typer resolved it (``X | None`` is ``X``).
        info: its ``typer.models.ParameterInfo``.
        value: the value to check (never None: typer answers for None itself).
        param, ctx: the click parameter and context, for typer's path and choice checks.
    """
    if coerce_cli_choice is None:  # pragma: no cover - another typer
        return UNDECIDED
    try:
        return _decide(annotation, info, value, param, ctx)
    except Exception:  # a value that fails is typer's to report, in its own words
        return UNDECIDED


def _decide(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    if param.nargs != 1:
        return UNDECIDED
    if param.multiple:
        # list[str]: typer's adapter checks each item as a word and returns them in a list.
        words = annotation == list[str] and info.parser is None and isinstance(value, list | tuple)
        return list(value) if words and all(type(item) is str for item in value) else UNDECIDED
    if info.parser is not None:
        return info.parser(value)  # typer's adapter returns what the parser returns
    if annotation is bool:
        return value if type(value) is bool else UNDECIDED
    if annotation is str:
        return value if type(value) is str else UNDECIDED
    if annotation is int:
        return _number(info, _int(value))
    if annotation is float:
        return _number(info, _float(value))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return coerce_cli_choice(
            value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
        )
    if is_literal_type(annotation):
        choices = literal_values(annotation)
        return coerce_cli_choice(
            value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
        )
    if annotation is Path and info.path_type is None and routes_to_path(annotation, info):
        return _path(value, info, param, ctx)
    return UNDECIDED


def _int(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and _INT.fullmatch(value):
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if type(value) is str and _FLOAT.fullmatch(value):
        return float(value)
    return None


def _number(info: Any, number: float | None) -> Any:
    """``number`` when typer would take it as it is: inside the bounds, and not clamped."""
    if number is None or info.clamp:
        return UNDECIDED
    if info.min is not None and number < info.min:
        return UNDECIDED
    if info.max is not None and number > info.max:
        return UNDECIDED
    return number


def _path(value: Any, info: Any, param: Any, ctx: Any) -> Any:
    """typer's path check (exists, file or folder, ...) of a path written as Python writes it:
    its own error messages quote the value as given, which ``Path`` would respell."""
    if type(value) is str:
        if not value or str(Path(value)) != value:
            return UNDECIDED
        value = Path(value)
    elif not isinstance(value, Path):  # typer takes a Path as it is
        return UNDECIDED
    return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
