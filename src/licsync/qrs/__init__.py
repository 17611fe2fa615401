"""The QRS HTTP client: auth, xrfkey, filters, retries, reads and writes.

::

    client = QrsClient.from_site(site, env=os.environ, read_only=True)
    actual = fetch_actual(client)          # eight requests, whatever the site's size

Modules: :mod:`.client` (transport, xrfkey, retries, error translation), :mod:`.auth` (the four
auth modes), :mod:`.filters` (filter expressions and query strings), :mod:`.parse` (JSON ->
actual state, pure), :mod:`.read` (``fetch_actual``), :mod:`.write` (allocate, reclaim, rules),
:mod:`.retry`, :mod:`.errormap`, :mod:`.paths`.
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
    DEFAULT_RULE_ACTIONS,
    AllocationResult,
    ReclaimResult,
    ReinstateResult,
    RuleResult,
    allocate,
    allocate_many,
    create_rule,
    delete_rule,
    reclaim,
    reclaim_many,
    reinstate_quarantined_allocation,
    update_rule,
)

__all__ = [
    "DEFAULT_RULE_ACTIONS",
    "DEFAULT_TIMEOUT",
    "AllocationResult",
    "Credentials",
    "EndpointTiming",
    "QrsClient",
    "ReadResult",
    "ReadTiming",
    "ReclaimResult",
    "ReinstateResult",
    "RetryPolicy",
    "RuleResult",
    "allocate",
    "allocate_many",
    "certificate_credentials",
    "create_rule",
    "credentials_from_site",
    "delete_rule",
    "fetch_actual",
    "find_user",
    "header_credentials",
    "jwt_credentials",
    "new_xrfkey",
    "ntlm_credentials",
    "read_actual",
    "reclaim",
    "reclaim_many",
    "reinstate_quarantined_allocation",
    "tls_context",
    "update_rule",
]
