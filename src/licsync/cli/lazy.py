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
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer

from licsync.cli._click import ClickCommand, PlainCommand, PlainGroup, Typer
from licsync.gcpause import start_done

__all__ = ["LazyCommand", "LazyCommands", "LazyGroup", "first_paragraph"]


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


class LazyCommands(MutableMapping[str, ClickCommand]):
    """A group's commands by name: every name of the table from the start, each command built
    (its module imported) when it is first looked up. Whoever reads ``group.commands`` as
    click's dict (typer's suggestions, a test walking the tree) sees every command."""

    def __init__(self, table: Sequence[LazyCommand], loaded: Mapping[str, ClickCommand]) -> None:
        self._table = {entry.name: entry for entry in table}
        self._loaded = dict(loaded)

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> ClickCommand:
        if name not in self._loaded:
            self._loaded[name] = self._table[name].load()  # KeyError: no such command
        return self._loaded[name]

    def __setitem__(self, name: str, command: ClickCommand) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._table.pop(name, None)
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._loaded if name not in self._table)

    def __len__(self) -> int:
        return len(self._table.keys() | self._loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._loaded


class LazyGroup(PlainGroup):
    """A group whose commands, listed in :attr:`lazy`, are imported when resolved.

    Subclassed with the table set (a typer ``cls`` is a class, not an instance)."""

    lazy: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands: LazyCommands = LazyCommands(self.lazy, self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: typer's would build every command

    def get_command(self, ctx: Any, cmd_name: str) -> ClickCommand | None:
        """The command if it is loaded, else a stand-in holding its name and one-line help:
        what a command list needs. :meth:`resolve_command` loads the real one."""
        if self.commands.is_loaded(cmd_name):
            return self.commands[cmd_name]
        entry = next((entry for entry in self.lazy if entry.name == cmd_name), None)
        return None if entry is None else PlainCommand(entry.name, help=entry.help)

    def resolve_command(
        self, ctx: Any, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        if args and args[0] in self.commands:
            self.commands[args[0]]
        # The command's modules are imported (now, or by an earlier run in this process): the
        # collector paused for the start (licsync.entry) may run again.
        start_done()
        return super().resolve_command(ctx, args)
