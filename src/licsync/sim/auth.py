"""Who is calling: ``X-Qlik-User`` on direct calls, and the virtual proxies' authentication.

Direct ``/qrs`` calls stand for port 4242 with a client certificate (enforced by the server's
TLS when it has a ``tls_dir``): the caller is whoever ``X-Qlik-User`` names, or
``INTERNAL\\sa_repository`` without the header.

Virtual proxies stand for port 443: ``/<prefix>/qrs/...``. Each authenticates in its own way,
then keeps a session cookie ``X-Qlik-Session-<prefix>``:

* ``header``: a header (default ``hdr-usr``) carrying ``DIRECTORY\\userid``;
* ``jwt``: ``Authorization: Bearer <JWT>``, RS256, verified against a configured public key or
  certificate; claims ``userId`` and ``userDirectory`` name the user; ``exp``/``nbf`` are
  checked against the simulator's clock;
* ``windows``: the User-Agent must contain the "Windows authentication pattern" (default
  ``Windows``), else a 302 to forms login; then NTLM through pyspnego's acceptor, which reads
  its users from the file named by ``NTLM_USER_FILE`` (``DOMAIN:user:password`` lines).
  A POST/PUT/DELETE without a session cookie is redirected (302): Qlik's documented reason for
  doing a GET first.

A proxy caller must be an existing QRS user holding ``RootAdmin`` or ``DeploymentAdmin``
(simulator assumption), and neither inactive nor blocked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import importlib.util
import json
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from licsync.errors import UsageError
from licsync.identity import split_user
from licsync.sim.errors import SimRefusal
from licsync.sim.exchange import (
    Connection,
    Request,
    Response,
    empty_response,
    text_response,
)
from licsync.sim.store import SERVICE_CALLER, SimStore

__all__ = [
    "FORMS_LOGIN_PATH",
    "MAX_SESSIONS",
    "WINDOWS_LOGIN_PATH",
    "Caller",
    "ProxyAuthenticator",
    "ProxyConfig",
    "VirtualProxy",
    "parse_qlik_user",
]

log = logging.getLogger(__name__)

FORMS_LOGIN_PATH = "internal_forms_authentication/"
"""Where a non-Windows User-Agent is sent (QPS's forms login page, by its usual path)."""

WINDOWS_LOGIN_PATH = "internal_windows_authentication/"
"""Where a write without a session is sent (QPS's Windows login hop, by its usual path)."""

MAX_SESSIONS = 10_000
"""Proxy sessions kept; the oldest is forgotten beyond this (its client authenticates again)."""

ProxyKind = Literal["header", "jwt", "windows"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request.

    Attributes:
        directory, userid: the user as the request named it.
        set_cookie: a ``Set-Cookie`` value when a proxy session was just created.
    """

    directory: str
    userid: str
    set_cookie: str = ""

    @property
    def name(self) -> str:
        """``DIRECTORY\\userid``: what QRS writes into ``modifiedByUserName``."""
        return f"{self.directory}\\{self.userid}"


@dataclass(frozen=True, slots=True)
class VirtualProxy:
    """One virtual proxy: its prefix and how it authenticates.

    Attributes:
        prefix: the path prefix (``hdr`` serves ``/hdr/qrs/...``); matched case-insensitively.
        kind: ``header``, ``jwt`` or ``windows``.
        header_name: the header carrying ``DIRECTORY\\userid`` (header kind).
        jwt_key_pem: PEM public key or certificate verifying RS256 tokens (jwt kind).
        jwt_user_id_claim / jwt_user_directory_claim: the claims naming the user.
        windows_pattern: the User-Agent must contain this (windows kind, case-insensitive).
    """

    prefix: str
    kind: ProxyKind
    header_name: str = "hdr-usr"
    jwt_key_pem: bytes | None = None
    jwt_user_id_claim: str = "userId"
    jwt_user_directory_claim: str = "userDirectory"
    windows_pattern: str = "Windows"

    @property
    def cookie_name(self) -> str:
        """The session cookie this proxy sets."""
        return f"X-Qlik-Session-{self.prefix}"


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """The virtual proxies the simulator serves.

    Attributes:
        proxies: by default ``hdr`` (header), ``jwt`` (JWT, no key: answers 501 until one is
            configured) and ``win`` (Windows/NTLM).
        require_admin: refuse (403) proxy callers without ``RootAdmin``/``DeploymentAdmin``.
    """

    proxies: tuple[VirtualProxy, ...] = (
        VirtualProxy("hdr", "header"),
        VirtualProxy("jwt", "jwt"),
        VirtualProxy("win", "windows"),
    )
    require_admin: bool = True

    @classmethod
    def with_jwt_key(cls, pem: bytes) -> ProxyConfig:
        """The default proxies, the ``jwt`` one verifying with ``pem`` (key or certificate)."""
        return cls(
            (
                VirtualProxy("hdr", "header"),
                VirtualProxy("jwt", "jwt", jwt_key_pem=pem),
                VirtualProxy("win", "windows"),
            )
        )


def parse_qlik_user(value: str) -> tuple[str, str]:
    """Parse ``UserDirectory=<dir>; UserId=<id>`` (space optional, values URL-encoded).

    Raises:
        SimRefusal: 400 when the header is malformed.
    """
    fields: dict[str, str] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        key, sep, raw = part.partition("=")
        if not sep:
            raise SimRefusal(400, _QLIK_USER_FORMAT)
        fields[key.strip().lower()] = unquote(raw.strip())
    directory = fields.get("userdirectory", "")
    userid = fields.get("userid", "")
    if not directory or not userid:
        raise SimRefusal(400, _QLIK_USER_FORMAT)
    return directory, userid


_QLIK_USER_FORMAT = (
    "Malformed X-Qlik-User header: expected UserDirectory=<directory>; UserId=<userid>"
)


def direct_caller(request: Request) -> Caller:
    """The caller of a direct ``/qrs`` call (certificate trust): ``X-Qlik-User`` or the service."""
    header = request.header("x-qlik-user")
    if not header:
        directory, _, userid = SERVICE_CALLER.partition("\\")
        return Caller(directory, userid)
    return Caller(*parse_qlik_user(header))


@dataclass(frozen=True, slots=True)
class _Session:
    prefix: str
    directory: str
    userid: str


class ProxyAuthenticator:
    """Authenticates requests through the virtual proxies and keeps their sessions."""

    def __init__(self, config: ProxyConfig, store: SimStore) -> None:
        self.config = config
        self.store = store
        self._by_prefix = {p.prefix.lower(): p for p in config.proxies}
        self._keys = {
            p.prefix.lower(): _load_key(p.jwt_key_pem) for p in config.proxies if p.jwt_key_pem
        }
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def match(self, path: str) -> tuple[VirtualProxy, str] | None:
        """``(proxy, rest)`` when ``path`` is ``/<prefix>/...`` of a configured proxy."""
        prefix, sep, rest = path.lstrip("/").partition("/")
        proxy = self._by_prefix.get(prefix.lower())
        if proxy is None:
            return None
        return proxy, "/" + rest if sep else "/"

    def authenticate(
        self, proxy: VirtualProxy, request: Request, connection: Connection
    ) -> Caller | Response:
        """The caller, or the response the proxy answers instead (302, 401, 403, 501)."""
        session = self._session(proxy, request)
        if proxy.kind == "header":
            outcome = self._header(proxy, request, session)
        elif proxy.kind == "jwt":
            outcome = self._jwt(proxy, request, session)
        else:
            outcome = self._windows(proxy, request, connection, session)
        if isinstance(outcome, Response):
            return outcome
        refusal = self._authorise(outcome)
        if refusal is not None:
            return refusal
        if session is not None and (session.directory, session.userid) == (
            outcome.directory,
            outcome.userid,
        ):
            return outcome
        return Caller(outcome.directory, outcome.userid, self._new_session(proxy, outcome, request))

    # -- kinds

    def _header(
        self, proxy: VirtualProxy, request: Request, session: _Session | None
    ) -> Caller | Response:
        value = request.header(proxy.header_name)
        if value:
            user = split_user(value.strip())
            if user is None:
                return text_response(401, f"Header {proxy.header_name} must be DIRECTORY\\userid")
            return Caller(*user)
        if session is not None:
            return Caller(session.directory, session.userid)
        return text_response(401, f"Authentication failed: header {proxy.header_name} is missing")

    def _jwt(
        self, proxy: VirtualProxy, request: Request, session: _Session | None
    ) -> Caller | Response:
        key = self._keys.get(proxy.prefix.lower())
        if key is None:
            return text_response(501, f"Virtual proxy {proxy.prefix}: no JWT key is configured")
        authorization = request.header("authorization")
        if authorization[:7].lower() == "bearer ":
            try:
                claims = verify_rs256(authorization[7:].strip(), key, self.store.now())
            except SimRefusal as refusal:
                return text_response(401, refusal.reason, ("WWW-Authenticate", "Bearer"))
            userid = claims.get(proxy.jwt_user_id_claim)
            directory = claims.get(proxy.jwt_user_directory_claim)
            if (
                not isinstance(userid, str)
                or not isinstance(directory, str)
                or not userid
                or not directory
            ):
                return text_response(
                    401,
                    f"JWT lacks the claims {proxy.jwt_user_id_claim} and "
                    f"{proxy.jwt_user_directory_claim}",
                    ("WWW-Authenticate", "Bearer"),
                )
            return Caller(directory, userid)
        if session is not None:
            return Caller(session.directory, session.userid)
        return text_response(
            401, "Authentication failed: no bearer token", ("WWW-Authenticate", "Bearer")
        )

    def _windows(
        self,
        proxy: VirtualProxy,
        request: Request,
        connection: Connection,
        session: _Session | None,
    ) -> Caller | Response:
        if not _spnego_available():
            return text_response(
                501, "Windows authentication needs pyspnego (pip install pyspnego)"
            )
        if proxy.windows_pattern.lower() not in request.header("user-agent").lower():
            return _redirect(proxy, FORMS_LOGIN_PATH)
        if session is not None:
            return Caller(session.directory, session.userid)
        if request.method not in ("GET", "HEAD"):
            # The login redirect would turn the write into a GET; Qlik: "perform a GET first".
            return _redirect(proxy, WINDOWS_LOGIN_PATH)
        return _ntlm_step(request, connection)

    # -- sessions and authorisation

    def _session(self, proxy: VirtualProxy, request: Request) -> _Session | None:
        token = _cookie(request.header("cookie"), proxy.cookie_name)
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
        return session if session is not None and session.prefix == proxy.prefix else None

    def _new_session(self, proxy: VirtualProxy, caller: Caller, request: Request) -> str:
        token = str(uuid.uuid4())
        with self._lock:
            self._sessions[token] = _Session(proxy.prefix, caller.directory, caller.userid)
            # Clients that never send the cookie back would grow this without end.
            while len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
        secure = "; Secure" if request.secure else ""
        return f"{proxy.cookie_name}={token}; Path=/; HttpOnly{secure}"

    def _authorise(self, caller: Caller) -> Response | None:
        user = self.store.find_user(caller.directory, caller.userid)
        if user is None:
            return text_response(403, f"Access denied: {caller.name} is not a user of this site")
        if user.get("inactive") or user.get("blacklisted"):
            return text_response(
                403, "Your account is inactive. Contact your administrator to activate it."
            )
        if self.config.require_admin and not self.store.is_admin(caller.directory, caller.userid):
            return text_response(
                403, f"Access denied: {caller.name} holds neither RootAdmin nor DeploymentAdmin"
            )
        return None


def _redirect(proxy: VirtualProxy, page: str) -> Response:
    return empty_response(302, ("Location", f"/{proxy.prefix}/{page}?targetId={uuid.uuid4()}"))


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip()
    return ""


# -- NTLM


_NTLM_SIGNATURE = b"NTLMSSP\x00"


@functools.cache
def _spnego_available() -> bool:
    return importlib.util.find_spec("spnego") is not None


def _ntlm_step(request: Request, connection: Connection) -> Caller | Response:
    """One leg of the Windows handshake on this connection (NTLM authenticates connections).

    The first 401 offers ``Negotiate`` and ``NTLM``, as a Windows-authentication virtual proxy
    does. ``Authorization: NTLM <token>`` runs NTLM; ``Authorization: Negotiate <token>`` runs
    SPNEGO (NTLM inside it here: there is no domain controller for Kerberos), answering with
    ``WWW-Authenticate: Negotiate <token>`` in the same scheme.
    """
    challenge_needed = text_response(
        401,
        "NTLM authentication required",
        ("WWW-Authenticate", "Negotiate"),
        ("WWW-Authenticate", "NTLM"),
    )
    authorization = request.header("authorization")
    scheme, _, encoded = authorization.strip().partition(" ")
    protocol = {"ntlm": "ntlm", "negotiate": "negotiate"}.get(scheme.lower())
    if protocol is None:
        connection.ntlm_acceptor = None
        return challenge_needed
    try:
        token = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        connection.ntlm_acceptor = None
        return challenge_needed
    # pyspnego is optional (the ntlm extra): imported only once a handshake starts.
    import spnego  # noqa: PLC0415
    from spnego.exceptions import SpnegoError  # noqa: PLC0415

    ntlm_type = int.from_bytes(token[8:12], "little") if token[:8] == _NTLM_SIGNATURE else 0
    # A first token: NTLM's NEGOTIATE message, or a SPNEGO NegTokenInit (ASN.1 application 0).
    first = ntlm_type == 1 or (protocol == "negotiate" and token[:1] == b"\x60")
    try:
        acceptor = connection.ntlm_acceptor
        if first or acceptor is None or acceptor.protocol != protocol:
            # pyspnego's acceptor reads NTLM_USER_FILE itself; it offers no other way in. Its
            # own NTLM, on every system: on Windows it would ask SSPI, which knows the machine's
            # accounts, not the simulator's.
            own = {
                "ntlm": spnego.NegotiateOptions.use_ntlm,
                "negotiate": spnego.NegotiateOptions.use_negotiate,
            }[protocol]
            acceptor = connection.ntlm_acceptor = spnego.server(protocol=protocol, options=own)
        answer = acceptor.step(token)
    except SpnegoError as exc:
        connection.ntlm_acceptor = None
        if "NTLM_USER_FILE" in str(exc) and first:
            return text_response(
                501, "Windows authentication needs NTLM_USER_FILE naming a users file"
            )
        log.debug("Windows handshake (%s) failed: %s", protocol, exc)
        return challenge_needed
    offer = "NTLM" if protocol == "ntlm" else "Negotiate"
    if not acceptor.complete:
        return text_response(
            401,
            f"{offer} challenge",
            ("WWW-Authenticate", f"{offer} {base64.b64encode(answer or b'').decode()}"),
        )
    connection.ntlm_acceptor = None
    user = split_user(str(acceptor.client_principal or ""))
    if user is None:
        return challenge_needed
    return Caller(*user)


# -- JWT


def _load_key(pem: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or certificate."""
    try:
        if b"CERTIFICATE" in pem:
            key: Any = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UsageError(f"the JWT key is not a PEM public key or certificate: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise UsageError("the JWT key must be an RSA key (RS256)")
    return key


def verify_rs256(token: str, key: rsa.RSAPublicKey, now: dt.datetime) -> Mapping[str, Any]:
    """Verify an RS256 JWT and its ``exp``/``nbf``; return its claims.

    Raises:
        SimRefusal: 401 naming what is wrong (malformed, algorithm, signature, expired).
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise SimRefusal(401, "JWT is malformed")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        raise SimRefusal(401, "JWT is malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise SimRefusal(401, "JWT is malformed")
    if header.get("alg") != "RS256":
        raise SimRefusal(401, f"JWT algorithm {header.get('alg')!r} is not RS256")
    try:
        key.verify(
            signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, UnicodeEncodeError):
        raise SimRefusal(401, "JWT signature is invalid") from None
    stamp = now.timestamp()
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and stamp >= exp:
        raise SimRefusal(401, "JWT has expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and stamp < nbf:
        raise SimRefusal(401, "JWT is not valid yet")
    return claims


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
