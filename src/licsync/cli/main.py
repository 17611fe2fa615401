"""The ``licsync`` app and its one error boundary, :func:`main`.

Every command (``sim`` included) runs inside :func:`main`, which turns whatever happens into one
of the exit codes of :class:`~licsync.cli.exitcodes.ExitCode` and one message style. A command
returns its code (0, or 2 for ``--detailed-exitcode``'s changes); an exception is looked up in
:data:`EXIT_CODES`, the one table from exception to exit code (as pre-commit's
``error_handler``), and said by :func:`_say`:

- a wrong command line (unknown option, bad value): click's usage message and hint, exit 64;
- blocked (:class:`~licsync.errors.Blocked`: a safety cap, not the approved plan): exit 3;
- an error licsync recognises (:class:`~licsync.errors.LicsyncError`): ``licsync: error: …``,
  exit 1, never a traceback;
- Ctrl-C: ``licsync: interrupted``, exit 130;
- anything else is a bug in licsync and says so, exit 70 (the traceback with ``--debug``).

Adding a command is one module with a ``register(app)`` function, listed in :data:`COMMANDS`
with its name and one-line help: the module is imported only when its command is resolved
(see :mod:`.lazy`), so ``licsync --help`` and tab completion wait for none of them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

import typer

from licsync import __version__
from licsync.cli._click import ClickException, Typer
from licsync.cli._click import UsageError as ClickUsageError
from licsync.cli.console import shown, utf8_streams
from licsync.cli.exitcodes import ExitCode
from licsync.cli.lazy import LazyCommand, LazyGroup
from licsync.errors import Blocked, ConfigError, LicsyncError
from licsync.textsafe import escape_text

__all__ = ["COMMANDS", "EXIT_CODES", "PROG", "app", "exit_code", "main"]

PROG = "licsync"

log = logging.getLogger("licsync")


def _returned(code: object, **_root_options: object) -> object:
    """A command's returned exit code handed to click, which otherwise drops it when it runs
    the app itself (``app()``, typer's ``CliRunner``); :func:`main` gets it back the same way."""
    if isinstance(code, int) and code != ExitCode.OK:
        raise typer.Exit(code)
    return code


def _lazy(name: str, help: str, module: str = "") -> LazyCommand:
    return LazyCommand(name, module or f"licsync.cli.{name}", help)


COMMANDS: Final[tuple[LazyCommand, ...]] = (
    _lazy(
        "validate",
        "Check desired-state files: YAML, schema and cross-file rules. Exit 1 on errors.",
    ),
    _lazy("plan", "Compare the desired state with the site and its signals; explain every change."),
    _lazy(
        "show",
        "Show a saved JSON plan as plan would, after checking its checksum; nothing is read.",
    ),
    _lazy(
        "explain",
        "Tell one user's story: declared where, seats held, QRS flags, rules, denials, the plan.",
    ),
    _lazy(
        "apply",
        "Make exactly the approved changes; report and audit every one; re-plan what is left.",
    ),
    _lazy(
        "doctor",
        "Check a site read-only before the first apply: TLS, authentication, the licence, the\n"
        "routes apply uses, capacity, clock, denial logs, lock and audit log. Exit 0 when every\n"
        "check passes (warnings included), 1 otherwise.",
    ),
    _lazy(
        "dump",
        "Write the site's explicit allocations and licence rules as YAML; the first plan is empty.",
    ),
    _lazy(
        "propose",
        "End the declared allocations the signals say should go; suggest seats for denied users.",
    ),
    _lazy(
        "init",
        "Write the CI files of a licence repository: GitHub caller workflows (which use "
        "licsync's reusable workflows), a .gitlab-ci.yml, or an azure-pipelines.yml.",
    ),
    _lazy("sim", "Run the built-in Qlik Repository Service simulator."),
    _lazy(
        "ci",
        "Pull-request comments, reviewed plans and tracking issues on GitHub, GitLab or Azure "
        "DevOps (for CI). The forge is --forge or the CI the job runs in.",
    ),
    _lazy(
        "github",
        "Pull-request comments, reviewed plans and tracking issues on GitHub (for CI). Reads "
        "GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as Actions sets them. The same as "
        "`licsync ci ... --forge github`.",
    ),
    _lazy("key", "Write a secret file (the client key) readable by its owner only, or check one."),
)
"""Every command: its name, the module that registers it and its one-line help, in the order
``--help`` lists them. tests/test_cli_lazy.py holds the helps to the commands' own."""


class _Commands(LazyGroup):
    lazy = COMMANDS


app = Typer(
    name=PROG,
    # The commands themselves are listed below the help; the summary names none, so it never
    # promises one this build does not have.
    help="Qlik Sense licences as code: Professional and Analyzer allocations and licence "
    "rules kept as YAML in git, checked and planned against the Qlik Repository Service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    result_callback=_returned,
    cls=_Commands,
)


@dataclass
class _Invocation:
    """What the root options said, for the boundary (``ctx.obj``)."""

    debug: bool = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(ExitCode.OK)  # an eager option ends the run the one way click allows


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log debug detail (and tracebacks of bugs) to stderr.")
    ] = False,
) -> None:
    ctx.ensure_object(_Invocation).debug = debug
    if debug:
        log.setLevel(logging.DEBUG)


EXIT_CODES: Final[tuple[tuple[type[BaseException], ExitCode], ...]] = (
    (ClickUsageError, ExitCode.USAGE),  # BadParameter, NoSuchOption, missing command, ...
    (ClickException, ExitCode.ERROR),  # click's other refusals
    (typer.Abort, ExitCode.ERROR),  # click's abort (a Ctrl-C inside it is unwrapped first)
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
    (Blocked, ExitCode.BLOCKED),
    (LicsyncError, ExitCode.ERROR),
    (Exception, ExitCode.BUG),
)
"""What an exception ends a run with: the first row whose class it is an instance of (so a
subclass's row comes before its base's). ``SystemExit`` keeps its own code."""


def exit_code(exc: BaseException) -> int:
    """The exit code ``exc`` ends a run with (see :data:`EXIT_CODES`)."""
    if isinstance(exc, SystemExit):  # typer exits 1 itself when stdout is a closed pipe
        return exc.code if isinstance(exc.code, int) else ExitCode.ERROR
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


@functools.cache
def _command() -> Any:
    """The click command of ``app``, made once a process: typer makes it anew on every call,
    about 0.05 s, which every run in one process (a test suite's hundreds) paid again."""
    return typer.main.get_command(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``licsync`` with ``argv`` (default ``sys.argv[1:]``) and return its exit code.

    Never raises (but ``SystemExit`` from a nested ``sys.exit`` is turned into its code): the
    console script does ``sys.exit(main())``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    invocation = _Invocation()
    utf8_streams()
    with _logging():
        try:
            command = _command()
            result = command.main(args=args, prog_name=PROG, standalone_mode=False, obj=invocation)
        except (Exception, KeyboardInterrupt, SystemExit) as exc:
            if isinstance(exc, typer.Abort) and isinstance(exc.__cause__, KeyboardInterrupt):
                exc = exc.__cause__  # click wraps a Ctrl-C while it parses
            _say(exc, debug=invocation.debug)
            return exit_code(exc)
    code = result if isinstance(result, int) else ExitCode.OK
    if code == ExitCode.INTERRUPTED:  # apply returns 130 after its report when Ctrl-C stopped it
        return _interrupted()
    return code


def _say(exc: BaseException, *, debug: bool) -> None:
    """Tell the user what ended the run, in the boundary's one style (see the module)."""
    match exc:
        case SystemExit():
            pass
        case ClickUsageError():
            exc.message = plain_words(exc.message)
            exc.show()
        case ClickException():
            exc.show()
        case typer.Abort():
            _error("aborted")
        case KeyboardInterrupt():
            _interrupted()
        case Blocked() if not str(exc):
            pass  # the command has said why (plan's output shows the blocked plan)
        case ConfigError():
            # One problem a line, whatever its file name or value holds.
            _error("\n".join(escape_text(str(p)) for p in exc.problems) or str(exc))
        case LicsyncError():
            _error(str(exc))
        case _:
            _error(f"unexpected {type(exc).__name__}: {exc}")
            typer.echo(
                f"This is a bug in licsync {__version__}. Please report it with the command you "
                "ran" + ("." if debug else " (run with --debug for the traceback)."),
                err=True,
            )
            if debug:
                traceback.print_exception(exc, file=sys.stderr)


# typer checks option values through pydantic, whose messages read like a programmer's
# ("Value error, 'x' is not one of ...", "Input should be a valid integer, unable to parse
# string as an integer"): said in a user's words instead.
_PLAIN = (
    (re.compile(r"\bValue error, "), ""),
    (re.compile(r"Input should be a valid integer(, [^.;]*)?"), "not a whole number"),
    (re.compile(r"Input should be a valid number(, [^.;]*)?"), "not a number"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"must be \1 or more"),
    (re.compile(r"Input should be less than or equal to (\S+)"), r"must be \1 or less"),
    (re.compile(r"Input should be greater than (\S+)"), r"must be more than \1"),
    (re.compile(r"Input should be less than (\S+)"), r"must be less than \1"),
    (re.compile(r"Input should be a valid boolean(, [^.;]*)?"), "not true or false"),
)


def plain_words(message: str) -> str:
    """A command-line error's message without pydantic's wording."""
    for pattern, words in _PLAIN:
        message = pattern.sub(words, message)
    return message


def _error(message: str) -> None:
    typer.echo(f"{PROG}: error: {shown(message)}", err=True)


def _interrupted() -> int:
    typer.echo(f"{PROG}: interrupted", err=True)
    return ExitCode.INTERRUPTED


class _StderrHandler(logging.Handler):
    """``licsync: warning: …`` lines to whatever ``sys.stderr`` is when a record is logged."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            where = f"{record.name}: " if record.levelno < logging.WARNING else ""
            line = f"{PROG}: {record.levelname.lower()}: {where}{shown(record.getMessage())}"
            if record.exc_info:
                line += "\n" + logging.Formatter().formatException(record.exc_info)
            sys.stderr.write(line + "\n")
        except Exception:  # logging must never break the command
            self.handleError(record)


@contextlib.contextmanager
def _logging() -> Iterator[None]:
    """Warnings (debug detail with ``--debug``) of licsync's loggers go to stderr for one run."""
    handler = _StderrHandler()
    saved = log.level
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved)
