"""``licsync dump`` against hostile QRS answers and hostile ``--out`` folders: a clear error or
YAML that reads back as the site; no line on the terminal that QRS wrote; nothing half-written.

The QRS cases run against the simulator (values it stores as given) or the raw-socket hostile
QRS of :mod:`hostile_server`; the folder cases against real folders, symlinks and mounts.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from cli_runner import Licsync, Result
from clock import NOW
from dump_sites import PRO
from hostile_server import HostileQrs, drip, json_answer
from inprocess import in_process_simulator
from licsync.dump import files as dump_files
from licsync.sim import SimStore
from licsync.yamlsafe import load_yaml
from portable import NO_CONTROL_NAMES, needs_symlinks, posix_only
from timelimit import watchdog

FILES = ("site.yaml", "professional.yaml", "analyzer.yaml")


def _store(*userids: str) -> SimStore:
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    store.set_capacity(PRO, 100)
    for userid in userids:
        person = store.add_user("CORP", userid, groups=["G"])
        store.add_allocation(PRO, person["id"], last_used=NOW - dt.timedelta(days=2))
    return store


def _dump(licsync: Licsync, url: str, out: Path, *extra: str) -> Result:
    return licsync(["dump", "--qrs-url", url, "--out", str(out), *extra])


def _one_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "This is a bug" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("licsync: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _lines_are_ours(result: Result) -> None:
    """Every line printed is one licsync began: none starts with what QRS put after a break."""
    for line in result.output.splitlines():
        assert not line.startswith("FAKE"), result.output
        assert "\x1b" not in line
        assert "\u202e" not in line


def test_a_line_break_in_a_user_id_cannot_forge_a_line(licsync: Licsync, tmp_path: Path) -> None:
    """A seat of a user whose id holds a line break is listed as undeclarable, on one line."""
    with in_process_simulator(_store("alice\nFAKE: Safety: OK", "bob\x1b]0;owned\x07")) as sim:
        result = _dump(licsync, sim.url, tmp_path / "site")
    assert result.exit_code == 0, result.output
    _lines_are_ours(result)
    notes = [line for line in result.stderr.splitlines() if "not declared" in line]
    assert any("alice\\nFAKE: Safety: OK" in line for line in notes), result.stderr
    assert any("bob\\x1b]0;owned\\x07" in line for line in notes), result.stderr


@posix_only(NO_CONTROL_NAMES)
def test_a_folder_name_with_control_characters_is_shown_escaped(
    licsync: Licsync, tmp_path: Path
) -> None:
    """--out holding a line break and ESC: the summary shows it escaped, on licsync's lines."""
    out = tmp_path / "a\nFAKE: wrote\x1b[2J"
    with in_process_simulator(_store("alice")) as sim:
        result = _dump(licsync, sim.url, out)
    assert result.exit_code == 0, result.output
    _lines_are_ours(result)
    assert "a\\nFAKE: wrote\\x1b[2J" in result.stdout
    assert sorted(os.listdir(out)) == sorted(FILES)


@pytest.mark.parametrize(
    ("path", "answer", "words"),
    [
        ("/qrs/user/full", [{"id": "u1", "userId": None}], "GET /qrs/user/full"),
        ("/qrs/systemrule/full", {"not": "a list"}, "GET /qrs/systemrule/full"),
    ],
    ids=["null-userid", "object-for-list"],
)
def test_broken_answers_name_the_endpoint_and_write_nothing(
    licsync: Licsync, tmp_path: Path, path: str, answer: object, words: str
) -> None:
    """Nulls and wrong types: exit 1 naming the endpoint; no --out folder is made."""
    out = tmp_path / "site"
    with HostileQrs({path: json_answer(answer)}) as qrs:
        line = _one_error(_dump(licsync, qrs.url, out))
    assert words in line
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_a_dripping_qrs_is_bounded_by_request_timeout(licsync: Licsync, tmp_path: Path) -> None:
    """One byte a second, forever: --request-timeout ends it, and nothing is written."""
    out = tmp_path / "site"
    with watchdog(30), HostileQrs({"/qrs/user/full": drip(0.2)}) as qrs:
        line = _one_error(_dump(licsync, qrs.url, out, "--request-timeout", "1"))
    assert "/qrs/user/full" in line
    assert not out.exists()


# -- --out ----------------------------------------------------------------------------------------


def test_a_file_that_cannot_be_replaced_leaves_every_file_as_it_was(
    licsync: Licsync, tmp_path: Path
) -> None:
    """With --force, analyzer.yaml a folder: refused before a byte is written; the other two
    files keep their old text."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "professional.yaml").write_text("old professional\n", encoding="utf-8")
    (out / "analyzer.yaml").mkdir()
    with in_process_simulator(_store("alice")) as sim:
        line = _one_error(_dump(licsync, sim.url, out, "--force"))
    assert "analyzer.yaml" in line
    assert sorted(os.listdir(out)) == ["analyzer.yaml", "professional.yaml"]
    assert (out / "professional.yaml").read_text(encoding="utf-8") == "old professional\n"
    assert [p for p in os.listdir(tmp_path) if p != "site"] == []


def test_a_failure_between_two_renames_puts_the_old_files_back(
    licsync: Licsync, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third rename fails (a disk error, say): the first two are undone, the old files are
    back, and no temporary file is left in --out."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "professional.yaml").write_text("old professional\n", encoding="utf-8")
    real_replace = os.replace
    into_place: list[str] = []

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name in FILES and Path(dst).parent == out:
            into_place.append(Path(dst).name)
            if len(into_place) == 3:
                raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(dump_files.os, "replace", failing_replace)
    with in_process_simulator(_store("alice")) as sim:
        line = _one_error(_dump(licsync, sim.url, out, "--force"))
    assert "Input/output error" in line
    assert os.listdir(out) == ["professional.yaml"]
    assert (out / "professional.yaml").read_text(encoding="utf-8") == "old professional\n"


@needs_symlinks
def test_a_symlinked_folder_on_another_file_system_is_written(
    licsync: Licsync, tmp_path: Path
) -> None:
    """--out a symlink to a folder on another file system (/dev/shm): the dump lands there."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    import tempfile

    target = Path(tempfile.mkdtemp(dir=shm, prefix="licsync-test-"))
    try:
        link = tmp_path / "site"
        link.symlink_to(target)
        with in_process_simulator(_store("alice")) as sim:
            result = _dump(licsync, sim.url, link)
        assert result.exit_code == 0, result.output
        assert sorted(os.listdir(target)) == sorted(FILES)
        data = load_yaml((target / "professional.yaml").read_bytes(), "professional.yaml").data
        assert data["professional"]["allocations"] == [{"user": "CORP\\alice"}]
    finally:
        for name in os.listdir(target):
            os.unlink(target / name)
        target.rmdir()


@needs_symlinks
def test_a_dangling_symlink_is_named_as_one(licsync: Licsync, tmp_path: Path) -> None:
    """--out a symlink to nowhere: said so before QRS is asked; nothing is made."""
    link = tmp_path / "site"
    link.symlink_to(tmp_path / "gone")
    with HostileQrs() as qrs:
        line = _one_error(_dump(licsync, qrs.url, link))
        assert qrs.requests == []
    assert "symbolic link" in line
    assert "does not exist" in line
    assert not (tmp_path / "gone").exists()


@posix_only("no /proc")
@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_folder_that_cannot_be_made_is_a_clear_error(licsync: Licsync) -> None:
    """--out where nothing can be written (/proc): exit 1 naming it, not a crash."""
    with in_process_simulator(_store("alice")) as sim:
        line = _one_error(_dump(licsync, sim.url, Path("/proc/licsync-dump-test")))
    assert "/proc/licsync-dump-test" in line


@pytest.mark.parametrize(
    "url",
    ["http://admin:s3cretPW@127.0.0.1:9", "http://admin:s3cretPW@qlik host:4242"],
    ids=["credentials", "credentials-and-space"],
)
def test_a_password_in_qrs_url_is_not_echoed(licsync: Licsync, tmp_path: Path, url: str) -> None:
    """--qrs-url with credentials is a wrong command line (exit 64) that does not repeat them."""
    result = _dump(licsync, url, tmp_path / "site")
    assert result.exit_code == 64, result.output
    assert "--qrs-url" in result.stderr
    assert "s3cretPW" not in result.output


def test_a_site_name_no_file_can_hold_is_refused_before_qrs_is_asked(
    licsync: Licsync, tmp_path: Path
) -> None:
    """--site with a line break: refused at once, naming --site; QRS is not read."""
    with HostileQrs() as qrs:
        line = _one_error(_dump(licsync, qrs.url, tmp_path / "site", "--site", "a\nFAKE"))
        assert qrs.requests == []
    assert "--site 'a\\nFAKE'" in line


def test_a_huge_output_folder_is_refused_without_walking_all_of_it(
    licsync: Licsync, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--out a folder of more entries than any licence folder holds (--out . in a big tree):
    refused, naming the folder, before QRS is asked."""
    monkeypatch.setattr(dump_files, "MAX_ENTRIES", 50)
    out = tmp_path / "tree"
    for index in range(6):
        (out / f"d{index}").mkdir(parents=True)
        for name in range(10):
            (out / f"d{index}" / f"f{name}.txt").write_text("x", encoding="utf-8")
    with HostileQrs() as qrs:
        line = _one_error(_dump(licsync, qrs.url, out))
        assert qrs.requests == []
    assert "more than 50 files and folders" in line


@needs_symlinks
def test_yaml_behind_a_symlinked_folder_is_found(licsync: Licsync, tmp_path: Path) -> None:
    """The plan follows symlinked folders inside the site's folder, so the check does too: YAML
    reached only through one refuses the dump (it would be merged with it)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "team.yaml").write_text("professional:\n  allocations: []\n", encoding="utf-8")
    out = tmp_path / "site"
    out.mkdir()
    (out / "teams").symlink_to(elsewhere)
    (out / "loop").symlink_to(out)
    with HostileQrs() as qrs:
        line = _one_error(_dump(licsync, qrs.url, out))
        assert qrs.requests == []
    assert "team.yaml" in line


def test_the_answer_cap_of_the_site_file_in_out_holds(licsync: Licsync, tmp_path: Path) -> None:
    """A gzip bomb against a dump whose --out holds site.yaml with max_answer_mb: 1: cut at the
    cap, the endpoint named, the files as they were."""
    from hostile_server import gzip_bomb

    out = tmp_path / "site"
    out.mkdir()
    with HostileQrs({"/qrs/user/full": gzip_bomb(16 << 20)}) as qrs:
        site = f"site:\n  name: t\n  qrs_url: {qrs.url}\n  max_answer_mb: 1\n"
        (out / "site.yaml").write_text(site, encoding="utf-8")
        line = _one_error(_dump(licsync, qrs.url, out, "--force"))
    assert "GET /qrs/user/full: the answer is larger than the 1 MiB" in line
    assert os.listdir(out) == ["site.yaml"]
    assert (out / "site.yaml").read_text(encoding="utf-8") == site
