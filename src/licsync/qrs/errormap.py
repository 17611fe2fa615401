"""Translate HTTP failures into the ``licsync.errors`` QRS branch, with safe messages.

Every message names the method and the path without its query string (which carries the xrfkey
and filters), the status, and at most 200 sanitised characters of the body. Known secret values
(the JWT, the NTLM password, the key path) and the request's xrfkey are blanked out of excerpts
in case a server or proxy echoes them back.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.parse
from collections.abc import Iterable

import httpx

from licsync.errors import (
    QrsAuthError,
    QrsBadRequest,
    QrsConflict,
    QrsNotFound,
    QrsServerError,
    QrsStatusError,
    QrsThrottled,
    QrsTransportError,
)
from licsync.qrs import paths

__all__ = [
    "EXCERPT_LIMIT",
    "XRFKEY_REFUSED",
    "sanitise_excerpt",
    "status_error",
    "tls_cause",
    "transport_error",
]

EXCERPT_LIMIT = 200

XRFKEY_REFUSED = (
    "QRS refused the request: the xrfkey check failed (the xrfkey query parameter and "
    "X-Qlik-Xrfkey header must be present, equal and 16 alphanumerics)"
)

_REDACTED = "[redacted]"
# Read a little more than the excerpt needs so whitespace collapsing still fills it.
_RAW_LIMIT = 4 * EXCERPT_LIMIT


def sanitise_excerpt(body: bytes, *, redact: Iterable[str] = ()) -> str:
    """A one-line, printable, at most 200-character excerpt of a response body.

    Args:
        body: the raw body.
        redact: values to blank out wherever they appear, in any letter case and in the
            escaped forms a server might echo them in (JSON, URL encoding); a JWT's signature
            and payload also on their own.
    """
    patterns = _redaction_patterns(redact)
    longest = max((len(p) for p in patterns), default=0)
    # Redact over more than is kept, so a secret that starts inside the kept part and runs past
    # its end is still recognised whole.
    text = body[: _RAW_LIMIT + 8 * longest].decode("utf-8", "replace")
    if patterns:
        text = re.sub(
            "|".join(re.escape(p) for p in sorted(patterns, key=len, reverse=True)),
            _REDACTED,
            text,
            flags=re.IGNORECASE,
        )
    text = _without_pieces(text, patterns)
    text = text[: _RAW_LIMIT + len(_REDACTED)]
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if len(text) > EXCERPT_LIMIT:
        text = text[: EXCERPT_LIMIT - 3] + "..."
    return text


_MIN_PIECE = 16  # shorter pieces of a JWT are not secret enough to be worth blanking
_MIN_SHOWN = 8
"""Any run of this many characters of a secret is blanked too: a server that echoes a token
cut short (the first 20 characters of a ``ghp_...``) must not print its start."""


def _without_pieces(text: str, patterns: Iterable[str]) -> str:
    """``text`` with every stretch that shares :data:`_MIN_SHOWN` or more consecutive
    characters with a secret replaced by the redaction mark (letter case ignored)."""
    grams = {
        form[i : i + _MIN_SHOWN].casefold()
        for form in patterns
        for i in range(len(form) - _MIN_SHOWN + 1)
    }
    if not grams:
        return text
    folded = text.casefold()
    if len(folded) != len(text):  # casefold changed lengths (e.g. 'ß'): compare as lowered
        folded = text.lower()
    hidden = [False] * len(text)
    for start in range(len(text) - _MIN_SHOWN + 1):
        if folded[start : start + _MIN_SHOWN] in grams:
            for at in range(start, start + _MIN_SHOWN):
                hidden[at] = True
    if not any(hidden):
        return text
    out: list[str] = []
    at = 0
    while at < len(text):
        if hidden[at]:
            while at < len(text) and hidden[at]:
                at += 1
            out.append(_REDACTED)
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


def _redaction_patterns(redact: Iterable[str]) -> set[str]:
    patterns: set[str] = set()
    for secret in redact:
        if not secret:
            continue
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret, safe=""),
        }
        forms.update(piece for piece in secret.split(".") if len(piece) >= _MIN_PIECE)
        patterns.update(form for form in forms if form)
    return patterns


def status_error(
    method: str,
    path: str,
    status: int,
    body: bytes,
    *,
    redact: Iterable[str] = (),
    auth_hint: str = "",
    note: str = "",
) -> QrsStatusError:
    """The exception for a QRS error answer, its class chosen by status.

    Args:
        method: HTTP method.
        path: request path, without query string.
        status: HTTP status (>= 300).
        body: the response body.
        redact: values never to repeat from the body.
        auth_hint: what to check when authentication fails (depends on the auth mode).
        note: added after what the status means (e.g. why it was not retried).
    """
    excerpt = sanitise_excerpt(body, redact=redact)
    said = f" (QRS said: {excerpt})" if excerpt else ""
    where = f"{method} {path}"
    cls: type[QrsStatusError]
    if status == 400:
        cls, what = QrsBadRequest, "QRS refused the request as invalid"
    elif status in (401, 403):
        cls = QrsAuthError
        if "xsrf" in excerpt.casefold():
            what = XRFKEY_REFUSED
        else:
            hint = auth_hint or "check the credentials licsync authenticates with"
            what = f"QRS refused the request as unauthenticated or forbidden: {hint}"
    elif status == 404 and path.endswith(paths.ABOUT):
        # Every QRS answers /qrs/about: a 404 there is about the URL, not about an entity.
        cls, what = (
            QrsNotFound,
            "this is not QRS, or the virtual proxy prefix is wrong (every QRS answers "
            f"{paths.ABOUT}; check qrs_url and virtual_proxy)",
        )
    elif status == 404:
        cls, what = QrsNotFound, "the entity does not exist (any more)"
    elif status == 409:
        cls, what = QrsConflict, "the entity changed since it was read; re-run plan"
    elif status == 429:
        cls, what = QrsThrottled, "QRS asked licsync to slow down and retries ran out"
    elif status >= 500:
        cls, what = QrsServerError, "QRS failed while answering"
    elif 300 <= status < 400:
        # A virtual proxy redirects requests it did not authenticate to its login page.
        cls, what = (
            QrsStatusError,
            "QRS redirected the request (a virtual proxy sends unauthenticated requests to its "
            "login page: check the authentication settings)",
        )
        excerpt, said = "", ""
    else:
        cls, what = QrsStatusError, "unexpected answer"
    message = f"{where}: HTTP {status}: {what}{note}{said}"
    return cls(message, method=method, path=path, status=status, excerpt=excerpt)


def transport_error(
    method: str,
    path: str,
    origin: str,
    exc: httpx.RequestError,
    *,
    redact: Iterable[str] = (),
) -> QrsTransportError:
    """The exception for a request that got no HTTP answer.

    Args:
        method: HTTP method.
        path: request path, without query string.
        origin: ``scheme://host:port`` of the server (never carries a query or credentials).
        exc: what httpx raised.
        redact: values never to repeat from the underlying error text.
    """
    detail = sanitise_excerpt(str(exc).encode(), redact=redact) or type(exc).__name__
    tls = tls_cause(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        what = (
            "the QRS server certificate was not accepted (check tls.ca_file and that the URL "
            f"names the host in the certificate): {detail}"
        )
    elif tls is not None:
        what = (
            "the TLS handshake failed (is the client certificate one this server trusts?): "
            f"{detail}"
        )
    elif isinstance(exc, httpx.TimeoutException):
        what = f"timed out ({type(exc).__name__})"
    elif isinstance(exc, httpx.ConnectError):
        what = f"cannot connect: {detail}"
    else:
        what = f"the connection failed ({type(exc).__name__}): {detail}"
    message = f"{method} {path}: no answer from QRS at {origin}: {what}"
    return QrsTransportError(message, method=method, path=path)


def tls_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind a transport error, if it is one (TLS problems do not heal)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
