"""The CLI's one error boundary: the table from exception class to exit code (``EXIT_CODES``)."""

from __future__ import annotations

import pytest
import typer

from licsync.cli._click import ClickException, UsageError
from licsync.cli.exitcodes import ExitCode
from licsync.cli.main import EXIT_CODES, exit_code
from licsync.errors import ApplyRefused, Blocked, ConfigError, LicsyncError, QrsAuthError


def test_no_row_is_shadowed_by_an_earlier_one() -> None:
    """A subclass's row comes before its base's, or it could never be chosen."""
    for index, (kind, _) in enumerate(EXIT_CODES):
        earlier = [base for base, _ in EXIT_CODES[:index]]
        assert not any(issubclass(kind, base) for base in earlier), kind


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("no such option"), ExitCode.USAGE),
        (ClickException("cannot open"), ExitCode.ERROR),
        (typer.Abort(), ExitCode.ERROR),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (Blocked(), ExitCode.BLOCKED),
        (ApplyRefused("not the approved plan"), ExitCode.BLOCKED),
        (ConfigError([]), ExitCode.ERROR),
        (QrsAuthError("401", method="GET", path="/qrs/about", status=401, excerpt=""), 1),
        (LicsyncError("recognised"), ExitCode.ERROR),
        (RuntimeError("boom"), ExitCode.BUG),
        (SystemExit(5), 5),
        (SystemExit(None), ExitCode.ERROR),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_each_exception_ends_the_run_with_its_code(exc: BaseException, code: int) -> None:
    """The first matching row decides; SystemExit keeps its own code."""
    assert exit_code(exc) == code


def test_exit_3_is_reached_one_way() -> None:
    """Only Blocked (ApplyRefused is one) maps to BLOCKED."""
    assert [kind for kind, code in EXIT_CODES if code is ExitCode.BLOCKED] == [Blocked]
    assert issubclass(ApplyRefused, Blocked)
