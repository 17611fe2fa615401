"""Certificates for the TLS simulator, shaped like the ones a QMC export gives a QRS client.

``write_certs(folder)`` writes:

* ``root.pem`` / ``root_key.pem``: a self-signed CA (Qlik Sense signs its certificates with
  the site's own CA; clients trust ``root.pem``);
* ``client.pem`` / ``client_key.pem``: a client certificate ``CN=QlikClient`` signed by the
  root, as the QMC exports it for API callers;
* ``server.pem`` / ``server_key.pem``: the simulator's server certificate for ``localhost``
  and ``127.0.0.1``, signed by the root.

Private keys are PKCS#1 PEM without a password (the QMC's default export) and mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from licsync.errors import UsageError

__all__ = ["CERT_FILES", "CertPaths", "write_certs"]

CERT_FILES = (
    "root.pem",
    "root_key.pem",
    "client.pem",
    "client_key.pem",
    "server.pem",
    "server_key.pem",
)
_KEY_SIZE = 2048
_VALIDITY = dt.timedelta(days=3 * 365)


@dataclass(frozen=True, slots=True)
class CertPaths:
    """Where :func:`write_certs` put each file."""

    root: Path
    root_key: Path
    client: Path
    client_key: Path
    server: Path
    server_key: Path


def write_certs(
    folder: str | Path,
    *,
    force: bool = False,
    dns_names: Iterable[str] = ("localhost",),
    ip_addresses: Iterable[str] = ("127.0.0.1",),
    write_private: Callable[[Path, bytes], None] | None = None,
) -> CertPaths:
    """Create the root CA, client and server certificates in ``folder``.

    ``write_private`` writes each private key (``licsync sim certs`` passes
    :func:`licsync.keyfile.write_private`: an owner-only ACL on Windows, where a mode means
    nothing); by default keys are created with mode 0600.

    Raises:
        UsageError: a file exists already (and ``force`` is false), or the folder is unusable.
    """
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target}: {exc.strerror}") from exc
    existing = [name for name in CERT_FILES if (target / name).exists()]
    if existing and not force:
        raise UsageError(f"{target} already holds {', '.join(existing)}; use --force to overwrite")
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate clock skew
    root_key = _new_key()
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "licsync-sim-CA")])
    root = (
        _builder(root_name, root_name, root_key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    client_key = _new_key()
    client = (
        _builder(_cn("QlikClient"), root_name, client_key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_authority(root_key), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    server_key = _new_key()
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    server = (
        _builder(_cn(next(iter(dns_names), "localhost")), root_name, server_key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(_authority(root_key), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    paths = CertPaths(*(target / name for name in CERT_FILES))
    _write(paths.root, _cert_pem(root), private=False)
    _write(paths.root_key, _key_pem(root_key), private=True, writer=write_private)
    _write(paths.client, _cert_pem(client), private=False)
    _write(paths.client_key, _key_pem(client_key), private=True, writer=write_private)
    _write(paths.server, _cert_pem(server), private=False)
    _write(paths.server_key, _key_pem(server_key), private=True, writer=write_private)
    return paths


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def _cn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority(root_key: rsa.RSAPrivateKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _write(
    path: Path, data: bytes, *, private: bool, writer: Callable[[Path, bytes], None] | None = None
) -> None:
    """Write ``data``; private keys are created 0600 (never readable by others, even briefly),
    or by ``writer``."""
    if writer is not None:
        writer(path, data)
        return
    mode = 0o600 if private else 0o644
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)  # O_CREAT's mode does not apply to a file that existed (--force)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
