"""Fast constructors for the frozen values built by the thousand (users and seats read, changes
and findings planned).

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` and takes its
arguments by keyword: a 13-field :class:`~licsync.plan.changes.Reclaim` costs about 2 us that
way, and reading and planning a 13,000-user site builds tens of thousands of values. A fast
constructor beside its class (``licsync.actual.new_actual_user``,
``licsync.plan.changes.new_reclaim``, ...) sets the slots directly instead (less than half the
time) and gives the very value the class itself would: same type, same fields, == and hash
alike. Each takes every field, positionally, in the class's order, through the setters
:func:`slot_setters` hands out, checked against the class when the module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots named ``names``, checked to be its fields, in order, with
    nothing else for its ``__init__`` to do: a field added to the class breaks the import."""
    if tuple(f.name for f in fields(cls)) != names or hasattr(cls, "__post_init__"):
        msg = f"{cls.__name__}'s fields changed: update its fast constructor"
        raise RuntimeError(msg)
    return tuple(cls.__dict__[name].__set__ for name in names)
