"""The ``licsync`` app and its one error boundary, :func:`main`.

Every command (``sim`` included) runs inside :func:`main`, which turns whatever happens into one
of the exit codes of :class:`~licsync.cli.exitcodes.ExitCode` and one message style:

- a wrong command line (unknown option, bad value): click's usage message and hint, exit 64;
- an error licsync recognises (:class:`~licsync.errors.LicsyncError`): ``licsync: error: …``,
  exit 1, never a traceback;
- Ctrl-C: ``licsync: interrupted``, exit 130;
- anything else is a bug in licsync and says so, exit 70 (the traceback with ``--debug``).

Commands report their own outcomes (changes, blocked) with ``typer.Exit(code)``. Adding a command
is one module with a ``register(app)`` function, listed in :data:`COMMANDS`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from licsync import __version__
from licsync.cli import (
    apply,
    ci,
    doctor,
    dump,
    explain,
    github,
    init,
    key,
    plan,
    propose,
    show,
    sim,
    validate,
)
from licsync.cli._click import ClickException
from licsync.cli._click import UsageError as ClickUsageError
from licsync.cli.console import utf8_streams
from licsync.cli.exitcodes import ExitCode
from licsync.cli.options import shown
from licsync.errors import ApplyRefused, ConfigError, LicsyncError
from licsync.textsafe import escape_text

__all__ = ["COMMANDS", "PROG", "app", "main"]

PROG = "licsync"

log = logging.getLogger("licsync")

app = typer.Typer(
    name=PROG,
    # The commands themselves are listed below the help; the summary names none, so it never
    # promises one this build does not have.
    help="Qlik Sense licences as code: Professional and Analyzer allocations and licence "
    "rules kept as YAML in git, checked and planned against the Qlik Repository Service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMANDS: tuple[Callable[[typer.Typer], None], ...] = (
    validate.register,
    plan.register,
    show.register,
    explain.register,
    apply.register,
    doctor.register,
    dump.register,
    propose.register,
    sim.register,
    ci.register,
    init.register,
    github.register,
    key.register,
)
"""Each adds its command(s) to the app, in the order ``--help`` lists them."""


@dataclass
class _Invocation:
    """What the root options said, for the boundary (``ctx.obj``)."""

    debug: bool = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(ExitCode.OK)


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


for _register in COMMANDS:
    _register(app)


# typer shows an option's Python type (``<bool>``, ``<list[str]>``) where click shows a word.
_METAVARS: dict[object, str] = {str: "TEXT", int: "N", float: "NUMBER", Path: "PATH"}


def _plain_metavars(command: Any) -> None:
    """No metavar on flags, a word on the rest, in every command (help text only)."""
    for param in command.params:
        if param.param_type_name != "option" or param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
            continue
        descriptor = getattr(param, "type_descriptor", None)
        word = _METAVARS.get(getattr(descriptor, "annotation", None))
        if word is not None:
            param.metavar = word
    original = command.get_help_option  # made per context, so patched where it is made

    def help_option(ctx: Any, original: Any = original) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain_metavars(sub)


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
            command = typer.main.get_command(app)
            _plain_metavars(command)
            result = command.main(args=args, prog_name=PROG, standalone_mode=False, obj=invocation)
        except ClickUsageError as exc:  # BadParameter, NoSuchOption, missing command, ...
            exc.message = plain_words(exc.message)
            exc.show()
            return ExitCode.USAGE
        except ClickException as exc:
            exc.show()
            return ExitCode.ERROR
        except typer.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                return _interrupted()
            _error("aborted")
            return ExitCode.ERROR
        except KeyboardInterrupt:
            return _interrupted()
        except ApplyRefused as exc:
            _error(str(exc))
            return ExitCode.BLOCKED
        except ConfigError as exc:
            # One problem a line, whatever its file name or value holds.
            _error("\n".join(escape_text(str(p)) for p in exc.problems) or str(exc))
            return ExitCode.ERROR
        except LicsyncError as exc:
            _error(str(exc))
            return ExitCode.ERROR
        except SystemExit as exc:  # typer exits 1 itself when stdout is a closed pipe
            return exc.code if isinstance(exc.code, int) else ExitCode.ERROR
        except Exception as exc:
            _error(f"unexpected {type(exc).__name__}: {exc}")
            typer.echo(
                f"This is a bug in licsync {__version__}. Please report it with the command you "
                "ran" + ("." if invocation.debug else " (run with --debug for the traceback)."),
                err=True,
            )
            if invocation.debug:
                traceback.print_exception(exc, file=sys.stderr)
            return ExitCode.BUG
    code = result if isinstance(result, int) else ExitCode.OK
    if code == ExitCode.INTERRUPTED:  # typer turns Ctrl-C inside a command into exit 130
        return _interrupted()
    return code


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
