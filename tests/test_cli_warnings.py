"""The loader's warnings on a plan: each once, a busy field's rest counted; validate lists all."""

from __future__ import annotations

from pathlib import Path

from cli_runner import Licsync, edit_file

BOTH = [f"CORP\\both{n}" for n in range(8)]


def _declare_in_both(example: Path) -> None:
    entries = "".join(f"    - user: {user}\n" for user in BOTH)
    for name in ("professional", "analyzer"):
        edit_file(
            example / f"{name}.yaml",
            f"{name}:\n  allocations:\n",
            f"{name}:\n  allocations:\n{entries}",
        )


def test_a_plan_shows_five_warnings_of_a_field_and_counts_the_rest(
    example: Path, licsync: Licsync
) -> None:
    _declare_in_both(example)
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 0, result.output
    shown = [line for line in result.stderr.splitlines() if "declared for both" in line]
    assert len(shown) == 5
    assert "licsync: 3 more warnings of analyzer.allocations (licsync validate lists them all)" in (
        result.stderr.splitlines()
    )


def test_validate_lists_every_warning(example: Path, licsync: Licsync) -> None:
    _declare_in_both(example)
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 0, result.output
    assert sum("declared for both" in line for line in result.output.splitlines()) == len(BOTH)
