"""The QRS client against the simulator over real sockets: xrfkey, retries, errors, read-only."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Callable

import httpx
import pytest

from clock import NOW
from licsync.apply.writer import QrsWriter
from licsync.desired import DesiredRule
from licsync.errors import (
    QrsAuthError,
    QrsBadRequest,
    QrsConflict,
    QrsError,
    QrsNotFound,
    QrsReadOnlyError,
    QrsServerError,
    QrsThrottled,
    QrsTransportError,
)
from licsync.identity import AccessType
from licsync.plan.changes import (
    Allocate,
    CreateRule,
    DeleteRule,
    Reason,
    Reclaim,
    Reinstate,
    UpdateRule,
    UserTarget,
)
from licsync.qrs import (
    QrsClient,
    RetryPolicy,
    fetch_actual,
    filters,
    header_credentials,
    paths,
)
from licsync.qrs.read import find_user
from licsync.qrs.retry import parse_retry_after
from licsync.sim import FailNext, FaultPlan, SimStore, Simulator
from licsync.sim.transport import SimTransport

PRO = AccessType.PROFESSIONAL
XRFKEY = re.compile(r"[A-Za-z0-9]{16}")
HOSTILE = ("o'brien", "a#b&c", "50%", "x/y?", "back\\slash", "sp ace+plus")


@pytest.fixture
def sim_store() -> SimStore:
    """A small organisation: an admin, a few people, one seat, one rule."""
    store = SimStore(NOW)
    store.set_capacity(PRO, 10)
    store.set_capacity(AccessType.ANALYZER, 10)
    admin = store.add_user("CORP", "admin", roles=["RootAdmin"])
    store.add_user("CORP", "jdoe", groups=["Sales"])
    store.add_user("CORP", "quarantined")
    for userid in HOSTILE:
        store.add_user("CORP", userid, groups=["Odd"])
    store.add_allocation(PRO, admin["id"], last_used=NOW - dt.timedelta(days=1))
    store.add_rule(PRO, "Sales pros", '((user.group="Sales"))')
    return store


@pytest.fixture
def sleeps(retry_waits: list[float]) -> list[float]:
    """The waits the clients asked for (recorded by conftest's switch instead of slept)."""
    return retry_waits


class RecordingTransport(httpx.BaseTransport):
    """The simulator's transport, noting each request's xrfkeys (and maybe tampering with one)."""

    def __init__(self, sim: Simulator, *, tamper_header: str | None = None) -> None:
        self._inner = SimTransport(sim.app)
        self.tamper_header = tamper_header
        self.seen: list[tuple[str, str | None, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            (
                request.method,
                request.url.params.get("xrfkey"),
                request.headers.get("X-Qlik-Xrfkey"),
            )
        )
        if self.tamper_header is not None:
            request.headers["X-Qlik-Xrfkey"] = self.tamper_header
        return self._inner.handle_request(request)


def test_every_request_carries_a_fresh_valid_xrfkey(sim: Simulator) -> None:
    """Query xrfkey and header are equal, 16 alphanumerics, and new for every request."""
    transport = RecordingTransport(sim)
    with QrsClient(sim.url, transport=transport) as qrs:
        actual = fetch_actual(qrs)
        jdoe = actual.users["corp\\jdoe"]
        target = UserTarget(jdoe.id, jdoe.directory, jdoe.userid)
        (result,) = QrsWriter(qrs).allocate([Allocate(PRO, jdoe.display, jdoe.key, target)])
        assert result.ok
    assert len(transport.seen) == sum(sim.request_counts().values()) == 9 + 3
    keys = []
    for _, query_key, header_key in transport.seen:
        assert query_key == header_key
        assert query_key is not None
        assert XRFKEY.fullmatch(query_key)
        keys.append(query_key)
    assert len(set(keys)) == len(keys)


def test_mismatched_xrfkey_is_refused_naming_the_check(sim: Simulator) -> None:
    """A header that differs from the query key gives QrsAuthError naming the xrfkey check."""
    transport = RecordingTransport(sim, tamper_header="AAAAAAAAAAAAAAAA")
    with QrsClient(sim.url, transport=transport) as qrs, pytest.raises(QrsAuthError) as caught:
        qrs.get_json(paths.ABOUT)
    assert caught.value.status == 403
    assert "xrfkey check failed" in str(caught.value)
    assert "16 alphanumerics" in str(caught.value)


def test_malformed_xrfkey_is_refused(sim: Simulator) -> None:
    """A key that is not 16 alphanumerics (through the xrfkey seam) is refused as such."""
    with (
        QrsClient(sim.url, xrfkey=lambda: "not-sixteen") as qrs,
        pytest.raises(QrsAuthError, match="xrfkey check failed"),
    ):
        qrs.get_json(paths.ABOUT)


def test_get_is_retried_on_503(client: QrsClient, sim: Simulator, sleeps: list[float]) -> None:
    """Two 503s then success: three GETs, two waits within the backoff ceilings."""
    sim.fail_next("GET", "503", count=2)
    assert client.get_json(paths.ABOUT)["buildVersion"]
    assert sim.request_counts() == {"GET": 3}
    policy = RetryPolicy()
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= policy.base_delay
    assert 0.0 <= sleeps[1] <= 2 * policy.base_delay


def test_get_honours_retry_after_on_429(sim: Simulator, sleeps: list[float]) -> None:
    """A 429 with Retry-After: 7 makes the client wait exactly 7 s before retrying."""
    sim.set_faults(FaultPlan(retry_after_s=7, fail_next=(FailNext("GET", "429", 1),)))
    with QrsClient(sim.url) as qrs:
        assert qrs.get_json(paths.ABOUT)
    assert sleeps == [7.0]
    assert sim.request_counts() == {"GET": 2}


def test_retry_after_is_capped(sim: Simulator, sleeps: list[float]) -> None:
    """A Retry-After of an hour is cut to the policy's cap."""
    sim.set_faults(FaultPlan(retry_after_s=3600, fail_next=(FailNext("GET", "429", 1),)))
    policy = RetryPolicy(max_retry_after=20.0)
    with QrsClient(sim.url, retry=policy) as qrs:
        qrs.get_json(paths.ABOUT)
    assert sleeps == [20.0]


def test_get_is_retried_after_a_dropped_connection(
    client: QrsClient, sim: Simulator, sleeps: list[float]
) -> None:
    """A connection closed without an answer is retried for a read."""
    sim.fail_next("GET", "drop", count=1)
    assert client.get_json(paths.ABOUT)
    assert len(sleeps) == 1
    assert sim.request_counts() == {"GET": 2}


def test_retries_are_bounded(sim: Simulator, sleeps: list[float]) -> None:
    """Persistent 500s: exactly ``attempts`` GETs, then QrsServerError."""
    sim.fail_next("GET", "500", count=10)
    with (
        QrsClient(sim.url, retry=RetryPolicy(attempts=3)) as qrs,
        pytest.raises(QrsServerError) as caught,
    ):
        qrs.get_json(paths.USER_FULL)
    assert sim.request_counts() == {"GET": 3}
    assert len(sleeps) == 2
    assert caught.value.status == 500


def test_persistent_429_is_throttled(sim: Simulator, sleeps: list[float]) -> None:
    """When 429s outlast the retries the error is QrsThrottled."""
    sim.fail_next("GET", "429", count=10)
    with (
        QrsClient(sim.url, retry=RetryPolicy(attempts=2)) as qrs,
        pytest.raises(QrsThrottled),
    ):
        qrs.get_json(paths.ABOUT)


def test_post_is_never_retried(client: QrsClient, sim: Simulator, sleeps: list[float]) -> None:
    """A POST answered 503 is sent exactly once and surfaces as QrsServerError."""
    sim.fail_next("POST", "503", count=1)
    with pytest.raises(QrsServerError):
        client.post_json(paths.access_group(PRO), {"name": "once"})
    assert sim.request_counts() == {"POST": 1}
    assert sleeps == []


def test_write_without_answer_is_not_repeated(
    client: QrsClient, sim: Simulator, sleeps: list[float]
) -> None:
    """A write processed but unanswered is a QrsTransportError, sent once: the caller re-reads."""
    sim.fail_next("POST", "drop-after", count=1)
    with pytest.raises(QrsTransportError):
        client.post_json(paths.access_group(PRO), {"name": "happened anyway"})
    assert sim.request_counts() == {"POST": 1}
    assert sleeps == []
    names = [rule.name for rule in fetch_actual(client).rules_of(PRO)]
    assert "happened anyway" in names


@pytest.mark.parametrize("proxy", [False, True], ids=["direct", "header-proxy"])
def test_read_only_client_sends_nothing(sim: Simulator, proxy: bool) -> None:
    """Every write through a read-only client raises QrsReadOnlyError; no byte reaches QRS."""
    with QrsClient(sim.url) as reader:
        actual = fetch_actual(reader)
    sim.reset_counts()
    credentials = header_credentials("hdr", "hdr-usr", "CORP\\admin") if proxy else None
    jdoe = actual.users["corp\\jdoe"]
    (seat,) = actual.allocations_of(PRO)
    (rule,) = actual.rules_of(PRO)
    desired = DesiredRule(name="x", condition='user.group="x"')
    target = UserTarget(jdoe.id, jdoe.directory, jdoe.userid)
    grant = Allocate(PRO, jdoe.display, jdoe.key, target)
    take = Reclaim(PRO, seat.display, seat.key, Reason.NOT_DECLARED, seat.id)
    second = Reclaim(PRO, "CORP\\x", "corp\\x", Reason.NOT_DECLARED, rule.group_id or "")
    create = CreateRule(PRO, "x", "x", desired)
    update = UpdateRule(
        PRO, "x", "x", desired, rule.rule_id or "", rule.group_id, rule.rule_entity or {}
    )
    remove = DeleteRule(PRO, rule.name, rule.name.casefold(), rule.rule_id, rule.group_id)
    writes: list[Callable[[QrsClient], object]] = [
        lambda q: QrsWriter(q).allocate([grant]),
        lambda q: QrsWriter(q).reclaim([take]),
        lambda q: QrsWriter(q).reclaim([take, second]),
        lambda q: QrsWriter(q).create_rule(create),
        lambda q: QrsWriter(q).update_rule(update),
        lambda q: QrsWriter(q).delete_rule(remove),
        lambda q: q.post_json(paths.access_group(PRO), {"name": "x"}),
        lambda q: q.put_json(paths.entity(paths.SYSTEM_RULE, rule.rule_id or ""), {}),
        lambda q: q.delete(paths.entity(paths.SYSTEM_RULE, rule.rule_id or "")),
    ]
    with QrsClient(sim.url, credentials=credentials, read_only=True) as qrs:
        assert qrs.read_only
        for write in writes:
            with pytest.raises(QrsReadOnlyError, match="read-only"):
                write(qrs)
    assert sim.request_counts() == {}


def test_reinstate_through_read_only_client_sends_no_write(sim: Simulator) -> None:
    """Reinstating reads the seat, then refuses the PUT before sending it."""
    with QrsClient(sim.url) as reader:
        (used,) = fetch_actual(reader).allocations_of(PRO)
        sim.store.deallocate(PRO, used.id, "INTERNAL\\sa_api")  # used yesterday: quarantined
        (seat,) = fetch_actual(reader).allocations_of(PRO)
    sim.reset_counts()
    owner = UserTarget(seat.user_id or "", seat.directory, seat.userid)
    change = Reinstate(PRO, seat.display, seat.key, owner, seat.id, seat.modified_date)
    with QrsClient(sim.url, read_only=True) as qrs, pytest.raises(QrsReadOnlyError):
        QrsWriter(qrs).reinstate([change])
    assert sim.request_counts() == {"GET": 1}


def test_status_errors_have_their_classes_and_safe_messages(
    client: QrsClient, sim: Simulator
) -> None:
    """404, 400, 409 and 500 map to their classes; messages name method and bare path only."""
    missing = paths.entity("/qrs/user", "00000000-0000-4000-8000-000000000000")
    with pytest.raises(QrsNotFound) as not_found:
        client.get_json(missing)
    with pytest.raises(QrsBadRequest) as bad:
        client.get_json(paths.USER_FULL, params={"filter": "userId eq"})
    sim.fail_next("PUT", "409", count=1)
    with pytest.raises(QrsConflict) as conflict:
        client.put_json(paths.entity(paths.SYSTEM_RULE, "00000000-0000-4000-8000-000000000000"), {})
    sim.fail_next("DELETE", "500", count=1)
    with pytest.raises(QrsServerError) as failed:
        client.delete(missing)
    assert str(not_found.value).startswith(f"GET {missing}: HTTP 404")
    assert bad.value.status == 400
    assert bad.value.path == paths.USER_FULL
    assert "re-run plan" in str(conflict.value)
    assert failed.value.method == "DELETE"
    for caught in (not_found, bad, conflict, failed):
        text = str(caught.value)
        assert "?" not in text.split(":", 1)[0]
        assert "xrfkey=" not in text
        assert len(caught.value.excerpt) <= 200


def test_long_error_body_is_cut_to_200_characters(client: QrsClient) -> None:
    """A long, echoing error body is cut to at most 200 characters on one line."""
    hostile = "userId eq " + "x" * 2000 + " and \n\n"
    with pytest.raises(QrsBadRequest) as caught:
        client.get_json(paths.USER_FULL, params={"filter": hostile})
    assert len(caught.value.excerpt) <= 200
    assert "\n" not in str(caught.value)


def test_unreachable_server_is_a_transport_error(sleeps: list[float]) -> None:
    """Nobody listening: QrsTransportError after the bounded retries of a read."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        QrsClient(f"http://127.0.0.1:{port}") as qrs,
        pytest.raises(QrsTransportError, match="cannot connect") as caught,
    ):
        qrs.get_json(paths.ABOUT)
    assert caught.value.path == paths.ABOUT
    assert len(sleeps) == RetryPolicy().attempts - 1


@pytest.mark.parametrize("userid", HOSTILE)
def test_hostile_names_in_a_filtered_read(client: QrsClient, userid: str) -> None:
    """Users named with quote, #, &, %, /, ?, backslash, space or + are found exactly."""
    found = find_user(client, "CORP", userid)
    assert found is not None
    assert found.userid == userid
    assert found.groups == ("Odd",)


@pytest.mark.parametrize("userid", [u for u in HOSTILE if "'" not in u and "\\" not in u])
def test_hostile_values_survive_query_encoding(client: QrsClient, userid: str) -> None:
    """A filter with #, &, %, /, ? or + in a value reaches QRS whole: exactly one user matches."""
    params = {"filter": filters.all_of(filters.eq("userId", userid), filters.eq("name", userid))}
    users = client.get_json(paths.USER_FULL, params=params)
    assert [u["userId"] for u in users] == [userid]


def test_find_user_is_case_insensitive_and_none_when_absent(client: QrsClient) -> None:
    """find_user compares as QRS does and answers None for an unknown user."""
    found = find_user(client, "corp", "JDOE")
    assert found is not None
    assert found.userid == "jdoe"
    assert find_user(client, "CORP", "nobody") is None


def test_client_repr_and_errors_hold_no_url_query(client: QrsClient) -> None:
    """The client's repr names the server and mode, nothing else."""
    assert repr(client).startswith("QrsClient('http://127.")
    assert "xrfkey" not in repr(client)


def test_backoff_delay_has_full_jitter() -> None:
    """Delays are uniform between 0 and a ceiling that doubles up to max_delay."""
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    ceilings: list[float] = []

    def fake_uniform(low: float, high: float) -> float:
        ceilings.append(high)
        return high

    for retry in range(1, 6):
        policy.delay(retry, uniform=fake_uniform)
    assert ceilings == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=-3) == 0.0


def test_retry_after_parsing() -> None:
    """Retry-After as seconds or an HTTP-date; junk and absence give None."""
    now = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
    assert parse_retry_after("12", now=now) == 12.0
    assert parse_retry_after("Mon, 10 Mar 2025 09:30:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 10 Mar 2025 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("  ") is None


def test_retry_policy_needs_one_attempt() -> None:
    """A policy with no attempts is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)


def test_non_json_answer_is_a_qrs_error(client: QrsClient) -> None:
    """An answer that is not JSON is a QrsError naming the request."""
    with pytest.raises(QrsError, match="not JSON"):
        client.decode_json("GET", paths.ABOUT, b"<html>")


@pytest.mark.parametrize("path", ["qrs/about", "/qrs/user/full?filter=x", "/qrs/about#top"])
def test_paths_must_be_absolute_without_query(client: QrsClient, path: str) -> None:
    """Queries go through params (encode_query), never inside the path."""
    with pytest.raises(ValueError, match="no query"):
        client.get_json(path)
