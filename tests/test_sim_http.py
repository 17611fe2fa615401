"""The simulator's HTTP surface: xrfkey, X-Qlik-User, routing, filters, counts, admin endpoints."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from clock import NOW
from inprocess import bare_client
from licsync.sim import SimStore, Simulator
from licsync.sim.app import XSRF_MESSAGE
from licsync.sim.testing import XRFKEY, qrs_client
from licsync.sim.transport import SimTransport


@pytest.fixture
def sim_store() -> SimStore:
    """A small hand-made organisation."""
    store = SimStore(NOW)
    store.add_user("CORP", "jdoe", name="Jane Doe", groups=["Sales"], email="jane@corp.example.com")
    store.add_user("CORP", "sobrien", name="Sean O'Brien", groups=["R&D #1"])
    store.add_user("EMEA", "jürgen", name="Jürgen Groß", groups=["Finance 100%"], inactive=True)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    return store


@pytest.fixture
def client(http: httpx.Client) -> httpx.Client:
    """Here the client is the bare one: these tests are about the simulator's HTTP surface."""
    return http


def _raw(sim: Simulator, path_and_query: str, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(transport=SimTransport(sim.app)) as plain:
        return plain.get(sim.url + path_and_query, headers=headers)


@pytest.mark.parametrize(
    ("query", "header"),
    [
        ("", XRFKEY),
        (f"xrfkey={XRFKEY}", None),
        (f"xrfkey={XRFKEY}", "0123456789abcdeX"),
        ("xrfkey=0123456789abcde", "0123456789abcde"),
        ("xrfkey=0123456789abcdef0", "0123456789abcdef0"),
        ("xrfkey=0123456789abcd-f", "0123456789abcd-f"),
        ("xrfkey=0123456789abcd_f", "0123456789abcd_f"),
        ("xrfkey=", ""),
    ],
    ids=[
        "no-param",
        "no-header",
        "mismatch",
        "too-short",
        "too-long",
        "dash",
        "underscore",
        "empty",
    ],
)
def test_xrfkey_refusals(sim: Simulator, query: str, header: str | None) -> None:
    """Missing, mismatched or malformed xrfkeys get 403 with QRS's exact body."""
    headers = {} if header is None else {"X-Qlik-Xrfkey": header}
    response = _raw(sim, f"/qrs/about?{query}", headers)
    assert response.status_code == 403
    assert response.text == XSRF_MESSAGE


def test_xrfkey_parameter_name_is_case_insensitive(sim: Simulator) -> None:
    """``Xrfkey=`` and ``XRFKEY=`` pass like ``xrfkey=``; the header name is any case too."""
    for name in ("Xrfkey", "XRFKEY"):
        response = _raw(sim, f"/qrs/about?{name}={XRFKEY}", {"x-qlik-xrfkey": XRFKEY})
        assert response.status_code == 200


def test_xrfkey_lost_after_an_unencoded_hash(sim: Simulator) -> None:
    """A ``#`` in a raw filter cuts the query (it starts the fragment): the xrfkey is lost."""
    with httpx.Client(transport=SimTransport(sim.app)) as plain:
        response = plain.get(
            f"{sim.url}/qrs/user?filter=name eq 'R#D'&xrfkey={XRFKEY}",
            headers={"X-Qlik-Xrfkey": XRFKEY},
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        "UserDirectory=CORP; UserId=jdoe",
        "UserDirectory=CORP;UserId=jdoe",
        "userdirectory=CORP ; userid=jdoe",
    ],
)
def test_x_qlik_user_forms_name_the_modifier(sim: Simulator, header: str) -> None:
    """With or without the space, the X-Qlik-User caller becomes ``modifiedByUserName``."""
    with bare_client(sim, user=header) as c:
        group = c.post("/qrs/license/professionalaccessgroup", json={"name": "G"})
    assert group.status_code == 201
    assert group.json()["modifiedByUserName"] == "CORP\\jdoe"


def test_x_qlik_user_values_are_url_decoded(sim: Simulator) -> None:
    """Directory and user id are URL-encoded UTF-8 in the header (Qlik docs)."""
    with bare_client(sim, user="UserDirectory=EMEA; UserId=j%C3%BCrgen") as c:
        group = c.post("/qrs/license/analyzeraccessgroup", json={"name": "G"})
    assert group.json()["modifiedByUserName"] == "EMEA\\jürgen"


def test_without_x_qlik_user_the_caller_is_sa_repository(sim: Simulator) -> None:
    """A certificate call without X-Qlik-User acts as ``INTERNAL\\sa_repository``."""
    with bare_client(sim, user=None) as c:
        group = c.post("/qrs/license/analyzeraccessgroup", json={"name": "G"})
    assert group.json()["modifiedByUserName"] == "INTERNAL\\sa_repository"


@pytest.mark.parametrize(
    "header", ["jdoe", "UserDirectory=CORP", "UserId=jdoe", "UserDirectory=; UserId=x"]
)
def test_malformed_x_qlik_user_is_400(sim: Simulator, header: str) -> None:
    """An X-Qlik-User header that does not name a directory and a user id is refused."""
    with bare_client(sim, user=header) as c:
        assert c.get("/qrs/about").status_code == 400


def test_paths_are_case_insensitive(client: httpx.Client) -> None:
    """``/QRS/User/Full`` is ``/qrs/user/full``, as on QRS."""
    assert client.get("/QRS/User/FULL").status_code == 200
    assert len(client.get("/QRS/User/FULL").json()) == 4


def test_unknown_path_id_and_method(client: httpx.Client) -> None:
    """Unknown path and unknown id are 404; a known path with the wrong method is 405."""
    assert client.get("/qrs/nothing").status_code == 404
    assert client.get("/qrs/user/6d2b5c5e-0d3f-4c4e-9d51-5f2b6d8e9a10").status_code == 404
    assert client.get("/qrs/user/not-a-guid").status_code == 404
    assert client.get("/elsewhere").status_code == 404
    response = client.delete("/qrs/user/full")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


def test_count_is_a_bare_integer(client: httpx.Client) -> None:
    """``/count`` answers a bare integer as the spec types it, filter applied."""
    assert client.get("/qrs/user/count").json() == {"value": 4}
    assert client.get("/qrs/user/count", params={"filter": "userDirectory eq 'corp'"}).json() == {
        "value": 2
    }


def test_condensed_and_full_user_shapes(client: httpx.Client) -> None:
    """``GET /user`` returns ``UserCondensed``; ``/user/full`` the whole ``User``."""
    condensed = client.get("/qrs/user").json()[0]
    full = client.get("/qrs/user/full").json()[0]
    assert set(condensed) <= {
        "id",
        "privileges",
        "userId",
        "userDirectory",
        "userDirectoryConnectorName",
        "name",
    }
    assert {"attributes", "roles", "inactive", "removedExternally", "blacklisted"} <= set(full)
    single = client.get(f"/qrs/user/{full['id'].upper()}").json()
    assert single == full


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name eq 'Sean O\\'Brien'", ["sobrien"]),
        ("attributes.attributeValue eq 'R&D #1'", ["sobrien"]),
        ("attributes.attributeValue eq 'Finance 100%'", ["jürgen"]),
        ("name eq 'Jürgen Groß'", ["jürgen"]),
        ("userDirectory eq 'CORP' and (name sw 'jane' or name ew 'brien')", ["jdoe", "sobrien"]),
        ("inactive eq true", ["jürgen"]),
        (
            "attributes.attributeType eq 'email' and attributes.attributeValue so 'corp.example'",
            ["jdoe"],
        ),
        ("name eq 'nobody'", []),
    ],
)
def test_filters_through_the_endpoint(
    client: httpx.Client, expression: str, expected: list[str]
) -> None:
    """Filters (properly URL-encoded) select users, hostile quoted values included."""
    response = client.get("/qrs/user/full", params={"filter": expression, "orderby": "userId"})
    assert response.status_code == 200
    assert [u["userId"] for u in response.json()] == expected


@pytest.mark.parametrize(
    "expression", ["name eq 'O''Brien'", "name eq 'unterminated", "name zz 'x'", "(name eq 'x'"]
)
def test_bad_filters_are_400_with_a_qrs_like_body(client: httpx.Client, expression: str) -> None:
    """A filter that does not parse is a 400 starting ``Cannot parse the expression``."""
    response = client.get("/qrs/user", params={"filter": expression})
    assert response.status_code == 400
    assert response.text.startswith("Cannot parse the expression:")


def test_unencoded_ampersand_in_a_filter(sim: Simulator) -> None:
    """An unencoded ``&`` splits the filter: QRS answers ``Missing parameter value(s)``."""
    with httpx.Client(transport=SimTransport(sim.app)) as plain:
        response = plain.get(
            f"{sim.url}/qrs/user?filter=name eq 'R&D'&xrfkey={XRFKEY}",
            headers={"X-Qlik-Xrfkey": XRFKEY},
        )
    assert response.status_code == 400
    assert response.text == "Missing parameter value(s)"


def test_stray_percent_is_uri_malformed(sim: Simulator) -> None:
    """A ``%`` not followed by two hex digits is refused as QRS does."""
    with httpx.Client(transport=SimTransport(sim.app)) as plain:
        response = plain.get(
            f"{sim.url}/qrs/user?xrfkey={XRFKEY}&filter=name%20eq%20%2710%%27",
            headers={"X-Qlik-Xrfkey": XRFKEY},
        )
    assert response.status_code == 400
    assert response.text == "URI malformed"


def test_orderby(client: httpx.Client) -> None:
    """``orderby`` sorts by one or more properties, ``desc`` reversing."""
    ids = [
        u["userId"]
        for u in client.get("/qrs/user", params={"orderby": "userDirectory desc, userId"}).json()
    ]
    assert ids == ["sa_api", "jürgen", "jdoe", "sobrien"]
    assert client.get("/qrs/user", params={"orderby": "name sideways"}).status_code == 400


def test_privileges_parameter(client: httpx.Client) -> None:
    """``?privileges=true`` adds the caller's privileges to each entity; otherwise null."""
    plain = client.get("/qrs/user").json()
    with_privileges = client.get("/qrs/user", params={"privileges": "true"}).json()
    assert plain[0]["privileges"] is None
    assert "read" in with_privileges[0]["privileges"]


def test_list_cache_serves_fresh_data_after_a_write(sim: Simulator, client: httpx.Client) -> None:
    """The unfiltered list is served from cache but never stale after a change."""
    first = client.get("/qrs/user/full").content
    assert client.get("/qrs/user/full").content == first
    hits = sim.app.cache.hits
    assert hits >= 1
    sim.store.add_user("CORP", "newbie")
    assert len(client.get("/qrs/user/full").json()) == 5


def test_keep_alive_reuses_the_connection(socket_sim: Simulator) -> None:
    """Several requests travel over one HTTP/1.1 connection."""
    ports = set()
    with qrs_client(socket_sim.url) as client:
        for _ in range(3):
            response = client.get("/qrs/about", extensions={})
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr"))
    assert len(ports) == 1


def test_request_counts_and_reset(sim: Simulator, client: httpx.Client) -> None:
    """Counts cover /qrs requests by method; admin endpoints are not counted."""
    sim.reset_counts()
    client.get("/qrs/about")
    client.get("/qrs/user")
    client.post("/qrs/license/professionalaccessgroup", json={"name": "x"})
    client.get("/_sim/clock")
    assert sim.request_counts() == {"GET": 2, "POST": 1}
    assert client.get("/_sim/requests").json() == {"GET": 2, "POST": 1}
    client.post("/_sim/requests/reset")
    assert sim.request_counts() == {}


def test_admin_clock(sim: Simulator, client: httpx.Client) -> None:
    """``/_sim/clock`` reads, sets and advances the simulator's clock."""
    assert client.get("/_sim/clock").json() == {"now": "2025-03-10T09:30:00.000Z", "frozen": True}
    client.post("/_sim/clock", json={"advance_seconds": 90})
    assert sim.store.now() == NOW + dt.timedelta(seconds=90)
    answer = client.post("/_sim/clock", json={"now": "2026-01-01T00:00:00Z"}).json()
    assert answer["now"] == "2026-01-01T00:00:00.000Z"
    assert client.post("/_sim/clock", json={"when": 1}).status_code == 400


def test_admin_snapshot_and_faults(client: httpx.Client) -> None:
    """``/_sim/snapshot`` returns the store; ``/_sim/faults`` shows and replaces the plan."""
    snapshot = client.get("/_sim/snapshot").json()
    assert snapshot["format"] == "licsync-sim-snapshot"
    plan = {"seed": 3, "rules": [{"method": "GET", "kind": "503", "rate": 0.25}]}
    assert client.post("/_sim/faults", json=plan).json()["rules"][0]["rate"] == 0.25
    assert (
        client.post(
            "/_sim/faults", json={"rules": [{"method": "GET", "kind": "teapot", "rate": 1}]}
        ).status_code
        == 400
    )


def test_request_body_must_be_json(client: httpx.Client) -> None:
    """A write with an empty or non-JSON body is a 400."""
    assert client.post("/qrs/license/professionalaccessgroup", content=b"").status_code == 400
    assert client.post("/qrs/license/professionalaccessgroup", content=b"{nope").status_code == 400
    assert client.post("/qrs/license/professionalaccessgroup", json=[1]).status_code == 400
