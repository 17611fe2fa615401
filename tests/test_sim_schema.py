"""Every simulator endpoint's response validates against ``Repository.json`` (the QRS spec).

The Swagger 2.0 ``definitions`` become a JSON Schema (draft 4, which Swagger 2.0 schemas are a
dialect of) with ``$ref`` resolving inside it. Objects are made strict (no properties beyond the
spec's), so a misspelt field fails too. Formats are checked loosely: ``uuid`` and ``date-time``
(QRS's millisecond ``Z`` form); Swagger's own formats (``bit-mask``, ``int32``) are not checked.

Three departures from the spec, each what live servers send and named in the simulator:
a property listed in ``NULL_WHEN_UNSET`` (and ``privileges``) may be ``null`` (Swagger 2.0
cannot say nullable), a living user's seat has ``""`` deleted-user fields
(``LIVE_EMPTY_FIELDS``, below the spec's ``minLength``), and a ``/count`` answer is
``{"value": N}`` (``COUNT_KEY``) where the spec says a bare integer.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker

from clock import NOW
from inprocess import bare_client, in_process_simulator
from licsync.sim import Simulator
from licsync.sim.entities import COUNT_KEY, NULL_PRIVILEGES, NULL_WHEN_UNSET
from licsync.sim.listing import LIVE_EMPTY_FIELDS

_QRS_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@functools.cache
def _spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    strict = copy.deepcopy(spec["definitions"])
    for definition in strict.values():
        if definition.get("type") == "object" and "properties" in definition:
            definition["additionalProperties"] = False
    nullable = {name: set(fields) for name, fields in NULL_WHEN_UNSET.items()}
    if NULL_PRIVILEGES:
        for name, definition in strict.items():
            if "privileges" in definition.get("properties", {}):
                nullable.setdefault(name, set()).add("privileges")
    for name, fields in nullable.items():
        properties = strict[name]["properties"]
        for field in fields:
            allowed = [properties[field], {"type": "null"}]
            if field in LIVE_EMPTY_FIELDS:
                allowed.append({"type": "string", "maxLength": 0})
            properties[field] = {"anyOf": allowed}
    spec["strict_definitions"] = strict
    return spec


def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def is_datetime(value: object) -> bool:
        return not isinstance(value, str) or _QRS_DATETIME.fullmatch(value) is not None

    @checker.checks("uuid", raises=ValueError)
    def is_uuid(value: object) -> bool:
        return not isinstance(value, str) or str(uuid.UUID(value)) == value

    return checker


def _problems(
    spec: dict[str, Any], template: str, method: str, response: httpx.Response
) -> list[str]:
    """What is wrong with ``response`` for the spec's ``template`` + ``method``."""
    operation = spec["paths"].get(template, {}).get(method.lower())
    where = f"{method} {template} -> {response.status_code}"
    if operation is None:
        return [f"{where}: not in the spec"]
    declared = operation["responses"].get(str(response.status_code))
    if declared is None:
        return [f"{where}: status not declared ({', '.join(operation['responses'])})"]
    schema = declared.get("schema")
    if template.endswith("/count"):
        schema = {
            "type": "object",
            "properties": {COUNT_KEY: schema},
            "required": [COUNT_KEY],
            "additionalProperties": False,
        }
    if schema is None:
        return [] if not response.content else [f"{where}: body where the spec has none"]
    validator = Draft4Validator(
        {**schema, "definitions": spec["strict_definitions"]}, format_checker=_checker()
    )
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(response.json())
    ]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A small synthetic organisation (with quarantined and deleted-user seats)."""
    with in_process_simulator(users=60, seed=9, now=NOW) as running:
        running.store.set_capacity("professional", running.store.capacity("professional").total + 5)
        running.store.set_capacity("analyzer", running.store.capacity("analyzer").total + 5)
        running.store.add_user("CORP", "tagged", tags=["KeepLicense"])
        yield running


class _Recorder:
    """Calls endpoints and records every way their answers differ from the spec."""

    def __init__(self, spec: dict[str, Any], client: httpx.Client) -> None:
        self.spec = spec
        self.client = client
        self.problems: list[str] = []
        self.checked: set[tuple[str, str]] = set()

    def __call__(
        self, method: str, template: str, url: str, body: Any = None, **params: str
    ) -> Any:
        response = self.client.request(method, "/qrs" + url, json=body, params=params)
        assert response.status_code < 400, f"{method} {url}: {response.status_code} {response.text}"
        self.problems.extend(_problems(self.spec, template, method, response))
        self.checked.add((method, template))
        return response.json() if response.content else None


def _seats(call: _Recorder, kind: str, user_id: str, other_id: str) -> None:
    seats = f"/license/{kind}accesstype"
    call("GET", seats, seats)
    full = call("GET", f"{seats}/full", f"{seats}/full")
    assert any("deletedUserId" in s for s in full)
    call("GET", f"{seats}/count", f"{seats}/count", filter="quarantined eq true")
    seat = call("POST", seats, seats, {"user": {"id": user_id}})
    call("GET", f"{seats}/{{id}}", f"{seats}/{seat['id']}")
    call("PUT", f"{seats}/{{id}}", f"{seats}/{seat['id']}", seat)
    call("DELETE", f"{seats}/{{id}}", f"{seats}/{seat['id']}")
    call("POST", f"{seats}/many", f"{seats}/many", [{"user": {"id": other_id}}])


def _selections(call: _Recorder, kind: str) -> None:
    seats = f"/license/{kind}accesstype"
    old = "lastUsed lt '2025-06-01T00:00:00.000Z'"
    selection = call("POST", f"/selection{seats}", f"/selection{seats}", filter=old)
    assert selection["items"]
    template = f"/selection/{{id}}{seats}"
    url = f"/selection/{selection['id']}{seats}"
    call("GET", "/selection/{id}", f"/selection/{selection['id']}")
    call("GET", template, url)
    call("GET", f"{template}/full", f"{url}/full")
    call("GET", f"{template}/count", f"{url}/count")
    call("DELETE", template, url)
    call("DELETE", "/selection/{id}", f"/selection/{selection['id']}")


def _rules(call: _Recorder, kind: str) -> None:
    groups = f"/license/{kind}accessgroup"
    call("GET", groups, groups)
    call("GET", f"{groups}/full", f"{groups}/full")
    call("GET", f"{groups}/count", f"{groups}/count")
    group = call("POST", groups, groups, {"name": f"{kind} schema test"})
    group = call("PUT", f"{groups}/{{id}}", f"{groups}/{group['id']}", {**group, "name": "renamed"})
    call("GET", f"{groups}/{{id}}", f"{groups}/{group['id']}")
    body = {
        "category": "License",
        "type": "Custom",
        "name": "schema test",
        "rule": '((user.group="Sales"))',
        "resourceFilter": f"License.{kind.capitalize()}AccessGroup_{group['id']}",
        "actions": 1,
    }
    rule = call("POST", "/systemrule", "/systemrule", body)
    call("PUT", "/systemrule/{id}", f"/systemrule/{rule['id']}", {**rule, "disabled": True})
    call("GET", "/systemrule/{id}", f"/systemrule/{rule['id']}")
    call("DELETE", "/systemrule/{id}", f"/systemrule/{rule['id']}")
    call("DELETE", f"{groups}/{{id}}", f"{groups}/{group['id']}")


def _first_calls(call: _Recorder) -> None:
    """What tools call before licence work, and the token endpoints of a site without tokens."""
    call("GET", "/about/api/enums", "/about/api/enums")
    call("GET", "/about/api/description", "/about/api/description")
    call("GET", "/license/accesstypeinfo", "/license/accesstypeinfo")
    for kind in ("useraccesstype", "loginaccesstype"):
        base = f"/license/{kind}"
        assert call("GET", base, base) == []
        assert call("GET", f"{base}/full", f"{base}/full") == []
        assert call("GET", f"{base}/count", f"{base}/count") == {COUNT_KEY: 0}
    for base in ("/tag", "/custompropertydefinition"):
        listed = call("GET", base, base)
        full = call("GET", f"{base}/full", f"{base}/full", filter=f"name eq '{listed[0]['name']}'")
        assert [e["id"] for e in full] == [listed[0]["id"]]
        call("GET", f"{base}/count", f"{base}/count")
        call("GET", f"{base}/{{id}}", f"{base}/{listed[0]['id']}")


def test_every_endpoint_matches_the_spec(qrs_spec: Path, sim: Simulator) -> None:
    """Each endpoint a licence client uses answers with the spec's status and schema."""
    with bare_client(sim) as client:
        call = _Recorder(_spec(qrs_spec), client)
        call("GET", "/about", "/about")
        call("GET", "/license/accesstypeoverview", "/license/accesstypeoverview")
        users = call("GET", "/user/full", "/user/full")
        call("GET", "/user", "/user", privileges="true")
        call("GET", "/user/count", "/user/count")
        person = next(u for u in users if u["userDirectory"] != "INTERNAL")
        user = call("GET", "/user/{id}", f"/user/{person['id']}")
        call("PUT", "/user/{id}", f"/user/{user['id']}", {**user, "name": "Renamed"})
        new = {"userId": "new.person", "userDirectory": "CORP", "name": "New"}
        created = call("POST", "/user", "/user", new)
        other = call("POST", "/user", "/user", {"userId": "other.person", "userDirectory": "CORP"})
        for kind in ("professional", "analyzer"):
            _seats(call, kind, created["id"], other["id"])
            _selections(call, kind)
            _rules(call, kind)
        call("GET", "/systemrule", "/systemrule")
        call("GET", "/systemrule/full", "/systemrule/full", filter="category eq 'License'")
        call("GET", "/systemrule/count", "/systemrule/count")
        call("DELETE", "/user/{id}", f"/user/{created['id']}")
        _first_calls(call)
    assert not call.problems, "\n".join(call.problems)
    assert len(call.checked) >= 66


def test_the_strict_schema_catches_a_stray_field(qrs_spec: Path) -> None:
    """The validator used above does reject a property the spec does not define."""
    spec = _spec(qrs_spec)
    body = json.dumps({"id": str(uuid.uuid4()), "name": "G", "nickname": "x"}).encode()
    response = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    problems = _problems(spec, "/license/professionalaccessgroup/{id}", "GET", response)
    assert problems
    assert "nickname" in problems[0]
