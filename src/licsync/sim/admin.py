"""The simulator's own endpoints under ``/_sim/`` (no xrfkey, no auth): for tests and demos.

* ``GET /_sim/clock`` -> ``{"now": iso, "frozen": bool}``; ``POST /_sim/clock`` with
  ``{"now": iso}`` (freezes there) or ``{"advance_seconds": n}``;
* ``GET /_sim/requests`` -> ``/qrs`` request counts by method; ``GET /_sim/requests/routes``
  -> the request log by route (``"POST /qrs/selection/{id}/..."``: n);
  ``POST /_sim/requests/reset``;
* ``GET``/``POST /_sim/licence`` -> ``{"kind": "serial"|"key", "expired": bool}``;
* ``GET /_sim/faults`` -> the fault plan; ``POST /_sim/faults`` with a plan
  (:meth:`licsync.sim.faults.FaultPlan.to_json`'s shape) replaces it;
* ``GET /_sim/snapshot`` -> the store as a snapshot (what ``--snapshot`` loads).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from licsync.errors import UsageError
from licsync.sim.errors import SimRefusal
from licsync.sim.exchange import (
    Request,
    Response,
    json_bytes_response,
    json_response,
    text_response,
)
from licsync.sim.faults import FaultPlan
from licsync.timeutil import format_qrs_datetime, parse_qrs_datetime

if TYPE_CHECKING:
    from licsync.sim.app import QrsApp

__all__ = ["handle_admin"]


def handle_admin(app: QrsApp, request: Request) -> Response:
    """Answer one ``/_sim/...`` request."""
    path = request.path.lower().rstrip("/")
    method = request.method
    try:
        if path == "/_sim/clock":
            if method == "POST":
                _set_clock(app, _body(request))
            elif method != "GET":
                return _not_allowed("GET, POST")
            return json_response(200, _clock(app))
        if path == "/_sim/requests":
            if method != "GET":
                return _not_allowed("GET")
            return json_response(200, app.counter.snapshot())
        if path == "/_sim/requests/routes":
            if method != "GET":
                return _not_allowed("GET")
            return json_response(200, app.counter.routes())
        if path == "/_sim/licence":
            if method == "POST":
                _set_licence(app, _body(request))
            elif method != "GET":
                return _not_allowed("GET, POST")
            licence = app.store.licence
            return json_response(200, {"kind": licence.kind, "expired": licence.expired})
        if path == "/_sim/requests/reset":
            if method != "POST":
                return _not_allowed("POST")
            app.counter.reset()
            return json_response(200, app.counter.snapshot())
        if path == "/_sim/faults":
            if method == "POST":
                app.faults.set_plan(FaultPlan.from_json(_body(request)))
            elif method != "GET":
                return _not_allowed("GET, POST")
            return json_response(200, app.faults.plan.to_json())
        if path == "/_sim/snapshot":
            if method != "GET":
                return _not_allowed("GET")
            return json_bytes_response(200, app.store.to_json())
    except (SimRefusal, UsageError) as exc:
        reason = exc.reason if isinstance(exc, SimRefusal) else str(exc)
        return text_response(400, reason)
    return text_response(404, "Not found")


def _clock(app: QrsApp) -> dict[str, Any]:
    return {"now": format_qrs_datetime(app.store.now()), "frozen": app.store.clock.frozen}


def _set_clock(app: QrsApp, body: dict[str, Any]) -> None:
    if "now" in body:
        try:
            when = parse_qrs_datetime(str(body["now"]))
        except ValueError:
            raise SimRefusal(400, f"not a date-time: {body['now']!r}") from None
        if when is None:
            raise SimRefusal(400, "now must be a date-time after 1900")
        app.store.set_now(when)
    elif "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise SimRefusal(400, "advance_seconds must be a number")
        app.store.advance(dt.timedelta(seconds=seconds))
    else:
        raise SimRefusal(400, 'send {"now": "<iso date-time>"} or {"advance_seconds": <n>}')


def _set_licence(app: QrsApp, body: dict[str, Any]) -> None:
    kind = body.get("kind", app.store.licence.kind)
    expired = body.get("expired", app.store.licence.expired)
    if not isinstance(expired, bool):
        raise SimRefusal(400, "expired must be true or false")
    app.store.set_licence(kind, expired=expired, subscription=app.store.licence.subscription)


def _body(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise SimRefusal(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise SimRefusal(400, "the body must be a JSON object")
    return value


def _not_allowed(allow: str) -> Response:
    return text_response(405, "Method Not Allowed", ("Allow", allow))
