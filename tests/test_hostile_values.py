"""Hostile and mistaken values in desired state: located at their line and field, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file

SITE = "site:\n  name: s\n  qrs_url: embedded\n"


def _validate(tmp_path: Path, licsync: Licsync, text: str) -> tuple[int, list[str], Path]:
    directory = tmp_path / "licenses"
    directory.mkdir(exist_ok=True)
    file = directory / "site.yaml"
    file.write_text(SITE + text, encoding="utf-8")
    result = licsync(["validate", str(directory)])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()[:-1], file


@pytest.mark.parametrize(
    ("value", "why", "expected"),
    [
        (".nan", ".nan is not a number (NaN)", "a number"),
        (".NaN", ".NaN is not a number (NaN)", "a number"),
        (".inf", ".inf is infinite", "a number"),
        ("-.Inf", "-.Inf is infinite", "a number"),
        ("1.0e+999", "1.0e+999 is infinite", "a number"),
        ("9" * 5000, "99999999999999999999... has 5,000 digits, far too many", "a number"),
        ("0x" + "f" * 30, "0xffffffffffffffffff... has 30 digits, far too many", "a number"),
    ],
)
def test_unusable_numbers_are_schema_errors_at_their_line(
    tmp_path: Path, licsync: Licsync, value: str, why: str, expected: str
) -> None:
    """`.nan` (which passed validate and crashed plan), infinities and numbers of thousands of
    digits (which crashed the loader) are errors at their own line and field."""
    code, lines, file = _validate(
        tmp_path, licsync, f"policy:\n  safety:\n    max_reclaim_share: {value}\n"
    )
    assert code == 1
    assert lines == [f"{file}:6:24: policy.safety.max_reclaim_share: {why}: expected {expected}"]


def test_unusable_numbers_in_every_numeric_field(tmp_path: Path, licsync: Licsync) -> None:
    """Whole-number fields and text fields reject them the same way, each at its line."""
    code, lines, file = _validate(
        tmp_path,
        licsync,
        "policy:\n  idle:\n    days: .nan\n  safety:\n    max_reclaims: "
        + "1" * 30
        + "\n    share_floor: .inf\n"
        "professional:\n  allocations:\n    - user: CORP\\a\n      ticket: .nan\n",
    )
    assert code == 1
    assert lines == [
        f"{file}:6:11: policy.idle.days: .nan is not a number (NaN): expected a whole number",
        f"{file}:8:19: policy.safety.max_reclaims: 11111111111111111111... has 30 digits, far "
        "too many: expected a whole number",
        f"{file}:9:18: policy.safety.share_floor: .inf is infinite: expected a whole number",
        f"{file}:13:15: professional.allocations[0].ticket: .nan is not a number (NaN): "
        "expected text",
    ]


def test_nan_share_no_longer_reaches_plan(example: Path, licsync: Licsync) -> None:
    """`plan` refuses the site at the line of the `.nan`, exit 1, no crash."""
    edit_file(example / "site.yaml", "max_reclaim_share: 0.5", "max_reclaim_share: .nan")
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 1, result.output
    assert "policy.safety.max_reclaim_share: .nan is not a number (NaN)" in result.stderr
    assert "bug" not in result.stderr


@pytest.mark.parametrize(
    "case",
    [
        ('"CORP\\bjorn.dahl"', "\\b", "a backspace", "'CORP\\x08jorn.dahl'"),
        ('"CORP\\nils"', "\\n", "a line break", "'CORP\\nils'"),
        ('"CORP\\alice"', "\\a", "a bell character", "'CORP\\x07lice'"),
        ('"CORP\\tove"', "\\t", "a tab", "'CORP\\tove'"),
    ],
)
def test_windows_backslash_in_double_quotes_is_explained(
    tmp_path: Path, licsync: Licsync, case: tuple[str, str, str, str]
) -> None:
    """`user: "CORP\\bjorn.dahl"` is a backspace to YAML: the error says so and how to write it."""
    written, escape, meaning, shown = case
    code, lines, file = _validate(
        tmp_path, licsync, f"professional:\n  allocations:\n    - user: {written}\n"
    )
    intended = written.strip('"')
    assert code == 1
    assert lines == [
        f"{file}:6:13: professional.allocations[0].user: {shown} must be DIRECTORY\\userid, e.g. "
        f"CORP\\alice (no surrounding spaces); in double quotes YAML reads {escape} as "
        f"{meaning}: write {intended} without quotes, or in single quotes ('{intended}'), where "
        "a backslash is just a backslash"
    ]


def test_a_backslash_that_is_no_yaml_escape_is_explained(tmp_path: Path, licsync: Licsync) -> None:
    """`user: "CORP\\john"` does not even parse; the message says why and how to write it."""
    code, lines, file = _validate(
        tmp_path, licsync, 'professional:\n  allocations:\n    - user: "CORP\\john"\n'
    )
    assert code == 1
    assert lines == [
        f"{file}:6:18: a backslash inside double quotes starts an escape in YAML, and \\j is not "
        "one (or is incomplete); write the value without quotes (user: CORP\\alice) or in single "
        "quotes (user: 'CORP\\alice'), where a backslash is just a backslash"
    ]


def test_correctly_written_backslashes_are_accepted(tmp_path: Path, licsync: Licsync) -> None:
    """Plain, single-quoted and escaped double-quoted ids all mean CORP\\bjorn."""
    code, lines, _ = _validate(
        tmp_path,
        licsync,
        "professional:\n  allocations:\n    - user: CORP\\bjorn\n"
        "analyzer:\n  allocations:\n    - user: 'CORP\\anna'\n    - user: \"CORP\\\\nils\"\n",
    )
    assert code == 0, lines
    assert lines == []


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u200d", "U+200D ZERO WIDTH JOINER"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\u00ad", "U+00AD SOFT HYPHEN"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ],
)
def test_invisible_characters_in_a_user_id_are_errors(
    tmp_path: Path, licsync: Licsync, char: str, name: str
) -> None:
    """Zero-width, bidi-control and other invisible characters make an id another user's."""
    code, lines, file = _validate(
        tmp_path, licsync, f"professional:\n  allocations:\n    - user: CORP\\al{char}ice\n"
    )
    assert code == 1
    assert lines == [
        f"{file}:6:13: professional.allocations[0].user: CORP\\al<U+{ord(char):04X}>ice contains "
        f"{name} at character 8, which cannot be seen or is no part of a user id; retype the id"
    ]


@pytest.mark.parametrize("char", ["\u0007", "\u0090", "\u001b"])
def test_control_characters_anywhere_in_yaml_are_located(
    tmp_path: Path, licsync: Licsync, char: str
) -> None:
    """A raw control character is refused at its line and column (once: no line, two lines)."""
    code, lines, file = _validate(
        tmp_path, licsync, f"professional:\n  allocations:\n    - user: CORP\\al{char}ice\n"
    )
    assert code == 1
    assert lines == [
        f"{file}:6:20: control character U+{ord(char):04X} is not allowed in YAML (nor in a user "
        "id); remove it"
    ]


def test_invisible_characters_in_the_acting_user_are_errors(
    tmp_path: Path, licsync: Licsync
) -> None:
    """The site's acting user is an id too."""
    directory = tmp_path / "licenses"
    directory.mkdir()
    file = directory / "site.yaml"
    file.write_text(
        "site:\n  name: s\n  qrs_url: embedded\n  auth:\n    mode: certificate\n"
        "    user: INTERNAL\\sa\u200b_api\n",
        encoding="utf-8",
    )
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{file}:6:11: site.auth.user: INTERNAL\\sa<U+200B>_api contains U+200B ZERO WIDTH "
        "SPACE, which cannot be seen or is no part of a user id; retype the id"
    )


def test_lookalike_ids_are_warned_as_probable_duplicates(tmp_path: Path, licsync: Licsync) -> None:
    """CORP\\alice and CORP\\\u0430lice (Cyrillic a) look the same: a warning naming both."""
    code, lines, file = _validate(
        tmp_path,
        licsync,
        "professional:\n  allocations:\n    - user: CORP\\alice\n"
        "analyzer:\n  allocations:\n    - user: corp\\\u0430lice\n"
        "    - user: CORP\\\u0392\u039f\u0392\n    - user: CORP\\bob\n",
    )
    assert code == 0, lines
    assert lines == [
        f"{file}:9:13: warning: analyzer.allocations[0].user: corp\\\u0430lice looks the same as "
        f"CORP\\alice ({file}:6:13) but differs in look-alike characters (U+0430 CYRILLIC SMALL "
        "LETTER A): probably one person declared twice, and QRS sees two users; retype the id",
        f"{file}:11:13: warning: analyzer.allocations[2].user: CORP\\bob looks the same as "
        f"CORP\\\u0392\u039f\u0392 ({file}:10:13) but differs in look-alike characters (U+0392 "
        "GREEK CAPITAL LETTER BETA): probably one person declared twice, and QRS sees two "
        "users; retype the id",
    ]


def test_an_id_mixing_latin_and_lookalike_letters_is_warned(
    tmp_path: Path, licsync: Licsync
) -> None:
    """A lone Latin id with one Cyrillic letter is warned about; an all-Cyrillic id is not."""
    code, lines, file = _validate(
        tmp_path,
        licsync,
        "professional:\n  allocations:\n    - user: CORP\\b\u043eb\n"
        "    - user: CORP\\\u0438\u0432\u0430\u043d\n",
    )
    assert code == 0, lines
    assert lines == [
        f"{file}:6:13: warning: professional.allocations[0].user: CORP\\b\u043eb mixes Latin "
        "letters with U+043E CYRILLIC SMALL LETTER O at character 7, which only looks Latin; "
        "retype the id"
    ]


def test_skeleton_folds_width_case_and_lookalikes() -> None:
    """Full-width, upper-case and Cyrillic/Greek look-alikes fold to the plain Latin id."""
    from licsync.lookalike import skeleton

    assert skeleton("CORP\\\uff41lice") == skeleton("corp\\ALICE") == "corp\\alice"
    assert skeleton("CORP\\\u0410\u0412\u0421") == "corp\\abc"
    assert skeleton("CORP\\\u03a1\u039f") == "corp\\po"
    assert skeleton("CORP\\j\u00f6rg") != skeleton("CORP\\jorg")  # a real letter, not a look-alike


def test_huge_values_are_quoted_briefly(tmp_path: Path, licsync: Licsync) -> None:
    """A megabyte-long wrong value is shown by its head, never in full."""
    code, lines, _ = _validate(
        tmp_path,
        licsync,
        "professional:\n  rules:\n    - name: r\n      condition: x = 1\n      context: "
        + "h" * 1_000_000
        + "\n",
    )
    assert code == 1
    assert len(lines) == 1
    assert len(lines[0]) < 300


def test_a_problem_in_a_block_scalar_condition_is_located(tmp_path: Path, licsync: Licsync) -> None:
    """The column inside a `condition: |` block counts the block's indentation (it was 0)."""
    code, lines, file = _validate(
        tmp_path,
        licsync,
        'professional:\n  rules:\n    - name: r\n      condition: |\n        user.group = "a" and\n'
        "          user.x === 1\n",
    )
    assert code == 1
    assert lines[0].startswith(f"{file}:9:18: professional.rules[0].condition: condition: ")
