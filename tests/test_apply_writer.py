"""The write contract against the simulator over real sockets: one result per change, per item.

Every write kind meets every outcome it can have (applied, already, failed, unknown); bulk
writes report per item; the recording writer lists exactly what the QRS writer sends; a
half-created rule is completed (both directions) into one pair and the next plan is empty.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from builders import desired, drule, policy
from clock import NOW
from inprocess import in_process_simulator
from licsync.actual import Actual, ActualAllocation, ActualRule, ActualUser
from licsync.apply.writer import (
    NEW_ALLOCATION_ID,
    NEW_GROUP_ID,
    NEW_RULE_ID,
    Outcome,
    QrsWriter,
    RecordingWriter,
    Request,
    WriteResult,
    seats_request,
)
from licsync.apply.writer.requests import ROUTES
from licsync.desired import DesiredRule
from licsync.errors import QrsBadRequest, QrsReadOnlyError, QrsResponseError
from licsync.identity import AccessType, RuleContext
from licsync.plan import plan
from licsync.plan.changes import (
    Allocate,
    Change,
    CompleteRule,
    CreateRule,
    DeleteRule,
    Reason,
    Reclaim,
    Reinstate,
    UpdateRule,
    UserTarget,
)
from licsync.qrs import QrsClient, fetch_actual, read_actual
from licsync.signals import Signals
from licsync.sim import SimStore, Simulator
from licsync.sim.transport import SimTransport

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
PEOPLE = [f"user{i}" for i in range(8)]
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PLACEHOLDER = re.compile(r"<new [a-z ]+ id>")


@pytest.fixture
def sim_store() -> SimStore:
    """Eight people, room for six seats per type, two Analyzer seats held (one recently used)."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 6)
    store.set_capacity(ANA, 6)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    for userid in PEOPLE:
        store.add_user("CORP", userid)
    recent = store.add_user("CORP", "recent")
    stale = store.add_user("CORP", "stale")
    store.add_allocation(ANA, recent["id"], last_used=NOW - dt.timedelta(days=1))
    store.add_allocation(ANA, stale["id"], last_used=NOW - dt.timedelta(days=60))
    store.add_rule(PRO, "Sales pros", '((user.group="Sales"))')
    return store


@pytest.fixture
def writer(client: QrsClient) -> QrsWriter:
    return QrsWriter(client, allocate_chunk=2, reclaim_chunk=2)


# -- building changes from what was read -----------------------------------------------------------


def people(actual: Actual, *userids: str) -> list[ActualUser]:
    return [actual.users[f"corp\\{u}"] for u in userids]


def seat_of(actual: Actual, kind: AccessType, userid: str) -> ActualAllocation | None:
    return next((a for a in actual.allocations_of(kind) if a.key == f"corp\\{userid}"), None)


def grant(user: ActualUser, kind: AccessType = PRO) -> Allocate:
    return Allocate(kind, user.display, user.key, UserTarget(user.id, user.directory, user.userid))


def take(seat: ActualAllocation) -> Reclaim:
    return Reclaim(
        seat.access_type,
        seat.display,
        seat.key,
        Reason.NOT_DECLARED,
        seat.id,
        user_id=seat.user_id,
        modified_date=seat.modified_date,
    )


def give_back(seat: ActualAllocation) -> Reinstate:
    owner = UserTarget(seat.user_id or "", seat.directory, seat.userid)
    return Reinstate(
        seat.access_type, seat.display, seat.key, owner, seat.id, modified_date=seat.modified_date
    )


def create(kind: AccessType, rule: DesiredRule) -> CreateRule:
    return CreateRule(kind, rule.name, rule.name.casefold(), rule)


def update(rule: ActualRule, wanted: DesiredRule) -> UpdateRule:
    assert rule.rule_id is not None
    assert rule.rule_entity is not None
    return UpdateRule(
        rule.access_type,
        wanted.name,
        wanted.name.casefold(),
        wanted,
        rule.rule_id,
        rule.group_id,
        rule.rule_entity,
    )


def remove(rule: ActualRule) -> DeleteRule:
    return DeleteRule(
        rule.access_type, rule.name, rule.name.casefold(), rule.rule_id, rule.group_id
    )


def quarantined_seat(client: QrsClient, writer: QrsWriter) -> ActualAllocation:
    """Reclaim the recently used Analyzer seat: QRS quarantines it; the seat as read after."""
    recent = seat_of(fetch_actual(client), ANA, "recent")
    assert recent is not None
    assert writer.reclaim([take(recent)])[0].outcome is Outcome.APPLIED
    seat = seat_of(fetch_actual(client), ANA, "recent")
    assert seat is not None
    assert seat.quarantined
    return seat


def outcomes(results: tuple[WriteResult, ...]) -> list[Outcome]:
    return [r.outcome for r in results]


class ScriptedTransport(httpx.BaseTransport):
    """Forwards to the simulator, except requests ``decide`` answers itself (or drops)."""

    def __init__(
        self, target: Simulator, decide: Callable[[httpx.Request], httpx.Response | None]
    ) -> None:
        self._inner = SimTransport(target.app)
        self.decide = decide

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.decide(request)
        return answer if answer is not None else self._inner.handle_request(request)


Decide = Callable[[httpx.Request], httpx.Response | None]
Scripted = Callable[[Simulator, Decide], QrsWriter]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """Make writers whose requests ``decide`` may answer instead of the simulator."""
    clients: list[QrsClient] = []

    def make(target: Simulator, decide: Decide) -> QrsWriter:
        client = QrsClient(target.url, transport=ScriptedTransport(target, decide))
        clients.append(client)
        return QrsWriter(client)

    yield make
    for client in clients:
        client.close()


def answer_on(
    method: str, path_part: str, status: int, body: Any = "refused"
) -> Callable[[httpx.Request], httpx.Response | None]:
    """Answer ``method`` requests whose path contains ``path_part`` with ``status``."""

    def decide(request: httpx.Request) -> httpx.Response | None:
        if request.method == method and path_part in request.url.path:
            if isinstance(body, str):
                return httpx.Response(status, text=body)
            return httpx.Response(status, json=body)
        return None

    return decide


# -- allocate --------------------------------------------------------------------------------------

QMC_ROUTE = re.compile(r"POST /qrs/selection/\{id\}/user/license/(professional|analyzer)accesstype")


class DropAfter(httpx.BaseTransport):
    """Forwards to the simulator; a request whose path contains ``part`` is processed and then
    its answer lost (the connection drops after QRS did it)."""

    def __init__(self, target: Simulator, part: str) -> None:
        self._inner = SimTransport(target.app)
        self.part = part

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if self.part.lower() in request.url.path.lower():
            response.read()
            raise httpx.ReadError("connection dropped after the request", request=request)
        return response


def test_allocate_in_chunks_through_the_qmc_route(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Five users in chunks of two: per chunk a selection of users, the QMC's POST on it and
    the selection deleted; each change applied with its new id; no /many."""
    users = people(fetch_actual(client), *PEOPLE[:5])
    sim.reset_counts()
    results = writer.allocate([grant(u) for u in users])
    assert sim.route_counts() == {
        "POST /qrs/selection": 3,
        "POST /qrs/selection/{id}/user/license/professionalaccesstype": 3,
        "DELETE /qrs/selection/{id}": 3,
    }
    assert outcomes(results) == [Outcome.APPLIED] * 5
    assert [r.change for r in results] == [grant(u).id for u in users]
    after = fetch_actual(client)
    for result, userid in zip(results, PEOPLE[:5], strict=True):
        seat = seat_of(after, PRO, userid)
        assert seat is not None
        assert result.created_id == seat.id
        assert result.ok
    assert sim.store.selections() == []


def test_allocate_of_a_held_type_is_already_from_the_read(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """QRS answers 400 <BrokenRules>; the seat read back shows the user holds one: already."""
    (user,) = people(fetch_actual(client), "stale")
    (result,) = writer.allocate([grant(user, ANA)])
    assert result.outcome is Outcome.ALREADY
    assert result.ok
    held = seat_of(fetch_actual(client), ANA, "stale")
    assert held is not None
    assert result.created_id == held.id
    assert sim.store.selections() == []


def test_already_is_recognised_whatever_qrs_says(
    scripted: Scripted, client: QrsClient, sim: Simulator
) -> None:
    """QRS refuses in words licsync has never seen: the read, not the words, decides."""
    (user,) = people(fetch_actual(client), "stale")

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and "/user/license/" in request.url.path.lower():
            return httpx.Response(400, text="Ein Fehler ist aufgetreten")
        return None

    (result,) = scripted(sim, refuse).allocate([grant(user, ANA)])
    assert result.outcome is Outcome.ALREADY


def test_a_refused_single_user_without_a_seat_fails_with_qrs_words(
    scripted: Scripted, client: QrsClient, sim: Simulator
) -> None:
    """Refused and no seat when read: failed, with QRS's status and message."""
    (user,) = people(fetch_actual(client), "user0")
    writer = scripted(sim, answer_on("POST", "/User/License/", 400, "<BrokenRules>"))
    (result,) = writer.allocate([grant(user)])
    assert (result.outcome, result.status) == (Outcome.FAILED, 400)
    assert "<BrokenRules>" in result.message
    assert seat_of(fetch_actual(client), PRO, "user0") is None
    assert sim.store.selections() == []


def test_a_refused_chunk_settles_the_holder_and_sends_the_rest_again(
    writer: QrsWriter, client: QrsClient
) -> None:
    """Chunk [user2, user3] is refused because user2 holds a seat: the read finds user2 (already),
    user3 goes again and is applied, as are the chunks before and after."""
    actual = fetch_actual(client)
    writer.allocate([grant(people(actual, "user2")[0])])
    results = writer.allocate([grant(u) for u in people(actual, *PEOPLE[:5])])
    assert outcomes(results) == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.ALREADY,
        Outcome.APPLIED,
        Outcome.APPLIED,
    ]
    after = fetch_actual(client)
    assert seat_of(after, PRO, "user3") is not None
    assert seat_of(after, PRO, "user4") is not None


def test_a_batch_beyond_capacity_is_split_to_find_the_users_that_do_not_fit(
    client: QrsClient, sim: Simulator
) -> None:
    """Seven seats of six in one request: QRS refuses it whole (nothing done); halves go
    again down to single users: six are applied, the seventh fails with QRS's 400."""
    users = people(fetch_actual(client), *PEOPLE[:7])
    sim.reset_counts()
    results = QrsWriter(client).allocate([grant(u) for u in users])
    assert outcomes(results) == [Outcome.APPLIED] * 6 + [Outcome.FAILED]
    assert results[6].status == 400
    routes = sim.route_counts()
    assert routes["POST /qrs/selection/{id}/user/license/professionalaccesstype"] <= 7
    assert routes["POST /qrs/selection"] == routes["DELETE /qrs/selection/{id}"]
    assert sim.store.selections() == []


def test_quarantined_holder_is_failed_not_already(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """A user holding a quarantined seat cannot use it: failed (the next plan reinstates)."""
    quarantined_seat(client, writer)
    sim.store.reinstate_by_allocation = False
    (user,) = people(fetch_actual(client), "recent")
    (result,) = writer.allocate([grant(user, ANA)])
    assert (result.outcome, result.status) == (Outcome.FAILED, 400)
    assert "quarantined" in result.message


def test_a_5xx_chunk_fails_and_later_chunks_still_go(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The first chunk's allocation meets a 503: both its changes fail with it (apply settles
    them by re-reading); the selection is still deleted; the second chunk is sent."""
    users = people(fetch_actual(client), *PEOPLE[:4])
    failed = {"done": False}

    def once(request: httpx.Request) -> httpx.Response | None:
        qmc_route = request.method == "POST" and "/user/license/" in request.url.path.lower()
        if qmc_route and not failed["done"]:
            failed["done"] = True
            return httpx.Response(503, text="Service Unavailable")
        return None

    with QrsClient(sim.url, transport=ScriptedTransport(sim, once)) as flaky:
        results = QrsWriter(flaky, allocate_chunk=2).allocate([grant(u) for u in users])
    assert outcomes(results) == [Outcome.FAILED] * 2 + [Outcome.APPLIED] * 2
    assert results[0].status == results[1].status == 503
    assert sim.store.selections() == []


def test_a_dropped_allocation_is_unknown_and_may_have_happened(sim: Simulator) -> None:
    """Processed, then the connection drops: unknown (sent once); the seat does exist and the
    selection is deleted all the same."""
    with QrsClient(sim.url) as reader:
        (user,) = people(fetch_actual(reader), "user0")
    sim.reset_counts()
    with QrsClient(sim.url, transport=DropAfter(sim, "/User/License/")) as dropping:
        (result,) = QrsWriter(dropping).allocate([grant(user)])
    assert result.outcome is Outcome.UNKNOWN
    assert "may have happened" in result.message
    assert result.status is None
    assert sim.route_counts()["POST /qrs/selection/{id}/user/license/professionalaccesstype"] == 1
    with QrsClient(sim.url) as reader:
        assert seat_of(fetch_actual(reader), PRO, "user0") is not None
    assert sim.store.selections() == []


def test_a_dropped_selection_allocated_nothing(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The selection POST goes unanswered: nothing was allocated (failed, not unknown)."""
    (user,) = people(fetch_actual(client), "user0")
    sim.fail_next("POST", "drop", count=10)
    (result,) = writer.allocate([grant(user)])
    assert result.outcome is Outcome.FAILED
    assert "nothing was allocated" in result.message


def test_an_answer_without_the_seats_is_settled_by_reading(
    scripted: Scripted, client: QrsClient, sim: Simulator
) -> None:
    """201 with a body that lists no seat: the read back shows who holds one (applied)."""
    (user,) = people(fetch_actual(client), "user0")

    def empty_answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and "/user/license/" in request.url.path.lower():
            with QrsClient(sim.url) as other:
                other.request(request.method, request.url.path, body={"quarantined": "false"})
            return httpx.Response(201, json={"unexpected": True})
        return None

    (result,) = scripted(sim, empty_answer).allocate([grant(user)])
    assert result.outcome is Outcome.APPLIED
    seat = seat_of(fetch_actual(client), PRO, "user0")
    assert seat is not None
    assert result.created_id == seat.id


def test_read_only_client_raises_and_sends_nothing(sim: Simulator, client: QrsClient) -> None:
    """Through a read-only client every write raises QrsReadOnlyError; nothing reaches QRS."""
    actual = fetch_actual(client)
    (rule,) = actual.rules_of(PRO)
    (seat, other) = actual.allocations_of(ANA)
    sim.reset_counts()
    with QrsClient(sim.url, read_only=True) as reader:
        writer = QrsWriter(reader)
        writes: list[Callable[[], object]] = [
            lambda: writer.allocate([grant(people(actual, "user0")[0])]),
            lambda: writer.reclaim([take(seat)]),
            lambda: writer.reclaim([take(seat), take(other)]),
            lambda: writer.create_rule(create(PRO, drule("x", "true"))),
            lambda: writer.update_rule(update(rule, drule("Sales pros", "true"))),
            lambda: writer.delete_rule(remove(rule)),
        ]
        for write in writes:
            with pytest.raises(QrsReadOnlyError):
                write()
    assert sim.request_counts() == {}


def test_messages_escape_names_from_outside(sim: Simulator, client: QrsClient) -> None:
    """A user name with a terminal escape reaches a message only escaped (repr)."""
    evil = sim.store.add_user("CORP", "evil\x1b[2J")
    sim.store.add_allocation(PRO, evil["id"])
    user = fetch_actual(client).users["corp\\evil\x1b[2j"]
    (result,) = QrsWriter(client).allocate([grant(user)])
    assert result.outcome is Outcome.ALREADY
    assert "evil" in result.message
    assert "\x1b" not in result.message
    assert "\\x1b" in result.message


# -- reinstate -------------------------------------------------------------------------------------


def test_reinstate_through_the_qmc_route(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """GET the seat, then the QMC's allocation route on a selection of the user; the same seat
    is read back as the user's again (no PUT)."""
    seat = quarantined_seat(client, writer)
    sim.reset_counts()
    (result,) = writer.reinstate([give_back(seat)])
    assert result.outcome is Outcome.APPLIED
    assert "PUT" not in sim.request_counts()
    assert sim.route_counts()["POST /qrs/selection/{id}/user/license/analyzeraccesstype"] == 1
    after = seat_of(fetch_actual(client), ANA, "recent")
    assert after is not None
    assert (after.id, after.quarantined) == (seat.id, False)
    assert sim.store.selections() == []


def test_reinstate_falls_back_to_put_when_the_route_refuses(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """A server whose QMC route refuses a user with a quarantined seat (400, nothing done):
    the seat is PUT back un-quarantined."""
    seat = quarantined_seat(client, writer)
    sim.store.reinstate_by_allocation = False
    sim.reset_counts()
    (result,) = writer.reinstate([give_back(seat)])
    assert result.outcome is Outcome.APPLIED
    assert sim.request_counts()["PUT"] == 1
    after = seat_of(fetch_actual(client), ANA, "recent")
    assert after is not None
    assert (after.id, after.quarantined) == (seat.id, False)


def test_reinstate_of_a_seat_in_use_is_already(writer: QrsWriter, client: QrsClient) -> None:
    """Not quarantined and still the user's: already so, nothing written."""
    seat = seat_of(fetch_actual(client), ANA, "stale")
    assert seat is not None
    (result,) = writer.reinstate([give_back(seat)])
    assert result.outcome is Outcome.ALREADY


def test_reinstate_by_put_from_a_stale_read_fails_409(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The fallback PUT carries the plan's modifiedDate: older than the seat's, 409, failed."""
    sim.store.reinstate_by_allocation = False
    seat = quarantined_seat(client, writer)
    stale = give_back(seat)
    assert writer.reinstate([stale])[0].outcome is Outcome.APPLIED
    again = seat_of(fetch_actual(client), ANA, "recent")
    assert again is not None
    assert writer.reclaim([take(again)])[0].ok  # quarantined again, with a newer modifiedDate
    (result,) = writer.reinstate([stale])
    assert (result.outcome, result.status) == (Outcome.FAILED, 409)


def test_reinstate_after_the_quarantine_ended_fails_404(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The seat is gone (released at the end of its quarantine): failed, not already."""
    seat = quarantined_seat(client, writer)
    sim.advance(dt.timedelta(days=8))
    (result,) = writer.reinstate([give_back(seat)])
    assert (result.outcome, result.status) == (Outcome.FAILED, 404)


def test_reinstate_without_answer_is_unknown(client: QrsClient, sim: Simulator) -> None:
    with QrsClient(sim.url) as plain:
        seat = quarantined_seat(plain, QrsWriter(plain))
    with QrsClient(sim.url, transport=DropAfter(sim, "/User/License/")) as dropping:
        (result,) = QrsWriter(dropping).reinstate([give_back(seat)])
    assert result.outcome is Outcome.UNKNOWN


def test_reinstate_whose_read_fails_wrote_nothing(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Every GET attempt dropped: failed (nothing was written), not unknown."""
    seat = quarantined_seat(client, writer)
    sim.fail_next("GET", "drop", count=10)
    (result,) = writer.reinstate([give_back(seat)])
    assert result.outcome is Outcome.FAILED
    assert "nothing was written" in result.message


# -- reclaim ---------------------------------------------------------------------------------------


def test_reclaim_a_lone_seat_with_one_delete(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """One seat: one DELETE; QRS quarantines a recent seat; again: already (404)."""
    recent = seat_of(fetch_actual(client), ANA, "recent")
    stale = seat_of(fetch_actual(client), ANA, "stale")
    assert recent is not None
    assert stale is not None
    sim.reset_counts()
    assert outcomes(writer.reclaim([take(stale)])) == [Outcome.APPLIED]
    assert sim.request_counts() == {"DELETE": 1}
    (again,) = writer.reclaim([take(stale)])
    assert (again.outcome, again.status) == (Outcome.ALREADY, 404)


def test_reclaim_many_through_selections(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Chunks of two through selections (a last lone seat by DELETE); a gone seat is already."""
    writer.allocate([grant(u) for u in people(fetch_actual(client), *PEOPLE[:5])])
    seats = list(fetch_actual(client).allocations_of(PRO))
    writer.reclaim([take(seats[0])])
    sim.reset_counts()
    results = writer.reclaim([take(s) for s in seats])
    assert sim.request_counts() == {"POST": 2, "DELETE": 5}
    assert outcomes(results) == [Outcome.ALREADY] + [Outcome.APPLIED] * 4
    assert fetch_actual(client).allocations_of(PRO) == ()
    assert sim.store.selections() == []


def test_a_failed_bulk_delete_fails_each_and_discards_the_selection(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    seats = list(fetch_actual(client).allocations_of(ANA))
    sim.reset_counts()
    sim.fail_next("DELETE", "503")
    results = writer.reclaim([take(s) for s in seats])
    assert sim.request_counts() == {"POST": 1, "DELETE": 2}
    assert outcomes(results) == [Outcome.FAILED] * 2
    assert {r.status for r in results} == {503}
    assert sim.store.selections() == []
    assert len(fetch_actual(client).allocations_of(ANA)) == 2


def test_an_unanswered_bulk_delete_is_unknown_for_each(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The bulk DELETE happens, then the connection drops: unknown for both (they did go)."""
    seats = list(fetch_actual(client).allocations_of(ANA))
    sim.fail_next("DELETE", "drop-after")
    results = writer.reclaim([take(s) for s in seats])
    assert outcomes(results) == [Outcome.UNKNOWN] * 2
    after = fetch_actual(client).allocations_of(ANA)
    assert [s.quarantined for s in after] == [True]  # the recent seat, quarantined


def test_a_refused_selection_reclaims_nothing(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The selection is asked for three times (it changes nothing); refused every time:
    failed, nothing reclaimed."""
    seats = list(fetch_actual(client).allocations_of(ANA))
    sim.fail_next("POST", "500", count=3)
    results = writer.reclaim([take(s) for s in seats])
    assert outcomes(results) == [Outcome.FAILED] * 2
    assert all("nothing was reclaimed" in r.message for r in results)
    assert len(fetch_actual(client).allocations_of(ANA)) == 2


def test_a_selection_refused_once_is_asked_for_again(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    seats = list(fetch_actual(client).allocations_of(ANA))
    sim.fail_next("POST", "503")
    results = writer.reclaim([take(s) for s in seats])
    assert outcomes(results) == [Outcome.APPLIED] * 2


# -- licence rules ---------------------------------------------------------------------------------


ANALYSTS = DesiredRule(
    name="Analysts",
    condition='((user.group="Analysts"))',
    context=RuleContext.BOTH,
    disabled=True,
    comment="made by licsync",
)


def test_create_rule_posts_group_then_rule(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    sim.reset_counts()
    result = writer.create_rule(create(ANA, ANALYSTS))
    assert sim.request_counts() == {"POST": 2}
    assert result.outcome is Outcome.APPLIED
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert result.created_id == rule.rule_id
    assert (rule.condition, rule.context, rule.disabled, rule.comment, rule.actions) == (
        '((user.group="Analysts"))',
        RuleContext.BOTH,
        True,
        "made by licsync",
        1,
    )
    assert rule.rule_entity is not None
    assert rule.rule_entity["resourceFilter"] == f"License.AnalyzerAccessGroup_{rule.group_id}"


def test_create_rule_actions_are_configurable(client: QrsClient) -> None:
    """The UNVERIFIED actions value can be set (15, as in Qlik's doc example)."""
    QrsWriter(client, rule_actions=15).create_rule(create(ANA, drule("Fifteen", "true")))
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert rule.actions == 15


def test_create_rule_whose_group_fails_created_nothing(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Refused twice (read back in between: not there, so sent once more): failed."""
    sim.fail_next("POST", "500", 2)
    result = writer.create_rule(create(ANA, ANALYSTS))
    assert (result.outcome, result.status) == (Outcome.FAILED, 500)
    assert "nothing was created" in result.message
    assert fetch_actual(client).rules_of(ANA) == ()


def test_create_rule_whose_group_was_refused_once_is_sent_again(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    sim.fail_next("POST", "500")
    result = writer.create_rule(create(ANA, ANALYSTS))
    assert result.outcome is Outcome.APPLIED
    assert "re-read: not created, sent again" in result.message
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert not rule.half_created


def test_create_rule_whose_group_post_drops_is_read_back_and_completed(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The group's POST happened but its answer was lost: the group is found, not made twice."""
    sim.fail_next("POST", "drop-after")
    result = writer.create_rule(create(ANA, ANALYSTS))
    assert result.outcome is Outcome.COMPLETED
    assert "re-read: it was created" in result.message
    (rule,) = fetch_actual(client).rules_of(ANA)
    assert not rule.half_created


def test_create_rule_whose_group_post_drops_and_cannot_be_read_is_unknown(
    writer: QrsWriter, sim: Simulator
) -> None:
    sim.fail_next("POST", "drop-after")
    sim.fail_next("GET", "500", 10)
    result = writer.create_rule(create(ANA, ANALYSTS))
    assert result.outcome is Outcome.UNKNOWN
    assert "next plan completes it" in result.message


def test_create_rule_whose_rule_fails_says_the_group_stays(
    writer: QrsWriter, client: QrsClient
) -> None:
    """The rule POST is refused (condition too long): partly done, the message names the
    group that is on the site without its rule."""
    result = writer.create_rule(create(ANA, drule("Too long", "x" * 3000)))
    (half,) = fetch_actual(client).rules_of(ANA)
    assert (result.outcome, result.status) == (Outcome.PARTIAL, 400)
    assert f"'Too long' ({half.group_id}) is on the site without its system rule" in (
        result.message
    )
    assert "next plan completes it" in result.message
    assert (half.rule_id, half.half_created) == (None, True)


def test_create_rule_whose_rule_post_never_answers_is_partial(
    sim: Simulator, client: QrsClient, scripted: Scripted
) -> None:
    """No answer to the rule POST, and the site shows no rule: partly done, what is left said."""

    def decide(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path == "/qrs/systemrule":
            raise httpx.ReadTimeout("simulated", request=request)
        return None

    result = scripted(sim, decide).create_rule(create(ANA, ANALYSTS))
    assert result.outcome is Outcome.PARTIAL
    assert "without its system rule" in result.message


def test_a_rule_answer_without_id_is_a_response_error(sim: Simulator, scripted: Scripted) -> None:
    writer = scripted(sim, answer_on("POST", "/qrs/systemrule", 201, {"name": "x"}))
    with pytest.raises(QrsResponseError):
        writer.create_rule(create(ANA, ANALYSTS))


def test_update_rule_puts_the_entity_as_read(writer: QrsWriter, client: QrsClient) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    wanted = drule("Sales pros", '((user.group="Sales EMEA"))', context=RuleContext.QMC)
    result = writer.update_rule(update(rule, wanted))
    assert result.outcome is Outcome.APPLIED
    (after,) = fetch_actual(client).rules_of(PRO)
    assert (after.condition, after.context, after.rule_id, after.group_id) == (
        '((user.group="Sales EMEA"))',
        RuleContext.QMC,
        rule.rule_id,
        rule.group_id,
    )


def test_update_rule_from_a_stale_read_fails_409(writer: QrsWriter, client: QrsClient) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    assert writer.update_rule(update(rule, drule("Sales pros", "first"))).ok
    result = writer.update_rule(update(rule, drule("Sales pros", "second")))
    assert (result.outcome, result.status) == (Outcome.FAILED, 409)
    assert "re-run plan" in result.message
    assert fetch_actual(client).rules_of(PRO)[0].condition == "first"


def test_update_rule_without_answer_is_unknown(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Dropped before QRS saw it: read back unchanged, so sent again."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.fail_next("PUT", "drop")
    result = writer.update_rule(update(rule, drule("Sales pros", "x")))
    assert result.outcome is Outcome.APPLIED
    assert "sent again" in result.message
    assert fetch_actual(client).rules_of(PRO)[0].condition == "x"


def test_update_rule_whose_answer_was_lost_is_read_back(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.reset_counts()
    sim.fail_next("PUT", "drop-after")
    result = writer.update_rule(update(rule, drule("Sales pros", "x")))
    assert result.outcome is Outcome.APPLIED
    assert "re-read: the system rule is as declared" in result.message
    assert sim.request_counts().get("PUT") == 1


def test_update_rule_that_cannot_be_read_back_is_unknown(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.fail_next("PUT", "drop")
    sim.fail_next("GET", "500", 10)
    assert writer.update_rule(update(rule, drule("Sales pros", "x"))).outcome is Outcome.UNKNOWN


def test_delete_rule_removes_both_halves_then_is_already(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.reset_counts()
    assert writer.delete_rule(remove(rule)).outcome is Outcome.APPLIED
    assert sim.request_counts() == {"DELETE": 2}
    assert fetch_actual(client).rules_of(PRO) == ()
    again = writer.delete_rule(remove(rule))
    assert again.outcome is Outcome.ALREADY


def test_delete_rule_whose_rule_delete_fails_keeps_the_group(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """The system rule DELETE fails (twice: read back in between, still there): failed, and
    the group is not deleted under it."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.reset_counts()
    sim.fail_next("DELETE", "503", 2)
    result = writer.delete_rule(remove(rule))
    assert (result.outcome, result.status) == (Outcome.FAILED, 503)
    assert sim.request_counts()["DELETE"] == 2
    assert len(fetch_actual(client).rules_of(PRO)) == 1


def test_delete_rule_whose_group_delete_fails_says_the_group_stays(
    sim: Simulator, client: QrsClient, scripted: Scripted
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    writer = scripted(sim, answer_on("DELETE", "accessgroup", 500))
    result = writer.delete_rule(remove(rule))
    assert (result.outcome, result.status) == (Outcome.PARTIAL, 500)
    assert f"the system rule {rule.rule_id} was deleted, but the access group" in result.message
    assert "stays" in result.message
    (left,) = fetch_actual(client).rules_of(PRO)
    assert (left.rule_id, left.group_id) == (None, rule.group_id)


def test_delete_rule_without_answer_is_unknown(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    """Dropped before QRS saw it: read back, still there, deleted again."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.fail_next("DELETE", "drop")
    result = writer.delete_rule(remove(rule))
    assert result.outcome is Outcome.APPLIED
    assert fetch_actual(client).rules_of(PRO) == ()


def test_delete_rule_whose_answer_was_lost_is_read_back(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.fail_next("DELETE", "drop-after")
    result = writer.delete_rule(remove(rule))
    assert result.outcome is Outcome.COMPLETED
    assert "re-read: it is gone" in result.message
    assert fetch_actual(client).rules_of(PRO) == ()


def test_delete_rule_that_cannot_be_read_back_is_unknown(
    writer: QrsWriter, client: QrsClient, sim: Simulator
) -> None:
    (rule,) = fetch_actual(client).rules_of(PRO)
    sim.fail_next("DELETE", "drop")
    sim.fail_next("GET", "500", 10)
    assert writer.delete_rule(remove(rule)).outcome is Outcome.UNKNOWN


def test_simulator_refuses_a_rule_put_naming_no_group(writer: QrsWriter, client: QrsClient) -> None:
    """A PUT may move a licence rule to another group, but only to one that exists (as QRS)."""
    (rule,) = fetch_actual(client).rules_of(PRO)
    assert rule.rule_entity is not None
    missing = "6d2b5c5e-0d3f-4c4e-9d51-5f2b6d8e9a10"
    body = {**rule.rule_entity, "resourceFilter": f"License.ProfessionalAccessGroup_{missing}"}
    with pytest.raises(QrsBadRequest, match="does not exist"):
        client.put_json(f"/qrs/systemrule/{rule.rule_id}", body)


# -- half-created rules: completed into one pair, the next plan empty ------------------------------


@pytest.fixture
def bare() -> Iterator[Simulator]:
    """A site with no allocations, so a plan's only changes are the rules'."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 5)
    store.set_capacity(ANA, 5)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    with in_process_simulator(store) as running:
        yield running


def plan_against(client: QrsClient, ownership: str, *rules: DesiredRule) -> tuple[Change, ...]:
    wanted = desired(
        ana_rules=rules, site_policy=policy(professional=ownership, analyzer=ownership)
    )
    return plan(wanted, read_actual(client).actual, Signals(), NOW).changes


FINANCE = drule("Finance", '((user.group="Finance"))', comment="declared")


@pytest.mark.parametrize("ownership", ["additive", "authoritative"])
def test_a_group_without_its_rule_is_completed(bare: Simulator, ownership: str) -> None:
    """The plan completes the lone group with a system rule naming it: one pair, no duplicate."""
    group = bare.store.add_group_only(ANA, "Finance")
    with QrsClient(bare.url) as client:
        (change,) = plan_against(client, ownership, FINANCE)
        assert isinstance(change, CompleteRule)
        assert change.group_id == group["id"]
        result = QrsWriter(client).complete_rule(change)
        assert result.outcome is Outcome.APPLIED
        (rule,) = fetch_actual(client).rules_of(ANA)
        assert (rule.group_id, rule.condition, rule.comment) == (
            group["id"],
            FINANCE.condition,
            "declared",
        )
        assert result.created_id == rule.rule_id
        assert plan_against(client, ownership, FINANCE) == ()


@pytest.mark.parametrize("ownership", ["additive", "authoritative"])
def test_a_rule_without_its_group_is_completed(bare: Simulator, ownership: str) -> None:
    """The plan makes a new group and points the existing rule at it: one pair, same rule id."""
    group, made = bare.store.add_rule(ANA, "Finance", "stale condition")
    bare.store.delete_group(ANA, group["id"])
    with QrsClient(bare.url) as client:
        (change,) = plan_against(client, ownership, FINANCE)
        assert isinstance(change, CompleteRule)
        assert change.rule_id == made["id"]
        bare.reset_counts()
        result = QrsWriter(client).complete_rule(change)
        assert bare.request_counts() == {"POST": 1, "PUT": 1}
        assert result.outcome is Outcome.APPLIED
        (rule,) = fetch_actual(client).rules_of(ANA)
        assert rule.rule_id == made["id"]
        assert rule.group_id is not None
        assert result.created_id == rule.group_id
        assert (rule.condition, rule.comment) == (FINANCE.condition, "declared")
        assert plan_against(client, ownership, FINANCE) == ()


def test_a_failed_completion_deletes_the_new_group_again(bare: Simulator) -> None:
    """The PUT meets a 409: failed; the group made for it is deleted; the site is as before."""
    group, made = bare.store.add_rule(ANA, "Finance", "stale condition")
    bare.store.delete_group(ANA, group["id"])
    with QrsClient(bare.url) as client:
        (change,) = plan_against(client, "additive", FINANCE)
        assert isinstance(change, CompleteRule)
        bare.fail_next("PUT", "409")
        result = QrsWriter(client).complete_rule(change)
        assert (result.outcome, result.status) == (Outcome.FAILED, 409)
        assert "was deleted again" in result.message
        (rule,) = fetch_actual(client).rules_of(ANA)
        assert (rule.rule_id, rule.group_id) == (made["id"], None)
        (again,) = plan_against(client, "additive", FINANCE)
        assert isinstance(again, CompleteRule)
        assert QrsWriter(client).complete_rule(again).ok
        assert plan_against(client, "additive", FINANCE) == ()


def test_a_half_created_rule_from_a_failed_create_converges(
    bare: Simulator, scripted: Scripted
) -> None:
    """Create fails at its second step; the next plan completes the group; then nothing."""
    with QrsClient(bare.url) as client:
        (change,) = plan_against(client, "additive", FINANCE)
        assert isinstance(change, CreateRule)
        flaky = scripted(bare, answer_on("POST", "/qrs/systemrule", 503))
        first = flaky.create_rule(change)
        assert (first.outcome, first.status) == (Outcome.PARTIAL, 503)
        assert "without its system rule" in first.message
        (complete,) = plan_against(client, "additive", FINANCE)
        assert isinstance(complete, CompleteRule)
        assert QrsWriter(client).complete_rule(complete).ok
        assert len(fetch_actual(client).rules_of(ANA)) == 1
        assert plan_against(client, "additive", FINANCE) == ()


def test_an_orphaned_access_group_is_deleted_by_a_delete_rule(bare: Simulator) -> None:
    """A lone group: no plan deletes it (YAML cannot declare it), but a DeleteRule of what is
    left deletes just the group, in one request."""
    bare.store.add_group_only(ANA, "Leftover")
    with QrsClient(bare.url) as client:
        assert plan_against(client, "additive") == ()
        assert plan_against(client, "authoritative") == ()
        (lone,) = fetch_actual(client).rules_of(ANA)
        change = DeleteRule(ANA, "Leftover", "leftover", rule_id=None, group_id=lone.group_id)
        bare.reset_counts()
        assert QrsWriter(client).delete_rule(change).outcome is Outcome.APPLIED
        assert bare.request_counts() == {"DELETE": 1}
        assert fetch_actual(client).rules_of(ANA) == ()
        assert plan_against(client, "authoritative") == ()


# -- the recording writer --------------------------------------------------------------------------


def scenario(client: QrsClient, sim: Simulator) -> list[Callable[[Any], object]]:
    """One of every write, as calls on a writer, built from the site as read."""
    sim.store.add_group_only(ANA, "Lonely")
    orphan_group, _ = sim.store.add_rule(ANA, "Orphan", "true")
    sim.store.delete_group(ANA, orphan_group["id"])
    sim.store.add_rule(ANA, "Gone", "true")
    user6 = sim.store.find_user("CORP", "user6")
    assert user6 is not None
    sim.store.add_allocation(ANA, user6["id"], quarantined_until=NOW + dt.timedelta(days=3))
    actual = fetch_actual(client)
    rules = {r.name: r for r in actual.rules_of(ANA) + actual.rules_of(PRO)}
    lonely = CompleteRule(
        ANA, "Lonely", "lonely", drule("Lonely", "true"), group_id=rules["Lonely"].group_id
    )
    orphan = rules["Orphan"]
    pointed = CompleteRule(
        ANA,
        "Orphan",
        "orphan",
        drule("Orphan", "false"),
        rule_id=orphan.rule_id,
        rule_entity=orphan.rule_entity,
    )
    quarantined = seat_of(actual, ANA, "user6")
    assert quarantined is not None
    seats = [s for s in actual.allocations_of(ANA) if not s.quarantined]
    return [
        lambda w: w.allocate([grant(u) for u in people(actual, *PEOPLE[:3])]),
        lambda w: w.reclaim([take(s) for s in seats]),
        lambda w: w.reclaim([take(seats[0])]),
        lambda w: w.reinstate([give_back(quarantined)]),
        lambda w: w.create_rule(create(PRO, ANALYSTS)),
        lambda w: w.complete_rule(lonely),
        lambda w: w.complete_rule(pointed),
        lambda w: w.update_rule(update(rules["Sales pros"], drule("Sales pros", "x"))),
        lambda w: w.delete_rule(remove(rules["Gone"])),
    ]


class CapturingTransport(httpx.BaseTransport):
    """Forwards to the simulator and keeps (method, path, params without xrfkey, body)."""

    def __init__(self, target: Simulator) -> None:
        self._inner = SimTransport(target.app)
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = {k: v for k, v in request.url.params.items() if k != "xrfkey"}
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, params, body))
        return self._inner.handle_request(request)


def matches(recorded: Any, sent: Any) -> bool:
    """``sent`` equals ``recorded`` where placeholders stand for any GUID."""
    if isinstance(recorded, str) and PLACEHOLDER.search(recorded):
        pattern = GUID.join(re.escape(part) for part in PLACEHOLDER.split(recorded))
        return isinstance(sent, str) and re.fullmatch(pattern, sent) is not None
    if isinstance(recorded, dict) and any(str(k).startswith("<the rest") for k in recorded):
        # A reinstatement's PUT: the entity as read (unknown to a dry run) plus what it sets.
        return isinstance(sent, dict) and all(
            sent.get(k) == recorded[k] for k in ("id", "quarantined", "modifiedDate")
        )
    if isinstance(recorded, dict):
        return (
            isinstance(sent, dict)
            and recorded.keys() == sent.keys()
            and all(matches(recorded[k], sent[k]) for k in recorded)
        )
    if isinstance(recorded, list):
        return (
            isinstance(sent, list)
            and len(recorded) == len(sent)
            and all(matches(r, s) for r, s in zip(recorded, sent, strict=True))
        )
    return bool(recorded == sent)


def test_the_recording_writer_lists_what_the_qrs_writer_sends(sim: Simulator) -> None:
    """The same changes through both writers: the same requests, placeholders aside."""
    with QrsClient(sim.url) as reader:
        calls = scenario(reader, sim)
    dry = RecordingWriter(allocate_chunk=2, reclaim_chunk=2)
    sim.reset_counts()
    for call in calls:
        call(dry)
    assert sim.request_counts() == {}
    transport = CapturingTransport(sim)
    with QrsClient(sim.url, transport=transport) as client:
        real = QrsWriter(client, allocate_chunk=2, reclaim_chunk=2)
        real_results = [call(real) for call in calls]
    flat_real = [r for rs in real_results for r in (rs if isinstance(rs, tuple) else (rs,))]
    assert all(isinstance(r, WriteResult) and r.ok for r in flat_real), flat_real
    assert len(dry.requests) == len(transport.seen)
    for recorded, (method, path, params, body) in zip(dry.requests, transport.seen, strict=True):
        assert isinstance(recorded, Request)
        assert recorded.method == method
        assert matches(unquote(recorded.path), unquote(path)), (recorded.path, path)
        assert "xrfkey" not in {k.lower() for k in recorded.params}
        assert dict(recorded.params) == params
        assert matches(recorded.body, body), (recorded.method, recorded.path)


def test_recording_results_are_applied_dry_runs_with_placeholders(client: QrsClient) -> None:
    """Every change applied with the message "dry run"; new ids are placeholders."""
    dry = RecordingWriter()
    actual = fetch_actual(client)
    (allocated,) = dry.allocate([grant(people(actual, "user0")[0])])
    created = dry.create_rule(create(ANA, ANALYSTS))
    (reclaimed,) = dry.reclaim([take(actual.allocations_of(ANA)[0])])
    assert (allocated.outcome, allocated.message, allocated.created_id) == (
        Outcome.APPLIED,
        "dry run",
        NEW_ALLOCATION_ID,
    )
    assert (created.outcome, created.message, created.created_id) == (
        Outcome.APPLIED,
        "dry run",
        NEW_RULE_ID,
    )
    assert reclaimed.message == "dry run"
    group_post, rule_post = dry.requests[3:5]
    assert group_post.body == {"name": "Analysts"}
    assert rule_post.body["resourceFilter"] == f"License.AnalyzerAccessGroup_{NEW_GROUP_ID}"
    assert [r.method for r in dry.requests] == ["POST", "POST", "DELETE", "POST", "POST", "DELETE"]
    assert dry.requests[1].path.endswith("/User/License/ProfessionalAccessType")
    assert dry.requests[1].body == {"quarantined": "false"}


def test_chunk_sizes_must_be_positive(client: QrsClient) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        QrsWriter(client, allocate_chunk=0)
    with pytest.raises(ValueError, match="chunk size"):
        RecordingWriter(reclaim_chunk=0)


def test_a_selection_refused_as_invalid_falls_back_to_one_delete_each(
    scripted: Scripted, client: QrsClient, sim: Simulator
) -> None:
    """QRS refuses the selection with a 400 (nothing reclaimed): each allocation is then
    reclaimed with its own DELETE."""
    seats = fetch_actual(client).allocations_of(ANA)
    assert len(seats) == 2
    writer = scripted(sim, answer_on("POST", "/qrs/Selection", 400))
    sim.reset_counts()
    results = writer.reclaim([take(seat) for seat in seats])
    assert outcomes(results) == [Outcome.APPLIED, Outcome.APPLIED]
    assert sim.request_counts() == {"DELETE": 2}
    left = fetch_actual(client).allocations_of(ANA)
    assert all(seat.quarantined for seat in left)


def test_every_route_the_writers_send_is_in_the_list_doctor_checks(sim: Simulator) -> None:
    """The routes of every request of the scenario (and of a refused allocation's read-back)
    are in ``ROUTES``: ``licsync doctor`` looks for exactly what apply sends."""
    with QrsClient(sim.url) as reader:
        calls = scenario(reader, sim)
    dry = RecordingWriter(allocate_chunk=2, reclaim_chunk=2)
    for call in calls:
        call(dry)
    read_back = seats_request(PRO, [uuid.uuid4()])
    sent = [*dry.requests, read_back]
    placeholder = re.compile(rf"{GUID}|<new [a-z ]+ id>|%3c[^/]*%3e", re.IGNORECASE)
    for request in sent:
        route = placeholder.sub("{id}", unquote(request.path).lower())
        assert (request.method, route) in ROUTES, (request.method, request.path)


def test_a_server_that_cannot_filter_on_user_id_is_read_whole(
    scripted: Scripted, client: QrsClient, sim: Simulator
) -> None:
    """The read after a refusal falls back to every seat of the type when QRS refuses the
    user.id filter (400): the holder is still recognised."""
    (user,) = people(fetch_actual(client), "stale")

    def no_user_filter(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET" and "user.id" in unquote(str(request.url)):
            return httpx.Response(400, text="Cannot parse the expression")
        return None

    (result,) = scripted(sim, no_user_filter).allocate([grant(user, ANA)])
    assert result.outcome is Outcome.ALREADY
