"""The simulator answers like a live QRS where public clients rely on it, and licsync reads it."""

from __future__ import annotations

import httpx
import pytest

from clock import NOW
from licsync.identity import AccessType
from licsync.qrs import QrsClient
from licsync.qrs.read import fetch_actual
from licsync.rules import Verdict, evaluate, parse_condition
from licsync.sim import SimStore
from licsync.sim.entities import ATTRIBUTE_EMAIL, COUNT_KEY

PRO = "/qrs/license/professionalaccesstype"


@pytest.fixture
def sim_store() -> SimStore:
    """Two users sharing a tag, one with a custom property, a deleted user's quarantined seat."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    ann = store.add_user(
        "CORP",
        "ann",
        tags=["KeepLicense"],
        custom_properties={"LicenseOwner": "Finance"},
        attributes=[("Email", "ann@corp.example")],
    )
    store.add_user("CORP", "bob", tags=["keeplicense"], email="bob@corp.example")
    gone = store.add_user("CORP", "gone")
    store.add_allocation("professional", ann["id"], last_used=NOW)
    seat = store.add_allocation("professional", gone["id"], last_used=NOW)
    store.set_capacity("professional", 5)
    store.deallocate(AccessType.PROFESSIONAL, seat["id"], "CORP\\admin")
    store.delete_user(gone["id"])
    return store


def test_count_answers_value(http: httpx.Client) -> None:
    """``/count`` is ``{"value": N}``, filtered or not, as clients of live servers read it."""
    assert http.get("/qrs/user/count").json() == {COUNT_KEY: 3}
    filtered = http.get("/qrs/user/count", params={"filter": "userId eq 'ANN'"})
    assert filtered.json() == {COUNT_KEY: 1}


def test_unset_properties_are_null(http: httpx.Client) -> None:
    """``privileges`` and a deleted user's ``user`` are null, not left out; a living user's
    seat has ``""`` deleted-user fields and "never" is 1753-01-01, as live servers answer."""
    seats = {s["quarantined"]: s for s in http.get(f"{PRO}/full").json()}
    kept, deleted = seats[False], seats[True]
    assert kept["privileges"] is None
    assert kept["user"]["privileges"] is None
    assert (kept["deletedUserId"], kept["deletedUserDirectory"]) == ("", "")
    assert kept["quarantineEnd"] == "1753-01-01T00:00:00.000Z"
    one = http.get(f"{PRO}/{kept['id']}").json()
    assert (one["deletedUserId"], one["quarantineEnd"]) == ("", "1753-01-01T00:00:00.000Z")
    assert deleted["user"] is None
    assert (deleted["deletedUserDirectory"], deleted["deletedUserId"]) == ("CORP", "gone")


def test_token_endpoints_answer_as_a_site_without_tokens(http: httpx.Client) -> None:
    """User and login passes: empty lists and zero counts, not 404."""
    for kind in ("useraccesstype", "loginaccesstype"):
        base = f"/qrs/license/{kind}"
        assert http.get(base).json() == []
        assert http.get(f"{base}/full").json() == []
        assert http.get(f"{base}/count").json() == {COUNT_KEY: 0}
    info = http.get("/qrs/license/accesstypeinfo").json()
    assert (info["totalTokens"], info["availableTokens"]) == (0, 0)


def test_tags_and_custom_property_definitions_list_what_users_carry(http: httpx.Client) -> None:
    """One tag entity however many users carry it (any case); filters and counts work."""
    tags = http.get("/qrs/tag/full").json()
    assert [t["name"] for t in tags] == ["KeepLicense"]
    assert http.get("/qrs/tag/count", params={"filter": "name eq 'keeplicense'"}).json() == {
        COUNT_KEY: 1
    }
    users = http.get("/qrs/user/full", params={"filter": "tags.name eq 'KeepLicense'"}).json()
    assert {u["userId"] for u in users} == {"ann", "bob"}
    assert {t["id"] for u in users for t in u["tags"]} == {tags[0]["id"]}
    definitions = http.get("/qrs/custompropertydefinition/full").json()
    assert [(d["name"], d["objectTypes"]) for d in definitions] == [("LicenseOwner", ["User"])]
    one = http.get(f"/qrs/custompropertydefinition/{definitions[0]['id']}")
    assert one.json()["name"] == "LicenseOwner"


def test_tools_first_calls_answer(http: httpx.Client) -> None:
    """``about/api/enums`` and ``about/api/description`` answer (Qlik-Cli, qrs-wrapper)."""
    enums = http.get("/qrs/about/api/enums").json()
    assert "0: BothQlikSenseAndQMC" in enums["RuleContextEnum"]["values"]
    described = http.get("/qrs/about/api/description", params={"method": "GET"}).json()
    assert "GET /qrs/license/professionalaccesstype/full" in described
    assert not any(line.startswith("POST ") for line in described)


def test_attribute_type_spelling_does_not_matter(client: QrsClient) -> None:
    """``Email`` from one connector and ``email`` from another both answer ``user.email``."""
    assert ATTRIBUTE_EMAIL == "email"  # the simulator's own (UNVERIFIED) spelling
    actual = fetch_actual(client)
    condition = parse_condition('user.email like "*@corp.example"')
    for key in ("corp\\ann", "corp\\bob"):
        assert evaluate(condition, actual.users[key]) is Verdict.YES
    ann = actual.users["corp\\ann"]
    assert (ann.tags, ann.custom_properties) == (("KeepLicense",), {"licenseowner": ("Finance",)})
