"""Authentication modes against the simulator: certificates over TLS, header, JWT, NTLM; secrets."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from clock import NOW
from inprocess import in_process_simulator
from licsync.apply.writer import Outcome, QrsWriter, WriteResult
from licsync.desired import DesiredRule
from licsync.errors import (
    ConfigError,
    LicsyncError,
    QrsAuthError,
    QrsBadRequest,
    QrsConflict,
    QrsError,
    QrsNotFound,
    QrsReadOnlyError,
    QrsServerError,
    QrsThrottled,
    QrsTransportError,
    SecretError,
)
from licsync.identity import AccessType
from licsync.plan.changes import CreateRule
from licsync.qrs import (
    QrsClient,
    RetryPolicy,
    certificate_credentials,
    fetch_actual,
    paths,
    tls_context,
)
from licsync.qrs.auth import effective_base_url, qlik_user_header
from licsync.sim import ProxyConfig, SimStore, Simulator, start_simulator, write_certs
from licsync.site import AuthConfig, AuthMode, Site, TlsConfig
from portable import WINE_NO_SSPI, wine_gap
from threaded_server import serving_in_thread


def create_rule(qrs: QrsClient, kind: AccessType, rule: DesiredRule) -> WriteResult:
    """Create a licence rule through the writer; it must be applied."""
    result = QrsWriter(qrs).create_rule(CreateRule(kind, rule.name, rule.name.casefold(), rule))
    assert result.outcome is Outcome.APPLIED, result.message
    return result


PRO = AccessType.PROFESSIONAL
PASSWORD = "Pa55-SECRET-w0rd-7d1f"
HAS_NTLM = importlib.util.find_spec("httpx_ntlm") is not None


def build_store() -> SimStore:
    """An admin the proxies let in, a plain user they refuse, and a licence rule."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 5)
    store.add_user("CORP", "admin", roles=["RootAdmin"])
    store.add_user("CORP", "plain")
    store.add_rule(PRO, "Sales pros", '((user.group="Sales"))')
    return store


@pytest.fixture(scope="module")
def jwt_key() -> rsa.RSAPrivateKey:
    """The RSA key the test signs JWTs with (the simulator's jwt proxy trusts its public half)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_jwt(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    """A compact RS256 JWT of ``claims``."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


@pytest.fixture
def sim(jwt_key: rsa.RSAPrivateKey) -> Iterator[Simulator]:
    """A plain-HTTP simulator whose jwt proxy trusts the test's key."""
    pem = jwt_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with in_process_simulator(build_store(), proxies=ProxyConfig.with_jwt_key(pem)) as running:
        yield running


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates made by ``licsync.sim.certs`` (root, server, client)."""
    folder = tmp_path_factory.mktemp("certs")
    write_certs(folder)
    return folder


@pytest.fixture(scope="module")
def key_file(certs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The client key, moved to a path whose name marks it secret (the path is a secret)."""
    secret = tmp_path_factory.mktemp("SECRET-keydir") / "client_key.pem"
    secret.write_bytes((certs / "client_key.pem").read_bytes())
    return str(secret)


@pytest.fixture(scope="module")
def other_key_file(other_certs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A key that does not belong to ``certs``' client certificate, at a secret path."""
    secret = tmp_path_factory.mktemp("SECRET-otherkey") / "client_key.pem"
    secret.write_bytes((other_certs / "client_key.pem").read_bytes())
    return str(secret)


@pytest.fixture(scope="module")
def other_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, unrelated CA and its certificates."""
    folder = tmp_path_factory.mktemp("other-ca")
    write_certs(folder)
    return folder


@pytest.fixture
def tls_sim(certs: Path) -> Iterator[Simulator]:
    """An HTTPS simulator requiring client certificates signed by ``certs``' root."""
    with start_simulator(build_store(), tls_dir=certs) as running:
        yield running


def cert_site(url: str, certs: Path, **tls: Any) -> Site:
    """A certificate-mode site for ``url`` using ``certs``; the key path comes from $QRS_KEY."""
    auth = AuthConfig(
        mode=AuthMode.CERTIFICATE,
        user="INTERNAL\\sa_api",
        cert_file=str(certs / "client.pem"),
        key_file_env="QRS_KEY",
    )
    return Site("tls", url, auth, tls=TlsConfig(**({"ca_file": str(certs / "root.pem")} | tls)))


# -- certificate mode -----------------------------------------------------------------------


def test_certificate_mode_over_tls(tls_sim: Simulator, certs: Path, key_file: str) -> None:
    """With the client certificate and the site's root, the whole state reads over TLS."""
    env = {"QRS_KEY": key_file}
    site = cert_site(tls_sim.url, certs)
    with QrsClient.from_site(site, env=env, read_only=True) as qrs:
        actual = fetch_actual(qrs)
    assert actual.build_version == "38.22.0.0"
    assert "corp\\admin" in actual.users


def test_missing_client_certificate_fails_cleanly(tls_sim: Simulator, certs: Path) -> None:
    """Without a client certificate the TLS handshake fails: QrsTransportError, no retries."""
    slept: list[float] = []
    credentials = certificate_credentials(
        "INTERNAL\\sa_api", ssl_context=tls_context(ca_file=str(certs / "root.pem"))
    )
    with (
        QrsClient(tls_sim.url, credentials=credentials, sleep=slept.append) as qrs,
        pytest.raises(QrsTransportError, match="client certificate") as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert slept == []
    assert "xrfkey=" not in "".join(traceback.format_exception(caught.value))


def test_wrong_certificate_authority_fails_cleanly(
    tls_sim: Simulator, certs: Path, other_certs: Path, key_file: str
) -> None:
    """Trusting another CA: the server certificate is refused, with a hint at tls.ca_file."""
    env = {"QRS_KEY": key_file}
    site = cert_site(tls_sim.url, certs, ca_file=str(other_certs / "root.pem"))
    with (
        QrsClient.from_site(site, env=env, read_only=True) as qrs,
        pytest.raises(QrsTransportError, match=r"tls\.ca_file") as caught,
    ):
        qrs.get_json(paths.ABOUT)
    text = "".join(traceback.format_exception(caught.value))
    assert "SECRET-keydir" not in text
    assert "xrfkey=" not in str(caught.value)


def test_insecure_skip_verify_warns_once(
    tls_sim: Simulator, certs: Path, key_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    """verify=False connects without trusting the root, and says so once per site."""
    env = {"QRS_KEY": key_file}
    site = Site(
        "insecure-once",
        tls_sim.url,
        cert_site(tls_sim.url, certs).auth,
        tls=TlsConfig(ca_file=None, verify=False),
    )
    with caplog.at_level(logging.WARNING, logger="licsync.qrs"):
        for _ in range(2):
            with QrsClient.from_site(site, env=env, read_only=True) as qrs:
                assert qrs.get_json(paths.ABOUT)
    warnings = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(warnings) == 1


def test_certificate_mode_over_plain_http_sends_x_qlik_user(sim: Simulator) -> None:
    """Over http:// no certificate is needed; X-Qlik-User (URL-encoded) names the actor."""
    site = Site("local", sim.url, AuthConfig(user="INTERNAL\\sa api"))
    with QrsClient.from_site(site, env={}, read_only=False) as qrs:
        group = qrs.post_json(paths.access_group(PRO), {"name": "who"})
    assert group["modifiedByUserName"] == "INTERNAL\\sa api"
    assert qlik_user_header("INTERNAL\\sa api") == "UserDirectory=INTERNAL; UserId=sa%20api"


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "QRS_KEY"), ({"QRS_KEY": " "}, "QRS_KEY")],
    ids=["unset", "empty"],
)
def test_missing_key_variable_is_a_secret_error(
    certs: Path, env: dict[str, str], message: str
) -> None:
    """An unset or empty key variable is a SecretError naming the variable."""
    with pytest.raises(SecretError, match=message):
        QrsClient.from_site(cert_site("https://qlik.example:4242", certs), env=env, read_only=True)


def test_unreadable_key_names_the_variable_not_the_path(certs: Path, key_file: str) -> None:
    """A key path that does not exist: SecretError naming $QRS_KEY, never the path."""
    secret_path = key_file + ".missing"
    with pytest.raises(SecretError) as caught:
        QrsClient.from_site(
            cert_site("https://qlik.example:4242", certs),
            env={"QRS_KEY": secret_path},
            read_only=True,
        )
    assert "QRS_KEY" in str(caught.value)
    assert "SECRET" not in "".join(traceback.format_exception(caught.value))


def test_key_not_matching_the_certificate(certs: Path, other_key_file: str) -> None:
    """A key of another certificate: SecretError naming the variable, not the key's path."""
    with pytest.raises(SecretError, match="QRS_KEY") as caught:
        QrsClient.from_site(
            cert_site("https://qlik.example:4242", certs),
            env={"QRS_KEY": other_key_file},
            read_only=True,
        )
    assert "SECRET" not in "".join(traceback.format_exception(caught.value))


def test_base_url_rules() -> None:
    """Certificate mode defaults to port 4242; a trailing /qrs goes; queries are refused."""
    assert effective_base_url("https://qlik.corp", AuthMode.CERTIFICATE) == "https://qlik.corp:4242"
    assert effective_base_url("https://qlik.corp/qrs/", AuthMode.HEADER) == "https://qlik.corp"
    assert effective_base_url("http://127.0.0.1:8080", AuthMode.CERTIFICATE) == (
        "http://127.0.0.1:8080"
    )
    with pytest.raises(ValueError, match="query"):
        effective_base_url("https://qlik.corp/?xrfkey=1", AuthMode.JWT)
    site = Site("bad", "ftp://qlik.corp")
    with pytest.raises(ConfigError, match="qrs_url"):
        QrsClient.from_site(site, env={}, read_only=True)


def test_base_url_override(sim: Simulator) -> None:
    """``base_url`` (the CLI's --qrs-url) replaces the site's URL."""
    site = Site("embedded", "embedded")
    with QrsClient.from_site(site, env={}, read_only=True, base_url=sim.url) as qrs:
        assert qrs.base_url == sim.url
        assert qrs.get_json(paths.ABOUT)


# -- header mode ----------------------------------------------------------------------------


def header_site(url: str, user: str = "CORP\\admin") -> Site:
    """A header-mode site through the ``hdr`` virtual proxy."""
    auth = AuthConfig(mode=AuthMode.HEADER, user=user, header_name="hdr-usr")
    return Site("hdr", url, auth, virtual_proxy="hdr")


def test_header_mode_reads_and_writes_through_the_proxy(sim: Simulator) -> None:
    """Through the header proxy the first write is preceded by one GET that opens a session."""
    with QrsClient.from_site(header_site(sim.url), env={}, read_only=False) as qrs:
        result = create_rule(qrs, PRO, DesiredRule(name="Via header", condition='user.group="X"'))
        assert sim.request_counts() == {"GET": 1, "POST": 2}
        actual = fetch_actual(qrs)
    created = next(r for r in actual.rules_of(PRO) if r.rule_id == result.created_id)
    assert created.rule_entity is not None
    assert created.rule_entity["modifiedByUserName"] == "CORP\\admin"


def test_header_mode_refused_user_hints_at_the_proxy(sim: Simulator) -> None:
    """A proxy user without admin rights gets QrsAuthError with a virtual-proxy hint."""
    with (
        QrsClient.from_site(header_site(sim.url, "CORP\\plain"), env={}, read_only=True) as qrs,
        pytest.raises(QrsAuthError, match="virtual proxy") as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert caught.value.status == 403


def test_header_mode_needs_a_header_name(sim: Simulator) -> None:
    """Header mode without auth.header_name is a ConfigError naming the field."""
    site = Site("hdr", sim.url, AuthConfig(mode=AuthMode.HEADER), virtual_proxy="hdr")
    with pytest.raises(ConfigError, match=r"auth\.header_name"):
        QrsClient.from_site(site, env={}, read_only=True)


# -- JWT mode -------------------------------------------------------------------------------


def jwt_site(url: str) -> Site:
    """A JWT site through the ``jwt`` virtual proxy; the token comes from $QRS_JWT."""
    auth = AuthConfig(mode=AuthMode.JWT, user="CORP\\admin", token_env="QRS_JWT")
    return Site("jwt", url, auth, virtual_proxy="jwt")


def test_jwt_mode_reads_and_writes(sim: Simulator, jwt_key: rsa.RSAPrivateKey) -> None:
    """A token signed by the test, from an env var, reads the site and creates a rule."""
    token = sign_jwt(jwt_key, userId="admin", userDirectory="CORP")
    with QrsClient.from_site(jwt_site(sim.url), env={"QRS_JWT": token}, read_only=False) as qrs:
        assert len(fetch_actual(qrs).users) == 2
        create_rule(qrs, PRO, DesiredRule(name="Via JWT", condition='user.group="Y"'))
    assert sim.request_counts() == {"GET": 9, "POST": 2}


def test_jwt_mode_bad_token_is_an_auth_error(sim: Simulator, jwt_key: rsa.RSAPrivateKey) -> None:
    """An expired token: QrsAuthError hinting at the JWT; the token is not in the message."""
    token = sign_jwt(jwt_key, userId="admin", userDirectory="CORP", exp=1)
    with (
        QrsClient.from_site(jwt_site(sim.url), env={"QRS_JWT": token}, read_only=True) as qrs,
        pytest.raises(QrsAuthError, match="JWT") as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert token not in str(caught.value)
    assert caught.value.status == 401


@pytest.mark.parametrize("env", [{}, {"QRS_JWT": ""}], ids=["unset", "empty"])
def test_jwt_mode_missing_token_names_the_variable(sim: Simulator, env: dict[str, str]) -> None:
    """No token in the environment: SecretError naming QRS_JWT."""
    with pytest.raises(SecretError, match="QRS_JWT"):
        QrsClient.from_site(jwt_site(sim.url), env=env, read_only=True)


# -- NTLM mode ------------------------------------------------------------------------------


@pytest.fixture
def ntlm_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The simulator's NTLM acceptor (pyspnego) reads its users from $NTLM_USER_FILE."""
    users = tmp_path / "ntlm-users.txt"
    users.write_text(f"CORP:admin:{PASSWORD}\n", encoding="utf-8")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    return users


def ntlm_site(url: str) -> Site:
    """A Windows-authentication site through the ``win`` virtual proxy."""
    auth = AuthConfig(mode=AuthMode.NTLM, user="CORP\\admin", password_env="QRS_PASSWORD")
    return Site("win", url, auth, virtual_proxy="win")


@wine_gap(WINE_NO_SSPI)
@pytest.mark.skipif(not HAS_NTLM, reason="httpx-ntlm (licsync[ntlm]) is not installed")
@pytest.mark.usefixtures("ntlm_users")
def test_ntlm_mode_reads_and_writes(sim: Simulator) -> None:
    """NTLM with a Windows User-Agent; one handshake, then the session cookie carries writes."""
    env = {"QRS_PASSWORD": PASSWORD}
    with QrsClient.from_site(ntlm_site(sim.url), env=env, read_only=False) as qrs:
        actual = fetch_actual(qrs)
        create_rule(qrs, PRO, DesiredRule(name="Via NTLM", condition='user.group="Z"'))
    assert actual.build_version
    counts = sim.request_counts()
    # The handshake adds two 401 legs to the first read; the rest ride on the session cookie.
    assert counts == {"GET": 11, "POST": 2}


@pytest.mark.skipif(not HAS_NTLM, reason="httpx-ntlm (licsync[ntlm]) is not installed")
@pytest.mark.usefixtures("ntlm_users")
def test_ntlm_wrong_password_is_an_auth_error(sim: Simulator) -> None:
    """A wrong password is QrsAuthError; neither password appears in it."""
    env = {"QRS_PASSWORD": "wrong-" + PASSWORD[::-1]}
    with (
        QrsClient.from_site(ntlm_site(sim.url), env=env, read_only=True) as qrs,
        pytest.raises(QrsAuthError) as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert PASSWORD not in str(caught.value)
    assert env["QRS_PASSWORD"] not in str(caught.value)


def test_ntlm_without_the_extra_names_the_install(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without httpx-ntlm the error says to install licsync[ntlm]."""
    monkeypatch.setitem(sys.modules, "httpx_ntlm", None)
    with pytest.raises(ConfigError, match=r"pip install 'licsync\[ntlm\]'"):
        QrsClient.from_site(ntlm_site(sim.url), env={"QRS_PASSWORD": PASSWORD}, read_only=True)


# -- no secret anywhere ---------------------------------------------------------------------


def error_kinds(qrs: QrsClient, sim: Simulator) -> list[LicsyncError]:
    """Trigger every status error kind and a dropped write through ``qrs``."""
    caught: list[LicsyncError] = []

    def expect(kind: type[QrsError], action: Callable[[], object]) -> None:
        with pytest.raises(kind) as info:
            action()
        caught.append(info.value)

    missing = paths.entity(paths.SYSTEM_RULE, "00000000-0000-4000-8000-000000000000")
    expect(QrsBadRequest, lambda: qrs.get_json(paths.USER_FULL, params={"filter": "name eq"}))
    expect(QrsNotFound, lambda: qrs.get_json(missing))
    sim.fail_next("PUT", "409")
    expect(QrsConflict, lambda: qrs.put_json(missing, {}))
    # Callers retry reads twice in all: exactly that many faults, so none is left over.
    sim.fail_next("GET", "429", count=2)
    expect(QrsThrottled, lambda: qrs.get_json(paths.ABOUT))
    sim.fail_next("GET", "503", count=2)
    expect(QrsServerError, lambda: qrs.get_json(paths.ABOUT))
    sim.fail_next("POST", "drop")
    expect(QrsTransportError, lambda: qrs.post_json(paths.access_group(PRO), {"name": "x"}))
    return caught


def assert_no_secret(
    secrets: list[str], errors: list[LicsyncError], caplog: pytest.LogCaptureFixture
) -> None:
    """No secret in any message, repr, traceback, or client-side log line."""
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += ["".join(traceback.format_exception(e)) for e in errors]
    client_side = ("licsync.qrs", "httpx", "httpcore")
    texts += [r.getMessage() for r in caplog.records if r.name.startswith(client_side)]
    for secret in secrets:
        assert secret
        for text in texts:
            assert secret not in text


def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_no_secret_in_errors_or_logs_jwt(
    sim: Simulator, jwt_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    """JWT mode: the token and the session cookie never show in errors, reprs or logs."""
    caplog.set_level(logging.DEBUG)
    token = sign_jwt(jwt_key, userId="admin", userDirectory="CORP", secret="SECRET-MARK")
    env = {"QRS_JWT": token}
    retry = RetryPolicy(attempts=2)
    site = jwt_site(sim.url)
    with QrsClient.from_site(site, env=env, read_only=False, retry=retry) as qrs:
        assert qrs.get_json(paths.ABOUT)
        cookies = [c.value for c in qrs._http.cookies.jar if c.value]
        errors = error_kinds(qrs, sim)
        with pytest.raises(QrsReadOnlyError) as read_only:
            QrsClient.from_site(site, env=env, read_only=True).delete(paths.ABOUT)
        errors.append(read_only.value)
    expired = sign_jwt(jwt_key, userId="admin", userDirectory="CORP", exp=1)
    with (
        QrsClient.from_site(site, env={"QRS_JWT": expired}, read_only=True) as stale,
        pytest.raises(QrsAuthError) as refused,
    ):
        stale.get_json(paths.ABOUT)
    errors.append(refused.value)
    closed = Site("jwt", closed_port_url(), site.auth, virtual_proxy="jwt")
    with (
        QrsClient.from_site(closed, env=env, read_only=True) as gone,
        pytest.raises(QrsTransportError) as unreachable,
    ):
        gone.get_json(paths.ABOUT)
    errors.append(unreachable.value)
    assert len(cookies) == 1
    assert_no_secret([token, expired, token.split(".")[2], *cookies], errors, caplog)
    assert token not in repr(qrs)


@wine_gap(WINE_NO_SSPI)
@pytest.mark.skipif(not HAS_NTLM, reason="httpx-ntlm (licsync[ntlm]) is not installed")
@pytest.mark.usefixtures("ntlm_users")
def test_no_secret_in_errors_or_logs_ntlm(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    """NTLM mode: the password never shows in errors, reprs or logs."""
    caplog.set_level(logging.DEBUG)
    env = {"QRS_PASSWORD": PASSWORD}
    retry = RetryPolicy(attempts=2)
    with QrsClient.from_site(ntlm_site(sim.url), env=env, read_only=False, retry=retry) as qrs:
        errors = error_kinds(qrs, sim)
        cookies = [c.value for c in qrs._http.cookies.jar if c.value]
    with (
        QrsClient.from_site(
            ntlm_site(sim.url), env={"QRS_PASSWORD": "SECRET-wrong"}, read_only=True
        ) as wrong,
        pytest.raises(QrsAuthError) as refused,
    ):
        wrong.get_json(paths.ABOUT)
    errors.append(refused.value)
    assert_no_secret([PASSWORD, "SECRET-wrong", *cookies], errors, caplog)


def test_no_secret_in_errors_or_logs_certificate(  # noqa: PLR0917 - pytest fixtures
    tls_sim: Simulator,
    certs: Path,
    other_certs: Path,
    key_file: str,
    other_key_file: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Certificate mode: the key's path (named by $QRS_KEY) never shows anywhere."""
    caplog.set_level(logging.DEBUG)
    key_path = key_file
    env = {"QRS_KEY": key_path}
    retry = RetryPolicy(attempts=2)
    site = cert_site(tls_sim.url, certs)
    errors: list[LicsyncError] = []
    with QrsClient.from_site(site, env=env, read_only=False, retry=retry) as qrs:
        errors += error_kinds(qrs, tls_sim)
    wrong_ca = cert_site(tls_sim.url, certs, ca_file=str(other_certs / "root.pem"))
    with (
        QrsClient.from_site(wrong_ca, env=env, read_only=True) as refused,
        pytest.raises(QrsTransportError) as tls_error,
    ):
        refused.get_json(paths.ABOUT)
    errors.append(tls_error.value)
    for bad_env in ({"QRS_KEY": key_path + ".missing"}, {"QRS_KEY": other_key_file}):
        with pytest.raises(SecretError) as secret_error:
            QrsClient.from_site(site, env=bad_env, read_only=True)
        errors.append(secret_error.value)
    assert_no_secret([key_path, other_key_file, "SECRET-"], errors, caplog)


# -- NTLM against a proxy whose 401 carries no usable NTLM challenge --------------------------


class _ChallengeServer:
    """A loopback HTTP server answering every request 401 with the given WWW-Authenticate
    headers: the first list for a request without ``Authorization``, the second for one with."""

    def __init__(self, first: list[str], second: list[str]) -> None:
        import http.server

        outer = self
        self.authorizations: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization")
                if authorization:
                    outer.authorizations.append(authorization.split()[0])
                self.send_response(401)
                for value in second if authorization else first:
                    self.send_header("WWW-Authenticate", value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._serving = ExitStack()

    def __enter__(self) -> _ChallengeServer:
        self._serving.enter_context(serving_in_thread(self._server))
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.close()


@pytest.mark.skipif(not HAS_NTLM, reason="httpx-ntlm (licsync[ntlm]) is not installed")
@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        (["Negotiate"], ["Negotiate"], "WWW-Authenticate offering Negotiate"),  # Kerberos only
        (["NTLM"], ["NTLM xyz"], "WWW-Authenticate offering NTLM,"),  # not base64
        (["NTLM"], ["NTLM " + base64.b64encode(b"garbage!").decode()], "offering NTLM,"),
        (["NTLM"], [], "no WWW-Authenticate header"),  # the challenge went missing
        ([], [], "no WWW-Authenticate header"),  # a 401 offering nothing at all
    ],
)
@wine_gap(WINE_NO_SSPI)
def test_ntlm_without_a_usable_challenge_is_an_auth_error(
    first: list[str], second: list[str], shown: str
) -> None:
    """httpx-ntlm's KeyError / AttributeError / StopIteration / ValueError become a QrsAuthError
    that names the endpoint (never the query with the xrfkey) and what the proxy offered."""
    with _ChallengeServer(first, second) as server:
        site = ntlm_site(server.url)
        env = {"QRS_PASSWORD": PASSWORD}
        with (
            QrsClient.from_site(site, env=env, read_only=True) as qrs,
            pytest.raises(QrsAuthError) as caught,
        ):
            qrs.get_json("/qrs/about")
    message = str(caught.value)
    assert message.startswith(f"GET {server.url}/win/qrs/about: Windows (NTLM) authentication")
    assert shown in message
    assert "xrfkey" not in message
    assert PASSWORD not in message
    assert caught.value.status == 401
    assert caught.value.path == "/win/qrs/about"
    if first:
        assert server.authorizations == [first[0].split()[0]]  # one handshake attempt, no retry


@pytest.mark.skipif(not HAS_NTLM, reason="httpx-ntlm (licsync[ntlm]) is not installed")
def test_ntlm_401_without_any_offer_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`licsync plan` against such a proxy: exit 1 and one clear line, no traceback."""
    from licsync.cli import main

    (tmp_path / "site.yaml").write_text(
        "site:\n  name: win\n  qrs_url: http://127.0.0.1:1\n  virtual_proxy: win\n"
        "  auth: {mode: ntlm, user: CORP\\admin, password_env: QRS_PASSWORD}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("QRS_PASSWORD", PASSWORD)
    with _ChallengeServer(["Negotiate"], ["Negotiate"]) as server:
        code = main(["plan", str(tmp_path), "--qrs-url", server.url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"licsync: error: GET {server.url}/win/qrs/about: Windows (NTLM)")
    assert "Traceback" not in err
    assert PASSWORD not in err
