"""Integrated Windows authentication: HTTP Negotiate with the process's own identity.

On Windows, pyspnego asks SSPI for a token of the logged-on account (a gMSA, the CI runner's
service account, the admin at the PC): Kerberos first, NTLM when Kerberos cannot be used (no
SPN for the host, an IP address as host, no domain controller in reach). No password exists
anywhere in licsync. Elsewhere, pyspnego uses GSSAPI (a Kerberos ticket from ``kinit`` or a
keytab) or, failing that, NTLM with the credentials of the file named by ``NTLM_USER_FILE``.

The exchange (RFC 4559): the proxy answers ``401`` with ``WWW-Authenticate: Negotiate``; each
``Authorization: Negotiate <token>`` gets either another ``401`` carrying the server's token
(NTLM takes two legs, on one connection) or the answer itself, possibly with the server's
final token (Kerberos mutual authentication), which is checked when present.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Generator
from typing import Any

import httpx

from licsync.errors import QrsAuthError

__all__ = ["MAX_LEGS", "NegotiateAuth", "offers_negotiate"]

MAX_LEGS = 4
"""Kerberos takes one leg, NTLM two; a server asking for more is going round in circles."""

_SCHEME = "negotiate"


def offers_negotiate(response: httpx.Response) -> bool:
    """Whether a 401 offers the Negotiate scheme."""
    return any(
        part.strip().split(" ", 1)[0].lower() == _SCHEME
        for offer in response.headers.get_list("www-authenticate")
        for part in offer.split(",")
    )


def _server_token(response: httpx.Response) -> bytes | None:
    """The token of ``WWW-Authenticate: Negotiate <token>``, or None without one.

    Raises:
        ValueError: the token is not base64.
    """
    for offer in response.headers.get_list("www-authenticate"):
        for part in offer.split(","):
            scheme, _, token = part.strip().partition(" ")
            if scheme.lower() == _SCHEME and token.strip():
                return base64.b64decode(token.strip(), validate=True)
    return None


class NegotiateAuth(httpx.Auth):
    """An httpx auth flow for ``Negotiate`` with the process's identity (see the module).

    Args:
        context_factory: makes the security context for a host name (tests pass one that
            forces NTLM); default: pyspnego's client, service ``HTTP``, protocol negotiate,
            no user name or password (the process's own credentials).
    """

    requires_response_body = True  # read the 401 so its connection is reused for the next leg

    def __init__(self, context_factory: Any = None) -> None:
        self._factory = context_factory or _default_context

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401 or not offers_negotiate(response):
            return
        host = request.url.host
        try:
            context = self._factory(host)
            token = context.step()
        except Exception as exc:  # pyspnego's errors, or SSPI's, as a readable auth error
            raise _failed(
                request, f"no Negotiate token for this process's identity ({exc})"
            ) from exc
        for _ in range(MAX_LEGS):
            request.headers["Authorization"] = f"Negotiate {base64.b64encode(token).decode()}"
            response = yield request
            try:
                answer = _server_token(response)
            except (binascii.Error, ValueError):
                raise _failed(request, "the server's Negotiate token is not base64") from None
            if response.status_code != 401:
                if answer is not None and not context.complete:
                    try:
                        context.step(answer)  # mutual authentication: the server proves itself
                    except Exception as exc:
                        raise _failed(
                            request, f"the server's final Negotiate token is not valid ({exc})"
                        ) from exc
                return
            if answer is None:
                raise _failed(
                    request,
                    "the proxy refused this process's identity (401 without a Negotiate "
                    "token): check that the account is a QRS user with RootAdmin or "
                    "DeploymentAdmin, and that the proxy trusts the domain",
                )
            try:
                token = context.step(answer)
            except Exception as exc:
                raise _failed(request, f"the server's Negotiate token was refused ({exc})") from exc
            if not token:
                raise _failed(request, "the handshake ended but the proxy still answers 401")
        raise _failed(request, f"the proxy asked for more than {MAX_LEGS} Negotiate legs")


def _default_context(host: str) -> Any:
    import spnego  # noqa: PLC0415 - the negotiate extra, imported only when used

    return spnego.client(hostname=host, service="HTTP", protocol="negotiate")


def _failed(request: httpx.Request, why: str) -> QrsAuthError:
    endpoint = str(request.url.copy_with(query=None, fragment=None))
    message = f"{request.method} {endpoint}: Windows (Negotiate) authentication failed: {why}"
    return QrsAuthError(
        message, method=request.method, path=request.url.path, status=401, excerpt=""
    )
