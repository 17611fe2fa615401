"""GitHub Enterprise Server behind an internal CA: the forge clients trust the operating
system's store (the optional ``truststore``), so a CA the machine trusts is enough; certifi's
bundle alone refuses it. Verification itself is never off."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runner import Licsync
from github_standin import OWNER, REPO, TOKEN, GitHubStandIn, serve
from licsync.forge import tls
from licsync.sim.certs import write_certs

pytest.importorskip("truststore", reason="the truststore extra is not installed")


@pytest.fixture
def internal_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    paths = write_certs(tmp_path / "ca")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths.server, paths.server_key)
    return paths.root, context


@pytest.fixture
def enterprise(
    internal_ca: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> Iterator[GitHubStandIn]:
    """GitHub Enterprise Server (/api/v3) over TLS with a certificate of the internal CA."""
    _, context = internal_ca
    with serve("/api/v3", tls=context) as standin:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{REPO}")
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        yield standin


def _issue(licsync: Licsync, tmp_path: Path) -> object:
    body = tmp_path / "body.md"
    body.write_text("x", encoding="utf-8")
    return licsync(["ci", "issue", "--forge", "github", "--title", "t", "--key", "k", str(body)])


def test_a_ca_the_system_trusts_is_enough(
    licsync: Licsync,
    enterprise: GitHubStandIn,
    internal_ca: tuple[Path, ssl.SSLContext],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The system store here is OpenSSL's, which SSL_CERT_FILE adds to (on Windows and macOS it
    is the OS's own store, which this machine cannot show)."""
    root, _ = internal_ca
    monkeypatch.setenv("SSL_CERT_FILE", str(root))
    assert tls.uses_system_store()
    result = _issue(licsync, tmp_path)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert enterprise.requests[0].path.startswith("/api/v3/repos/")


def test_the_clients_verify_against_the_system_store_when_they_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With truststore: its SSLContext (the OS's store; on Linux OpenSSL's paths); without it,
    httpx's own verification (certifi's CAs, or SSL_CERT_FILE). Never False."""
    import truststore

    assert isinstance(tls.forge_verify(), truststore.SSLContext)
    monkeypatch.setattr(tls, "truststore", None)
    assert tls.forge_verify() is True
    assert not tls.uses_system_store()


def test_a_ca_nobody_trusts_is_refused(
    licsync: Licsync, enterprise: GitHubStandIn, tmp_path: Path
) -> None:
    result = _issue(licsync, tmp_path)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "ConnectError" in result.stderr  # type: ignore[attr-defined]
