"""Keep session cookies and URL queries out of httpx's and httpcore's own log lines.

httpx logs every request at INFO with its full URL, query string included (the xrfkey and the
filters); httpcore's DEBUG trace logs response headers, ``Set-Cookie`` with the proxy's session
token included. licsync's logs end up in CI output, so :func:`install` adds a filter to those
two libraries' loggers that rewrites such records before any handler sees them. The filter only
removes text; it never drops a record. Installing is idempotent.
"""

from __future__ import annotations

import logging
import re
import threading

import httpx

__all__ = ["install"]

# httpcore writes response headers as the repr of a list of byte-string pairs.
_SET_COOKIE = re.compile(r"(\(b'set-cookie', b')[^']*(')", re.IGNORECASE)
_LOGGERS = ("httpx", "httpcore.http11", "httpcore.http2", "httpcore.connection")

_installed = False
_lock = threading.Lock()


class _Redact(logging.Filter):
    """Blank ``Set-Cookie`` values and strip queries from URLs in third-party HTTP logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args
            )
        if isinstance(record.msg, str) and "et-cookie" in record.msg.lower():
            record.msg = _SET_COOKIE.sub(r"\1[redacted]\2", record.msg)
        return True


def install() -> None:
    """Attach the redacting filter to httpx's and httpcore's loggers (once per process)."""
    global _installed  # noqa: PLW0603 - one process-wide installation is the point
    with _lock:
        if _installed:
            return
        redact = _Redact()
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(redact)
        _installed = True
