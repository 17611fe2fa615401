"""A client key exported with a password is refused with a clear message, never a prompt."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from licsync.errors import SecretError
from licsync.qrs import QrsClient
from licsync.sim import write_certs
from licsync.site import AuthConfig, AuthMode, Site, TlsConfig


def test_an_encrypted_key_is_refused_by_name(tmp_path: Path) -> None:
    """The message names the variable and the fix; no terminal prompt, no key path."""
    certs = tmp_path / "certs"
    write_certs(certs)
    key = serialization.load_pem_private_key((certs / "client_key.pem").read_bytes(), None)
    encrypted = tmp_path / "SECRET-client_key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"export-password"),
        )
    )
    auth = AuthConfig(
        mode=AuthMode.CERTIFICATE,
        user="INTERNAL\\sa_api",
        cert_file=str(certs / "client.pem"),
        key_file_env="QRS_KEY",
    )
    site = Site("tls", "https://qlik.example:4242", auth, tls=TlsConfig(str(certs / "root.pem")))
    with pytest.raises(SecretError, match="QRS_KEY is encrypted") as caught:
        QrsClient.from_site(site, env={"QRS_KEY": str(encrypted)}, read_only=True)
    assert "SECRET" not in "".join(traceback.format_exception(caught.value))
