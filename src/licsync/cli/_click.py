"""What licsync takes from click (through typer): the exceptions typer's parser raises, click's
plain command, and the app, group and command classes every ``licsync`` command is made of.

Typer vendors click as ``typer._click`` since 0.2x; before that it depended on the click
package. Import the exceptions from here so the boundary catches the very classes typer raises.
(``typer.Abort`` and ``typer.Exit`` are public in every typer.)

Typer shows an option's Python type as its metavar (``<bool>`` on a flag, ``<list[str]>``) where
click shows a word. :class:`Typer` builds its groups and commands from :class:`PlainGroup` and
:class:`PlainCommand`, which show a word (or nothing, on flags and ``--help``) instead: the help
is right wherever the app is run from (``licsync``, typer's ``CliRunner``), with nothing patched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

from licsync.cli._plainvalues import UNDECIDED, plain_value

try:
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover - a typer that checks values without pydantic
    RuntimeParam = object  # type: ignore[misc,assignment,unused-ignore]
    build_runtime_param = None  # type: ignore[assignment,unused-ignore]

try:
    from typer._click.core import Command as ClickCommand
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - typer releases that still depend on click
    from click.core import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        Command as ClickCommand,
    )
    from click.exceptions import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        ClickException,
        UsageError,
    )

__all__ = ["ClickCommand", "ClickException", "PlainCommand", "PlainGroup", "Typer", "UsageError"]

# typer shows an option's Python type (``<bool>``, ``<list[str]>``) where click shows a word.
_METAVARS: dict[object, str] = {str: "TEXT", int: "N", float: "NUMBER", Path: "PATH"}


class _Deferred(RuntimeParam):
    """typer's value check of a parameter, built only when a value comes to be checked.

    typer checks every value through a pydantic adapter that it builds on the parameter's first
    value, even a missing one (``None``), which the check then returns as it came: importing
    pydantic and building the adapter cost more than the rest of ``licsync pl<TAB>``. This one
    answers for a missing value as typer does, for a plain one as typer's check would
    (:mod:`licsync.cli._plainvalues`), and hands any other to typer's own check."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return super().coerce(value, param=param, ctx=ctx)  # None, or () when multi-valued
        plain = plain_value(self.annotation, self.parameter_info, value, param=param, ctx=ctx)
        if plain is not UNDECIDED:
            return plain
        param._runtime_param = build_runtime_param(param.type_descriptor)
        return param._runtime_param.coerce(value, param=param, ctx=ctx)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        raise AssertionError("coerce hands every value that is not None to typer's check")


def _plain_metavars(params: list[Any]) -> list[Any]:
    """No metavar on flags (``--help`` included), a word on the rest; an explicit one is kept;
    typer's value check built when first needed (:class:`_Deferred`).

    Idempotent: a parameter whose metavar is set is left alone, so asking twice changes nothing.
    """
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if (
            descriptor is not None
            and build_runtime_param is not None
            and getattr(param, "_runtime_param", False) is None
        ):
            param._runtime_param = _Deferred(descriptor.parameter_info, descriptor.annotation)
        if param.param_type_name != "option" or param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
            continue
        word = _METAVARS.get(getattr(descriptor, "annotation", None))
        if word is not None:
            param.metavar = word
    return params


class PlainCommand(TyperCommand):
    """A command whose options show click's words, not Python types (see the module)."""

    # The parameters are asked for per context (the help option is made on the first ask, and
    # typer appends the completion options after construction), so the words are given here.
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))


class PlainGroup(TyperGroup):
    """A group whose options show click's words, not Python types (see the module)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))


class Typer(typer.Typer):
    """``typer.Typer`` whose groups are :class:`PlainGroup` and commands :class:`PlainCommand`
    (unless a ``cls`` is given)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", PlainGroup)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)
