"""The simulated repository: entities, capacity, quarantine and the rules QRS enforces on them.

:class:`SimStore` is thread-safe (one re-entrant lock) and holds every entity as a QRS-shaped
dict. Two kinds of callers use it:

* the HTTP app (:mod:`licsync.sim.app`) calls the operations named after what a QRS request
  does (``allocate``, ``deallocate``, ``update_user``, ...). They validate like QRS and raise
  :class:`~licsync.sim.errors.SimRefusal` with the status QRS would answer;
* tests, the synthetic seeding and the lead's demo organisation use the builder methods
  (``add_user``, ``add_allocation``, ``add_rule``, ``add_group_only``, ``set_capacity``).

Each kind of entity has one way into the store, whichever caller made it: ``insert_user``,
``_put_allocation`` (seats), ``insert_group``, ``insert_system_rule``, ``insert_selection``,
``insert_custom_property_definition``. The operations live in one module per kind, composed
here: :mod:`.state` (the entities, indexes, clock, generic reads, seat storage and licence
maintenance), :mod:`.users`, :mod:`.allocations`, :mod:`.rules` (access groups and system
rules), :mod:`.selections` and :mod:`.licence` (kind, capacity, overview); this module adds
the snapshots (``to_json``, ``save``, ``from_json``, ``load``).

Stored dicts are never mutated once stored: every write builds a new dict and swaps it in.
That lets :meth:`SimStore.entities` hand out a consistent list of references cheaply, which
the app filters and serialises without holding the lock.

Semantics (see the package docstring for which of them are assumptions):

* capacity: ``available = total - allocated - quarantined`` (never below 0); a quarantined
  seat still counts against capacity; an allocation that does not fit fails with 400;
* one allocation per user and access type, quarantined or not;
* deallocation quarantines a seat used within the last 7 days (until now + 7 days) and
  releases any other seat at once;
* licence maintenance releases quarantined seats once ``quarantineEnd`` has passed; it runs
  whenever the clock is moved and before every read or write;
* every write bumps ``modifiedDate`` (strictly increasing per entity, millisecond precision)
  and sets ``modifiedByUserName`` to the caller.
"""

from __future__ import annotations

from pathlib import Path

from licsync.errors import UsageError
from licsync.sim.allocations import AllocationsMixin, reinstate
from licsync.sim.bodies import DEFAULT_RULE_CATEGORY
from licsync.sim.licence import BROKEN_RULES
from licsync.sim.rules import RulesMixin
from licsync.sim.state import (
    DELETE_OF_QUARANTINED,
    SERVICE_CALLER,
    Capacity,
    DeleteOfQuarantined,
    Licence,
    LicenceKind,
)
from licsync.sim.users import UsersMixin

__all__ = [
    "BROKEN_RULES",
    "DEFAULT_RULE_CATEGORY",
    "DELETE_OF_QUARANTINED",
    "SERVICE_CALLER",
    "Capacity",
    "DeleteOfQuarantined",
    "Licence",
    "LicenceKind",
    "SimStore",
    "reinstate",
]


class SimStore(UsersMixin, AllocationsMixin, RulesMixin):
    """The simulated QRS repository (thread-safe): users, seats, rules, selections, licence.

    Args:
        now: freeze the clock at this aware datetime; None follows the wall clock.
        delete_of_quarantined: see :data:`DELETE_OF_QUARANTINED`.
    """

    def to_json(self) -> bytes:
        """The whole store as a versioned snapshot (see :mod:`licsync.sim.snapshot`)."""
        from licsync.sim.snapshot import dump  # noqa: PLC0415 (snapshot imports this module)

        return dump(self)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_bytes(self.to_json())

    @classmethod
    def from_json(cls, data: bytes | str) -> SimStore:
        """Rebuild a store from :meth:`to_json` output.

        Raises:
            UsageError: not a snapshot, one of an unknown version, or a damaged one.
        """
        from licsync.sim.snapshot import restore  # noqa: PLC0415 (see to_json)

        return restore(data)

    @classmethod
    def load(cls, path: str | Path) -> SimStore:
        """Read a snapshot written by :meth:`save`.

        Raises:
            UsageError: the file is unreadable or not a snapshot.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read simulator snapshot {path}: {exc.strerror}") from exc
        return cls.from_json(data)
