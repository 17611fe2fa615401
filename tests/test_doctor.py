"""``licsync doctor`` over real sockets: all pass against the TLS simulator; a wrong CA, an
expired client certificate, a stopped server and a clock 10 minutes off each give a line that
says what is wrong; nothing is written to the site."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from cli_runner import Licsync, Result
from licsync.cli.sim import KEY_VARIABLE
from licsync.sim import Simulator, start_simulator, write_certs
from licsync.sim.demo import demo_organisation
from portable import NEW_GROUP, WINE_NO_CONSOLE, interrupt, wine_gap

WRITES = ("POST", "PUT", "DELETE", "PATCH")
CHECKS = [
    "site",
    "client certificate",
    "connection",
    "authentication",
    "qrs version",
    "clock",
    "acting user",
    "licence rights",
    "licence",
    "routes",
    "capacity",
    "denial logs",
    "lock",
    "audit log",
]


@pytest.fixture
def tls_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, licsync: Licsync) -> Iterator[Path]:
    """What ``licsync sim certs DIR`` writes (certificates and a site in certificate mode),
    the client key named in the environment, machine state under ``tmp_path``."""
    folder = tmp_path / "site"
    assert licsync(["sim", "certs", str(folder)]).exit_code == 0
    monkeypatch.setenv(KEY_VARIABLE, str(folder / "client_key.pem"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return folder


def _url(sim: Simulator) -> str:
    return sim.url.replace("://127.0.0.1:", "://localhost:")  # the certificate names localhost


def _doctor(licsync: Licsync, folder: Path, url: str, *more: str) -> Result:
    return licsync(["doctor", str(folder), "--qrs-url", url, *more])


def _lines(result: Result) -> dict[str, tuple[str, str]]:
    """Check name -> (status mark, message), from the text report."""
    found = {}
    for line in result.stdout.splitlines()[:-1]:
        mark, rest = line[:4].strip(), line[6:]
        name = next(n for n in sorted(CHECKS, key=len, reverse=True) if rest.startswith(n))
        found[name] = (mark, rest[len(name) :].strip())
    return found


def test_every_check_passes_against_the_tls_simulator(tls_site: Path, licsync: Licsync) -> None:
    """Each check has its line, in order; exit 0; not one write reached the site."""
    with start_simulator(demo_organisation(), tls_dir=tls_site) as sim:
        sim.reset_counts()
        result = _doctor(licsync, tls_site, _url(sim))
        counts = sim.request_counts()
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert list(lines) == CHECKS
    assert all(mark in ("ok", "WARN", "skip") for mark, _ in lines.values()), result.stdout
    assert lines["connection"][0] == "ok"
    assert "TLS chain verified against" in lines["connection"][1]
    assert "CN=QlikClient, valid until" in lines["client certificate"][1]
    assert "serial and control number" in lines["licence"][1]
    assert "routes apply uses are served" in lines["routes"][1]
    assert result.stdout.rstrip().endswith("every check passed")
    assert not any(counts.get(m) for m in WRITES), counts


def test_json_report(tls_site: Path, licsync: Licsync) -> None:
    with start_simulator(demo_organisation(), tls_dir=tls_site) as sim:
        result = _doctor(licsync, tls_site, _url(sim), "--format", "json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["site"] == "sim-tls"
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert {c["status"] for c in report["checks"]} <= {"ok", "warn", "skip"}


def test_a_wrong_ca_says_the_server_is_not_trusted(
    tls_site: Path, licsync: Licsync, tmp_path: Path
) -> None:
    other = write_certs(tmp_path / "other")
    shutil.copyfile(other.root, tls_site / "root.pem")
    with start_simulator(demo_organisation(), tls_dir=tmp_path / "site") as sim:
        result = _doctor(licsync, tls_site, _url(sim))
    assert result.exit_code == 1
    mark, message = _lines(result)["connection"]
    assert mark == "FAIL"
    assert "TLS failed" in message
    assert "server certificate was not accepted" in message
    assert _lines(result)["licence"][0] == "skip"


def test_an_expired_client_certificate_says_so(tls_site: Path, licsync: Licsync) -> None:
    _expire_client_certificate(tls_site)
    with start_simulator(demo_organisation(), tls_dir=tls_site) as sim:
        result = _doctor(licsync, tls_site, _url(sim))
    assert result.exit_code == 1
    mark, message = _lines(result)["client certificate"]
    assert mark == "FAIL"
    assert re.search(r"CN=QlikClient expired on \d{4}-\d\d-\d\d", message), message
    assert _lines(result)["connection"][0] == "FAIL"


def test_a_client_certificate_expiring_soon_is_a_warning(tls_site: Path, licsync: Licsync) -> None:
    _expire_client_certificate(tls_site, days_left=10)
    with start_simulator(demo_organisation(), tls_dir=tls_site) as sim:
        result = _doctor(licsync, tls_site, _url(sim))
    assert result.exit_code == 0, result.output
    mark, message = _lines(result)["client certificate"]
    assert mark == "WARN"
    assert "in 9 days" in message or "in 10 days" in message


def test_a_stopped_server_cannot_be_reached(tls_site: Path, licsync: Licsync) -> None:
    with start_simulator(demo_organisation(), tls_dir=tls_site) as sim:
        url = _url(sim)
    result = _doctor(licsync, tls_site, url)
    assert result.exit_code == 1
    mark, message = _lines(result)["connection"]
    assert mark == "FAIL"
    assert "cannot be reached" in message
    assert "cannot connect" in message
    assert _lines(result)["capacity"] == ("skip", "not checked: QRS did not answer")


def test_a_clock_ten_minutes_off_says_by_how_much(tls_site: Path, licsync: Licsync) -> None:
    with start_simulator(demo_organisation(), tls_dir=tls_site, date_skew_seconds=600) as sim:
        result = _doctor(licsync, tls_site, _url(sim))
    assert result.exit_code == 1
    mark, message = _lines(result)["clock"]
    assert mark == "FAIL"
    assert "QRS's clock is 10 min ahead of this machine's" in message


def test_an_expired_licence_fails(tls_site: Path, licsync: Licsync) -> None:
    store = demo_organisation()
    store.set_licence("key", expired=True)
    with start_simulator(store, tls_dir=tls_site) as sim:
        result = _doctor(licsync, tls_site, _url(sim))
    assert result.exit_code == 1
    mark, message = _lines(result)["licence"]
    assert mark == "FAIL"
    assert "signed licence key: EXPIRED" in message


def test_a_site_that_cannot_be_opened_is_one_failed_line(
    tls_site: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE)
    result = _doctor(licsync, tls_site, "https://localhost:1")
    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL  site")
    assert KEY_VARIABLE in result.stdout


@wine_gap(WINE_NO_CONSOLE)
def test_against_sim_serve_in_a_subprocess(tls_site: Path, licsync: Licsync) -> None:
    """``licsync sim serve --demo --tls-dir DIR`` in its own process: every check passes."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "licsync", "sim", "serve", "--demo", "--tls-dir", str(tls_site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        creationflags=NEW_GROUP,
    )
    try:
        line = _first_line(process)
        match = re.search(r"serving QRS at https://127\.0\.0\.1:(\d+) ", line)
        assert match, line
        result = _doctor(licsync, tls_site, f"https://localhost:{match[1]}")
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
    assert result.exit_code == 0, result.output
    assert list(_lines(result)) == CHECKS


def _first_line(process: subprocess.Popen[str]) -> str:
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        lines.append(process.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    return lines[0] if lines else ""


def _expire_client_certificate(folder: Path, *, days_left: int = -2) -> None:
    """A new client.pem signed by the site's root: valid until ``days_left`` days from now
    (negative: expired that long ago)."""
    root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
    root_key = serialization.load_pem_private_key((folder / "root_key.pem").read_bytes(), None)
    assert isinstance(root_key, rsa.RSAPrivateKey)
    client_key = serialization.load_pem_private_key((folder / "client_key.pem").read_bytes(), None)
    assert isinstance(client_key, rsa.RSAPrivateKey)
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "QlikClient")]))
        .issuer_name(root.subject)
        .public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .sign(root_key, hashes.SHA256())
    )
    (folder / "client.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
