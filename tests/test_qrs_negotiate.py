"""Integrated Windows authentication (``auth.mode: negotiate``): HTTP Negotiate with the process's
own identity against the simulator's Windows virtual proxy, over real sockets.

The simulator has no domain controller, so Kerberos cannot happen here: the Negotiate (SPNEGO)
exchange carries NTLM, and the "process identity" is pyspnego's: on Linux the first account of
``NTLM_USER_FILE`` (as gss-ntlmssp reads it); on Windows SSPI's logon, which the simulator
cannot verify, so there the tests force pyspnego's own NTLM. What only a real domain shows
(Kerberos tickets, SPNs, delegation, channel binding) is in docs/connecting.md.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest

from clock import NOW
from licsync.errors import ConfigError, QrsAuthError
from licsync.qrs import QrsClient, paths
from licsync.qrs.auth import negotiate_credentials
from licsync.qrs.negotiate import NegotiateAuth
from licsync.sim import SimStore, Simulator
from licsync.site import AuthConfig, AuthMode, Site
from portable import WINDOWS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("spnego") is None, reason="pyspnego (licsync[negotiate]) missing"
)

PASSWORD = "Negot1ate-Secret-9c2e"


@pytest.fixture
def sim_store() -> SimStore:
    """The service account and CORP\\admin, a RootAdmin the Windows proxy lets in."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    store.add_user("CORP", "admin", roles=["RootAdmin"])
    return store


@pytest.fixture
def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The account this process "is": the first line of NTLM_USER_FILE, which the simulator's
    acceptor reads too."""
    users = tmp_path / "ntlm-users.txt"
    users.write_text(f"CORP:admin:{PASSWORD}\n", encoding="utf-8")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    return users


def _ntlm_inside_negotiate(host: str) -> Any:
    import spnego

    return spnego.client(
        hostname=host,
        service="HTTP",
        protocol="negotiate",
        options=spnego.NegotiateOptions.use_ntlm,
    )


class _Recorder(httpx.Auth):
    """What went over the wire: each request's Authorization scheme, each answer's status."""

    def __init__(self, inner: httpx.Auth) -> None:
        self.inner = inner
        self.legs: list[tuple[str, int]] = []

    requires_response_body = True

    def auth_flow(self, request: httpx.Request) -> Any:
        flow = self.inner.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            scheme = outgoing.headers.get("authorization", "").split(" ", 1)[0]
            self.legs.append((scheme, response.status_code))
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return


def negotiate_site(url: str) -> Site:
    """A site in negotiate mode through the ``win`` virtual proxy: no user, no secret."""
    return Site("win", url, AuthConfig(mode=AuthMode.NEGOTIATE), virtual_proxy="win")


@pytest.mark.usefixtures("identity")
def test_negotiate_challenge_flow_then_the_session_carries_writes(sim: Simulator) -> None:
    """401 offering Negotiate; Negotiate token, 401 with the server's token; Negotiate token,
    200: then every request, writes included, rides on the session cookie."""
    credentials = negotiate_credentials("win", context_factory=_ntlm_inside_negotiate)
    recorder = _Recorder(credentials.http_auth)  # type: ignore[arg-type]
    credentials = type(credentials)(
        **{**{f: getattr(credentials, f) for f in credentials.__slots__}, "http_auth": recorder}
    )
    with QrsClient(sim.url, credentials=credentials, read_only=False) as qrs:
        about = qrs.get_json(paths.ABOUT)
        assert about
        qrs.get_json(paths.ABOUT)
    assert recorder.legs[:3] == [("", 401), ("Negotiate", 401), ("Negotiate", 200)]
    assert recorder.legs[3:] == [("", 200)]


@pytest.mark.skipif(
    WINDOWS,
    reason="Windows: SSPI logs on as this machine's account, which the simulator cannot verify",
)
@pytest.mark.usefixtures("identity")
def test_negotiate_mode_from_the_site_file_needs_no_secret(sim: Simulator) -> None:
    """``auth.mode: negotiate`` as a site says it, no variable at all in the environment."""
    with QrsClient.from_site(negotiate_site(sim.url), env={}, read_only=True) as qrs:
        assert qrs.get_json(paths.ABOUT)


def test_an_identity_the_proxy_does_not_know_is_an_auth_error(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process account the proxy refuses: QrsAuthError naming the endpoint, no password."""
    ours = tmp_path / "ours.txt"
    ours.write_text("CORP:admin:Wrong-Password-1\n", encoding="utf-8")
    theirs = tmp_path / "theirs.txt"
    theirs.write_text(f"CORP:admin:{PASSWORD}\n", encoding="utf-8")
    import spnego

    def client_as_ours(host: str) -> Any:
        monkeypatch.setenv("NTLM_USER_FILE", str(ours))
        context = _ntlm_inside_negotiate(host)
        context.step  # noqa: B018 - created; the first step reads no credential yet
        return _SwitchBack(context, theirs, monkeypatch)

    credentials = negotiate_credentials("win", context_factory=client_as_ours)
    with (
        QrsClient(sim.url, credentials=credentials, read_only=True) as qrs,
        pytest.raises(QrsAuthError) as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert (
        "Windows (Negotiate) authentication failed" in str(caught.value)
        or caught.value.status == 401
    )
    assert PASSWORD not in str(caught.value)
    assert spnego


class _SwitchBack:
    """The client's context; once its first token is made, the server reads the other file."""

    def __init__(self, context: Any, theirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._context = context
        self._theirs = theirs
        self._monkeypatch = monkeypatch
        self._steps = 0

    @property
    def complete(self) -> bool:
        return bool(self._context.complete)

    def step(self, token: bytes | None = None) -> bytes | None:
        answer = self._context.step(token)
        self._steps += 1
        if self._steps == 1:
            self._monkeypatch.setenv("NTLM_USER_FILE", str(self._theirs))
        return answer


def test_a_proxy_without_negotiate_leaves_the_401_alone() -> None:
    """A 401 offering only Basic: no token is made, the 401 goes to the caller as it is."""
    made: list[str] = []

    def factory(host: str) -> Any:
        made.append(host)
        raise AssertionError("no context for a proxy that does not offer Negotiate")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=NegotiateAuth(factory)) as http:
        assert http.get("https://qlik.example/win/qrs/about").status_code == 401
    assert made == []


def test_a_server_token_that_is_not_base64_is_a_clear_error() -> None:
    """A garbled ``WWW-Authenticate: Negotiate`` token: QrsAuthError, not a crash."""

    class Context:
        complete = False

        def step(self, token: bytes | None = None) -> bytes:
            return b"first"

    def handler(request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": "Negotiate !!not-base64!!"})
        return httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"})

    auth = NegotiateAuth(lambda host: Context())
    with (
        httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as http,
        pytest.raises(QrsAuthError, match="not base64"),
    ):
        http.get("https://qlik.example/win/qrs/about?xrfkey=0123456789abcdef")


def test_a_server_asking_for_legs_without_end_is_stopped() -> None:
    """A proxy that answers every token with another challenge: stopped after a few legs."""

    class Context:
        complete = False

        def step(self, token: bytes | None = None) -> bytes:
            return b"more"

    challenge = base64.b64encode(b"again").decode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": f"Negotiate {challenge}"})

    with (
        httpx.Client(
            transport=httpx.MockTransport(handler), auth=NegotiateAuth(lambda host: Context())
        ) as http,
        pytest.raises(QrsAuthError, match="more than 4 Negotiate legs"),
    ):
        http.get("https://qlik.example/win/qrs/about")


def test_negotiate_without_the_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyspnego the error says to install licsync[negotiate]."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConfigError, match=r"pip install 'licsync\[negotiate\]'"):
        negotiate_credentials("win")
