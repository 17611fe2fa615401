"""`licsync validate` and the loader behind it: the bad-input corpus, formats, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from licsync.cli import app, main
from licsync.cli import validate as cli
from licsync.errors import ConfigError
from licsync.identity import AccessType, RuleContext
from licsync.load import check_directory, load_desired
from licsync.policy import Ownership

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad").glob("*.yaml"))
REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 28)

runner = CliRunner()


def _expected(bad: Path, file: Path, site: Path) -> list[str]:
    lines = []
    for line in bad.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            text = line.removeprefix("# expect: ")
            lines.append(text.replace("{file}", str(file)).replace("{site}", str(site)))
    return lines


def _stage(bad: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Copy a bad file into a site directory (next to a good site.yaml unless it has its own)."""
    directory = tmp_path / "licenses"
    directory.mkdir()
    target = directory / bad.name
    shutil.copyfile(bad, target)
    site = directory / "site.yaml"
    if not re.search(r"^site:", bad.read_text(encoding="utf-8"), re.MULTILINE):
        shutil.copyfile(DATA / "good" / "site.yaml", site)
    return directory, target


@pytest.mark.parametrize("bad", BAD, ids=[p.stem for p in BAD])
def test_bad_input_is_reported_exactly(bad: Path, tmp_path: Path) -> None:
    """Each bad file yields exactly its expected `file:line:col: field: message` lines, exit 1."""
    directory, target = _stage(bad, tmp_path)
    expected = _expected(bad, target, directory / "site.yaml")
    assert expected, f"{bad.name} declares no `# expect:` line"
    result = runner.invoke(app, ["validate", str(directory)])
    assert result.exit_code == 1, result.output
    printed = [line for line in result.stdout.splitlines() if ": warning: " not in line][:-1]
    assert printed == expected
    assert "Traceback" not in result.output


def test_good_example_site_validates() -> None:
    """The repository's worked example `licenses/` is valid (its only warning is the past until)."""
    result = runner.invoke(app, ["validate", str(REPO / "licenses")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("valid: 3 files")


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    """A past `until` and a user in both types are warnings: exit 0, both printed."""
    (tmp_path / "s.yaml").write_text(
        "site: {name: s, qrs_url: embedded}\n"
        "professional:\n  allocations:\n    - user: CORP\\a\n      until: 2020-01-01\n"
        "analyzer:\n  allocations:\n    - user: corp\\A\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    file = tmp_path / "s.yaml"
    assert result.stdout.splitlines()[:2] == [
        f"{file}:5:14: warning: professional.allocations[0].until: until 2020-01-01 has "
        "passed: the plan reclaims CORP\\a's professional allocation; remove the entry once "
        "it is done",
        f"{file}:8:13: warning: analyzer.allocations: corp\\A is declared for both "
        f"professional ({file}:4:13) and analyzer; professional access includes everything "
        "analyzer access gives",
    ]


def test_all_problems_reported_not_just_the_first(tmp_path: Path) -> None:
    """Errors in several files and several places are all reported in one run."""
    shutil.copyfile(DATA / "good" / "site.yaml", tmp_path / "site.yaml")
    for name in ("malformed-user.yaml", "bad-enum.yaml", "duplicate-user.yaml"):
        shutil.copyfile(DATA / "bad" / name, tmp_path / name)
    report = check_directory(tmp_path, today=TODAY)
    assert len(report.errors) == 3
    assert {Path(p.file).name for p in report.errors} == {
        "malformed-user.yaml",
        "bad-enum.yaml",
        "duplicate-user.yaml",
    }


def test_duplicate_user_across_files_names_both(tmp_path: Path) -> None:
    """The same user declared in two files is an error naming both locations."""
    (tmp_path / "site.yaml").write_text("site: {name: s, qrs_url: embedded}\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        "professional:\n  allocations:\n    - user: CORP\\Bob\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text(
        "professional:\n  allocations:\n    - {user: corp\\bob}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_desired(tmp_path, today=TODAY)
    [problem] = info.value.problems
    assert str(problem) == (
        f"{tmp_path / 'b.yaml'}:3:14: professional.allocations[0].user: corp\\bob is declared "
        f"twice for professional: first at {tmp_path / 'a.yaml'}:3:13 (as CORP\\Bob); user ids "
        "compare case-insensitively"
    )


def test_files_merge_into_one_desired_state() -> None:
    """The example's three files merge: site, policy, both types, positions kept."""
    desired, warnings = load_desired(REPO / "licenses", today=TODAY)
    assert desired.site.name == "demo"
    assert desired.site.qrs_url == "embedded"
    assert desired.policy.ownership[AccessType.PROFESSIONAL] is Ownership.AUTHORITATIVE
    assert desired.policy.ownership[AccessType.ANALYZER] is Ownership.ADDITIVE
    pro = desired.of(AccessType.PROFESSIONAL)
    assert [a.user for a in pro.allocations][:2] == ["CORP\\anna.berg", "CORP\\bjorn.dahl"]
    assert pro.allocations[0].key == "corp\\anna.berg"
    assert pro.allocations[0].source is not None
    assert pro.allocations[0].source.file.endswith("professional.yaml")
    rules = desired.of(AccessType.ANALYZER).rules
    assert [r.name for r in rules] == ["Sales analyzers", "Finance analyzers"]
    assert rules[0].context is RuleContext.HUB
    assert desired.policy.denial_sources[0].path.endswith(os.path.join("licenses", "demo-logs"))
    assert [w.field for w in warnings] == ["professional.allocations[2].until"]


def test_several_sites_need_a_choice(tmp_path: Path) -> None:
    """A repository with prod/ and test/ loads each by --site and refuses to guess."""
    for name in ("prod", "test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "site.yaml").write_text(
            f"site: {{name: {name}, qrs_url: embedded}}\n", encoding="utf-8"
        )
    desired, _ = load_desired(tmp_path, today=TODAY, site="test")
    assert desired.site.name == "test"
    with pytest.raises(ConfigError, match=r"2 sites in .* choose one with --site"):
        load_desired(tmp_path, today=TODAY)
    with pytest.raises(ConfigError, match="no site named 'qa'"):
        load_desired(tmp_path, today=TODAY, site="qa")


def test_file_outside_any_site_is_an_error(tmp_path: Path) -> None:
    """With sites in subdirectories, a stray file at the top belongs to none."""
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "site.yaml").write_text(
        "site: {name: prod, qrs_url: embedded}\n", encoding="utf-8"
    )
    (tmp_path / "stray.yaml").write_text("professional: {}\n", encoding="utf-8")
    report = check_directory(tmp_path, today=TODAY)
    assert [p.message for p in report.errors] == [
        "belongs to no site: it is not below a directory whose files declare `site:`"
    ]


def test_no_site_declared(tmp_path: Path) -> None:
    """A directory whose files never say `site:` is told so."""
    (tmp_path / "a.yaml").write_text("professional: {}\n", encoding="utf-8")
    report = check_directory(tmp_path, today=TODAY)
    assert [str(p) for p in report.errors] == [
        f"{tmp_path / 'a.yaml'}:1:1: site: no file declares `site:` (name and qrs_url of the "
        "Qlik Sense site)"
    ]


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    """A missing or YAML-less directory is an error with exit 1, not a crash."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{tmp_path / 'nope'}: no such file or directory"
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{tmp_path}: no *.yaml or *.yml files here"


def test_non_utf8_and_utf16_files(tmp_path: Path) -> None:
    """Undecodable bytes are located; UTF-16 is named as such."""
    shutil.copyfile(DATA / "good" / "site.yaml", tmp_path / "site.yaml")
    (tmp_path / "latin1.yaml").write_bytes(
        b"professional:\n  allocations:\n    - user: CORP\\j\xf6rg\n"
    )
    (tmp_path / "wide.yaml").write_bytes("professional: {}\n".encode("utf-16"))
    report = check_directory(tmp_path, today=TODAY)
    assert [str(p) for p in report.errors] == [
        f"{tmp_path / 'latin1.yaml'}:3:19: not UTF-8: byte 0xf6 cannot be decoded; save the "
        "file as UTF-8",
        f"{tmp_path / 'wide.yaml'}:1:1: file is UTF-16; save it as UTF-8 (without BOM)",
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """Windows editors write a UTF-8 BOM: it is not an error."""
    (tmp_path / "site.yaml").write_bytes(b"\xef\xbb\xbfsite: {name: s, qrs_url: embedded}\n")
    assert not check_directory(tmp_path, today=TODAY).errors


def test_json_format(tmp_path: Path) -> None:
    """--format json prints a versioned report with every problem's fields."""
    directory, target = _stage(DATA / "bad" / "malformed-user.yaml", tmp_path)
    result = runner.invoke(app, ["validate", str(directory), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["format_version"] == "1.0"
    assert report["valid"] is False
    assert report["problems"] == [
        {
            "file": str(target),
            "line": 4,
            "col": 13,
            "field": "professional.allocations[0].user",
            "message": (
                "'alice' must be DIRECTORY\\userid, e.g. CORP\\alice (no surrounding spaces)"
            ),
            "severity": "error",
        }
    ]


def gh_file(path: Path) -> str:
    """A path as an annotation's file property: "/" separators, ":" escaped (C%3A on Windows)."""
    return str(path).replace(os.sep, "/").replace(":", "%3A")


def test_github_format_escapes_workflow_commands(tmp_path: Path) -> None:
    """--format github prints ::error annotations with GitHub's escaping."""
    directory, target = _stage(DATA / "bad" / "bad-enum.yaml", tmp_path)
    result = runner.invoke(app, ["validate", str(directory), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"::error file={gh_file(target)},line=6,col=16::analyzer.rules[0].context: 'hubb' is "
        "not one of: hub, qmc, both"
    ]
    odd = cli.Problem("a,b:c.yaml", 1, 2, "f", "50% done\nnext")
    assert (
        cli.github_annotation(odd)
        == "::error file=a%2Cb%3Ac.yaml,line=1,col=2::f: 50%25 done%0Anext"
    )


def test_unexpected_crash_says_bug_and_exits_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash inside a command is reported as a bug, exit 70, without a traceback."""

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "check_directory", explode)
    assert main(["validate", "licenses"]) == 70
    stderr = capsys.readouterr().err
    assert "This is a bug in licsync" in stderr
    assert "RuntimeError: boom" in stderr
    assert "Traceback" not in stderr


def test_version() -> None:
    """--version prints the package version."""
    from licsync import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"licsync {__version__}\n"


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m licsync --help` works (console script and module share one entry point)."""
    result = subprocess.run(
        [sys.executable, "-m", "licsync", "--help"],
        capture_output=True,
        encoding="utf-8",  # licsync's redirected output, whatever the code page
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "validate" in result.stdout
