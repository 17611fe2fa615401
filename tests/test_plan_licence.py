"""The licence model: quarantine predicted only on a serial-and-control-number licence, the
kind said on the capacity lines, no allocation planned against an expired licence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Licsync
from clock import DEMO_NOW_ARG
from inprocess import in_process_simulator
from licsync.actual import Licence, LicenceKind
from licsync.errors import QrsResponseError
from licsync.qrs.parse import parse_licence
from licsync.sim import Simulator
from licsync.sim.demo import demo_organisation
from licsync.sim.store import LicenceKind as SimLicenceKind


def _serve(kind: SimLicenceKind, *, expired: bool = False) -> Any:
    store = demo_organisation()
    store.set_licence(kind, expired=expired)
    return in_process_simulator(store)


def _plan(licsync: Licsync, sim: Simulator, out: Path, *, code: int = 0) -> dict[str, Any]:
    result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                      "--format", "json", "--out", str(out)])  # fmt: skip
    assert result.exit_code == code, result.output
    plan: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return plan


def _quarantining(plan: dict[str, Any]) -> set[str]:
    return {c["user"] for c in plan["changes"] if c["action"] == "reclaim" and c["quarantine"]}


def test_a_signed_key_site_quarantines_nothing(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """The same organisation on a serial licence quarantines a recently used reclaimed seat;
    on a signed key it is freed at once, and the capacity lines say which kind."""
    with _serve("serial") as sim:
        serial = _plan(licsync, sim, tmp_path / "serial.json")
    with _serve("key") as sim:
        key = _plan(licsync, sim, tmp_path / "key.json")
    assert _quarantining(serial)
    assert _quarantining(key) == set()
    assert {line["licence"] for line in serial["capacity"].values()} == {"serial"}
    assert {line["licence"] for line in key["capacity"].values()} == {"key"}
    pro_serial, pro_key = serial["capacity"]["professional"], key["capacity"]["professional"]
    assert pro_key["freed_now"] == pro_serial["freed_now"] + pro_serial["quarantined_by_plan"]
    assert pro_key["quarantined_by_plan"] == 0
    assert [c["id"] for c in serial["changes"]] == [c["id"] for c in key["changes"]]


def test_the_text_plan_says_the_licence_kind(example: Path, licsync: Licsync) -> None:
    with _serve("key") as sim:
        result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG])
    assert "signed licence key (a reclaimed seat is free at once)" in result.stdout


def test_apply_on_a_signed_key_site_frees_the_seat_at_once(example: Path, licsync: Licsync) -> None:
    with _serve("key") as sim:
        result = licsync(["apply", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                          "--auto-approve", "--format", "json"])  # fmt: skip
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert all(i["quarantine_until"] is None for i in report["items"])
        overview = sim.store.overview()
    assert overview["professionalAccess"]["quarantined"] == 0


def test_an_expired_licence_allocates_nothing_and_says_why(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """The plan still shows what the declarations need, with one error finding per access type
    naming the users; apply sends none of those allocations or reinstatements (QRS would
    refuse each with <BrokenRules>): each fails with the reason, not a request, and the
    reclaims still happen."""
    with _serve("serial", expired=True) as sim:
        plan = _plan(licsync, sim, tmp_path / "plan.json")
        sim.reset_counts()
        result = licsync(["apply", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG,
                          "--auto-approve", "--format", "json"])  # fmt: skip
        routes = sim.route_counts()
    granted = {
        c["id"]["subject"] for c in plan["changes"] if c["action"] in ("allocate", "reinstate")
    }
    assert granted
    expired = [f for f in plan["findings"] if f["kind"] == "licence-expired"]
    assert expired
    assert all(f["severity"] == "error" for f in expired)
    assert "renew the licence" in expired[0]["message"]
    assert "CORP\\ivan.petrov" in expired[0]["data"]["users"]
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    refused = [i for i in report["items"] if i["id"]["subject"] in granted]
    assert refused
    assert all(i["status"] == "failed" for i in refused)
    assert all("licence has expired" in i["message"] for i in refused)
    assert all(i["attempts"] == 0 for i in refused)
    assert any(i["status"] == "applied" for i in report["items"])  # the reclaims went
    assert not any("/user/license/" in route for route in routes)


@pytest.mark.parametrize(
    ("body", "kind", "expired"),
    [
        (
            {"serial": "9999000000000001", "check": "12345", "key": "", "isExpired": False},
            LicenceKind.SERIAL,
            False,
        ),
        (
            {"serial": "", "key": "eyJhbGciOi...", "keyDetails": "x", "isExpired": True},
            LicenceKind.KEY,
            True,
        ),
        ([{"serial": "1", "check": "2"}], LicenceKind.SERIAL, False),
        ({}, LicenceKind.UNKNOWN, False),
        ({"serial": None, "key": None}, LicenceKind.UNKNOWN, False),
    ],
)
def test_parse_licence(body: Any, kind: LicenceKind, expired: bool) -> None:
    licence = parse_licence(body)
    assert (licence.kind, licence.expired) == (kind, expired)
    assert "999900" not in repr(licence)  # the serial is a secret and is not kept


def test_parse_licence_refuses_a_wrong_shape() -> None:
    with pytest.raises(QrsResponseError, match="/qrs/license"):
        parse_licence("licensed")
    with pytest.raises(QrsResponseError, match="'key'"):
        parse_licence({"key": 12})


def test_an_unknown_licence_assumes_quarantine() -> None:
    assert Licence().quarantines
    assert Licence(LicenceKind.SERIAL).quarantines
    assert not Licence(LicenceKind.KEY).quarantines
