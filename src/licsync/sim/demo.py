"""The demo organisation: a small site with the mess a monthly licence review finds.

``licenses/`` in the repository declares what this site *should* look like; this module builds
what it *does* look like, so ``licsync plan licenses/`` has something real to say:

- Professional (authoritative, 12 seats): a consultant past her ``until`` date, a leaver the
  directory marks inactive, a colleague nobody declared, an account removed from the directory,
  a declared controller whose seat was reclaimed by mistake three days ago (quarantined), a new
  developer waiting for a seat, a declared user who has not logged in yet, an analytics lead who
  has not opened Qlik for four months, a rule nobody declared, and the ``INTERNAL\\sa_api``
  service account holding a seat (protected).
- Analyzer (additive, 14 seats, full): people allocated by the "Sales analyzers" and "Finance
  analyzers" rules, the latter drifted from its declaration; idle seats of rule-covered users;
  a blocked user; the head of BI holding analyzer beside professional; a half-created rule.
- Denials live in ``licenses/demo-logs`` (Qlik's licence-log format): a marketer no rule covers,
  a salesman a rule covers but who found no free seat, and monitoring noise from ``::1``.

The clock is fixed at :data:`DEMO_NOW` and every id is derived from a name, so the demo plan is
the same on every machine and every day.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from licsync.identity import AccessType, RuleContext
from licsync.sim.entities import (
    ALLOCATION,
    ATTRIBUTE_EMAIL,
    ATTRIBUTE_GROUP,
    GROUP,
    make_allocation,
    make_attribute,
    make_group,
    make_system_rule,
    make_user,
    qrs_time,
)
from licsync.sim.store import SERVICE_CALLER, SimStore

__all__ = ["DEMO_NOW", "demo_organisation"]

DEMO_NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
"""The demo site's clock: fixed, so the demo plan never changes."""

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
_NAMESPACE = uuid.UUID("6f1d3c2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f")
_ADMIN = "CORP\\qlik-admin"


@dataclass(frozen=True, slots=True)
class _Person:
    userid: str
    name: str
    groups: Sequence[str] = ()
    directory: str = "CORP"
    roles: Sequence[str] = ()
    inactive: bool = False
    removed: bool = False
    blocked: bool = False
    joined_days_ago: int = 700


@dataclass(frozen=True, slots=True)
class _Seat:
    userid: str
    access_type: AccessType
    used_days_ago: float | None  # None: never used
    allocated_days_ago: int = 365
    quarantine_days_left: int | None = None
    directory: str = "CORP"


PEOPLE = (
    _Person("sa_api", "sa_api", (), "INTERNAL", ("RootAdmin",), joined_days_ago=1500),
    _Person("sa_repository", "sa_repository", (), "INTERNAL", ("RootAdmin",), joined_days_ago=1500),
    _Person("qlik-admin", "Qlik administrator", ("IT",), roles=("RootAdmin",)),
    _Person("svc-qlik", "Qlik service account", ("IT",)),
    _Person("anna.berg", "Anna Berg", ("BI-Developers", "Sales")),
    _Person("bjorn.dahl", "Björn Dahl", ("BI-Developers", "Finance")),
    _Person("carla.diaz", "Carla Díaz", ("Consultants",), joined_days_ago=200),
    _Person("dan.olsen", "Dan Olsen", ("Engineering",), inactive=True),
    _Person("erik.holm", "Erik Holm", ("Sales",)),
    _Person("fatima.khan", "Fatima Khan", ("Analytics",)),
    _Person("gustav.lind", "Gustav Lind", ("Finance",), inactive=True, removed=True),
    _Person("helena.ek", "Helena Ek", ("Controlling",)),
    _Person("ivan.petrov", "Ivan Petrov", ("BI-Developers",), joined_days_ago=20),
    _Person("karl.svensson", "Karl Svensson", ("BI-Developers", "Executives")),
    _Person("lena.berg", "Lena Berg", ("Marketing",)),
    _Person("liam.ahl", "Liam Ahl", ("Sales",)),
    _Person("maria.lopez", "María López", ("Board",)),
    _Person("mats.holm", "Mats Holm", ("Sales",), joined_days_ago=30),
    _Person("mona.berg", "Mona Berg", ("Sales",)),
    _Person("nils.carlsson", "Nils Carlsson", ("Sales",)),
    _Person("olga.dahl", "Olga Dahl", ("Sales",)),
    _Person("oscar.nyman", "Oscar Nyman", ("Support",)),
    _Person("per.ek", "Per Ek", ("Sales",)),
    _Person("rita.fors", "Rita Fors", ("Sales",)),
    _Person("sara.gran", "Sara Gran", ("Sales",)),
    _Person("tom.hall", "Tom Hall", ("Finance",)),
    _Person("ulla.ivarsson", "Ulla Ivarsson", ("Controlling",)),
    _Person("vera.jonsson", "Vera Jonsson", ("Finance",)),
    _Person("wilma.karlsson", "Wilma Karlsson", ("Finance",), blocked=True),
)

SEATS = (
    _Seat("sa_api", PRO, 1, directory="INTERNAL"),
    _Seat("qlik-admin", PRO, 60),
    _Seat("anna.berg", PRO, 1),
    _Seat("bjorn.dahl", PRO, 3),
    _Seat("carla.diaz", PRO, 2, allocated_days_ago=150),
    _Seat("dan.olsen", PRO, 45),
    _Seat("erik.holm", PRO, 40),
    _Seat("fatima.khan", PRO, 120),
    _Seat("gustav.lind", PRO, 200),
    _Seat("helena.ek", PRO, 4, quarantine_days_left=4),
    _Seat("karl.svensson", PRO, 0.2),
    _Seat("karl.svensson", ANA, 30),
    _Seat("liam.ahl", ANA, 2),
    _Seat("maria.lopez", ANA, 10),
    _Seat("mona.berg", ANA, 5),
    _Seat("nils.carlsson", ANA, 12),
    _Seat("olga.dahl", ANA, 1),
    _Seat("oscar.nyman", ANA, 5),
    _Seat("per.ek", ANA, 20),
    _Seat("rita.fors", ANA, 3),
    _Seat("sara.gran", ANA, 150),
    _Seat("tom.hall", ANA, 8),
    _Seat("ulla.ivarsson", ANA, 6),
    _Seat("vera.jonsson", ANA, None, allocated_days_ago=100),
    _Seat("wilma.karlsson", ANA, 30),
)

# (type, name, condition, context, comment): the site's licence rules. "Finance analyzers" has
# drifted from licenses/analyzer.yaml (which adds Controlling); "Legacy power users" was never
# declared; "Pilot dashboards" lost its system rule half-way through creation.
RULES = (
    (
        ANA,
        "Sales analyzers",
        'user.group = "Sales"',
        RuleContext.HUB,
        "Everyone in Sales reads the pipeline apps",
    ),
    (
        ANA,
        "Finance analyzers",
        'user.group = "Finance"',
        RuleContext.HUB,
        "Finance and Controlling read the month-end apps",
    ),
    (PRO, "Legacy power users", 'user.group = "PowerUsers"', RuleContext.BOTH, "2019 pilot"),
)
HALF_CREATED = ((ANA, "Pilot dashboards"),)

CAPACITY = {PRO: 12, ANA: 14}


def demo_organisation() -> SimStore:
    """A fresh store holding the demo site, its clock at :data:`DEMO_NOW`."""
    store = SimStore(DEMO_NOW)
    users = {}
    for person in PEOPLE:
        user = _user(person)
        store.insert_user(user)
        users[f"{person.directory}\\{person.userid}"] = user
    for seat in SEATS:
        user = users[f"{seat.directory}\\{seat.userid}"]
        store.insert_allocation(seat.access_type, _allocation(seat, user))
    for access_type, name, condition, context, comment in RULES:
        group = _group(access_type, name)
        store.insert_group(access_type, group)
        store.insert_system_rule(
            make_system_rule(
                _id("rule", name),
                name=name,
                rule=condition,
                resource_filter=f"License.{access_type.title}AccessGroup_{group['id']}",
                actions=1,
                created=_ago(400),
                modified=_ago(90),
                by=_ADMIN,
                comment=comment,
                rule_context=context.qrs_value,
            )
        )
    for access_type, name in HALF_CREATED:
        store.insert_group(access_type, _group(access_type, name))
    # A security rule, so that reading only category 'License' rules is not a formality.
    store.insert_system_rule(
        make_system_rule(
            _id("rule", "Stream access for Sales"),
            name="Stream access for Sales",
            rule='user.group = "Sales"',
            resource_filter="Stream_*",
            actions=2,
            created=_ago(400),
            modified=_ago(400),
            by=_ADMIN,
            category="Security",
        )
    )
    for access_type, total in CAPACITY.items():
        store.set_capacity(access_type, total)
    return store


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def _ago(days: float) -> str:
    return qrs_time(DEMO_NOW - dt.timedelta(days=days))


def _user(person: _Person) -> dict[str, object]:
    ident = f"{person.directory}\\{person.userid}"
    joined = _ago(person.joined_days_ago)
    attributes = [
        make_attribute(
            _id("attribute", f"{ident}:{g}"), ATTRIBUTE_GROUP, g, when=joined, by=SERVICE_CALLER
        )
        for g in person.groups
    ]
    if person.directory == "CORP":
        attributes.append(
            make_attribute(
                _id("attribute", f"{ident}:email"),
                ATTRIBUTE_EMAIL,
                f"{person.userid}@corp.example",
                when=joined,
                by=SERVICE_CALLER,
            )
        )
    return make_user(
        _id("user", ident),
        person.directory,
        person.userid,
        name=person.name,
        created=joined,
        modified=_ago(min(person.joined_days_ago, 30)),
        by=SERVICE_CALLER,
        roles=person.roles,
        attributes=attributes,
        inactive=person.inactive or person.removed,
        removed_externally=person.removed,
        blacklisted=person.blocked,
        connector=person.directory,
    )


def _allocation(seat: _Seat, user: dict[str, object]) -> dict[str, object]:
    ident = f"{seat.directory}\\{seat.userid}"
    last_used = (
        qrs_time(DEMO_NOW - dt.timedelta(days=seat.used_days_ago))
        if seat.used_days_ago is not None
        else qrs_time(None)
    )
    quarantined = seat.quarantine_days_left is not None
    quarantine_end = (
        qrs_time(DEMO_NOW + dt.timedelta(days=seat.quarantine_days_left))
        if seat.quarantine_days_left is not None
        else qrs_time(None)
    )
    return make_allocation(
        ALLOCATION[seat.access_type],
        _id(f"allocation:{seat.access_type.value}", ident),
        user,
        created=_ago(seat.allocated_days_ago),
        modified=_ago(3 if quarantined else seat.allocated_days_ago),
        by=_ADMIN,
        last_used=last_used,
        quarantined=quarantined,
        quarantine_end=quarantine_end,
    )


def _group(access_type: AccessType, name: str) -> dict[str, object]:
    return make_group(
        GROUP[access_type],
        _id(f"group:{access_type.value}", name),
        name,
        created=_ago(400),
        modified=_ago(400),
        by=_ADMIN,
    )
