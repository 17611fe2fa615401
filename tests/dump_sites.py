"""Messy sites for the dump tests: what an adopted QSEoW site holds before licsync knows it.

:func:`messy_site` adds, to a simulator store, what makes adoption hard: inactive, removed and
blocked users holding seats, quarantined seats (one of a deleted user), users holding both
types, rules in every context, disabled rules, a half-created rule of each kind, a second rule
of one name, and seats held only through a rule.
"""

from __future__ import annotations

import datetime as dt
import random

from clock import NOW
from licsync.identity import AccessType, RuleContext
from licsync.sim import SimStore
from licsync.sim.seed import synthetic_organisation

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
GROUPS = ("Sales", "Finance", "Dev", "Ops")
RULES = (
    ("Sales hub", 'user.group = "Sales"', RuleContext.HUB, False),
    ("Finance both", '((user.group="Finance" or user.group like "Fin*"))', RuleContext.BOTH, False),
    ("Dev QMC", 'user.group = "Dev"', RuleContext.QMC, False),
    ("Old ops", 'user.group = "Ops"', RuleContext.HUB, True),
    (
        "Office only",
        'user.environment.ip like "10.*" and user.group = "Ops"',
        RuleContext.HUB,
        False,
    ),
)


def messy_site(users: int, seed: int) -> SimStore:
    """A deterministic messy site of about ``users`` people (built on the synthetic seeder)."""
    rng = random.Random(f"dump-test/{seed}")
    store = synthetic_organisation(users, seed, NOW)
    people = []
    for index in range(max(4, users // 10)):
        person = store.add_user(
            "MESS",
            f"p{index}",
            groups=rng.sample(GROUPS, rng.randint(0, 2)),
            inactive=rng.random() < 0.2,
            removed_externally=rng.random() < 0.1,
            blacklisted=rng.random() < 0.1,
            created=NOW - dt.timedelta(days=500),
        )
        people.append(person)
    for person in people:
        for kind in (PRO, ANA):
            state = rng.choice(("none", "active", "active", "quarantined"))
            if state == "none":
                continue
            quarantined = state == "quarantined"
            used = rng.choice((None, 2, 40, 300)) if not quarantined else 2
            store.add_allocation(
                kind,
                person["id"],
                created=NOW - dt.timedelta(days=400),
                last_used=None if used is None else NOW - dt.timedelta(days=used),
                quarantined_until=NOW + dt.timedelta(days=5) if quarantined else None,
            )
    for kind in (PRO, ANA):
        for name, condition, context, disabled in RULES:
            if rng.random() < 0.8:
                store.add_rule(
                    kind,
                    f"{kind.value} {name}",
                    condition,
                    context=context,
                    disabled=disabled,
                    comment=f"{name} ({kind.value})",
                )
        store.add_group_only(kind, f"{kind.value} half made")
        group, _ = store.add_rule(kind, f"{kind.value} orphaned", 'user.group = "Dev"')
        store.delete_group(kind, group["id"])
        store.add_rule(kind, f"{kind.value} twice", 'user.group = "Sales"')
        store.add_rule(kind, f"{kind.value.upper()} TWICE", 'user.group = "Ops"', comment="2nd")
    for kind in (PRO, ANA):
        store.set_capacity(kind, 100_000)
    return store
