"""``licsync plan`` against a hostile QRS over loopback: every case exits 1 in bounded time and
memory, names the endpoint, never shows a traceback, and writes nothing.

The hostile server is :mod:`hostile_server` (raw sockets: bodies no HTTP library would produce).
Deadlines here are a second or so; pytest's own run time is the outer bound, and nothing asserts
how long anything took.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync, Result, edit_file
from hostile_server import (
    HostileQrs,
    Responder,
    chunked_forever,
    drip,
    gzip_bomb,
    json_answer,
    raw_answer,
    silent,
    status_answer,
)
from licsync.errors import QrsTransportError
from licsync.qrs import QrsClient
from licsync.qrs.client import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_REQUEST_TIMEOUT

USERS = "/qrs/user/full"
ABOUT = "/qrs/about"
WRITES = {"POST", "PUT", "DELETE", "PATCH"}


def _plan(licsync: Licsync, qrs: HostileQrs, *extra: str) -> Result:
    return licsync(["plan", "licenses", "--qrs-url", qrs.url, *extra])


def _error(result: Result) -> str:
    """The boundary's one error line; exit 1, no traceback, not reported as a bug."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "This is a bug" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("licsync: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _run(licsync: Licsync, routes: Mapping[str, Responder], *extra: str) -> tuple[str, HostileQrs]:
    with HostileQrs(routes) as qrs:
        line = _error(_plan(licsync, qrs, *extra))
    assert not WRITES & {r.method for r in qrs.requests}
    return line, qrs


def _site_setting(example: Path, setting: str) -> None:
    edit_file(example / "site.yaml", "  name: demo\n", f"  name: demo\n  {setting}\n")


# -- size ---------------------------------------------------------------------------------------


def test_default_limits_fit_a_site_of_200000_users() -> None:
    """/qrs/user/full of 200,000 users (about 2.1 kB each) fits the default cap; minutes too."""
    assert DEFAULT_MAX_ANSWER_BYTES >= 200_000 * 2_200 * 2
    assert 120 <= DEFAULT_REQUEST_TIMEOUT <= 600


def test_a_gzip_bomb_is_cut_at_the_decoded_cap(example: Path, licsync: Licsync) -> None:
    """16 MiB of zeros in about 16 kB of gzip: counted decoded, refused past the site's cap."""
    _site_setting(example, "max_answer_mb: 1")
    line, _ = _run(licsync, {USERS: gzip_bomb(16 << 20)})
    assert f"GET {USERS}: the answer is larger than the 1 MiB" in line
    assert "max_answer_mb" in line


def test_a_never_ending_chunked_body_is_cut_at_the_cap(example: Path, licsync: Licsync) -> None:
    """A chunked body that never ends stops at the cap, not at the end of memory."""
    _site_setting(example, "max_answer_mb: 2")
    line, _ = _run(licsync, {USERS: chunked_forever()})
    assert f"GET {USERS}: the answer is larger than the 2 MiB" in line


def test_an_error_body_is_never_read_whole(licsync: Licsync, example: Path) -> None:
    """A 500 whose body never ends: the excerpt needs 200 characters, not the whole stream."""
    _site_setting(example, "request_timeout: 30")

    def endless_error(conn, request):  # type: ignore[no-untyped-def]
        head = b"HTTP/1.1 500 Boom\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        if not conn.send(head):
            return
        frame = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        while not conn.stopped.is_set() and conn.send(frame):
            pass

    line, _ = _run(licsync, {ABOUT: endless_error})
    assert f"GET {ABOUT}: HTTP 500" in line


# -- time ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "responder"),
    [
        ("silent", silent),
        ("body drips", drip(0.2)),
        ("headers drip", drip(0.2, headers_too=True)),
    ],
)
def test_a_slow_server_meets_the_request_timeout(
    example: Path, licsync: Licsync, retry_waits: list[float], name: str, responder: Responder
) -> None:
    """Silence, or one byte at a time (each read well inside any read timeout): the request's
    one deadline ends it, retries included."""
    line, _ = _run(licsync, {ABOUT: responder}, "--request-timeout", "0.5")
    assert f"GET {ABOUT}: no complete answer from QRS at http://127.0.0.1:" in line
    assert "within 0.5s" in line
    assert "--request-timeout" in line


def test_the_site_sets_the_request_timeout(example: Path, licsync: Licsync) -> None:
    """request_timeout in the site's YAML applies when the command line says nothing."""
    _site_setting(example, "request_timeout: 1")
    line, _ = _run(licsync, {USERS: drip(0.2)})
    assert f"GET {USERS}: no complete answer" in line
    assert "within 1s" in line


def test_the_command_line_overrides_the_site(example: Path, licsync: Licsync) -> None:
    """--request-timeout wins over the site's request_timeout."""
    _site_setting(example, "request_timeout: 3600")
    line, _ = _run(licsync, {USERS: silent}, "--request-timeout", "0.5")
    assert "within 0.5s" in line


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon", "1e9"])
def test_a_bad_request_timeout_is_a_usage_error(
    example: Path, licsync: Licsync, value: str
) -> None:
    """--request-timeout takes seconds, more than 0 and at most a day."""
    result = licsync(["plan", "licenses", "--request-timeout", value])
    assert result.exit_code == 64, result.output
    assert "--request-timeout" in result.stderr


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    example: Path, licsync: Licsync, retry_waits: list[float]
) -> None:
    """503 with Retry-After: 3600 and a 2 s timeout: fail now, saying why, without waiting."""
    busy = status_answer(503, b"busy", headers={"Retry-After": "3600"})
    line, qrs = _run(licsync, {ABOUT: busy}, "--request-timeout", "2")
    assert f"GET {ABOUT}: HTTP 503" in line
    assert "not retried" in line
    assert retry_waits == []
    assert qrs.paths() == [ABOUT]


# -- retries and their lines --------------------------------------------------------------------


def test_an_unreachable_site_prints_one_line_per_failed_request(
    example: Path, licsync: Licsync, retry_waits: list[float]
) -> None:
    """Nothing listening: /qrs/about is tried alone first, so one warning, then the error."""
    with HostileQrs() as qrs:
        url = qrs.url
    result = licsync(["plan", "licenses", "--qrs-url", url])
    line = _error(result)
    assert f"GET {ABOUT}: no answer from QRS at {url}: cannot connect" in line
    warnings = [w for w in result.stderr.splitlines() if w.startswith("licsync: warning: GET")]
    assert warnings == [
        f"licsync: warning: GET {ABOUT}: no answer (ConnectError); retrying (1 of 3)"
    ]
    assert "licsync.qrs" not in result.stderr
    assert len(retry_waits) == 3


def test_501_is_not_retried(example: Path, licsync: Licsync, retry_waits: list[float]) -> None:
    """Not Implemented does not heal by asking again."""
    line, qrs = _run(licsync, {ABOUT: status_answer(501, b"nope")})
    assert f"GET {ABOUT}: HTTP 501" in line
    assert qrs.paths() == [ABOUT]
    assert retry_waits == []


def test_404_on_about_says_this_is_not_qrs(example: Path, licsync: Licsync) -> None:
    """Every QRS answers /qrs/about: a 404 there is the URL's or the prefix's fault."""
    line, _ = _run(licsync, {ABOUT: status_answer(404, b"Not Found")})
    assert "this is not QRS, or the virtual proxy prefix is wrong" in line
    assert "does not exist (any more)" not in line


# -- the client directly ------------------------------------------------------------------------


def test_the_client_deadline_covers_a_dripping_body() -> None:
    """Below the CLI: QrsClient's own request_timeout ends a drip."""
    with (
        HostileQrs({ABOUT: drip(0.1)}) as qrs,
        QrsClient(qrs.url, request_timeout=0.5) as client,
        pytest.raises(QrsTransportError, match=re.escape("within 0.5s")),
    ):
        client.get_bytes(ABOUT)


def test_a_valid_answer_still_reads(example: Path, licsync: Licsync) -> None:
    """The hostile server's defaults are a valid empty site: plan works against them."""
    with HostileQrs({ABOUT: raw_answer(json.dumps({"buildVersion": "1"}).encode())}) as qrs:
        result = _plan(licsync, qrs)
    assert result.exit_code == 0, result.output
    assert "licsync plan for site demo" in result.stdout


def test_gzip_within_the_cap_is_decoded(example: Path, licsync: Licsync) -> None:
    """A compressed answer under the cap is accepted and read decoded (the cap counts, it does
    not refuse gzip): the build version inside the gzip reaches the plan."""
    import gzip

    body = gzip.compress(json.dumps({"buildVersion": "38.99.7.0"}).encode())
    routes = {ABOUT: raw_answer(body, headers={"Content-Encoding": "gzip"})}
    with HostileQrs(routes) as qrs:
        result = _plan(licsync, qrs)
    assert result.exit_code == 0, result.output
    assert "QRS 38.99.7.0" in result.stdout.splitlines()[0], result.stdout


# -- answers of the wrong shape -----------------------------------------------------------------

PRO_ALLOCATIONS = "/qrs/license/professionalaccesstype/full"
RULES = "/qrs/systemrule/full"
OVERVIEW = "/qrs/license/accesstypeoverview"
GROUP = "0f4a6a6e-5a3c-4f1e-9a59-2c0d8d7b1e01"
A_USER = {
    "id": "u-1",
    "userId": "alice",
    "userDirectory": "CORP",
    "removedExternally": False,
    "blacklisted": False,
}
A_RULE = {
    "id": "r-1",
    "name": "Sales pros",
    "rule": 'user.group = "Sales"',
    "resourceFilter": f"License.ProfessionalAccessGroup_{GROUP}",
    "actions": 1,
}


def _raw(text: str) -> Responder:
    return raw_answer(text.encode())


@pytest.mark.parametrize(
    ("path", "answer", "said"),
    [
        (USERS, _raw("[" * 100_000 + "]" * 100_000), "nested too deeply"),
        (OVERVIEW, _raw('{"professionalAccess": {"total": 1e400}}'), "professionalAccess.total"),
        (
            USERS,
            _raw('[{"id": "u", "userDirectory": "C", "userId": ' + "9" * 5000 + "}]"),
            "'userId'",
        ),
        (USERS, json_answer({"users": [A_USER]}), "expected an array, got an object"),
        (
            USERS,
            _raw('[{"id": "u", "userDirectory": "C", "userId": "x\\ud800"}]'),
            "a lone surrogate in the field 'userId'",
        ),
        (USERS, json_answer([{**A_USER, "attributes": {"group": "x"}}]), "'attributes'"),
        (PRO_ALLOCATIONS, json_answer({"seats": []}), "expected an array, got an object"),
        (RULES, json_answer([{**A_RULE, "name": {"en": "x"}}]), "'name'"),
        (ABOUT, json_answer({"buildVersion": ["14"]}), "'buildVersion'"),
    ],
)
def test_a_malformed_answer_names_endpoint_entity_and_field(
    example: Path, licsync: Licsync, path: str, answer: Responder, said: str
) -> None:
    """Wrong JSON types, numbers out of range, deep nesting: exit 1 naming where, not 70.

    A sample through the whole CLI; test_qrs_parse_hostile.py puts every kind into every field.
    """
    line, _ = _run(
        licsync,
        {
            path: answer,
            "/qrs/license/professionalaccessgroup/full": json_answer(
                [{"id": GROUP, "name": "Sales pros"}]
            ),
        },
    )
    assert f"GET {path}: " in line
    assert said in line


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ({"id": "a-1", "user": A_USER, "lastUsed": "9999-12-31T23:59:59.999Z"}, "'lastUsed'"),
        ({"id": "a-2", "user": None, "deletedUserId": "", "deletedUserDirectory": ""}, "'user"),
        ({"id": "a-3", "user": "alice"}, "'user'"),
    ],
)
def test_a_seat_licsync_cannot_read_is_a_finding_and_the_plan_goes_on(
    example: Path, licsync: Licsync, row: dict[str, Any], said: str
) -> None:
    """One odd row: a finding naming its id and why; the readable seat beside it is planned;
    the odd one is never reclaimed; the JSON capacity line counts it."""
    seats = [row, {"id": "a-ok", "user": A_USER, "lastUsed": "2020-01-01T00:00:00.000Z"}]
    routes = {
        PRO_ALLOCATIONS: json_answer(seats),
        USERS: json_answer([A_USER]),
        OVERVIEW: json_answer({"professionalAccess": {"total": 5, "allocated": 2, "available": 3}}),
    }
    with HostileQrs(routes) as qrs:
        text = _plan(licsync, qrs)
        data = _plan(licsync, qrs, "--format", "json")
    assert text.exit_code == 0, text.output
    assert f"allocation {row['id']} " in text.stdout
    assert said in text.stdout
    plan = json.loads(data.stdout)
    (finding,) = [f for f in plan["findings"] if f["kind"] == "unreadable-seat"]
    assert finding["data"]["allocation_id"] == row["id"]
    assert plan["capacity"]["professional"]["unreadable"] == 1
    reclaimed = {c.get("allocation_id") for c in plan["changes"] if c["action"] == "reclaim"}
    assert row["id"] not in reclaimed
    assert "a-ok" in reclaimed  # alice is not declared: the readable seat is planned as usual


# -- what reaches the terminal ------------------------------------------------------------------


def test_a_forged_line_in_the_build_version_stays_on_its_line(
    example: Path, licsync: Licsync
) -> None:
    """A build version with a line break and terminal escapes: shown escaped in the plan."""
    about = json_answer({"buildVersion": "14\nFAKE: Safety: OK\x1b]0;pwned\x07\x1b[2J"})
    with HostileQrs({ABOUT: about}) as qrs:
        result = _plan(licsync, qrs)
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("FAKE") for line in result.stdout.splitlines())
    assert "\x1b" not in result.stdout
    assert "QRS 14\\nFAKE: Safety: OK\\x1b]0;pwned" in result.stdout


def test_an_error_message_cannot_forge_a_line(example: Path, licsync: Licsync) -> None:
    """An entity id holding a line break and ESC, in the message of the error it causes."""
    users = json_answer([{"id": "x\nFAKE: ok\x1b[2J", "userDirectory": "C", "userId": 5}])
    line, _ = _run(licsync, {USERS: users})
    assert "\x1b" not in line
    assert "FAKE: ok" in line  # on the error's own line, escaped
