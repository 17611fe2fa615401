"""How the forge clients verify TLS: the operating system's trust store when it can be used.

GitHub Enterprise Server, a self-managed GitLab and Azure DevOps Server often present a
certificate of an internal CA, and a TLS-inspecting proxy re-signs every public site with its
own; the machine trusts those CAs, certifi's bundle (httpx's default) does not. With the
optional ``truststore`` package (``pip install 'licsync[truststore]'``) the clients verify
against the system store (Windows' and macOS' own, OpenSSL's paths on Linux, which include
``SSL_CERT_FILE``); without it, against certifi's CAs. Verification is never turned off here.
"""

from __future__ import annotations

import ssl

try:
    import truststore
except ImportError:  # the optional extra is not installed
    truststore = None  # type: ignore[assignment, unused-ignore]

__all__ = ["forge_verify", "uses_system_store"]


def uses_system_store() -> bool:
    """Whether the forge clients trust the operating system's certificate store."""
    return truststore is not None


def forge_verify() -> ssl.SSLContext | bool:
    """httpx's ``verify`` for a forge client: a context on the system store, or True
    (certifi's CAs)."""
    if truststore is None:
        return True
    # Annotated: without the extra installed, mypy sees truststore as Any.
    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context
