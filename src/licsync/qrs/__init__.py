"""The QRS HTTP client: auth, xrfkey, filters, retries and reads.

::

    client = QrsClient.from_site(site, env=os.environ, read_only=True)
    actual = fetch_actual(client)          # eight requests, whatever the site's size

Modules: :mod:`.client` (transport, xrfkey, retries, error translation), :mod:`.auth` (the four
auth modes), :mod:`.filters` (filter expressions and query strings), :mod:`.parse` (JSON ->
actual state, pure), :mod:`.read` (``fetch_actual``), :mod:`.retry`, :mod:`.errormap`,
:mod:`.paths`. The writes live with apply, in :mod:`licsync.apply.writer`.
"""

from __future__ import annotations

from licsync.qrs.auth import (
    Credentials,
    certificate_credentials,
    credentials_from_site,
    header_credentials,
    jwt_credentials,
    ntlm_credentials,
    tls_context,
)
from licsync.qrs.client import DEFAULT_TIMEOUT, QrsClient, new_xrfkey
from licsync.qrs.read import (
    EndpointTiming,
    ReadResult,
    ReadTiming,
    fetch_actual,
    find_user,
    read_actual,
)
from licsync.qrs.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "Credentials",
    "EndpointTiming",
    "QrsClient",
    "ReadResult",
    "ReadTiming",
    "RetryPolicy",
    "certificate_credentials",
    "credentials_from_site",
    "fetch_actual",
    "find_user",
    "header_credentials",
    "jwt_credentials",
    "new_xrfkey",
    "ntlm_credentials",
    "read_actual",
    "tls_context",
]
