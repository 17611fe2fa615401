"""The QRS simulator: a stand-in Qlik Repository Service over real HTTP(S).

It is the embedded default a new user plans against, the test bed of the suite and the
benchmark load. It follows ``Repository.json`` (QSEoW November 2022) and the team's reference
``qrs-api.md``; where those are silent it makes the choices listed below, each held in one named
constant or option so that a live-server finding changes one place.

In-process API::

    from licsync.sim import start_simulator, SimStore, synthetic_organisation
    with start_simulator(users=100, seed=1, now=when) as sim:
        sim.url, sim.store, sim.port
        sim.request_counts(); sim.reset_counts()
        sim.set_now(when); sim.advance(timedelta(days=8))
        sim.set_faults(FaultPlan(seed=1, rules=(FaultRule("GET", "503", 0.5),)))
        sim.fail_next("POST", "429", count=2)

Modules: :mod:`~licsync.sim.store` (entities and QRS semantics), :mod:`~licsync.sim.app`
(routing and handlers, HTTP-agnostic), :mod:`~licsync.sim.server` (sockets, TLS, threads),
:mod:`~licsync.sim.auth` (X-Qlik-User, virtual proxies), :mod:`~licsync.sim.faults`,
:mod:`~licsync.sim.seed`, :mod:`~licsync.sim.certs`, :mod:`~licsync.sim.listing`
(filter/orderby/list cache), :mod:`~licsync.sim.filter` (the QRS filter language),
:mod:`~licsync.sim.admin` (``/_sim/`` endpoints), :mod:`~licsync.sim.snapshot`,
:mod:`~licsync.sim.bodies` (request-body checks), :mod:`~licsync.sim.entities` (QRS shapes),
:mod:`~licsync.sim.testing` (an xrfkey client and JWT signing for tests).

Simulator assumptions (UNVERIFIED against a live server unless a source is named):

1. ``DELETE`` of an already-quarantined seat: 204, the seat stays quarantined until its
   ``quarantineEnd`` (``store.DELETE_OF_QUARANTINED = "keep"``; ``"release"`` is the option).
2. Reinstatement: the QMC's allocation route (``POST /qrs/selection/{id}/user/license/
   <type>accesstype``) gives a user's quarantined seat back (``store.reinstate_by_allocation``;
   False refuses it with ``<BrokenRules>`` like a second seat), and so does a ``PUT`` of the
   seat as read with ``quarantined: false`` (``store.reinstate``). Other PUT changes to a seat
   are ignored except: changing its user or setting ``quarantined: true`` is a 400. A second
   ``POST /qrs/license/<type>accesstype`` for a user holding a quarantined seat is a 400.
3. Allocation body: ``{"user": {"id": ...}}`` or a fuller ``UserCondensed``; an ``id`` sent in
   the body is ignored (the server assigns ids); ``userId``/``userDirectory`` that contradict
   the user named by ``id`` are a 400.
4. Capacity: a seat beyond capacity is a 400 and nothing is created (seats never get
   ``excess: true``); the QMC's route answers every refusal (short capacity, a second seat,
   an expired licence) with the whole request refused, ``400 <BrokenRules>``
   (``store.BROKEN_RULES``), as live servers do; ``/many`` keeps its own wording; overview:
   ``allocated`` = not quarantined, ``quarantined``, ``used`` = allocated and used at least once,
   ``available = total - allocated - quarantined`` (>= 0),
   ``excess`` = seats beyond ``total`` (only after lowering the capacity). Inactive and
   blocked users can be given seats (nothing found says QRS refuses them). Quarantine: a seat
   used less than 7 days ago (``licsync.identity.QUARANTINE``; exactly 7 days ago is released) is
   quarantined, on a serial-and-control-number licence only (``store.set_licence``; a signed
   key releases at once; ``GET /qrs/license`` says which), for 7 days (the same ``QUARANTINE``);
   maintenance releases it once the clock reaches ``quarantineEnd``.
5. ``/count`` answers a bare integer, as the spec types it (some clients read ``{"value": N}``).
6. Error bodies are plain text. Known texts are reproduced: ``XSRF prevention check failed.
   Possible XSRF discovered.`` (403), ``Cannot parse the expression: ...`` (400 filter),
   ``Missing parameter value(s)`` (400, a query fragment without ``=``), ``URI malformed``
   (400, a stray ``%``). Others (404, 405, 409, capacity) are the simulator's own words.
   Unknown id -> 404; a path segment that is not a GUID where an id is expected -> 404.
7. Optimistic concurrency: PUT needs the body ``id`` (400 if missing or different from the
   URL) and ``modifiedDate`` (409 if missing or older than stored; a newer one is accepted, as
   tools that send "now" get away with it). Writes set ``modifiedDate`` to the simulator clock
   but always at least 1 ms after the previous value, so a frozen clock still detects conflicts.
8. PUT of a user is an "implicit update": omitted fields take their defaults (Qlik's docs).
   POST/PUT of a user needs ``userId`` and ``userDirectory``; ``removedExternally`` and
   ``blacklisted`` (required in the spec) default to false. Custom property values must refer
   to a known definition by id.
9. System rules: ``name``, ``resourceFilter``, ``actions`` required (spec). A ``category``
   ``License`` (any case) rule must name an existing access group of the matching type by
   ``License.<Type>AccessGroup_<guid>``. ``category`` defaults to ``Security``
   (``store.DEFAULT_RULE_CATEGORY``), ``type`` to ``Custom``, ``ruleContext`` to 0. The rule
   text is not syntax-checked. Deleting a group or rule cascades to nothing (orphans stay;
   seats stay allocated).
10. Deleting a user: quarantined seats stay with ``deletedUserId``/``deletedUserDirectory``
    and without ``user``; other seats are removed. ``deleteProhibited`` users cannot be
    deleted (400).
11. Selections: items have ``type`` = the entity's ``schemaPath``
    (``License.ProfessionalAccessType``) and ``objectName`` ``DIRECTORY\\userid``; a selection
    POST without ``filter`` selects all; selections never expire.
12. Callers: a direct call without ``X-Qlik-User`` acts as ``INTERNAL\\sa_repository`` and
    is not checked against users or roles (certificate calls carry admin rights). A proxy
    caller must be an existing user with ``RootAdmin`` or ``DeploymentAdmin``
    (``ProxyConfig.require_admin``), not inactive nor blocked (403 otherwise). Proxy sessions
    never time out; the oldest are forgotten beyond ``auth.MAX_SESSIONS``.
13. Virtual proxies: header proxy without its header and session -> 401; a JWT proxy with no
    key configured -> 501; JWT ``exp``/``nbf`` are checked against the simulator clock.
    Windows proxy: a User-Agent without the pattern -> 302 to
    ``/<prefix>/internal_forms_authentication/?targetId=...``; a write without session ->
    302 to ``/<prefix>/internal_windows_authentication/?targetId=...``; pyspnego's NTLM
    acceptor reads its users only from ``NTLM_USER_FILE`` (pyspnego 0.12 has no API to hand
    it credentials), so the simulator reads that variable and never sets it; without it the
    proxy answers 501, as it does when pyspnego is not installed.
14. ``?privileges=true`` adds ``["create", "read", "update", "delete"]`` to each entity;
    without it ``privileges`` is absent (QRS sends ``null``, which the spec's array type
    does not admit).
15. ``orderby``: ``prop [asc|desc], ...``, properties matched case-insensitively, unknown ones
    sort as null; strings compare case-insensitively.
16. ``/qrs/about``: ``buildVersion`` ``38.22.0.0`` (the spec's API version),
    ``databaseProvider`` ``licsync simulator`` (how a client can tell it is talking to us).
17. With ``tls_dir`` every connection needs a client certificate, virtual proxies included
    (a real proxy on 443 does not ask for one).
18. Request counts include every ``/qrs`` request: refused, faulted and proxied ones (and
    each leg of an NTLM handshake).
19. Access groups need a ``name`` (400 without). ``POST /qrs/user`` creates users (201).
    ``POST /many`` exists for seats only (licsync no longer uses it; older clients do).
    Properties QRS has no value for are ``null``, not left out (``privileges``, an empty
    ``attributeValue``, a deleted user's seat's ``user``;
    :data:`~licsync.sim.entities.NULL_WHEN_UNSET` lists them per entity).
20. ``/count`` answers ``{"value": N}`` (what clients of live servers read; the spec says int).
21. Tools' first calls answer: ``/qrs/about/api/enums``, ``/qrs/about/api/description``; the
    token endpoints (``license/useraccesstype``, ``license/loginaccesstype``, their ``/full``
    and ``/count``, ``license/accesstypeinfo``) answer as a site without tokens does (empty
    lists, zero counts); ``/qrs/tag`` and ``/qrs/custompropertydefinition`` list what users
    carry.
22. Shapes (``sim serve --shapes``, :data:`~licsync.sim.listing.ShapeStyle`): ``live`` (the
    default) answers "never" as ``1753-01-01T00:00:00.000Z`` and ``""`` in a living user's
    seat's deleted-user fields, as live servers do; ``spec`` as the spec's examples
    (``0001-01-01``, ``null``). Selections are also made from ``{"items": [...]}`` (the QMC's
    way), item types matched case-insensitively; paths are case-insensitive.
"""

from __future__ import annotations

from licsync.sim.auth import ProxyConfig, VirtualProxy
from licsync.sim.certs import write_certs
from licsync.sim.faults import FailNext, FaultPlan, FaultRule
from licsync.sim.seed import synthetic_organisation
from licsync.sim.server import Simulator, start_simulator
from licsync.sim.store import SimStore

__all__ = [
    "FailNext",
    "FaultPlan",
    "FaultRule",
    "ProxyConfig",
    "SimStore",
    "Simulator",
    "VirtualProxy",
    "start_simulator",
    "synthetic_organisation",
    "write_certs",
]
