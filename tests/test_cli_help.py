"""Help texts, shell completion and the simulator's printed hints, through ``main(argv)``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import Licsync
from licsync import __version__
from licsync.cli.main import COMMANDS
from licsync.cli.sim import _tls_plan_command
from licsync.sim import start_simulator
from licsync.sim.demo import demo_organisation

_HELPS = (
    ["--help"],
    ["validate", "--help"],
    ["plan", "--help"],
    ["sim", "--help"],
    ["sim", "serve", "--help"],
    ["sim", "certs", "--help"],
    ["github", "comment", "--help"],
    ["github", "reviewed-plan", "--help"],
    ["github", "issue", "--help"],
    ["key", "write", "--help"],
    ["key", "check", "--help"],
    ["doctor", "--help"],
    ["ci", "comment", "--help"],
    ["ci", "reviewed-plan", "--help"],
    ["ci", "issue", "--help"],
    ["init", "--help"],
)


@pytest.mark.parametrize("args", _HELPS, ids=" ".join)
def test_metavars_are_words_not_python_types(licsync: Licsync, args: list[str]) -> None:
    """No ``<bool>`` on flags, no ``<list[str]>`` or ``<str>`` on options."""
    result = licsync(args)
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(bool|str|int|float|list\[\w+\])>", result.stdout), result.stdout


def test_top_help_names_only_commands_that_exist(licsync: Licsync) -> None:
    """The summary names no command; the list holds exactly the registered ones."""
    text = licsync(["--help"]).stdout
    listed = set(re.findall(r"^│ (\w+)\s{2,}", text, flags=re.MULTILINE))
    assert listed == {
        "validate",
        "plan",
        "show",
        "explain",
        "apply",
        "doctor",
        "dump",
        "propose",
        "sim",
        "ci",
        "init",
        "github",
        "key",
    }
    assert len(COMMANDS) == len(listed)
    # Rounded corners; square ones where rich deems the console a legacy Windows one.
    summary = re.split("[╭┌]", text)[0]
    assert "apply" not in summary


def test_shell_completion_completes_commands(
    licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--install-completion`` exists, and bash completion of ``licsync pl`` offers plan."""
    assert "--install-completion" in licsync(["--help"]).stdout
    monkeypatch.setenv("_LICSYNC_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "licsync pl")
    monkeypatch.setenv("COMP_CWORD", "1")
    result = licsync([])
    assert result.stdout.split() == ["plan"]


def test_serve_help_documents_ntlm_user_file(licsync: Licsync) -> None:
    """The Windows proxy's users file is named where ``sim serve`` is explained."""
    text = " ".join(licsync(["sim", "serve", "--help"]).stdout.split())
    assert "NTLM_USER_FILE" in text
    assert "DOMAIN:user:password" in text


def test_the_tls_hint_is_a_command_that_works(
    tmp_path: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sim certs`` writes a site file; the plan command ``sim serve --tls-dir`` prints runs."""
    certs = tmp_path / "certs"
    printed = licsync(["sim", "certs", str(certs)])
    assert printed.exit_code == 0, printed.output
    assert f"licsync sim serve --demo --tls-dir {certs}" in printed.stdout
    with start_simulator(demo_organisation(), tls_dir=certs) as sim:
        hint = _tls_plan_command(certs, sim.url).split()
        variable, _, value = hint[0].partition("=")
        monkeypatch.setenv(variable, value)
        assert hint[1] == "licsync"
        result = licsync([*hint[2:], "--now", "2026-11-20T09:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "licsync plan for site sim-tls" in result.stdout


def _help(licsync: Licsync, *command: str) -> str:
    result = licsync([*command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())  # rich wraps the help: words, not lines


def test_help_texts_say_what_each_command_does(licsync: Licsync) -> None:
    """dump --site names the site it writes; propose's --denial-logs does not talk about
    apply; plan --detailed-exitcode names exit 3 too."""
    dump_help = _help(licsync, "dump")
    assert "when the directory holds several." not in dump_help
    assert "first label" in dump_help
    assert "apply" not in _help(licsync, "propose").split("--denial-logs", 1)[1].split("--", 1)[0]
    assert "3" in _help(licsync, "plan").split("--detailed-exitcode", 1)[1].split("--", 1)[0]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["plan", "--format", "yaml"], "'yaml' is not one of"),
        (["apply", "--auto-approve", "--concurrency", "x"], "not a whole number"),
        (["apply", "--auto-approve", "--concurrency", "0"], "must be 1 or more"),
        (["sim", "serve", "--fault-rate", "2"], "must be 1 or less"),
    ],
)
def test_bad_values_are_said_without_pydantic_wording(
    licsync: Licsync, args: list[str], said: str
) -> None:
    """A wrong value is exit 64 in a user's words: no "Value error," no "Input should be"."""
    result = licsync(args)
    assert result.exit_code == 64
    assert said in result.stderr
    assert "Value error" not in result.stderr
    assert "Input should be" not in result.stderr


def test_version_loads_no_command() -> None:
    """``licsync --version`` (the console script's entry) imports no command module: it
    answers before the commands and their libraries load."""
    code = (
        "import sys; from licsync.entry import main; code = main(['--version']); "
        "print(code, sorted(m for m in sys.modules if m.startswith('licsync.cli')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == [f"licsync {__version__}", "0 []"]
