"""A site's connection: where QRS is, how licsync authenticates, how TLS is trusted.

Secrets never appear here, only the names of the environment variables that hold them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from licsync.identity import Source

__all__ = [
    "DEFAULT_ACTING_USER",
    "EMBEDDED",
    "AuthConfig",
    "AuthMode",
    "Site",
    "TlsConfig",
]


DEFAULT_ACTING_USER = "INTERNAL\\sa_api"  # Qlik's built-in API service account

EMBEDDED = "embedded"
"""The ``qrs_url`` (and ``--qrs-url``) that means the built-in simulator with the demo
organisation."""


class AuthMode(StrEnum):
    CERTIFICATE = "certificate"
    HEADER = "header"
    JWT = "jwt"
    NTLM = "ntlm"
    NEGOTIATE = "negotiate"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """How the QRS server certificate is trusted.

    Attributes:
        ca_file: PEM bundle to trust (the site's ``root.pem``); None uses the system store.
        verify: False only when the YAML says ``insecure_skip_verify: true`` by name.
        allow_plain_http: True only when the YAML says ``allow_plain_http: true`` by name: a
            JWT, header-authenticated user or Windows password may then travel unencrypted to
            a host that is not this machine.
    """

    ca_file: str | None = None
    verify: bool = True
    allow_plain_http: bool = False


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How licsync authenticates. Secrets appear only as environment-variable names.

    Attributes:
        mode: certificate | header | jwt | ntlm | negotiate (the process's own Windows
            identity: no user or secret here).
        user: the acting user ``DIRECTORY\\userid`` (``X-Qlik-User`` in certificate mode,
            the header value in header mode, the Windows account in ntlm mode).
        cert_file: client certificate PEM (certificate mode).
        key_file_env: variable holding the path of the client key PEM (certificate mode).
        header_name: the virtual proxy's header (header mode).
        token_env: variable holding the JWT (jwt mode).
        password_env: variable holding the Windows password (ntlm mode).
    """

    mode: AuthMode = AuthMode.CERTIFICATE
    user: str = DEFAULT_ACTING_USER
    cert_file: str | None = None
    key_file_env: str | None = None
    header_name: str | None = None
    token_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """One Qlik Sense site.

    Attributes:
        name: the site's name (``--site`` selects by it).
        qrs_url: QRS base URL (``https://node:4242``), or ``embedded`` for the built-in simulator.
        virtual_proxy: prefix for header/jwt/ntlm modes ("" for the default virtual proxy).
        source: where ``site:`` is written.
        field_sources: (dotted field, where) for the fields an error may concern, so that a
            plan-time error about ``tls.ca_file`` points at that line, not at ``site:``.
        request_timeout: seconds one QRS request may take in all, retries included; None for
            the client's default.
        max_answer_mb: the largest QRS answer accepted, in MiB after decoding; None for the
            client's default.
    """

    name: str
    qrs_url: str
    auth: AuthConfig = field(default_factory=AuthConfig)
    virtual_proxy: str = ""
    tls: TlsConfig = field(default_factory=TlsConfig)
    source: Source | None = None
    field_sources: tuple[tuple[str, Source], ...] = ()
    request_timeout: float | None = None
    max_answer_mb: int | None = None

    def source_of(self, name: str) -> Source | None:
        """Where the YAML sets field ``name`` (``auth.cert_file``), or the closest enclosing
        mapping when it does not (``auth:``); else where ``site:`` is."""
        for known, where in self.field_sources:
            if known == name:
                return where
        return self.source
