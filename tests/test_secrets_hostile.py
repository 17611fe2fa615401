"""Credentials against hostile input: refused before sending, never repeated, never sent in clear.

A token, password or header value that cannot be a header is refused before any byte leaves the
process, and the message names the variable or header, never the value. A server that echoes
the credential back (in any letter case, escaped, or a JWT's payload or signature alone) does
not get it printed. Proxy modes do not send credentials over plain http:// to a host that is not
this machine unless the site says ``tls.allow_plain_http: true``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from hostile_server import HostileQrs, status_answer
from licsync.errors import ConfigError, QrsAuthError, QrsServerError, SecretError
from licsync.qrs import QrsClient, paths
from licsync.qrs.auth import check_header_value, credentials_from_site, is_loopback
from licsync.site import AuthConfig, AuthMode, Site, TlsConfig


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


PAYLOAD = _b64({"userId": "admin", "userDirectory": "CORP", "email": "admin@corp.example"})
SIGNATURE = "c2lnbmF0dXJlLW9mLWEtdGVzdC10b2tlbi10aGF0LWlzLWxvbmc"
TOKEN = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{PAYLOAD}.{SIGNATURE}"


def jwt_site(url: str, *, allow_plain_http: bool = False) -> Site:
    auth = AuthConfig(mode=AuthMode.JWT, user="CORP\\admin", token_env="QLIK_JWT")
    return Site(
        "jwt", url, auth, virtual_proxy="jwt", tls=TlsConfig(allow_plain_http=allow_plain_http)
    )


def _jwt_example(example: Path, url: str) -> None:
    site = example / "site.yaml"
    edit_file(site, "qrs_url: embedded", f"qrs_url: {url}")
    edit_file(site, 'virtual_proxy: ""', "virtual_proxy: jwt")
    edit_file(site, "    mode: certificate\n", "    mode: jwt\n    token_env: QLIK_JWT\n")


# -- refused before sending ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        TOKEN[:20] + "\n" + TOKEN[20:],
        TOKEN[:20] + "\r\nX-Injected: yes\r\n" + TOKEN[20:],
        TOKEN + "ü",
        TOKEN[:20] + "\x1b[2J" + TOKEN[20:],
    ],
    ids=["lf", "crlf-injection", "non-ascii", "escape"],
)
def test_an_unsendable_token_is_refused_before_anything_is_sent(
    example: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    """The message names QLIK_JWT and holds no part of the token; the server sees nothing."""
    with HostileQrs() as qrs:
        _jwt_example(example, qrs.url)
        monkeypatch.setenv("QLIK_JWT", bad)
        result = licsync(["plan", "licenses"])
    assert result.exit_code == 1, result.output
    assert "QLIK_JWT" in result.stderr
    for piece in (TOKEN[:20], PAYLOAD[:16], SIGNATURE[:16], "Bearer"):
        assert piece not in result.output
    assert "Traceback" not in result.output
    assert qrs.requests == []


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "naïve", "tab\there", " lead", "trail ", "\x01", "\x7f", "\u2028"]
)
def test_a_header_value_is_checked_and_never_repeated(value: str) -> None:
    """check_header_value names the header only."""
    with pytest.raises(SecretError) as caught:
        check_header_value("Authorization", value)
    assert "Authorization" in str(caught.value)
    assert value not in str(caught.value)


def test_the_client_refuses_a_bad_header_whoever_built_it() -> None:
    """Credentials built by hand (an embedder) are checked by the client too."""
    from licsync.qrs.auth import jwt_credentials

    with pytest.raises(SecretError, match="Authorization") as caught:
        QrsClient("http://127.0.0.1:9", credentials=jwt_credentials("jwt", "eyJ\nabc"))
    assert "eyJ" not in str(caught.value)


def test_header_mode_refuses_a_user_that_cannot_be_a_header() -> None:
    """Header mode sends the user as the header's value: non-ASCII is refused by name."""
    auth = AuthConfig(mode=AuthMode.HEADER, user="CORP\\jürgen", header_name="hdr-usr")
    site = Site("hdr", "http://127.0.0.1:9", auth, virtual_proxy="hdr")
    with pytest.raises(ConfigError, match=r"auth\.user"):
        credentials_from_site(site, env={})


def test_a_bad_windows_password_is_refused_by_variable_name() -> None:
    """An NTLM password with a line break: SecretError naming the variable."""
    auth = AuthConfig(mode=AuthMode.NTLM, user="CORP\\svc", password_env="QLIK_PASSWORD")
    site = Site("win", "http://127.0.0.1:9", auth, virtual_proxy="win")
    with pytest.raises(SecretError, match="QLIK_PASSWORD") as caught:
        credentials_from_site(site, env={"QLIK_PASSWORD": "hunter2\nX: y"})
    assert "hunter2" not in str(caught.value)


# -- echoed back ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 500])
@pytest.mark.parametrize(
    "echo",
    [
        lambda t: f"Bearer {t}",
        lambda t: f"bad token: {t.lower()}",
        lambda t: f"BAD TOKEN: {t.upper()}",
        lambda t: json.dumps({"error": "invalid", "token": t}),
        lambda t: f"payload {t.split('.')[1]} signature {t.split('.')[2]}",
        lambda t: " " * 790 + t,  # starts just inside the excerpt's window, runs past it
    ],
    ids=["raw", "lower", "upper", "json", "pieces", "at-the-edge"],
)
def test_a_server_echoing_the_token_does_not_get_it_printed(status: int, echo: object) -> None:
    """The excerpt of the error body has the token blanked out, whatever its case or form."""
    body = echo(TOKEN).encode()  # type: ignore[operator]
    routes = {paths.ABOUT: status_answer(status, body)}
    with (
        HostileQrs(routes) as qrs,
        QrsClient.from_site(jwt_site(qrs.url), env={"QLIK_JWT": TOKEN}, read_only=True) as client,
        pytest.raises((QrsAuthError, QrsServerError)) as caught,
    ):
        client.get_json(paths.ABOUT)
    message = str(caught.value).casefold()
    for piece in (TOKEN, PAYLOAD, SIGNATURE, TOKEN[:24]):
        assert piece.casefold() not in message, message
        assert piece.casefold() not in caught.value.excerpt.casefold()


# -- plain http ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://qlik.example.com", "http://10.1.2.3:8080"])
def test_proxy_credentials_are_not_sent_in_clear_to_another_host(url: str) -> None:
    """JWT over http:// to a host that is not this machine: refused, naming the setting."""
    with pytest.raises(ConfigError, match="allow_plain_http") as caught:
        credentials_from_site(jwt_site(url), env={"QLIK_JWT": TOKEN})
    assert TOKEN not in str(caught.value)


def test_the_site_can_allow_plain_http_by_name() -> None:
    """tls.allow_plain_http: true accepts the risk."""
    url, _ = credentials_from_site(
        jwt_site("http://qlik.example.com", allow_plain_http=True), env={"QLIK_JWT": TOKEN}
    )
    assert url == "http://qlik.example.com"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("localhost.evil.example", False),
        ("qlik", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    """Only this machine counts as loopback; a name that merely starts with localhost does not."""
    assert is_loopback(host) is loopback


def test_allow_plain_http_is_read_from_the_yaml(
    example: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the setting plan refuses before connecting; with it, it tries to connect."""
    monkeypatch.setenv("QLIK_JWT", TOKEN)
    _jwt_example(example, "http://192.0.2.1")  # TEST-NET-1: routable nowhere, no DNS
    result = licsync(["plan", "licenses", "--request-timeout", "0.5"])
    assert result.exit_code == 1, result.output
    assert "allow_plain_http" in result.stderr
    assert "192.0.2.1" in result.stderr
    site = example / "site.yaml"
    edit_file(site, "    insecure_skip_verify: false\n", "    allow_plain_http: true\n")
    result = licsync(["plan", "licenses", "--request-timeout", "0.5"])
    assert result.exit_code == 1, result.output
    assert "allow_plain_http" not in result.stderr
    assert "GET /jwt/qrs/about: no" in result.stderr
    assert TOKEN[:20] not in result.output


# -- the schema ---------------------------------------------------------------------------------


def test_a_secret_in_a_name_field_is_not_repeated(example: Path, licsync: Licsync) -> None:
    """token_env holding the token itself: the message names the field, not the value."""
    site = example / "site.yaml"
    edit_file(site, "    mode: certificate\n", f"    mode: jwt\n    token_env: {TOKEN}\n")
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 1, result.output
    assert "site.auth.token_env" in result.stdout
    for piece in (TOKEN[:20], PAYLOAD[:16], SIGNATURE[:16]):
        assert piece not in result.output
