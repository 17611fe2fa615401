"""``licsync sim``: the certs command through ``main(argv)``, ``serve`` as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509

from cli_runner import Licsync
from licsync.sim.testing import qrs_client
from portable import (
    NEW_GROUP,
    WINE_NO_CONSOLE,
    interrupt,
    licsync_taking_ctrl_c,
    owner_only,
    wine_gap,
)


def test_certs_writes_the_qmc_like_files(tmp_path: Path, licsync: Licsync) -> None:
    """``sim certs DIR`` writes root, client and server certificates; keys are 0600."""
    result = licsync(["sim", "certs", str(tmp_path / "certs")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "certs"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "client.pem",
        "client_key.pem",
        "root.pem",
        "root_key.pem",
        "server.pem",
        "server_key.pem",
        "site.yaml",
    ]
    for key in ("root_key.pem", "client_key.pem", "server_key.pem"):
        assert owner_only(folder / key), key
    root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
    client = x509.load_pem_x509_certificate((folder / "client.pem").read_bytes())
    server = x509.load_pem_x509_certificate((folder / "server.pem").read_bytes())
    assert client.subject.rfc4514_string() == "CN=QlikClient"
    assert client.issuer == root.subject
    client.verify_directly_issued_by(root)
    server.verify_directly_issued_by(root)
    names_in_san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names_in_san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in names_in_san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_certs_refuses_to_overwrite_without_force(tmp_path: Path, licsync: Licsync) -> None:
    """A second run refuses (exit 1, naming the files); ``--force`` overwrites."""
    assert licsync(["sim", "certs", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "root.pem").read_bytes()
    refused = licsync(["sim", "certs", str(tmp_path)])
    assert refused.exit_code == 1
    assert "root.pem" in refused.output
    assert "--force" in refused.output
    assert (tmp_path / "root.pem").read_bytes() == before
    forced = licsync(["sim", "certs", str(tmp_path), "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "root.pem").read_bytes() != before
    assert owner_only(tmp_path / "client_key.pem")


def test_serve_with_a_bad_tls_dir_exits_1(tmp_path: Path, licsync: Licsync) -> None:
    """``sim serve`` with an empty TLS folder explains and exits 1."""
    result = licsync(["sim", "serve", "--users", "0", "--tls-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("licsync: error: ")
    assert "sim certs" in result.output


def _first_line(process: subprocess.Popen[str]) -> str:
    """The first line the process prints; a thread so a hung process cannot hang the test."""
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        lines.append(process.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    return lines[0] if lines else ""


@wine_gap(WINE_NO_CONSOLE)
def test_serve_in_a_subprocess(tmp_path: Path) -> None:
    """``sim serve --port 0`` prints its URL; ``/qrs/about`` answers there; Ctrl-C stops it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        licsync_taking_ctrl_c("sim", "serve", "--port", "0", "--users", "25", "--seed", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        creationflags=NEW_GROUP,
    )
    try:
        line = _first_line(process)
        match = re.fullmatch(
            r"licsync simulator: serving QRS at (http://127\.0\.0\.1:\d+) \(25 users, seed 4\)\n",
            line,
        )
        assert match, line
        with qrs_client(match[1]) as client:
            about = client.get("/qrs/about")
            assert about.status_code == 200
            assert about.json()["databaseProvider"] == "licsync simulator"
            assert client.get("/qrs/user/count").json() == {"value": 28}
    finally:
        interrupt(process)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--users", "-1"],
        ["serve", "--fault-rate", "3"],
        ["serve", "--latency-ms", "-5"],
        ["serve", "--port", "99999"],
    ],
)
def test_serve_refuses_bad_values(args: list[str], licsync: Licsync) -> None:
    """Out-of-range values are a wrong command line: exit 64 with click's message, no serving."""
    result = licsync(["sim", *args])
    assert result.exit_code == 64
    assert f"Invalid value for '{args[1]}'" in result.stderr
