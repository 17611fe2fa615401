"""Running ``licsync`` in process as a user would, and editing a copy of the example site."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from licsync.cli import main


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Licsync:
    """``licsync ARGS`` in process: ``main(argv)``, its output captured by pytest's capsys."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, args: list[str]) -> Result:
        self._capsys.readouterr()
        code = main(args)
        out, err = self._capsys.readouterr()
        assert isinstance(code, int)
        return Result(int(code), out, err)


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) with ``new`` in a text file."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
