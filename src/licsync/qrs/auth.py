"""How licsync authenticates to QRS: certificate, header, JWT, Windows (NTLM with a password)
or integrated Windows authentication (Negotiate as the process's own identity).

A :class:`Credentials` value holds everything mode-specific the HTTP client needs: the URL prefix
(a virtual proxy), fixed headers, the TLS context, an httpx auth flow, the User-Agent and whether a
session must exist before writing. Build one with :func:`credentials_from_site` (secrets come from
the environment mapping passed in, by the variable names the site gives) or with the per-mode
functions (tests and embedders).

Secrets (the client key's path, the JWT, the Windows password) are never put in a message, a log
line or a repr; :attr:`Credentials.secrets` lists them so the client can blank them out of any
server text it repeats.
"""

from __future__ import annotations

import binascii
import importlib.util
import ipaddress
import logging
import os
import ssl
import struct
import urllib.parse
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from licsync._version import __version__
from licsync.errors import ConfigError, Problem, QrsAuthError, SecretError
from licsync.identity import split_user
from licsync.qrs.negotiate import NegotiateAuth
from licsync.site import AuthMode, Site, TlsConfig

__all__ = [
    "DEFAULT_CERTIFICATE_PORT",
    "Credentials",
    "NtlmChallengeGuard",
    "certificate_credentials",
    "check_header_value",
    "credentials_from_site",
    "effective_base_url",
    "header_credentials",
    "jwt_credentials",
    "negotiate_credentials",
    "ntlm_credentials",
    "qlik_user_header",
    "tls_context",
]

log = logging.getLogger(__name__)

DEFAULT_CERTIFICATE_PORT = 4242
USER_AGENT = f"licsync/{__version__}"
# The virtual proxy offers NTLM only when its "Windows authentication pattern" (default
# ``Windows``) occurs in the User-Agent; anything else gets the forms login page.
WINDOWS_USER_AGENT = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {USER_AGENT}"
NTLM_INSTALL_HINT = "pip install 'licsync[ntlm]'"
NEGOTIATE_INSTALL_HINT = "pip install 'licsync[negotiate]'"

_CERTIFICATE_HINT = (
    "check the client certificate (exported from the QMC), that the X-Qlik-User account exists "
    "and has administrator rights"
)
_PROXY_HINT = (
    "check the virtual proxy prefix, its authentication method and that the user it "
    "authenticates has rights on licences and system rules"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything mode-specific about talking to one QRS.

    Attributes:
        mode: the authentication mode.
        path_prefix: ``""`` (direct to QRS) or ``/<virtual proxy prefix>``.
        headers: sent with every request (``X-Qlik-User``, the proxy header, ``Authorization``).
        ssl_context: TLS trust and client certificate; None for httpx's default verification.
        http_auth: an httpx auth flow (NTLM), or None.
        user_agent: the User-Agent header.
        session_before_write: through a proxy, writes need the session cookie a GET obtains.
        session_first: the first request must complete alone (NTLM's handshake yields the
            session cookie that every later request reuses).
        auth_hint: what to check when QRS answers 401/403.
        secrets: values never to repeat in messages (blanked out of server excerpts).
    """

    mode: AuthMode
    path_prefix: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    http_auth: httpx.Auth | None = field(default=None, repr=False)
    user_agent: str = USER_AGENT
    session_before_write: bool = False
    session_first: bool = False
    auth_hint: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)


def _unsendable(value: str) -> bool:
    """True when ``value`` holds anything but visible ASCII and inner spaces."""
    return (
        not value.isascii()
        or any(not (" " <= ch <= "~") for ch in value)
        or (value != value.strip(" "))
    )


def check_header_value(name: str, value: str) -> None:
    """Refuse a header value that cannot be sent as it is: before anything is sent.

    HTTP/1.1 header values are visible ASCII with inner spaces; a line break in one would end
    the header (or forge another), and httpx would refuse it with a message that repeats the
    whole value, a JWT included. The message here names the header, never the value.

    Raises:
        SecretError: the value holds a line break, a control character, a character outside
            ASCII, or leading or trailing spaces.
    """
    if _unsendable(value):
        msg = (
            f"the {name} header licsync would send holds a line break, a control character, a "
            "character outside ASCII or surrounding spaces; refusing to send it (nothing was "
            "sent)"
        )
        raise SecretError(msg)


def _check_secret(value: str, variable: str, what: str) -> None:
    if _unsendable(value):
        msg = (
            f"environment variable {variable} ({what}) holds a line break, a control "
            "character, a character outside ASCII or surrounding spaces; refusing to use it "
            "(nothing was sent)"
        )
        raise SecretError(msg)


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.casefold() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def qlik_user_header(user: str) -> str:
    """The ``X-Qlik-User`` value for ``DIRECTORY\\userid``: both parts URL-encoded UTF-8.

    Qlik documents that directory and user id "must be URL-encoded representations of UTF-8
    values"; the ``; `` separator is the spelling Qlik's own examples and Butler use.

    Raises:
        ValueError: ``user`` is not ``DIRECTORY\\userid``.
    """
    parts = split_user(user)
    if parts is None:
        msg = f"the acting user {user!r} is not DIRECTORY\\userid"
        raise ValueError(msg)
    directory, userid = parts
    return (
        f"UserDirectory={urllib.parse.quote(directory, safe='')}; "
        f"UserId={urllib.parse.quote(userid, safe='')}"
    )


def tls_context(
    *,
    ca_file: str | None = None,
    verify: bool = True,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> ssl.SSLContext:
    """A client TLS context: trust ``ca_file`` (system store when None), optional client cert.

    Raises:
        OSError, ssl.SSLError: a file cannot be read or the key does not match the certificate.
    """
    if verify:
        context = ssl.create_default_context(cafile=ca_file)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def certificate_credentials(
    user: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    secrets: tuple[str, ...] = (),
) -> Credentials:
    """Certificate mode: direct to QRS (port 4242) with ``X-Qlik-User``; TLS carries the cert."""
    return Credentials(
        mode=AuthMode.CERTIFICATE,
        headers={"X-Qlik-User": qlik_user_header(user)},
        ssl_context=ssl_context,
        auth_hint=_CERTIFICATE_HINT,
        secrets=secrets,
    )


def header_credentials(
    prefix: str,
    header_name: str,
    user: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    """Header mode: through virtual proxy ``prefix``, the user named in ``header_name``."""
    return Credentials(
        mode=AuthMode.HEADER,
        path_prefix=_prefix_path(prefix),
        headers={header_name: user},
        ssl_context=ssl_context,
        session_before_write=True,
        auth_hint=f"{_PROXY_HINT} (header {header_name})",
    )


def jwt_credentials(
    prefix: str,
    token: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    """JWT mode: through virtual proxy ``prefix`` with ``Authorization: Bearer <token>``."""
    return Credentials(
        mode=AuthMode.JWT,
        path_prefix=_prefix_path(prefix),
        headers={"Authorization": f"Bearer {token}"},
        ssl_context=ssl_context,
        session_before_write=True,
        auth_hint=f"{_PROXY_HINT}; and that the JWT is valid, unexpired and signed by the key "
        "the virtual proxy trusts",
        secrets=(token,),
    )


def ntlm_credentials(
    prefix: str,
    user: str,
    password: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    """Windows mode: NTLM through virtual proxy ``prefix`` as ``DOMAIN\\user``.

    Raises:
        ConfigError: the optional extra (httpx-ntlm) is not installed.
    """
    try:
        from httpx_ntlm import HttpNtlmAuth  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:
        problem = Problem(
            "", 0, 0, "auth.mode", f"ntlm authentication needs the extra: {NTLM_INSTALL_HINT}"
        )
        raise ConfigError([problem]) from exc
    auth: httpx.Auth = NtlmChallengeGuard(HttpNtlmAuth(user, password))
    return Credentials(
        mode=AuthMode.NTLM,
        path_prefix=_prefix_path(prefix),
        ssl_context=ssl_context,
        http_auth=auth,
        user_agent=WINDOWS_USER_AGENT,
        session_before_write=True,
        session_first=True,
        auth_hint=f"{_PROXY_HINT}; and the Windows account and password",
        secrets=(password,),
    )


def negotiate_credentials(
    prefix: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    context_factory: Any = None,
) -> Credentials:
    """Integrated Windows authentication through virtual proxy ``prefix``: the process's own
    identity (SSPI on Windows: Kerberos, else NTLM), so a gMSA or a runner's service account
    needs no password. See :mod:`licsync.qrs.negotiate`.

    Args:
        context_factory: for tests, makes the security context for a host name.

    Raises:
        ConfigError: the optional extra (pyspnego) is not installed.
    """
    if context_factory is None and importlib.util.find_spec("spnego") is None:
        problem = Problem(
            "",
            0,
            0,
            "auth.mode",
            f"negotiate authentication needs the extra: {NEGOTIATE_INSTALL_HINT}",
        )
        raise ConfigError([problem])
    return Credentials(
        mode=AuthMode.NEGOTIATE,
        path_prefix=_prefix_path(prefix),
        ssl_context=ssl_context,
        http_auth=NegotiateAuth(context_factory),
        user_agent=WINDOWS_USER_AGENT,
        session_before_write=True,
        session_first=True,
        auth_hint=f"{_PROXY_HINT}; and that this process's Windows account is that user",
    )


# What httpx-ntlm raises when a 401 carries no NTLM challenge, or a malformed one: KeyError (no
# WWW-Authenticate on the second 401), AttributeError (none on the first), RuntimeError from a
# StopIteration inside its generator (no "NTLM <token>" among the offers), ValueError /
# binascii.Error (a token that is not base64), struct.error / IndexError / TypeError and pyspnego's
# errors (a token that is not an NTLM CHALLENGE message).
_CHALLENGE_ERRORS: tuple[type[Exception], ...] = (
    KeyError,
    AttributeError,
    RuntimeError,
    StopIteration,
    ValueError,
    binascii.Error,
    struct.error,
    IndexError,
    TypeError,
)


class NtlmChallengeGuard(httpx.Auth):
    """Runs an NTLM auth flow (httpx-ntlm) and turns its crashes on a bad challenge into errors.

    A virtual proxy that is not set to Windows authentication, a load balancer that strips or
    rewrites ``WWW-Authenticate``, or a proxy offering only Kerberos (``Negotiate`` without NTLM)
    answers the handshake with something httpx-ntlm cannot parse, and it raises ``KeyError``,
    ``AttributeError`` or ``StopIteration``. This says what happened instead, as a
    :class:`~licsync.errors.QrsAuthError` naming the endpoint (never the query, which holds the
    xrfkey).
    """

    def __init__(self, inner: httpx.Auth) -> None:
        self._inner = inner
        self._errors = _CHALLENGE_ERRORS + _spnego_errors()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._inner.auth_flow(request)
        response: httpx.Response | None = None
        try:
            try:
                outgoing = next(flow)
            except StopIteration:
                return
            while True:
                response = yield outgoing
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
                except self._errors as exc:
                    if isinstance(exc, RuntimeError) and not isinstance(
                        exc.__cause__, StopIteration
                    ):
                        raise
                    raise _challenge_error(request, response, exc) from exc
        finally:
            flow.close()


def _spnego_errors() -> tuple[type[Exception], ...]:
    try:
        from spnego.exceptions import SpnegoError  # noqa: PLC0415 - only with the ntlm extra
    except ImportError:  # pragma: no cover - httpx-ntlm depends on pyspnego
        return ()
    return (SpnegoError,)


def _challenge_error(
    request: httpx.Request, response: httpx.Response, exc: Exception
) -> QrsAuthError:
    status = response.status_code
    offered = response.headers.get_list("www-authenticate")
    # Only the schemes' names, never a header's value: what follows a scheme is whatever the
    # server chose to put there (an echoed credential, a terminal escape).
    schemes = [offer.strip().split(" ", 1)[0] for offer in offered]
    shown = ", ".join(s if s.isascii() and s.isalnum() else "?" for s in schemes)[:80]
    what = f"WWW-Authenticate offering {shown}" if offered else "no WWW-Authenticate header"
    endpoint = str(request.url.copy_with(query=None, fragment=None))
    path = request.url.path
    message = (
        f"{request.method} {endpoint}: Windows (NTLM) authentication failed: the server answered "
        f"{status} with {what}, which is not a usable NTLM challenge "
        f"({type(exc).__name__}). Check that the virtual proxy's authentication method is "
        "Windows and that nothing between licsync and the proxy strips or rewrites "
        "WWW-Authenticate; a proxy offering only Negotiate (Kerberos) cannot be used"
    )
    return QrsAuthError(message, method=request.method, path=path, status=status, excerpt=shown)


def _check_host(host: str) -> None:
    """A host name DNS can hold (labels of 1 to 63 characters, 253 in all), or an address:
    anything else fails later, deep in the HTTP client, as a crash."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return
    try:
        encoded = host.encode("idna")
    except UnicodeError:
        encoded = b""
    if not encoded or len(encoded) > 253:
        msg = (
            f"the host name {host[:80]!r} is not one DNS can hold (each dot-separated part "
            "1 to 63 characters, 253 in all)"
        )
        raise ValueError(msg)


def effective_base_url(url: str, mode: AuthMode) -> str:
    """The server origin to talk to: no trailing ``/`` or ``/qrs``; port 4242 for certificates.

    Raises:
        ValueError: the URL is not ``http(s)://host[:port][/path]`` without query or credentials.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = "the QRS URL must look like https://host[:port]"
        raise ValueError(msg)
    if parts.query or parts.fragment or parts.username or parts.password:
        msg = "the QRS URL must not carry a query, fragment or credentials"
        raise ValueError(msg)
    _check_host(parts.hostname)
    path = parts.path.rstrip("/")
    if path.casefold().endswith("/qrs"):
        path = path[:-4]
    netloc = parts.netloc
    if mode is AuthMode.CERTIFICATE and parts.port is None:
        netloc = f"{netloc}:{DEFAULT_CERTIFICATE_PORT}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))


def credentials_from_site(
    site: Site, *, env: Mapping[str, str], base_url: str | None = None
) -> tuple[str, Credentials]:
    """The base URL and credentials a site's configuration describes.

    Args:
        site: the site (auth mode, URL, virtual proxy, TLS trust).
        env: where the variables the site names are looked up (the CLI passes ``os.environ``).
        base_url: overrides ``site.qrs_url`` (the CLI's ``--qrs-url``).

    Raises:
        SecretError: a variable the site names is unset or empty, or the key it names is
            unreadable (the message names the variable, never its value).
        ConfigError: the site lacks a setting its auth mode needs, or a file it names is unusable.
    """
    auth = site.auth
    raw_url = base_url if base_url is not None else site.qrs_url
    try:
        url = effective_base_url(raw_url, auth.mode)
    except ValueError as exc:
        raise _site_error(site, "qrs_url", str(exc)) from None
    https = url.startswith("https:")
    if not site.tls.verify and https:
        _warn_insecure(site.name)

    if auth.mode is AuthMode.CERTIFICATE:
        return url, _certificate(site, env, https=https)

    host = urllib.parse.urlsplit(url).hostname or ""
    if not https and not site.tls.allow_plain_http and not is_loopback(host):
        # The JWT, the header that names the user, the NTLM exchange: anyone on the path could
        # read or replay them. Only the site's own YAML, by name, can accept that.
        raise _site_error(
            site,
            "qrs_url",
            f"{auth.mode.value} mode would send its credentials unencrypted over http:// to "
            f"{host}; use https://, or set tls.allow_plain_http: true if that network is "
            "trusted",
        )
    context = _site_tls(site) if https else None
    if auth.mode is AuthMode.HEADER:
        if not auth.header_name:
            raise _site_error(site, "auth.header_name", "header mode needs auth.header_name")
        if _unsendable(auth.user):
            raise _site_error(
                site,
                "auth.user",
                "in header mode the user is sent as a header value: it must be visible ASCII "
                "(no line breaks, control characters or characters outside ASCII)",
            )
        return url, header_credentials(
            site.virtual_proxy, auth.header_name, auth.user, ssl_context=context
        )
    if auth.mode is AuthMode.JWT:
        token_var = _require_name(site, "auth.token_env", auth.token_env)
        token = _secret(env, token_var, "the JWT").strip()
        _check_secret(token, token_var, "the JWT")
        return url, jwt_credentials(site.virtual_proxy, token, ssl_context=context)
    if auth.mode is AuthMode.NEGOTIATE:
        try:
            return url, negotiate_credentials(site.virtual_proxy, ssl_context=context)
        except ConfigError as exc:
            raise _site_error(site, "auth.mode", exc.problems[0].message) from None
    password_var = _require_name(site, "auth.password_env", auth.password_env)
    password = _secret(env, password_var, "the Windows password")
    _check_secret(password, password_var, "the Windows password")
    try:
        credentials = ntlm_credentials(site.virtual_proxy, auth.user, password, ssl_context=context)
    except ConfigError as exc:
        # Point at the site that asked for Windows authentication.
        raise _site_error(site, "auth.mode", exc.problems[0].message) from None
    return url, credentials


def _certificate(site: Site, env: Mapping[str, str], *, https: bool) -> Credentials:
    """Certificate mode's credentials: the client certificate and key, over HTTPS only."""
    auth = site.auth
    if not https:
        # A local simulator over plain HTTP: no TLS, so no client certificate or key either.
        return certificate_credentials(auth.user)
    if not auth.cert_file:
        raise _site_error(site, "auth.cert_file", "certificate mode needs auth.cert_file")
    key_var = _require_name(site, "auth.key_file_env", auth.key_file_env)
    key_file = _secret(env, key_var, "the path of the client key")
    if not os.path.isfile(auth.cert_file):
        raise _site_error(site, "auth.cert_file", f"cannot read {auth.cert_file}")
    if not os.path.isfile(key_file):
        msg = f"the client key file named by environment variable {key_var} cannot be read"
        raise SecretError(msg)
    client_context = _site_tls(site)

    def refuse_key_password() -> str:
        # Without a callback OpenSSL would ask for the password on the terminal: a hung
        # CI job, or a prompt in a plan. licsync has no key password setting.
        msg = (
            f"the client key named by environment variable {key_var} is encrypted: licsync "
            "needs it without a password (openssl pkey -in KEY -out KEY.nopass; see "
            "docs/connecting.md)"
        )
        raise SecretError(msg)

    try:
        client_context.load_cert_chain(auth.cert_file, key_file, password=refuse_key_password)
    except (ssl.SSLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, ssl.SSLError) else exc.strerror
        msg = (
            f"the client certificate {auth.cert_file} and the key named by environment "
            f"variable {key_var} cannot be loaded together ({reason or 'invalid PEM'})"
        )
        raise SecretError(msg) from None
    return certificate_credentials(auth.user, ssl_context=client_context, secrets=(key_file,))


def _site_tls(site: Site) -> ssl.SSLContext:
    tls: TlsConfig = site.tls
    if tls.ca_file is not None and not os.path.isfile(tls.ca_file):
        raise _site_error(site, "tls.ca_file", f"cannot read {tls.ca_file}")
    try:
        return tls_context(ca_file=tls.ca_file, verify=tls.verify)
    except (ssl.SSLError, OSError):
        raise _site_error(site, "tls.ca_file", f"{tls.ca_file} is not a PEM bundle") from None


_warned_insecure: set[str] = set()


def _warn_insecure(site_name: str) -> None:
    # Once per site and process: the warning matters, repeating it on every client does not.
    if site_name in _warned_insecure:
        return
    _warned_insecure.add(site_name)
    log.warning(
        "site %s: TLS verification is OFF (insecure_skip_verify: true); "
        "anyone on the network path can impersonate QRS",
        site_name,
    )


def _prefix_path(prefix: str) -> str:
    cleaned = prefix.strip("/")
    return f"/{urllib.parse.quote(cleaned, safe='/')}" if cleaned else ""


def _require_name(site: Site, field_name: str, value: str | None) -> str:
    if not value:
        raise _site_error(
            site, field_name, f"{site.auth.mode.value} mode needs {field_name} (a variable name)"
        )
    return value


def _secret(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name)
    if value is None or not value.strip():
        msg = f"environment variable {name} ({what}) is not set or is empty"
        raise SecretError(msg)
    return value


def _site_error(site: Site, field_name: str, message: str) -> ConfigError:
    source = site.source_of(field_name)  # the field's own line, not `site:`
    file = source.file if source else f"site {site.name}"
    line = source.line if source else 0
    col = source.col if source else 0
    return ConfigError([Problem(file, line, col, field_name, message)])
