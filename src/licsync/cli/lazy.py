"""The ``licsync`` group that imports a command's module only when that command is wanted.

Each command module pulls in what its command needs (apply the QRS client, httpx, the planner;
``sim`` the simulator), and importing them all took most of a second: more than
``licsync --help`` or a shell's tab completion should wait. :class:`LazyGroup` knows each
command by a :class:`LazyCommand` (its name, its module, the one line ``licsync --help`` lists)
and imports the module, calling its ``register(app)``, only when the command is resolved: when it
runs, or its own help or completion is asked. Listing the commands (``licsync --help``,
completing ``licsync pl``) imports none of them.

The one-line helps are written twice, here and in the commands' docstrings;
``tests/test_cli_lazy.py`` proves they are the same, so they cannot drift.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer

from licsync.cli._click import ClickCommand, PlainCommand, PlainGroup, Typer, UsageError

__all__ = ["LazyCommand", "LazyGroup", "first_paragraph"]


@dataclass(frozen=True)
class LazyCommand:
    """A command of the app, known without importing its module."""

    name: str
    module: str
    """The module whose ``register(app)`` adds the command (a group, for ``sim``) named name."""
    help: str
    """The first paragraph of the command's help: what ``licsync --help`` and completion show."""

    def load(self) -> ClickCommand:
        """The command itself, built from its module as ``typer`` builds the whole app."""
        register: Callable[[typer.Typer], None] = importlib.import_module(self.module).register
        scratch = Typer()
        register(scratch)
        command = typer.main.get_group(scratch).commands.get(self.name)
        if command is None:
            raise LookupError(f"{self.module}.register adds no command {self.name!r}")
        return command


def first_paragraph(text: str | None) -> str:
    """The part of a help text that a command list shows (as typer and click cut it)."""
    return inspect.cleandoc(text or "").split("\n\n")[0]


class LazyGroup(PlainGroup):
    """A group whose commands, listed in :attr:`lazy`, are imported when resolved.

    Subclassed with the table set (a typer ``cls`` is a class, not an instance)."""

    lazy: ClassVar[tuple[LazyCommand, ...]] = ()

    def _entry(self, name: str) -> LazyCommand | None:
        return next((entry for entry in self.lazy if entry.name == name), None)

    def list_commands(self, ctx: Any) -> list[str]:
        names = [entry.name for entry in self.lazy]
        return names + [name for name in super().list_commands(ctx) if name not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> ClickCommand | None:
        """The command if it is loaded, else a stand-in holding its name and one-line help:
        what a command list needs. Only :meth:`resolve_command` loads the real one."""
        command = super().get_command(ctx, cmd_name)
        entry = self._entry(cmd_name)
        if command is None and entry is not None:
            command = PlainCommand(entry.name, help=entry.help)
        return command

    def load(self, name: str) -> ClickCommand | None:
        """The command named ``name``, its module imported on the first ask."""
        entry = self._entry(name)
        if entry is not None and name not in self.commands:
            self.add_command(entry.load(), name)
        return self.commands.get(name)

    def resolve_command(
        self, ctx: Any, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        if args:
            self.load(args[0])
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as error:
            # typer's own suggestions look only at the loaded commands: here, all of them.
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if self.suggest_commands and matches:
                suggestions = ", ".join(f"{match!r}" for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
