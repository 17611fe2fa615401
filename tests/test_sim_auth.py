"""Transport and authentication: mutual TLS, header, JWT and Windows/NTLM virtual proxies."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clock import NOW
from inprocess import bare_client, in_process_simulator
from licsync.sim import ProxyConfig, SimStore, Simulator, start_simulator, write_certs
from licsync.sim.testing import XRFKEY, qrs_client, sign_rs256
from licsync.sim.transport import SimTransport
from portable import WINE_NO_SSPI, wine_gap

WINDOWS_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) licsync-test"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root CA, client and server certificates, as ``licsync sim certs`` writes them."""
    folder = tmp_path_factory.mktemp("certs")
    write_certs(folder)
    return folder


@pytest.fixture(scope="module")
def jwt_key() -> rsa.RSAPrivateKey:
    """The key the test's identity provider signs JWTs with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _store() -> SimStore:
    store = SimStore(NOW)
    store.add_user("CORP", "admin", roles=["RootAdmin"])
    store.add_user("CORP", "deployer", roles=["DeploymentAdmin"])
    store.add_user("CORP", "plain")
    store.add_user("CORP", "blocked", roles=["RootAdmin"], blacklisted=True)
    return store


@pytest.fixture
def sim(jwt_key: rsa.RSAPrivateKey) -> Iterator[Simulator]:
    """A plain-HTTP simulator with the default proxies and the test's JWT key."""
    pem = jwt_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with in_process_simulator(_store(), proxies=ProxyConfig.with_jwt_key(pem)) as running:
        yield running


def _tls(certs: Path, *, client_cert: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "root.pem"))
    if client_cert is not None:
        context.load_cert_chain(client_cert / "client.pem", client_cert / "client_key.pem")
    return context


def test_tls_accepts_a_client_certificate_signed_by_root(certs: Path) -> None:
    """Over HTTPS a client certificate from the same root is accepted."""
    with start_simulator(_store(), tls_dir=certs) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        with qrs_client(sim.url, verify=_tls(certs, client_cert=certs)) as client:
            response = client.get("/qrs/about")
            assert response.status_code == 200
            localhost = sim.url.replace("127.0.0.1", "localhost")
            assert client.get(f"{localhost}/qrs/user/count").json() == {"value": 4}


def test_tls_refuses_a_client_without_certificate(certs: Path) -> None:
    """Without a client certificate the TLS handshake fails: no HTTP answer at all."""
    with (
        start_simulator(_store(), tls_dir=certs) as sim,
        qrs_client(sim.url, verify=_tls(certs, client_cert=None)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get("/qrs/about")


def test_tls_refuses_a_certificate_from_another_root(certs: Path, tmp_path: Path) -> None:
    """A client certificate signed by a different CA is refused."""
    write_certs(tmp_path)
    with (
        start_simulator(_store(), tls_dir=certs) as sim,
        qrs_client(sim.url, verify=_tls(certs, client_cert=tmp_path)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get("/qrs/about")


def test_tls_dir_without_files_is_a_usage_error(tmp_path: Path) -> None:
    """A TLS folder without the certificates names what is missing."""
    from licsync.errors import UsageError

    with pytest.raises(UsageError, match=r"server\.pem"), start_simulator(tls_dir=tmp_path):
        pass


def test_header_proxy(sim: Simulator) -> None:
    """``/hdr/qrs`` takes the user from ``hdr-usr`` and keeps a session cookie."""
    with bare_client(sim, "/hdr", user=None) as client:
        first = client.get("/qrs/about", headers={"hdr-usr": "CORP\\admin"})
        assert first.status_code == 200
        assert "X-Qlik-Session-hdr" in first.cookies
        again = client.get("/qrs/user/count")  # the cookie alone is enough now
        assert again.status_code == 200
        created = client.post("/qrs/license/professionalaccessgroup", json={"name": "via proxy"})
        assert created.json()["modifiedByUserName"] == "CORP\\admin"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("nobody", 401),
        ("CORP\\ghost", 403),
        ("CORP\\plain", 403),
        ("CORP\\blocked", 403),
        ("corp\\DEPLOYER", 200),
    ],
)
def test_header_proxy_refusals(sim: Simulator, header: str | None, status: int) -> None:
    """Missing or malformed header is 401; unknown, non-admin or blocked users are 403."""
    headers = {} if header is None else {"hdr-usr": header}
    with bare_client(sim, "/hdr", user=None) as client:
        assert client.get("/qrs/about", headers=headers).status_code == status


def test_proxy_still_checks_the_xrfkey(sim: Simulator) -> None:
    """Through a proxy the xrfkey check applies as on direct calls."""
    with httpx.Client(transport=SimTransport(sim.app)) as client:
        response = client.get(f"{sim.url}/hdr/qrs/about", headers={"hdr-usr": "CORP\\admin"})
    assert response.status_code == 403


def _jwt(key: rsa.RSAPrivateKey, **claims: object) -> str:
    base: dict[str, object] = {
        "userId": "admin",
        "userDirectory": "CORP",
        "exp": int(NOW.timestamp()) + 600,
    }
    return sign_rs256({**base, **claims}, key)


def test_jwt_proxy_accepts_a_valid_token(sim: Simulator, jwt_key: rsa.RSAPrivateKey) -> None:
    """A valid RS256 bearer token names the caller; the session cookie follows."""
    with bare_client(sim, "/jwt", user=None) as client:
        response = client.get("/qrs/about", headers={"Authorization": f"Bearer {_jwt(jwt_key)}"})
        assert response.status_code == 200
        assert "X-Qlik-Session-jwt" in response.cookies
        created = client.post("/qrs/license/analyzeraccessgroup", json={"name": "jwt"})
        assert created.json()["modifiedByUserName"] == "CORP\\admin"


def test_jwt_proxy_refusals(sim: Simulator, jwt_key: rsa.RSAPrivateKey) -> None:
    """Expired, not-yet-valid, forged or claim-less tokens are 401; a non-admin is 403."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    valid = _jwt(jwt_key)
    tampered = valid[:-6] + ("AAAAAA" if not valid.endswith("AAAAAA") else "BBBBBB")
    cases = {
        _jwt(jwt_key, exp=int(NOW.timestamp()) - 1): 401,
        _jwt(jwt_key, nbf=int(NOW.timestamp()) + 60): 401,
        _jwt(other): 401,
        tampered: 401,
        sign_rs256({"sub": "x"}, jwt_key): 401,
        "not.a.jwt": 401,
        _jwt(jwt_key, userId="plain"): 403,
    }
    for token, status in cases.items():
        with bare_client(sim, "/jwt", user=None) as client:
            response = client.get("/qrs/about", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == status, token
    with bare_client(sim, "/jwt", user=None) as client:
        assert client.get("/qrs/about").status_code == 401


def test_jwt_expiry_follows_the_simulator_clock(sim: Simulator, jwt_key: rsa.RSAPrivateKey) -> None:
    """Moving the simulator's clock past ``exp`` expires the token."""
    token = _jwt(jwt_key)
    sim.advance(dt.timedelta(hours=1))
    with bare_client(sim, "/jwt", user=None) as client:
        assert (
            client.get("/qrs/about", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )


def test_jwt_proxy_without_a_key_answers_501() -> None:
    """The default configuration has no JWT key: that proxy says so with 501."""
    with (
        in_process_simulator(_store()) as sim,
        bare_client(sim, "/jwt", user=None) as client,
    ):
        assert (
            client.get("/qrs/about", headers={"Authorization": "Bearer a.b.c"}).status_code == 501
        )


def test_windows_proxy_needs_a_windows_user_agent(sim: Simulator) -> None:
    """A User-Agent without the Windows pattern is redirected to the forms login."""
    with bare_client(sim, "/win", user=None, headers={"User-Agent": "curl/8"}) as client:
        response = client.get("/qrs/about")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/win/internal_forms_authentication/?targetId=")


def test_windows_proxy_redirects_a_write_without_session(sim: Simulator) -> None:
    """A POST through the Windows proxy without a session cookie is redirected (302)."""
    with bare_client(sim, "/win", user=None, headers={"User-Agent": WINDOWS_AGENT}) as client:
        response = client.post("/qrs/license/professionalaccessgroup", json={"name": "x"})
    assert response.status_code == 302
    assert response.headers["location"].startswith("/win/internal_windows_authentication/")


@pytest.fixture
def ntlm_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyspnego's acceptor reads its users from the file NTLM_USER_FILE names."""
    users = tmp_path / "ntlm_users"
    users.write_text("CORP:admin:Corr3ct-Horse\nCORP:plain:Plain-Pass1\n", encoding="utf-8")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))


@wine_gap(WINE_NO_SSPI)
def test_windows_proxy_ntlm_then_write(sim: Simulator, ntlm_users: None) -> None:
    """NTLM authenticates the GET; its session cookie lets the POST through."""
    httpx_ntlm = pytest.importorskip("httpx_ntlm", reason="httpx-ntlm is not installed")
    auth = httpx_ntlm.HttpNtlmAuth("CORP\\admin", "Corr3ct-Horse")
    with bare_client(sim, "/win", user=None, headers={"User-Agent": WINDOWS_AGENT}) as client:
        response = client.get("/qrs/about", auth=auth)
        assert response.status_code == 200
        assert "X-Qlik-Session-win" in client.cookies
        created = client.post("/qrs/license/professionalaccessgroup", json={"name": "ntlm"})
        assert created.status_code == 201
        assert created.json()["modifiedByUserName"] == "CORP\\admin"


@pytest.mark.parametrize(
    ("user", "password", "status"),
    [("CORP\\admin", "wrong", 401), ("CORP\\plain", "Plain-Pass1", 403)],
)
@wine_gap(WINE_NO_SSPI)
def test_windows_proxy_ntlm_refusals(
    sim: Simulator, ntlm_users: None, user: str, password: str, status: int
) -> None:
    """A wrong password fails the handshake (401); a valid non-admin user is 403."""
    httpx_ntlm = pytest.importorskip("httpx_ntlm", reason="httpx-ntlm is not installed")
    with bare_client(sim, "/win", user=None, headers={"User-Agent": WINDOWS_AGENT}) as client:
        response = client.get("/qrs/about", auth=httpx_ntlm.HttpNtlmAuth(user, password))
    assert response.status_code == status


@wine_gap(WINE_NO_SSPI)
def test_windows_proxy_without_users_file_answers_501(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without NTLM_USER_FILE the acceptor cannot check anyone: 501, saying why."""
    spnego = pytest.importorskip("spnego", reason="pyspnego is not installed")
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)
    negotiate = base64.b64encode(spnego.client("CORP\\admin", "x", protocol="ntlm").step()).decode()
    headers = {"User-Agent": WINDOWS_AGENT, "Authorization": f"NTLM {negotiate}"}
    with bare_client(sim, "/win", user=None, headers=headers) as client:
        response = client.get("/qrs/about")
    assert response.status_code == 501
    assert "NTLM_USER_FILE" in response.text


def test_unknown_proxy_prefix_is_404(sim: Simulator) -> None:
    """Only configured prefixes serve ``/<prefix>/qrs``."""
    with httpx.Client(transport=SimTransport(sim.app)) as client:
        response = client.get(
            f"{sim.url}/nope/qrs/about?xrfkey={XRFKEY}", headers={"X-Qlik-Xrfkey": XRFKEY}
        )
    assert response.status_code == 404


def test_windows_proxy_without_pyspnego_answers_501(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where pyspnego is not installed, the Windows proxy says so with 501."""
    import licsync.sim.auth

    monkeypatch.setattr(licsync.sim.auth, "_spnego_available", lambda: False)
    with bare_client(sim, "/win", user=None, headers={"User-Agent": WINDOWS_AGENT}) as client:
        response = client.get("/qrs/about")
    assert response.status_code == 501
    assert "pyspnego" in response.text
