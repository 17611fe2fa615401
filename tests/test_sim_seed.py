"""The synthetic organisation and snapshots: determinism, shape, exact round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clock import NOW
from inprocess import bare_client, in_process_simulator
from licsync.errors import UsageError
from licsync.identity import AccessType
from licsync.sim import SimStore, synthetic_organisation
from licsync.sim.entities import ALLOCATION, SYSTEMRULE, USER


@pytest.fixture(scope="module")
def organisation() -> SimStore:
    """A 2,000-person synthetic organisation (seed 3)."""
    return synthetic_organisation(2000, 3, NOW)


def test_same_seed_gives_byte_identical_snapshots() -> None:
    """The same (users, seed, now) builds the same store, byte for byte."""
    assert (
        synthetic_organisation(300, 7, NOW).to_json()
        == synthetic_organisation(300, 7, NOW).to_json()
    )


def test_different_seed_or_size_differs() -> None:
    """Another seed gives another organisation."""
    base = synthetic_organisation(300, 7, NOW).to_json()
    assert synthetic_organisation(300, 8, NOW).to_json() != base
    assert synthetic_organisation(301, 7, NOW).to_json() != base


def test_shape_of_the_organisation(organisation: SimStore) -> None:
    """Directories, service accounts, flags and seats come in the documented proportions."""
    _, users = organisation.entities(USER)
    assert len(users) == 2003
    service = [u for u in users if u["userDirectory"] == "INTERNAL"]
    assert sorted(u["userId"] for u in service) == ["sa_api", "sa_repository", "sa_scheduler"]
    assert all(u["roles"] == ["RootAdmin"] for u in service)
    directories = {u["userDirectory"] for u in users}
    assert directories == {"INTERNAL", "CORP", "EMEA", "PARTNERS"}
    people = [u for u in users if u["userDirectory"] != "INTERNAL"]
    inactive = sum(u["inactive"] for u in people) / len(people)
    assert 0.015 < inactive < 0.05
    assert all(u["inactive"] for u in people if u["removedExternally"])
    groups = {
        a["attributeValue"]
        for u in people
        for a in u["attributes"]
        if a["attributeType"] == "Group"
    }
    assert 100 < len(groups) < 400
    seats = sum(organisation.count(ALLOCATION[t]) for t in AccessType)
    assert 0.52 * len(people) < seats < 0.68 * len(people)
    assert organisation.is_admin("CORP", "qlikadmin")


def test_seats_are_realistic(organisation: SimStore) -> None:
    """lastUsed spreads from recent to long idle, a few seats quarantined, capacity near full."""
    overview = organisation.overview()
    for kind, key in (
        (AccessType.PROFESSIONAL, "professionalAccess"),
        (AccessType.ANALYZER, "analyzerAccess"),
    ):
        _, seats = organisation.entities(ALLOCATION[kind])
        details = overview[key]
        assert details["quarantined"] >= 1
        assert 0 < details["available"] <= 0.05 * details["total"]
        never = sum(s["lastUsed"] == "0001-01-01T00:00:00.000Z" for s in seats)
        assert 0 < never < 0.12 * len(seats)
        deleted = [s for s in seats if s["deletedUserId"] is not None]
        assert len(deleted) == 1
        assert deleted[0]["quarantined"] is True


def test_licence_rules_are_seeded(organisation: SimStore) -> None:
    """A handful of licence rules per type, pointing at their groups, plus security rules."""
    _, rules = organisation.entities(SYSTEMRULE)
    licence = [r for r in rules if r["category"] == "License"]
    assert len(licence) == 8
    assert any(r["disabled"] for r in licence)
    assert any(" like " in r["rule"] and " and " in r["rule"] for r in licence)
    assert any(r["category"] == "Security" for r in rules)


def test_snapshot_round_trip_is_exact(organisation: SimStore, tmp_path: Path) -> None:
    """save -> load -> save gives the same bytes; the loaded store behaves the same."""
    path = tmp_path / "org.json"
    organisation.save(path)
    loaded = SimStore.load(path)
    assert loaded.to_json() == path.read_bytes()
    assert loaded.overview() == organisation.overview()
    assert loaded.now() == NOW


def test_simulator_serves_a_snapshot(organisation: SimStore, tmp_path: Path) -> None:
    """``in_process_simulator(snapshot=...)`` serves the stored organisation."""
    path = tmp_path / "org.json"
    organisation.save(path)
    with in_process_simulator(snapshot=path) as sim, bare_client(sim) as client:
        assert client.get("/qrs/user/count").json() == {"value": 2003}
        assert client.get("/_sim/snapshot").content == path.read_bytes()


def test_simulator_builds_a_synthetic_organisation() -> None:
    """``in_process_simulator(users=N, seed=S, now=T)`` is ``synthetic_organisation(N, S, T)``."""
    with in_process_simulator(users=40, seed=2, now=NOW) as sim:
        assert sim.store.to_json() == synthetic_organisation(40, 2, NOW).to_json()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"format": "other"}', "not a licsync simulator snapshot"),
        (b'{"format": "licsync-sim-snapshot", "version": 99}', "version 99"),
        (b'{"format": "licsync-sim-snapshot", "version": 1}', "damaged"),
    ],
)
def test_bad_snapshots_are_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    """Loading something that is not a snapshot says what is wrong."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        SimStore.load(path)
    with pytest.raises(UsageError, match="cannot read"):
        SimStore.load(tmp_path / "missing.json")


def test_snapshot_keeps_selections_and_capacity(tmp_path: Path) -> None:
    """Everything the store holds survives a snapshot, selections included."""
    store = SimStore(NOW)
    user = store.add_user("CORP", "x", custom_properties={"CostCenter": "CC-1"}, tags=["keep"])
    store.add_allocation("analyzer", user["id"], last_used=NOW)
    store.set_capacity("analyzer", 4)
    store.create_selection(
        ALLOCATION[AccessType.ANALYZER],
        [s["id"] for s in store.entities(ALLOCATION[AccessType.ANALYZER])[1]],
        "X\\y",
    )
    again = SimStore.from_json(store.to_json())
    assert again.to_json() == store.to_json()
    document = json.loads(again.to_json())
    assert len(document["selections"]) == 1
    assert document["capacity"]["analyzer"] == {"total": 4, "enabled": True}
