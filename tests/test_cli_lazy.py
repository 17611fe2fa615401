"""The lazy command group: the table's one-line helps are the commands' own, a command's module is
imported only when that command is resolved, and completion still completes everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cli_runner import Licsync
from licsync.cli.lazy import LazyCommand, LazyCommands, LazyGroup, first_paragraph
from licsync.cli.main import COMMANDS, app


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_each_name_is_a_real_command_with_the_help_the_table_says(entry: LazyCommand) -> None:
    """The module registers a command of that name, and the line ``licsync --help`` lists
    without importing it is the first paragraph of the command's own help."""
    command = entry.load()
    assert command.name == entry.name
    assert command.short_help is None  # else the list would show it, not the help
    assert first_paragraph(command.help) == entry.help
    assert not command.hidden
    assert command.params or isinstance(command, typer.core.TyperGroup)


def test_the_table_names_each_command_once() -> None:
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names)) == 13


def _help(group: LazyGroup, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as ended:
        group.main(["--help"], prog_name="licsync")
    assert ended.value.code == 0
    return capsys.readouterr().out


def test_the_lazy_list_is_the_list_of_the_loaded_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``licsync --help`` from the table alone is byte for byte the help with every command's
    module imported and its real command in the group."""
    lazy = typer.main.get_command(app)
    loaded = typer.main.get_command(app)
    assert isinstance(lazy, LazyGroup)
    assert isinstance(loaded, LazyGroup)
    assert isinstance(lazy.commands, LazyCommands)
    assert isinstance(loaded.commands, LazyCommands)
    assert list(loaded.commands) == [entry.name for entry in COMMANDS]
    for entry in COMMANDS:
        assert loaded.commands[entry.name].name == entry.name
        assert loaded.commands.is_loaded(entry.name)
    lazy_help = _help(lazy, capsys)
    assert "Commands" in lazy_help
    assert lazy_help == _help(loaded, capsys)
    assert not any(lazy.commands.is_loaded(entry.name) for entry in COMMANDS)


def test_an_unknown_command_is_loaded_by_no_one_and_suggests_from_the_table(
    licsync: Licsync,
) -> None:
    result = licsync(["pln"])
    assert result.exit_code == 64
    assert "No such command 'pln'. Did you mean 'plan', 'explain'?" in result.stderr


_PROBE = """
import json, os, sys
from licsync.entry import main
os.environ.update(json.loads(sys.argv[1]))
try:
    main(json.loads(sys.argv[2]))
except SystemExit:
    pass
sys.stdout.flush()
watched = ("licsync", "httpx", "pydantic", "jsonschema")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(watched))))
"""


def _modules_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The licsync, httpx, pydantic and jsonschema modules a fresh process has imported after
    ``licsync ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(env or {}), json.dumps(args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


_COMMAND_MODULES = {entry.module for entry in COMMANDS}


def test_help_and_completion_of_command_names_import_no_command() -> None:
    """``licsync --help`` and ``licsync pl<TAB>`` import no command module, no httpx and no
    pydantic (typer's value checks, built only for a value given)."""
    bash = {"_LICSYNC_COMPLETE": "complete_bash", "COMP_WORDS": "licsync pl", "COMP_CWORD": "1"}
    for imported in (_modules_after(["--help"]), _modules_after([], bash)):
        assert "licsync.cli.main" in imported
        assert not imported & _COMMAND_MODULES
        assert not any(name.startswith(("httpx", "pydantic")) for name in imported)


def test_plain_values_are_checked_without_pydantic() -> None:
    """A command given plain values (a path, a choice) is checked without importing pydantic
    (``licsync.cli._plainvalues``); a value only typer's own check answers for (a path not
    written as Python writes it) imports it, so the probe would see it."""
    licenses = str(Path(__file__).resolve().parent.parent / "licenses")
    plain = _modules_after(["validate", licenses, "--format", "json"])
    assert "licsync.cli.validate" in plain
    assert not any(name.startswith("pydantic") for name in plain)
    respelled = _modules_after(["validate", licenses + os.sep, "--format", "json"])
    assert any(name.startswith("pydantic") for name in respelled)


def test_a_command_s_options_complete_importing_that_command_only() -> None:
    zsh = {"_LICSYNC_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "licsync show --"}
    assert _modules_after([], zsh) & _COMMAND_MODULES == {"licsync.cli.show"}
    assert _modules_after(["show", "--help"]) & _COMMAND_MODULES == {"licsync.cli.show"}


def _complete(
    licsync: Licsync, monkeypatch: pytest.MonkeyPatch, shell: str, words: str
) -> list[str]:
    monkeypatch.setenv("_LICSYNC_COMPLETE", f"complete_{shell}")
    if shell == "bash":
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", str(len(words.split(" ")) - 1))
    else:
        monkeypatch.setenv("_TYPER_COMPLETE_ARGS", words)
        last = words.rsplit(" ", maxsplit=1)[-1]
        monkeypatch.setenv("_TYPER_COMPLETE_WORD_TO_COMPLETE", last)
    result = licsync([])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_bash_completes_commands_subcommands_options_and_values(
    licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _complete(licsync, monkeypatch, "bash", "licsync ") == [e.name for e in COMMANDS]
    assert _complete(licsync, monkeypatch, "bash", "licsync s") == ["show", "sim"]
    assert _complete(licsync, monkeypatch, "bash", "licsync sim s") == ["serve"]
    assert _complete(licsync, monkeypatch, "bash", "licsync plan --f") == [
        "--format",
        "--findings",
    ]
    assert _complete(licsync, monkeypatch, "bash", "licsync plan --format ") == [
        "text",
        "json",
        "markdown",
    ]
    assert _complete(licsync, monkeypatch, "bash", "licsync nosuch --h") == ["--help"]


def test_zsh_and_powershell_show_each_command_s_short_help(
    licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The help beside a name is the command's own short help (cut as click cuts it), taken
    from the table without importing the command."""
    plan = next(entry for entry in COMMANDS if entry.name == "plan").load()
    short = plan.get_short_help_str()
    assert short == "Compare the desired state with the site..."
    zsh = _complete(licsync, monkeypatch, "zsh", "licsync pl")
    assert zsh == [f'_arguments \'*: :(("plan":"{short}"))\'']
    powershell = _complete(licsync, monkeypatch, "powershell", "licsync pl")
    assert powershell == [f"plan:::{short}"]
    options = _complete(licsync, monkeypatch, "powershell", "licsync apply --c")
    assert [line.split(":::")[0] for line in options] == ["--checksum", "--concurrency"]


def test_validate_imports_neither_the_qrs_client_nor_the_planner() -> None:
    """``licsync validate`` (a check people run on every edit) loads the files and no more:
    the options every command shares import no QRS client, planner or renderer, and a valid
    directory needs no jsonschema (``licsync.fastschema.certainly_valid``)."""
    licenses = Path(__file__).resolve().parent.parent / "licenses"
    imported = _modules_after(["validate", str(licenses)])
    assert "licsync.cli.validate" in imported
    assert "licsync.load" in imported
    heavy_modules = ("httpx", "licsync.qrs", "licsync.session", "licsync.plan", "licsync.render")
    for heavy in (*heavy_modules, "jsonschema"):
        assert not any(name == heavy or name.startswith(f"{heavy}.") for name in imported), heavy


def test_plan_help_imports_no_qrs_client() -> None:
    """``plan --help`` (and the completion of plan's options) needs plan's options, not the
    session that reads a site."""
    imported = _modules_after(["plan", "--help"])
    assert "licsync.cli.plan" in imported
    for heavy in ("httpx", "licsync.qrs", "licsync.session", "licsync.cli.site_session"):
        assert not any(name == heavy or name.startswith(f"{heavy}.") for name in imported), heavy
