"""Hostile and broken desired-state directories: named, bounded, never skipped in silence."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cli_runner import Licsync
from portable import NO_CONTROL_NAMES, needs_symlinks, posix_only
from timelimit import watchdog

SITE = "site:\n  name: s\n  qrs_url: embedded\n"
TEAM = "professional:\n  allocations:\n    - user: CORP\\alice\n"
SECRET = "root:x:0:0:TOP-SECRET-LINE:/root:/bin/bash\n"


def _site(tmp_path: Path) -> Path:
    directory = tmp_path / "licenses"
    directory.mkdir()
    (directory / "site.yaml").write_text(SITE, encoding="utf-8")
    return directory


@needs_symlinks
def test_symlinked_folder_out_of_the_directory_is_an_error(
    tmp_path: Path, licsync: Licsync
) -> None:
    """A team folder that is a symlink to elsewhere is named, not skipped (its users would
    become "not declared" and the plan would reclaim them)."""
    directory = _site(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "team.yaml").write_text(TEAM, encoding="utf-8")
    (directory / "teams").symlink_to("../elsewhere")
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == (
        f"{directory / 'teams'}: symlink leads out of the directory ('../elsewhere'): licsync "
        f"reads only files inside {directory}; copy the file in, or point licsync at its folder"
    )
    plan = licsync(["plan", str(directory)])
    assert plan.exit_code == 1
    assert "symlink leads out of the directory" in plan.stderr


@needs_symlinks
def test_symlink_to_a_file_outside_is_never_read(tmp_path: Path, licsync: Licsync) -> None:
    """A YAML symlink to a file of the machine is refused without its content in any message."""
    directory = _site(tmp_path)
    (tmp_path / "passwd").write_text(SECRET, encoding="utf-8")
    (directory / "users.yaml").symlink_to(tmp_path / "passwd")
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert f"{directory / 'users.yaml'}: symlink leads out of the directory" in result.stdout
    assert "TOP-SECRET" not in result.output


def test_a_file_that_is_not_yaml_is_not_read_or_echoed(tmp_path: Path, licsync: Licsync) -> None:
    """`licsync plan /etc/passwd` once quoted the file's first line in its error."""
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    for command in ("validate", "plan"):
        result = licsync([command, str(secret)])
        assert result.exit_code == 1
        assert "TOP-SECRET" not in result.output
        assert "not a folder of desired state nor a *.yaml / *.yml file" in result.output
        assert "Traceback" not in result.output


def test_a_yaml_file_that_is_not_a_mapping_is_not_echoed(tmp_path: Path, licsync: Licsync) -> None:
    """A file whose whole content is one value is described, not quoted."""
    directory = _site(tmp_path)
    (directory / "team.yaml").write_text("TOP-SECRET-LINE and more\n", encoding="utf-8")
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert "TOP-SECRET" not in result.output
    assert f"{directory / 'team.yaml'}:1:1: top level must be a mapping" in result.stdout


@needs_symlinks
def test_dangling_symlinks(tmp_path: Path, licsync: Licsync) -> None:
    """A dangling YAML symlink is an error; a dangling link that may have been a folder is a
    warning saying its files are missed."""
    directory = _site(tmp_path)
    (directory / "gone.yaml").symlink_to("nowhere.yaml")
    (directory / "teams").symlink_to("/nonexistent-licsync-folder")
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        f"{directory / 'gone.yaml'}: dangling symlink: 'nowhere.yaml' does not exist",
        f"{directory / 'teams'}: warning: dangling symlink: '/nonexistent-licsync-folder' does "
        "not exist; if it was a folder of desired state, its files are missed",
    ]


@needs_symlinks
def test_symlinks_inside_the_directory_are_followed_once(tmp_path: Path, licsync: Licsync) -> None:
    """A link to a folder inside the directory is read; a loop or a second name is read once
    and warned about, and the walk ends."""
    directory = _site(tmp_path)
    (directory / "hidden-store").mkdir()
    (directory / ".store").mkdir()
    (directory / ".store" / "team.yaml").write_text(TEAM, encoding="utf-8")
    (directory / "teams").symlink_to(".store")
    (directory / "site-again.yaml").symlink_to("site.yaml")
    (directory / "hidden-store" / "up").symlink_to("..")
    with watchdog():
        result = licsync(["validate", str(directory)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{directory / 'hidden-store' / 'up'}: warning: symlink to the folder {directory}, "
        "which is read already: its files are read once, there",
        f"{directory / 'site-again.yaml'}: warning: symlink to {directory / 'site.yaml'}, "
        "which is read already: read once, as that",
        "valid: 2 files, 2 warnings; site s: 1 allocation, 0 rules",
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_hanging(tmp_path: Path, licsync: Licsync) -> None:
    """A FIFO named like YAML, in the directory or given directly, is an error at once."""
    directory = _site(tmp_path)
    os.mkfifo(directory / "team.yaml")
    with watchdog():
        result = licsync(["validate", str(directory)])
        direct = licsync(["validate", str(directory / "team.yaml")])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{directory / 'team.yaml'}: it is a FIFO (named pipe), not a regular file: desired "
        "state is read from regular YAML files only"
    )
    assert direct.exit_code == 1
    assert "it is a FIFO (named pipe), not a folder or a YAML file" in direct.stdout


@posix_only("no /dev/zero (Windows names devices NUL, CON)")
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_device_is_refused_before_reading(tmp_path: Path, licsync: Licsync) -> None:
    """/dev/zero, named directly or through a YAML symlink, is never read (once: 6.8 GB)."""
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with watchdog():
        for target in ("/dev/zero", str(link)):
            result = licsync(["validate", target])
            assert result.exit_code == 1
            assert "it is a character device, not a folder or a YAML file" in result.stdout


def test_a_file_too_large_is_refused_before_reading(tmp_path: Path, licsync: Licsync) -> None:
    """A (sparse) 40 MB YAML file is refused by its size, naming the limit."""
    directory = _site(tmp_path)
    with (directory / "huge.yaml").open("wb") as stream:
        stream.truncate(40 * 1024 * 1024)
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{directory / 'huge.yaml'}: cannot read: it is over 33,554,432 bytes (41,943,040), far "
        "larger than expected"
    )


@posix_only(NO_CONTROL_NAMES)
def test_a_file_name_with_control_characters_is_escaped(tmp_path: Path, licsync: Licsync) -> None:
    """A file name cannot break a line of output (or forge one) with a newline."""
    directory = _site(tmp_path)
    (directory / "evil\nsite.yaml:1:1: all good.yaml").write_text(
        "professional: [", encoding="utf-8"
    )
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{directory}/evil\\nsite.yaml:1:1: all good.yaml:")


def test_an_upper_case_yaml_suffix_is_not_skipped_in_silence(
    tmp_path: Path, licsync: Licsync
) -> None:
    """`team.YAML` (a Windows editor's choice) is named as not read, not left out quietly."""
    directory = _site(tmp_path)
    (directory / "team.YAML").write_text(TEAM, encoding="utf-8")
    (directory / "notes.txt").write_text("not desired state\n", encoding="utf-8")
    result = licsync(["validate", str(directory)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:-1] == [
        f"{directory / 'team.YAML'}: not read: licsync reads *.yaml and *.yml (lower case); "
        "rename the file, or its users count as not declared"
    ]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_a_folder_that_cannot_be_listed_is_an_error(tmp_path: Path, licsync: Licsync) -> None:
    """An unreadable team folder is named, not skipped."""
    directory = _site(tmp_path)
    teams = directory / "teams"
    teams.mkdir()
    (teams / "team.yaml").write_text(TEAM, encoding="utf-8")
    teams.chmod(0)
    try:
        result = licsync(["validate", str(directory)])
    finally:
        teams.chmod(stat.S_IRWXU)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{teams}: cannot list this folder (Permission denied): the desired state in it would "
        "be missed; make it readable, or move it out of the directory"
    )


@needs_symlinks
def test_with_site_chosen_a_broken_file_of_that_site_still_stops_plan(
    tmp_path: Path, licsync: Licsync
) -> None:
    """`--site prod`: a file of prod that does not parse, or a symlink in prod leading out, is
    prod's problem (it was dropped: the file is not among the site's parsed files, so its users
    were "not declared"); other sites still plan."""
    for name in ("prod", "test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "site.yaml").write_text(
            f"site: {{name: {name}, qrs_url: embedded}}\n", encoding="utf-8"
        )
    (tmp_path / "prod" / "team.yaml").write_text("professional: [\n", encoding="utf-8")
    (tmp_path / "prod" / "teams").symlink_to("/")
    prod = licsync(["plan", str(tmp_path), "--site", "prod"])
    assert prod.exit_code == 1, prod.output
    assert f"{tmp_path / 'prod' / 'team.yaml'}:2:1: invalid YAML" in prod.stderr
    assert f"{tmp_path / 'prod' / 'teams'}: symlink leads out of the directory" in prod.stderr
    test = licsync(["plan", str(tmp_path), "--site", "test"])
    assert test.exit_code == 0, test.output
    assert "prod" not in test.stderr
