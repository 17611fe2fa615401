"""Secret files for their owner only (``licsync.keyfile``, ``licsync key``): POSIX 0600, a
Windows ACL allowing the current user alone; who else can read one, or nothing when unsure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cli_runner import Licsync
from licsync.errors import UsageError
from licsync.keyfile import exposure, write_private
from portable import WINDOWS, owner_only, posix_only

SECRET = (
    "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
)


def test_write_private_creates_an_owner_only_file(tmp_path: Path) -> None:
    """A new key: the bytes given, readable by the owner alone, no temporary file left."""
    key = tmp_path / "client_key.pem"
    write_private(key, SECRET.encode())
    assert key.read_bytes() == SECRET.encode()
    assert owner_only(key)
    assert exposure(key) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client_key.pem"]


def test_write_private_replaces_a_file_others_could_read(tmp_path: Path) -> None:
    """An existing world-readable file is replaced by an owner-only one (not rewritten in
    place, which would keep its permissions)."""
    key = tmp_path / "client_key.pem"
    key.write_text("old", encoding="utf-8")
    if not WINDOWS:
        key.chmod(0o644)
    write_private(key, b"new")
    assert key.read_bytes() == b"new"
    assert owner_only(key)


def test_write_private_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    """A folder that does not exist: one clear error naming the file."""
    with pytest.raises(UsageError, match=r"cannot write .*client_key\.pem"):
        write_private(tmp_path / "nowhere" / "client_key.pem", b"x")


@posix_only("a file mode does not decide who reads a file; its ACL does")
def test_exposure_by_mode_on_posix(tmp_path: Path) -> None:
    """0644 and 0640 are exposed (the mode is named); 0600 and 0400 are not."""
    key = tmp_path / "k.pem"
    key.write_bytes(b"x")
    for mode, exposed in ((0o644, True), (0o640, True), (0o600, False), (0o400, False)):
        key.chmod(mode)
        found = exposure(key)
        assert (found is not None) is exposed, oct(mode)
        if exposed:
            assert f"{stat.S_IMODE(mode):04o}" in str(found)


def test_exposure_of_a_missing_file_says_nothing(tmp_path: Path) -> None:
    """Cannot tell: no guess."""
    assert exposure(tmp_path / "missing.pem") is None


def test_key_write_and_check_commands(
    tmp_path: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``key write --from-env`` writes the variable's value owner-only and never prints it;
    ``key check`` agrees (exit 0)."""
    monkeypatch.setenv("QLIK_CLIENT_KEY_PEM", SECRET)
    key = tmp_path / "licsync-client-key.pem"
    written = licsync(["key", "write", "--from-env", "QLIK_CLIENT_KEY_PEM", str(key)])
    assert written.exit_code == 0, written.output
    assert "MIIB" not in written.output
    assert key.read_text(encoding="utf-8") == SECRET
    assert owner_only(key)
    checked = licsync(["key", "check", str(key)])
    assert checked.exit_code == 0, checked.output


def test_key_write_without_the_variable_is_an_error(tmp_path: Path, licsync: Licsync) -> None:
    """An unset variable: exit 1 naming it, no file."""
    result = licsync(["key", "write", "--from-env", "NO_SUCH_SECRET_VAR", str(tmp_path / "k")])
    assert result.exit_code == 1
    assert "NO_SUCH_SECRET_VAR is not set" in result.stderr
    assert not (tmp_path / "k").exists()


@posix_only("a file mode does not decide who reads a file; its ACL does")
def test_key_check_names_a_world_readable_key(tmp_path: Path, licsync: Licsync) -> None:
    """A 0644 key: exit 1, the mode named."""
    key = tmp_path / "k.pem"
    key.write_bytes(b"x")
    os.chmod(key, 0o644)
    result = licsync(["key", "check", str(key)])
    assert result.exit_code == 1
    assert "0644" in result.stdout
