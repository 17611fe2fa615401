"""The simulated QRS as a function: a :class:`Request` in, a :class:`Response` out.

:class:`QrsApp` does what QRS (and, for ``/<prefix>/qrs``, the virtual proxy in front of it)
does with a request, in this order:

1. ``/_sim/...`` goes to the admin endpoints (:mod:`licsync.sim.admin`), unchecked;
2. anything that is not ``/qrs/...`` or ``/<proxy prefix>/qrs/...`` is 404;
3. the request is counted and the fault plan consulted (a fault answers instead);
4. a proxy authenticates its caller (302/401/403/501 instead); a direct call takes its caller
   from ``X-Qlik-User`` (400 when malformed);
5. the xrfkey check (403 ``XSRF prevention check failed. Possible XSRF discovered.``);
6. the query string (400 ``Missing parameter value(s)`` / ``URI malformed``);
7. routing, case-insensitively (404 unknown path or id, 405 wrong method) and the handler.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from licsync.identity import AccessType
from licsync.sim import extra
from licsync.sim.admin import handle_admin
from licsync.sim.auth import Caller, ProxyAuthenticator, ProxyConfig, direct_caller
from licsync.sim.entities import (
    ALLOCATION,
    COUNT_KEY,
    GROUP,
    SYSTEMRULE,
    USER,
    Collection,
    Entity,
)
from licsync.sim.errors import FilterSyntaxError, SimRefusal
from licsync.sim.exchange import (
    Connection,
    Request,
    Response,
    empty_response,
    json_bytes_response,
    json_response,
    text_response,
)
from licsync.sim.faults import Fault, FaultInjector
from licsync.sim.filter import ids_named
from licsync.sim.listing import (
    ADMIN_PRIVILEGES,
    ListCache,
    ShapeStyle,
    apply_filter,
    live_shape,
    parse_orderby,
    serialise,
    sort_entities,
)
from licsync.sim.store import SERVICE_CALLER, SimStore

__all__ = ["BUILD_VERSION", "XSRF_MESSAGE", "QrsApp", "RequestCounter", "xrfkey_ok"]

log = logging.getLogger(__name__)

XSRF_MESSAGE = "XSRF prevention check failed. Possible XSRF discovered."
BUILD_VERSION = "38.22.0.0"
"""``/qrs/about`` ``buildVersion``: the API version of the spec the simulator follows."""

_XRFKEY = re.compile(r"[0-9A-Za-z]{16}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_FLAG_PARAMETERS = frozenset({"privileges"})  # allowEmptyValue in the spec

Handler = Callable[["Call"], Response]


@dataclass(frozen=True, slots=True)
class Call:
    """One routed ``/qrs`` request: who calls, the query parameters, the GUIDs in the path."""

    request: Request
    caller: Caller
    params: Mapping[str, str]
    ids: tuple[str, ...]

    @property
    def privileges(self) -> bool:
        value = self.params.get("privileges")
        return value is not None and value.lower() in ("", "true")

    def json(self) -> Any:
        """The request body as JSON, or 400."""
        if not self.request.body.strip():
            raise SimRefusal(400, "The request body is empty; a JSON entity is required")
        try:
            return json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise SimRefusal(400, "The request body is not valid JSON") from None


class RequestCounter:
    """``/qrs`` requests by method since start or reset (refused and faulted ones included),
    and the request log by route: ``"POST /qrs/selection/{id}/user/license/..."`` -> count, for
    every request that reached a handler (whatever it answered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._routes: dict[str, int] = {}

    def add(self, method: str) -> None:
        with self._lock:
            self._counts[method] = self._counts.get(method, 0) + 1

    def add_route(self, method: str, pattern: tuple[str, ...]) -> None:
        key = f"{method} /qrs/{'/'.join(pattern)}"
        with self._lock:
            self._routes[key] = self._routes.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def routes(self) -> dict[str, int]:
        with self._lock:
            return dict(self._routes)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._routes.clear()


def xrfkey_ok(raw_query: str, header: str) -> bool:
    """The xrfkey check: query ``xrfkey`` (any case) equals ``X-Qlik-Xrfkey``, 16 of [0-9A-Za-z]."""
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        if unquote_plus(name).lower() == "xrfkey":
            key = unquote_plus(value)
            return key == header.strip() and _XRFKEY.fullmatch(key) is not None
    return False


def parse_query(raw_query: str) -> dict[str, str]:
    """Query parameters by lower-case name (first occurrence wins), checked like QRS does.

    An unencoded ``&`` inside a filter splits it, leaving a fragment without ``=``: QRS answers
    that with ``400 Missing parameter value(s)``; a stray ``%`` with ``URI malformed``.
    """
    if _BAD_PERCENT.search(raw_query):
        raise SimRefusal(400, "URI malformed")
    params: dict[str, str] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        key = unquote_plus(name).lower()
        if not sep and key not in _FLAG_PARAMETERS:
            raise SimRefusal(400, "Missing parameter value(s)")
        params.setdefault(key, unquote_plus(value))
    return params


class QrsApp:
    """The simulated QRS and its virtual proxies (HTTP-agnostic, thread-safe)."""

    def __init__(
        self,
        store: SimStore,
        *,
        proxies: ProxyConfig | None = None,
        faults: FaultInjector | None = None,
        shapes: ShapeStyle = "live",
    ) -> None:
        self.store = store
        self.shapes: ShapeStyle = shapes
        self.date_skew_seconds = 0.0
        """Seconds the HTTP ``Date`` header is ahead of this machine's clock (a server whose
        clock is off: what ``licsync doctor`` checks)."""
        self.proxies = ProxyAuthenticator(proxies or ProxyConfig(), store)
        self.faults = faults or FaultInjector()
        self.counter = RequestCounter()
        self.cache = ListCache()
        self._routes = self._route_table()

    def http_date(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: this machine's clock, moved by :attr:`date_skew_seconds` (a
        server whose clock is off) and by however far the simulator's clock was moved since it
        started (``/_sim/clock``, ``set_now``, ``advance``): an admin who moves a site's clock a
        month on sees that month in its answers, as on a real server."""
        when = time.time() if timestamp is None else timestamp
        moved = self.store.clock_moved.total_seconds()
        return email.utils.formatdate(when + self.date_skew_seconds + moved, usegmt=True)

    # -- entry point

    def respond(self, request: Request, connection: Connection) -> Response:
        """:meth:`handle` as a server answers: a bug in the simulator is a 500 (logged), and the
        response's added latency is waited out before it is returned."""
        try:
            response = self.handle(request, connection)
        except Exception:  # a bug in the simulator: answer 500, keep serving
            log.exception("simulator failed on %s %s", request.method, request.path)
            response = text_response(500, "Internal simulator error")
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)
        return response

    def handle(self, request: Request, connection: Connection) -> Response:
        """Answer one request (never raises for anything a client can send)."""
        lowered = request.path.lower()
        if lowered == "/_sim" or lowered.startswith("/_sim/"):
            return handle_admin(self, request)
        proxy_match = self.proxies.match(request.path)
        qrs_path = proxy_match[1] if proxy_match else request.path
        if not (qrs_path.lower() == "/qrs" or qrs_path.lower().startswith("/qrs/")):
            return text_response(404, "Not found")
        self.counter.add(request.method)
        fault = self.faults.decide(request.method)
        if fault.kind is not None and fault.kind != "drop-after":
            log.debug("fault %s for %s %s", fault.kind, request.method, request.path)
            return self._fault_response(fault)
        cookie = ""
        try:
            if proxy_match is not None:
                outcome = self.proxies.authenticate(proxy_match[0], request, connection)
                if isinstance(outcome, Response):
                    return outcome.with_delay(fault.delay_seconds)
                caller, cookie = outcome, outcome.set_cookie
            else:
                caller = direct_caller(request)
            if not xrfkey_ok(request.raw_query, request.header("x-qlik-xrfkey")):
                response = text_response(403, XSRF_MESSAGE)
            else:
                response = self._route(request, caller, qrs_path)
        except SimRefusal as refusal:
            response = text_response(refusal.status, refusal.reason)
        if cookie:
            # The proxy sets its session cookie on the first response, whatever QRS answered.
            response = response.with_headers(("Set-Cookie", cookie))
        if fault.kind == "drop-after":
            return Response(0, drop=True)
        return response.with_delay(fault.delay_seconds)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.kind == "drop":
            return Response(0, drop=True, delay_seconds=fault.delay_seconds)
        if fault.kind == "429":
            retry = str(self.faults.plan.retry_after_s)
            response = text_response(
                429, "Too Many Requests (simulated fault)", ("Retry-After", retry)
            )
        elif fault.kind == "503":
            response = text_response(503, "Service Unavailable (simulated fault)")
        elif fault.kind == "409":
            response = text_response(409, "Conflict (simulated fault)")
        else:
            response = text_response(500, "Internal Server Error (simulated fault)")
        return response.with_delay(fault.delay_seconds)

    def _route(self, request: Request, caller: Caller, qrs_path: str) -> Response:
        params = parse_query(request.raw_query)
        segments = tuple(s for s in qrs_path.lower().split("/")[2:] if s)
        allowed: set[str] = set()
        for pattern, handlers in self._routes:
            ids = _match(pattern, segments)
            if ids is None:
                continue
            handler = handlers.get(request.method)
            if handler is None:
                allowed.update(handlers)
                continue
            self.counter.add_route(request.method, pattern)
            return handler(Call(request, caller, params, ids))
        if allowed:
            return text_response(405, "Method Not Allowed", ("Allow", ", ".join(sorted(allowed))))
        return text_response(404, "Not found")

    # -- routes

    def _route_table(self) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        routes: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
            (("about",), {"GET": self._about}),
            (
                ("license", "accesstypeoverview"),
                {"GET": lambda c: json_response(200, self.store.overview())},
            ),
            (
                ("license",),
                {"GET": lambda c: self._entity_response(200, self.store.licence_entity(), c)},
            ),
            (("selection",), {"POST": self._create_selection}),
            (("selection", "{id}"), {"GET": self._get_selection, "DELETE": self._delete_selection}),
            (("about", "api", "enums"), {"GET": lambda c: json_response(200, extra.enums())}),
            (("about", "api", "description"), {"GET": self._description}),
            (
                ("license", "accesstypeinfo"),
                {"GET": lambda c: json_response(200, extra.access_types_info())},
            ),
        ]
        for collection in extra.TOKEN_COLLECTIONS:
            routes += self._read_only_routes(collection, list)
        routes += self._read_only_routes(
            extra.TAG, lambda: extra.tags(self.store.entities(USER)[1])
        )
        routes += self._read_only_routes(
            extra.CUSTOM_PROPERTY_DEFINITION,
            lambda: extra.custom_property_definitions(
                self.store.custom_property_definitions(),
                when=self.store.created_at,
                by=SERVICE_CALLER,
            ),
        )
        routes += self._entity_routes(
            USER,
            create=lambda c: self.store.create_user(c.json(), c.caller.name),
            update=lambda c: self.store.update_user(c.ids[0], c.json(), c.caller.name),
            delete=lambda c: self.store.delete_user(c.ids[0], c.caller.name),
        )
        routes += self._entity_routes(
            SYSTEMRULE,
            create=lambda c: self.store.create_system_rule(c.json(), c.caller.name),
            update=lambda c: self.store.update_system_rule(c.ids[0], c.json(), c.caller.name),
            delete=lambda c: self.store.delete_system_rule(c.ids[0]),
        )
        for kind in AccessType:
            routes += self._allocation_routes(kind)
            routes += self._group_routes(kind)
        return routes

    def _read_only_routes(
        self, collection: Collection, source: Callable[[], list[Entity]]
    ) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        """List, ``/full``, ``/count`` and ``/{id}`` of entities made on request."""
        base = tuple(collection.route.split("/"))

        def chosen(call: Call) -> list[Entity]:
            return _filtered(source(), call)

        def listed(call: Call, *, full: bool) -> Response:
            return _listing(chosen(call), collection, call, full=full, shapes=self.shapes)

        def one(call: Call) -> Response:
            for entity in source():
                if entity["id"] == call.ids[0]:
                    return self._entity_response(200, entity, call)
            raise SimRefusal(404, f"{collection.schema_path} {call.ids[0]} does not exist")

        return [
            (base, {"GET": lambda c: listed(c, full=False)}),
            ((*base, "full"), {"GET": lambda c: listed(c, full=True)}),
            ((*base, "count"), {"GET": lambda c: _count_response(len(chosen(c)))}),
            ((*base, "{id}"), {"GET": one}),
        ]

    def _description(self, call: Call) -> Response:
        """``GET /qrs/about/api/description``: ``METHOD /qrs/path`` per route served.

        Only the plain form; ``extended`` and ``format`` (a richer dump on live servers,
        reference §2.6) are accepted and ignored.
        """
        method = call.params.get("method", "").upper()
        lines: list[str] = []
        for pattern, handlers in self._routes:
            path = "/qrs/" + "/".join(pattern)
            lines.extend(f"{m} {path}" for m in sorted(handlers) if not method or m == method)
        return json_response(200, lines)

    def _group_routes(self, kind: AccessType) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        return self._entity_routes(
            GROUP[kind],
            create=lambda c: self.store.create_group(kind, c.json(), c.caller.name),
            update=lambda c: self.store.update_group(kind, c.ids[0], c.json(), c.caller.name),
            delete=lambda c: self.store.delete_group(kind, c.ids[0]),
        )

    def _entity_routes(
        self,
        collection: Collection,
        *,
        create: Callable[[Call], Entity],
        update: Callable[[Call], Entity],
        delete: Callable[[Call], None],
    ) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        base = tuple(collection.route.split("/"))

        def created(call: Call) -> Response:
            return self._entity_response(201, create(call), call)

        def updated(call: Call) -> Response:
            return self._entity_response(200, update(call), call)

        def deleted(call: Call) -> Response:
            delete(call)
            return empty_response(204)

        return [
            (base, {"GET": lambda c: self._list(collection, c, full=False), "POST": created}),
            ((*base, "full"), {"GET": lambda c: self._list(collection, c, full=True)}),
            ((*base, "count"), {"GET": lambda c: self._count(collection, c)}),
            (
                (*base, "{id}"),
                {
                    "GET": lambda c: self._entity_response(
                        200, self.store.get(collection, c.ids[0]), c
                    ),
                    "PUT": updated,
                    "DELETE": deleted,
                },
            ),
        ]

    def _allocation_routes(
        self, kind: AccessType
    ) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        collection = ALLOCATION[kind]
        routes = self._entity_routes(
            collection,
            create=lambda c: self.store.allocate(kind, c.json(), c.caller.name),
            update=lambda c: self.store.update_allocation(kind, c.ids[0], c.json(), c.caller.name),
            delete=lambda c: self.store.deallocate(kind, c.ids[0], c.caller.name),
        )
        base = tuple(collection.route.split("/"))
        selected = ("selection", "{id}", *base)

        def many(call: Call) -> Response:
            items = call.json()
            if not isinstance(items, list):
                raise SimRefusal(400, "The request body must be a JSON array of entities")
            created = self.store.allocate_many(kind, items, call.caller.name)
            return json_response(201, [self._shaped(e, call) for e in created])

        def select(call: Call) -> Response:
            text = call.params.get("filter", "")
            named = _ids_named(text) if text else None
            if named is not None:  # licsync's reclaim shape: by id, not a scan of every seat
                entities = self.store.find(collection, named)
            else:
                _, entities = self.store.entities(collection)
                if text:
                    entities = apply_filter(entities, text)
            selection = self.store.create_selection(
                collection, [e["id"] for e in entities], call.caller.name
            )
            return self._entity_response(201, selection, call)

        def deallocate_selected(call: Call) -> Response:
            entities = self._selected(collection, call)
            self.store.deallocate_many(kind, [e["id"] for e in entities], call.caller.name)
            return empty_response(204)

        def allocate_selected(call: Call) -> Response:
            done = self.store.allocate_selected(kind, call.ids[0], call.json(), call.caller.name)
            return json_response(201, [self._shaped(e, call) for e in done])

        routes += [
            ((*base, "many"), {"POST": many}),
            (("selection", "{id}", "user", *base), {"POST": allocate_selected}),
            (("selection", *base), {"POST": select}),
            (
                selected,
                {
                    "GET": lambda c: self._list_selected(collection, c, full=False),
                    "DELETE": deallocate_selected,
                },
            ),
            ((*selected, "full"), {"GET": lambda c: self._list_selected(collection, c, full=True)}),
            (
                (*selected, "count"),
                {"GET": lambda c: _count_response(len(self._selected(collection, c)))},
            ),
        ]
        return routes

    # -- handlers

    def _about(self, call: Call) -> Response:
        return json_response(
            200,
            {
                "schemaPath": "About",
                "buildVersion": BUILD_VERSION,
                "buildDate": "11/14/2022 12:00:00 AM",
                "databaseProvider": "licsync simulator",
                "nodeType": 1,
                "sharedPersistence": True,
                "requiresBootstrap": False,
                "singleNodeOnly": False,
            },
        )

    def _shaped(self, entity: Entity, call: Call) -> Entity:
        if self.shapes == "live":
            entity = live_shape(entity)
        return {**entity, "privileges": list(ADMIN_PRIVILEGES)} if call.privileges else entity

    def _entity_response(self, status: int, entity: Entity, call: Call) -> Response:
        return json_response(status, self._shaped(entity, call))

    def _list(self, collection: Collection, call: Call, *, full: bool) -> Response:
        text = call.params.get("filter", "")
        order = call.params.get("orderby", "")
        keys = parse_orderby(order) if order else ()
        if not text:
            # Unfiltered: serve cached bytes while the collection is unchanged.
            version, entities = self.store.entities(collection)
            cache_key = (collection.route, full, call.privileges, keys, self.shapes)
            body = self.cache.get_or_make(
                cache_key,
                version,
                lambda: serialise(
                    sort_entities(entities, keys) if keys else entities,
                    collection,
                    full=full,
                    privileges=call.privileges,
                    shapes=self.shapes,
                ),
            )
            return json_bytes_response(200, body)
        _, entities = self.store.entities(collection)
        matched = apply_filter(entities, text)
        if keys:
            matched = sort_entities(matched, keys)
        return json_bytes_response(
            200,
            serialise(
                matched, collection, full=full, privileges=call.privileges, shapes=self.shapes
            ),
        )

    def _count(self, collection: Collection, call: Call) -> Response:
        text = call.params.get("filter", "")
        if not text:
            return _count_response(self.store.count(collection))
        _, entities = self.store.entities(collection)
        return _count_response(len(apply_filter(entities, text)))

    def _selected(self, collection: Collection, call: Call) -> list[Entity]:
        return _filtered(self.store.selected(call.ids[0], collection), call)

    def _list_selected(self, collection: Collection, call: Call, *, full: bool) -> Response:
        return _listing(
            self._selected(collection, call), collection, call, full=full, shapes=self.shapes
        )

    def _create_selection(self, call: Call) -> Response:
        selection = self.store.create_selection_of_items(call.json(), call.caller.name)
        return self._entity_response(201, selection, call)

    def _get_selection(self, call: Call) -> Response:
        return self._entity_response(200, self.store.get_selection(call.ids[0]), call)

    def _delete_selection(self, call: Call) -> Response:
        self.store.delete_selection(call.ids[0])
        return empty_response(204)


def _ids_named(text: str) -> tuple[str, ...] | None:
    try:
        return ids_named(text)
    except FilterSyntaxError:
        return None  # apply_filter answers it with QRS's 400


def _count_response(n: int) -> Response:
    """``{"value": N}``: see :data:`~licsync.sim.entities.COUNT_KEY`."""
    return json_response(200, {COUNT_KEY: n})


def _match(pattern: tuple[str, ...], segments: tuple[str, ...]) -> tuple[str, ...] | None:
    """The GUIDs captured by ``{id}`` when ``segments`` fit ``pattern``, else None."""
    if len(pattern) != len(segments):
        return None
    ids = []
    for expected, segment in zip(pattern, segments, strict=True):
        if expected == "{id}":
            if _GUID.fullmatch(segment) is None:
                return None
            ids.append(segment)
        elif expected != segment:
            return None
    return tuple(ids)


def _filtered(entities: list[Entity], call: Call) -> list[Entity]:
    """The entities the request's ``filter`` keeps (all without one)."""
    text = call.params.get("filter", "")
    return apply_filter(entities, text) if text else entities


def _listing(
    entities: list[Entity], collection: Collection, call: Call, *, full: bool, shapes: ShapeStyle
) -> Response:
    """A list answer: ``entities`` in the request's ``orderby``, condensed or ``/full``."""
    order = call.params.get("orderby", "")
    if order:
        entities = sort_entities(entities, parse_orderby(order))
    return json_bytes_response(
        200,
        serialise(entities, collection, full=full, privileges=call.privileges, shapes=shapes),
    )
