"""The QRS HTTP client: auth, xrfkey, filters, retries, reads and writes.

::

    client = QrsClient.from_site(site, env=os.environ, read_only=True)
    actual = fetch_actual(client)          # eight requests, whatever the site's size

Modules: :mod:`.client` (transport, xrfkey, retries, error translation), :mod:`.auth` (the four
auth modes), :mod:`.filters` (filter expressions and query strings), :mod:`.parse` (JSON ->
actual state, pure), :mod:`.read` (``fetch_actual``), :mod:`.write` (``QrsWriter`` and
``RecordingWriter``: one result per change), :mod:`.retry`, :mod:`.errormap`, :mod:`.paths`.
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
from licsync.qrs.write import (
    ALLOCATE_CHUNK,
    DEFAULT_RULE_ACTIONS,
    RECLAIM_CHUNK,
    Outcome,
    QrsWriter,
    RecordingWriter,
    Request,
    Writer,
    WriteResult,
)

__all__ = [
    "ALLOCATE_CHUNK",
    "DEFAULT_RULE_ACTIONS",
    "DEFAULT_TIMEOUT",
    "RECLAIM_CHUNK",
    "Credentials",
    "EndpointTiming",
    "Outcome",
    "QrsClient",
    "QrsWriter",
    "ReadResult",
    "ReadTiming",
    "RecordingWriter",
    "Request",
    "RetryPolicy",
    "WriteResult",
    "Writer",
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
