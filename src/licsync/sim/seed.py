"""A deterministic synthetic organisation of any size, for planning demos, tests and benchmarks.

``synthetic_organisation(users, seed, now)`` builds the same store (byte-identical snapshot) for
the same arguments. Every random choice comes from one ``random.Random`` seeded from ``seed``,
consumed in a fixed order, and every date is derived from ``now``.

What it holds, roughly (the shares are targets; small organisations round them):

* three ``INTERNAL`` service accounts (``sa_api``, ``sa_repository``, ``sa_scheduler``) with
  ``RootAdmin``, plus ``users`` people in ``CORP`` (70 %), ``EMEA`` (25 %) and ``PARTNERS``
  (5 %); the first person is a ``RootAdmin``, the second a ``DeploymentAdmin``;
* ``Group`` attributes drawn from about 300 groups with a long-tailed (Zipf-like) skew, an
  ``email`` attribute, a ``CostCenter`` custom property for most people, a ``keepAllocation``
  tag for a few;
* about 3 % inactive (1 % of them removed externally), 0.5 % blocked;
* about 60 % of people hold a seat: 19 % Professional, 40 % Analyzer, a few both; ``lastUsed``
  mostly within the last month, a long idle tail, about 5 % never used; a few quarantined
  seats, one of them (in larger organisations) left by a deleted user;
* a handful of licence rules per type mixing ``and``/``or``/``like``, one disabled, plus a few
  security rules so that ``category eq 'License'`` has something to filter out;
* capacity near full: about 3 % of each type free.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from licsync.identity import QUARANTINE, AccessType
from licsync.sim.clock import truncate_ms
from licsync.sim.entities import (
    ALLOCATION,
    ATTRIBUTE_EMAIL,
    ATTRIBUTE_GROUP,
    GROUP,
    Entity,
    make_allocation,
    make_attribute,
    make_custom_property,
    make_group,
    make_system_rule,
    make_user,
    qrs_time,
)
from licsync.sim.store import SERVICE_CALLER, SimStore

__all__ = ["SERVICE_ACCOUNTS", "synthetic_organisation"]

SERVICE_ACCOUNTS = ("sa_api", "sa_repository", "sa_scheduler")

_DIRECTORIES = (("CORP", 0.70, "corp.example.com"), ("EMEA", 0.25, "emea.example.com"))
_PARTNERS = ("PARTNERS", "partner.example.org")
_FIRST_TEXT = """
    Anna Ben Carla David Elif Farid Greta Hugo Ines Jonas Kim Lena Marco Nina Oskar Paula Quentin
    Rosa Sven Tara Umar Vera Wim Xenia Yusuf Zoe Aiko Bruno Chloe Dmitri Emma Felix Gabriel Hanna
    Ivan Julia Karl Laura Mateo Noor Olga Pedro Rania Stefan Tomas Ulla Viktor Wanda Yara Zeynep
    Alba Björn Céline Dorota Ewa Frida Goran Helga Igor Jana
"""
_FIRST = tuple(_FIRST_TEXT.split())
_LAST_TEXT = """
    Smith Müller Garcia Rossi Novak Jensen Kowalski Dubois Silva Andersson Nielsen Schmidt Fischer
    Weber Meyer Wagner Becker Hoffmann Schulz Koch Richter Klein Wolf Schröder Neumann Schwarz
    Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier Lehmann Martin
    Bernard Thomas Petit Robert Richard Durand Leroy Moreau Simon Laurent Lefebvre Michel Fontaine
    Chevalier Rousseau Blanc Guerin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement
    Gauthier Dumont Lopez Fernandez Gonzalez Rodriguez Sanchez Perez Romero Navarro Torres Ramirez
    O'Brien
"""
_LAST = tuple(_LAST_TEXT.split())
_DEPARTMENTS_TEXT = """
    Sales Finance Marketing IT Operations HR Procurement Legal Controlling Logistics Support R&D
    Production Quality Strategy
"""
_DEPARTMENTS = tuple(_DEPARTMENTS_TEXT.split())
_REGIONS = ("EMEA", "NA", "APAC", "LATAM", "DACH", "Nordics")
_FUNCTIONS = ("Users", "Analysts", "Managers", "Leads")
_PROJECTS = tuple(f"PRJ-{n:04d}" for n in range(1, 151))
_SPECIAL_GROUPS = ("QS_Developers", "QS_Admins", "PowerUsers-Legacy")

# Version 4 and the RFC 4122 variant, as uuid.UUID(int=..., version=4) sets them.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)

_PRO_SHARE = 0.19
_ANALYZER_SHARE = 0.40
_BOTH_SHARE = 0.02  # of Professional holders, who also hold Analyzer
_INACTIVE = 0.03
_REMOVED = 0.01
_BLOCKED = 0.005
_NEVER_USED = 0.05
_QUARANTINED = 0.002
_FREE_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class _Person:
    directory: str
    userid: str
    name: str
    email: str
    department: str
    region: str


def synthetic_organisation(users: int, seed: int, now: dt.datetime) -> SimStore:
    """Build the synthetic organisation: ``users`` people plus the service accounts.

    Args:
        users: number of people (0 gives only the service accounts and the rules).
        seed: any integer; the same (users, seed, now) always gives the same store.
        now: aware datetime; the store's clock is frozen there and every date derives from it.
    """
    now = truncate_ms(now)
    rng = random.Random(f"licsync-sim/{seed}")
    store = SimStore(now)
    builder = _Builder(store, rng, now)
    builder.custom_properties()
    builder.service_accounts()
    people = builder.people(users)
    builder.allocations(people)
    builder.rules()
    builder.capacity()
    return store


class _Builder:
    """The steps of the seeding, sharing the store, the random source and the clock."""

    def __init__(self, store: SimStore, rng: random.Random, now: dt.datetime) -> None:
        self.store = store
        self.rng = rng
        self.now = now
        # Zipf-like weights: the k-th project group is 1/k as popular as the first. Cumulative
        # weights are computed once; ``choices(weights=...)`` would redo it on every call.
        self.project_weights = list(
            itertools.accumulate(1.0 / k for k in range(1, len(_PROJECTS) + 1))
        )
        self.department_weights = list(itertools.accumulate(range(len(_DEPARTMENTS) + 1, 1, -1)))
        self.cost_center: Entity = {}

    def uuid(self) -> str:
        """A random (version 4) GUID from the seeded source; ``uuid.UUID`` is 3x slower."""
        n = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def time(self, moment: dt.datetime) -> str:
        return qrs_time(truncate_ms(moment))

    def ago(self, low_days: float, high_days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=self.rng.uniform(low_days, high_days))

    def custom_properties(self) -> None:
        definition = {
            "id": self.uuid(),
            "name": "CostCenter",
            "valueType": "Text",
            "choiceValues": [],
        }
        self.store.insert_custom_property_definition(definition)
        self.cost_center = definition
        # A tag is one QRS entity that users refer to: every carrier shares its id. Derived
        # from the name, not drawn, so the seeded organisation stays the same draw for draw.
        self.keep_tag = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "licsync-sim:tag:keepAllocation")),
            "name": "keepAllocation",
        }

    def service_accounts(self) -> None:
        created = self.time(self.now - dt.timedelta(days=5 * 365))
        for userid in SERVICE_ACCOUNTS:
            self.store.insert_user(
                make_user(
                    self.uuid(),
                    "INTERNAL",
                    userid,
                    name=userid,
                    created=created,
                    modified=created,
                    by=SERVICE_CALLER,
                    roles=["RootAdmin"],
                    delete_prohibited=True,
                )
            )

    def people(self, count: int) -> list[Entity]:
        names_used: dict[str, int] = {}
        made = []
        for index in range(count):
            person = self.person(index, names_used)
            made.append(self.user(index, person))
        return made

    def person(self, index: int, names_used: dict[str, int]) -> _Person:
        rng = self.rng
        first = rng.choice(_FIRST)
        last = rng.choice(_LAST)
        draw = rng.random()
        if draw < _DIRECTORIES[0][1]:
            directory, domain = _DIRECTORIES[0][0], _DIRECTORIES[0][2]
            region = rng.choices(_REGIONS, weights=(2, 5, 2, 1, 3, 1))[0]
            base = f"{first[0]}{last}"
        elif draw < _DIRECTORIES[0][1] + _DIRECTORIES[1][1]:
            directory, domain = _DIRECTORIES[1][0], _DIRECTORIES[1][2]
            region = rng.choices(("EMEA", "DACH", "Nordics"), weights=(5, 3, 2))[0]
            base = f"{first}.{last}"
        else:
            directory, domain = _PARTNERS
            region = rng.choice(_REGIONS)
            base = f"ext-{first[0]}{last}"
        if index == 0:
            directory, domain, base, first, last = (
                "CORP",
                _DIRECTORIES[0][2],
                "qlikadmin",
                "Qlik",
                "Admin",
            )
        elif index == 1:
            directory, domain, base, first, last = (
                "CORP",
                _DIRECTORIES[0][2],
                "licadmin",
                "Licence",
                "Admin",
            )
        base = "".join(ch for ch in _ascii(base) if ch.isalnum() or ch in ".-")
        key = f"{directory}\\{base}"
        number = names_used.get(key, 0) + 1
        names_used[key] = number
        userid = base if number == 1 else f"{base}{number}"
        department = rng.choices(_DEPARTMENTS, cum_weights=self.department_weights)[0]
        email_local = "".join(ch for ch in _ascii(f"{first}.{last}") if ch.isalnum() or ch == ".")
        email = f"{email_local}{'' if number == 1 else number}@{domain}"
        return _Person(directory, userid, f"{first} {last}", email, department, region)

    def user(self, index: int, person: _Person) -> Entity:
        rng = self.rng
        created_at = self.ago(30, 5 * 365)
        created = self.time(created_at)
        modified = self.time(created_at + (self.now - created_at) * rng.random())
        groups = [
            "Contractors" if person.directory == "PARTNERS" else "All Employees",
            person.department,
            f"{person.department}-{person.region}",
        ]
        if rng.random() < 0.5:
            function = rng.choices(_FUNCTIONS, cum_weights=(8, 12, 14, 15))[0]
            groups.append(f"QS_{_slug(person.department)}_{function}")
        for _ in range(rng.choices((0, 1, 2), cum_weights=(5, 8, 10))[0]):
            groups.append(rng.choice(_PROJECTS) if rng.random() < 0.2 else self.project())
        if rng.random() < 0.03:
            groups.append(rng.choice(_SPECIAL_GROUPS))
        roles: list[str] = []
        if index == 0:
            roles, groups = ["RootAdmin"], [*groups, "QS_Admins"]
        elif index == 1:
            roles = ["DeploymentAdmin"]
        by = SERVICE_CALLER
        # Interned: 100,000 users share a few hundred group names, not a copy each.
        attributes = [
            make_attribute(self.uuid(), ATTRIBUTE_GROUP, sys.intern(g), when=created, by=by)
            for g in dict.fromkeys(groups)
        ]
        attributes.append(
            make_attribute(self.uuid(), ATTRIBUTE_EMAIL, person.email, when=created, by=by)
        )
        properties = []
        if rng.random() < 0.85:
            properties.append(
                make_custom_property(
                    self.uuid(),
                    self.cost_center,
                    sys.intern(f"CC-{rng.randrange(1000, 1050)}"),
                    when=modified,
                    by=by,
                )
            )
        tags = [self.keep_tag] if rng.random() < 0.005 else []
        draw = rng.random()
        removed = index > 1 and draw < _REMOVED
        inactive = index > 1 and draw < _INACTIVE
        blocked = index > 1 and rng.random() < _BLOCKED
        user = make_user(
            self.uuid(),
            person.directory,
            person.userid,
            name=person.name,
            created=created,
            modified=modified,
            by=by,
            roles=roles,
            attributes=attributes,
            custom_properties=properties,
            tags=tags,
            inactive=inactive,
            removed_externally=removed,
            blacklisted=blocked,
            connector=person.directory,
        )
        self.store.insert_user(user)
        return user

    def project(self) -> str:
        return self.rng.choices(_PROJECTS, cum_weights=self.project_weights)[0]

    def allocations(self, people: Sequence[Entity]) -> None:
        for user in people:
            draw = self.rng.random()
            kinds: list[AccessType] = []
            if draw < _PRO_SHARE:
                kinds.append(AccessType.PROFESSIONAL)
                if self.rng.random() < _BOTH_SHARE:
                    kinds.append(AccessType.ANALYZER)
            elif draw < _PRO_SHARE + _ANALYZER_SHARE:
                kinds.append(AccessType.ANALYZER)
            for kind in kinds:
                self.allocation(kind, user)
        if len(people) >= 50:
            for kind in AccessType:
                self.deleted_user_seat(kind)

    def allocation(self, kind: AccessType, user: Entity) -> None:
        rng = self.rng
        user_created = dt.datetime.fromisoformat(user["createdDate"])
        created_at = user_created + (self.now - user_created) * rng.random()
        held_days = (self.now - created_at).total_seconds() / 86400
        quarantined = rng.random() < _QUARANTINED
        if quarantined:
            # Deallocated within the last week after being used shortly before that.
            since = rng.uniform(0.05, 6.9)
            last_used_at = self.now - dt.timedelta(days=min(held_days, since + rng.uniform(0, 0.1)))
            end = self.now - dt.timedelta(days=since) + QUARANTINE
            last_used = self.time(last_used_at)
        elif rng.random() < _NEVER_USED:
            last_used, end = qrs_time(None), None
        else:
            idle = self.idle_days(user)
            last_used = self.time(self.now - dt.timedelta(days=min(idle, held_days)))
            end = None
        allocation = make_allocation(
            ALLOCATION[kind],
            self.uuid(),
            user,
            created=self.time(created_at),
            modified=self.time(max(created_at, self.now - dt.timedelta(days=held_days / 2))),
            by=SERVICE_CALLER,
            last_used=last_used,
            quarantined=quarantined,
            quarantine_end=qrs_time(end) if end is not None else qrs_time(None),
        )
        self.store.insert_allocation(kind, allocation)

    def idle_days(self, user: Entity) -> float:
        """Days since last use: mostly recent, a long idle tail; inactive users idle longer."""
        rng = self.rng
        if user["inactive"]:
            return rng.uniform(30, 400)
        draw = rng.random()
        if draw < 0.55:
            return rng.uniform(0, 7)
        if draw < 0.80:
            return rng.uniform(7, 30)
        return min(400.0, 30 + rng.expovariate(1 / 90))

    def deleted_user_seat(self, kind: AccessType) -> None:
        """A quarantined seat whose user was deleted after deallocation."""
        since = self.rng.uniform(0.5, 6)
        deallocated = self.now - dt.timedelta(days=since)
        created = self.time(deallocated - dt.timedelta(days=200))
        allocation = make_allocation(
            ALLOCATION[kind],
            self.uuid(),
            None,
            created=created,
            modified=self.time(deallocated),
            by=SERVICE_CALLER,
            last_used=self.time(deallocated - dt.timedelta(hours=5)),
            quarantined=True,
            quarantine_end=self.time(deallocated + QUARANTINE),
            deleted_user=("CORP", f"leaver{self.rng.randrange(100, 999)}"),
        )
        self.store.insert_allocation(kind, allocation)

    def rules(self) -> None:
        created = self.time(self.now - dt.timedelta(days=400))
        licence_rules = {
            AccessType.PROFESSIONAL: (
                (
                    "Developers and admins",
                    '((user.group="QS_Developers" or user.group="QS_Admins"))',
                    1,
                    False,
                ),
                (
                    "Department leads",
                    '((user.group like "QS_*_Leads" and user.userDirectory="CORP"))',
                    1,
                    False,
                ),
                ("Root admins in the QMC", '((user.roles="RootAdmin"))', 2, False),
                ("Legacy power users", '((user.group="PowerUsers-Legacy"))', 1, True),
            ),
            AccessType.ANALYZER: (
                (
                    "EMEA sales",
                    '((user.userDirectory="EMEA" and user.group like "Sales*"))',
                    1,
                    False,
                ),
                (
                    "Finance analysts",
                    '((user.group="QS_Finance_Analysts" or user.group="QS_Controlling_Analysts"))',
                    1,
                    False,
                ),
                ("Partner portal", '((user.email like "*@partner.example.org"))', 0, False),
                (
                    "Cost centre 1001",
                    '((user.group="All Employees" and user.@CostCenter="CC-1001"))',
                    1,
                    False,
                ),
            ),
        }
        for kind, specs in licence_rules.items():
            for name, condition, context, disabled in specs:
                group = make_group(
                    GROUP[kind],
                    self.uuid(),
                    name,
                    created=created,
                    modified=created,
                    by=SERVICE_CALLER,
                )
                self.store.insert_group(kind, group)
                rule = make_system_rule(
                    self.uuid(),
                    name=name,
                    rule=condition,
                    resource_filter=f"License.{kind.title}AccessGroup_{group['id']}",
                    actions=1,
                    created=created,
                    modified=created,
                    by=SERVICE_CALLER,
                    comment=f"Grants {kind.value} access",
                    disabled=disabled,
                    rule_context=context,
                )
                self.store.insert_system_rule(rule)
        for name, resource, condition in (
            ("Stream", "Stream_*", '((user.roles="RootAdmin" or user.group="QS_Admins"))'),
            ("App", "App_*", "resource.IsOwned() and resource.owner = user"),
            ("ContentAdmin", "*", '((user.roles="ContentAdmin"))'),
        ):
            rule = make_system_rule(
                self.uuid(),
                name=name,
                rule=condition,
                resource_filter=resource,
                actions=2,
                created=created,
                modified=created,
                by=SERVICE_CALLER,
                category="Security",
                rule_type="Default",
            )
            self.store.insert_system_rule(rule)

    def capacity(self) -> None:
        for kind in AccessType:
            taken = self.store.count(ALLOCATION[kind])
            free = max(1, round(taken * _FREE_SHARE))
            self.store.set_capacity(kind, taken + free)


_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "é": "e", "ß": "ss", "ø": "o"})


def _ascii(text: str) -> str:
    """Directory ids and mail addresses in ASCII; display names keep their letters."""
    return text.lower().translate(_TRANSLITERATION)


def _slug(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())
