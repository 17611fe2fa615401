"""Fault injection: deterministic sequences, scripted failures, Retry-After, dropped connections."""

from __future__ import annotations

import httpx
import pytest

from clock import NOW
from inprocess import bare_client
from licsync.errors import UsageError
from licsync.identity import AccessType
from licsync.sim import FailNext, FaultPlan, FaultRule, SimStore, Simulator
from licsync.sim.entities import GROUP
from licsync.sim.faults import FaultInjector


@pytest.fixture
def sim_store() -> SimStore:
    """An empty-ish organisation with one user and Professional capacity."""
    store = SimStore(NOW)
    store.add_user("CORP", "someone")
    store.set_capacity(AccessType.PROFESSIONAL, 5)
    return store


def _outcomes(sim: Simulator, count: int) -> list[str]:
    """Status codes of ``count`` GETs, ``drop`` for a connection closed without an answer."""
    seen = []
    with bare_client(sim) as client:
        for _ in range(count):
            try:
                seen.append(str(client.get("/qrs/about").status_code))
            except httpx.RemoteProtocolError:
                seen.append("drop")
    return seen


PLAN = FaultPlan(
    seed=11,
    rules=(
        FaultRule("GET", "500", 0.15),
        FaultRule("GET", "503", 0.15),
        FaultRule("GET", "429", 0.15),
        FaultRule("GET", "drop", 0.15),
    ),
)


def test_same_seed_same_fault_sequence(sim: Simulator) -> None:
    """The same plan (seed) gives the same sequence of faults, request by request."""
    sim.set_faults(PLAN)
    first = _outcomes(sim, 40)
    sim.set_faults(PLAN)
    second = _outcomes(sim, 40)
    assert first == second
    assert {"200", "500", "503", "429", "drop"} <= set(first)
    sim.set_faults(FaultPlan(seed=12, rules=PLAN.rules))
    assert _outcomes(sim, 40) != first


def test_decisions_per_method_are_independent() -> None:
    """Interleaving other methods does not shift a method's fault sequence."""
    plan = FaultPlan(seed=5, rules=(FaultRule("*", "503", 0.5),))
    alone = FaultInjector(plan)
    gets_alone = [alone.decide("GET").kind for _ in range(30)]
    mixed = FaultInjector(plan)
    gets_mixed = []
    for _ in range(30):
        mixed.decide("POST")
        gets_mixed.append(mixed.decide("GET").kind)
    assert gets_alone == gets_mixed


def test_429_carries_retry_after(sim: Simulator) -> None:
    """A 429 fault says when to retry."""
    sim.set_faults(FaultPlan(retry_after_s=7))
    sim.fail_next("GET", "429")
    with bare_client(sim) as client:
        response = client.get("/qrs/about")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert client.get("/qrs/about").status_code == 200


def test_fail_next_exact_sequence(sim: Simulator) -> None:
    """``fail_next`` fails exactly the next N requests of the method, then stops."""
    sim.set_faults(FaultPlan(fail_next=(FailNext("POST", "503", 2),)))
    sim.fail_next("POST", "409")
    body = {"name": "g"}
    with bare_client(sim) as client:
        statuses = [
            client.post("/qrs/license/professionalaccessgroup", json=body).status_code
            for _ in range(4)
        ]
        assert client.get("/qrs/about").status_code == 200
    assert statuses == [503, 503, 409, 201]
    assert sim.store.count(GROUP[AccessType.PROFESSIONAL]) == 1


def test_dropped_connection_before_processing(sim: Simulator) -> None:
    """``drop`` closes the connection without an answer and changes nothing."""
    sim.fail_next("POST", "drop")
    user = sim.store.find_user("CORP", "someone")
    assert user is not None
    with bare_client(sim) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/qrs/license/professionalaccesstype", json={"user": {"id": user["id"]}})
        assert client.get("/qrs/license/professionalaccesstype/count").json() == {"value": 0}


def test_dropped_connection_after_processing(sim: Simulator) -> None:
    """``drop-after`` applies the write, then drops the answer: the client cannot know."""
    sim.fail_next("POST", "drop-after")
    user = sim.store.find_user("CORP", "someone")
    assert user is not None
    with bare_client(sim) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/qrs/license/professionalaccesstype", json={"user": {"id": user["id"]}})
        assert client.get("/qrs/license/professionalaccesstype/count").json() == {"value": 1}


def test_faults_are_counted_and_admin_is_never_faulted(sim: Simulator) -> None:
    """Faulted requests count; ``/_sim`` endpoints are outside the plan."""
    sim.set_faults(FaultPlan(rules=(FaultRule("GET", "500", 1.0),)))
    sim.reset_counts()
    with bare_client(sim) as client:
        assert client.get("/qrs/about").status_code == 500
        assert client.get("/_sim/requests").status_code == 200
    assert sim.request_counts() == {"GET": 1}


def test_latency_is_applied_without_changing_answers(sim: Simulator) -> None:
    """Latency with jitter delays answers but leaves them intact."""
    sim.set_faults(FaultPlan(latency_ms=5, jitter_ms=5))
    with bare_client(sim) as client:
        assert client.get("/qrs/about").status_code == 200


def test_uniform_plan_spreads_the_rate() -> None:
    """``--fault-rate`` spreads the rate over the kinds; writes also get 409."""
    plan = FaultPlan.uniform(0.2, seed=1)
    assert sum(rate for _, rate in plan.rules_for("GET")) == pytest.approx(0.2)
    assert {kind for kind, _ in plan.rules_for("PUT")} == {"500", "503", "429", "drop", "409"}
    assert "409" not in {kind for kind, _ in plan.rules_for("GET")}


@pytest.mark.parametrize(
    "make",
    [
        lambda: FaultPlan(rules=(FaultRule("GET", "500", 0.7), FaultRule("GET", "503", 0.7))),
        lambda: FaultPlan(rules=(FaultRule("GET", "409", 0.1),)),
        lambda: FaultPlan(rules=(FaultRule("PATCH", "500", 0.1),)),
        lambda: FaultPlan(rules=(FaultRule("GET", "500", 1.5),)),
        lambda: FaultPlan.uniform(2.0),
    ],
    ids=["rates-over-1", "409-on-get", "unknown-method", "rate-over-1", "uniform-over-1"],
)
def test_invalid_plans_are_refused(make: object) -> None:
    """Plans that cannot be honoured are refused with a usage error."""
    with pytest.raises(UsageError):
        make()  # type: ignore[operator]


def test_plan_json_round_trip() -> None:
    """A plan survives the ``/_sim/faults`` JSON shape."""
    plan = FaultPlan(
        seed=3, rules=PLAN.rules, fail_next=(FailNext("PUT", "409", 2),), latency_ms=4, jitter_ms=1
    )
    assert FaultPlan.from_json(plan.to_json()) == plan
