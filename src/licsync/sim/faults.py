"""Fault injection: deterministic errors, dropped connections and latency per HTTP method.

A :class:`FaultPlan` says, per method, how often each kind of fault happens and how much
latency to add. Decisions come from one random source per method seeded from the plan's seed,
so the k-th GET under a plan always meets the same fault, however GETs and POSTs interleave.
``fail_next`` entries ("the next 2 POSTs fail with 503") are consumed before any random draw,
for tests that need an exact sequence.

Kinds:

* ``500``, ``503``: server errors;
* ``429``: throttled, with ``Retry-After`` (seconds, :attr:`FaultPlan.retry_after_s`);
* ``409``: a conflict on a write (POST/PUT/DELETE only), as if someone else wrote first;
* ``drop``: the connection is closed without a response, before the request is processed;
* ``drop-after``: the request *is* processed, then the connection is closed without a
  response: the client cannot tell whether its write happened;
* ``pass``: no fault (only useful in ``fail_next``, to let requests through before a scripted
  fault: "the second POST drops after").
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from licsync.errors import UsageError

__all__ = [
    "FAULT_KINDS",
    "METHODS",
    "FailNext",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
]

FaultKind = Literal["500", "503", "429", "409", "drop", "drop-after", "pass"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
METHODS = ("GET", "POST", "PUT", "DELETE")
_WRITES = frozenset({"POST", "PUT", "DELETE"})
# What ``FaultPlan.uniform`` spreads a rate over ("drop-after" is opt-in: it changes state).
_UNIFORM_KINDS: tuple[FaultKind, ...] = ("500", "503", "429", "drop")


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Requests of ``method`` (or ``*`` for all four) fail with ``kind`` at ``rate`` (0..1)."""

    method: str
    kind: FaultKind
    rate: float


@dataclass(frozen=True, slots=True)
class FailNext:
    """The next ``count`` requests of ``method`` fail with ``kind``."""

    method: str
    kind: FaultKind
    count: int = 1


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What faults to inject.

    Attributes:
        seed: seeds every random decision of the plan.
        rules: random faults; per method the rates must add up to at most 1.
        fail_next: scripted faults, consumed in order before the random ones.
        latency_ms: added to every ``/qrs`` response.
        jitter_ms: latency varies uniformly by up to this much either way (never below 0).
        retry_after_s: the ``Retry-After`` of a 429.
    """

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()
    fail_next: tuple[FailNext, ...] = ()
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    retry_after_s: int = 1

    def __post_init__(self) -> None:
        for rule in self.rules:
            _check(rule.method, rule.kind)
            if not 0.0 <= rule.rate <= 1.0:
                raise UsageError(f"fault rate must be between 0 and 1, not {rule.rate}")
        for item in self.fail_next:
            _check(item.method, item.kind)
            if item.count < 0:
                raise UsageError(f"fault count must not be negative, not {item.count}")
        for method in METHODS:
            total = sum(rate for _, rate in self.rules_for(method))
            if total > 1.0 + 1e-9:
                raise UsageError(f"fault rates for {method} add up to {total:.3f}, more than 1")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.retry_after_s < 0:
            raise UsageError("latency, jitter and Retry-After must not be negative")

    def rules_for(self, method: str) -> tuple[tuple[FaultKind, float], ...]:
        """The (kind, rate) pairs that apply to ``method``, in plan order."""
        return tuple(
            (rule.kind, rule.rate)
            for rule in self.rules
            if rule.method in (method, "*") and (rule.kind != "409" or method in _WRITES)
        )

    @classmethod
    def uniform(
        cls, rate: float, *, seed: int = 0, latency_ms: float = 0.0, jitter_ms: float = 0.0
    ) -> FaultPlan:
        """Every method fails at ``rate`` in all, spread evenly over 500/503/429/drop
        (and 409 for writes): the CLI's ``--fault-rate``."""
        if not 0.0 <= rate <= 1.0:
            raise UsageError(f"fault rate must be between 0 and 1, not {rate}")
        rules: list[FaultRule] = []
        for method in METHODS:
            kinds = (*_UNIFORM_KINDS, "409") if method in _WRITES else _UNIFORM_KINDS
            rules.extend(FaultRule(method, kind, rate / len(kinds)) for kind in kinds)
        return cls(seed=seed, rules=tuple(rules), latency_ms=latency_ms, jitter_ms=jitter_ms)

    def to_json(self) -> dict[str, Any]:
        """The plan as the ``/_sim/faults`` endpoint shows and accepts it."""
        return {
            "seed": self.seed,
            "rules": [{"method": r.method, "kind": r.kind, "rate": r.rate} for r in self.rules],
            "fail_next": [
                {"method": f.method, "kind": f.kind, "count": f.count} for f in self.fail_next
            ],
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "retry_after_s": self.retry_after_s,
        }

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        """Parse :meth:`to_json`'s shape.

        Raises:
            UsageError: the document is not a valid plan.
        """
        if not isinstance(data, Mapping):
            raise UsageError("a fault plan must be a JSON object")
        try:
            return cls(
                seed=int(data.get("seed", 0)),
                rules=tuple(
                    FaultRule(str(r["method"]).upper(), _kind(r["kind"]), float(r["rate"]))
                    for r in data.get("rules", ())
                ),
                fail_next=tuple(
                    FailNext(str(f["method"]).upper(), _kind(f["kind"]), int(f.get("count", 1)))
                    for f in data.get("fail_next", ())
                ),
                latency_ms=float(data.get("latency_ms", 0.0)),
                jitter_ms=float(data.get("jitter_ms", 0.0)),
                retry_after_s=int(data.get("retry_after_s", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"invalid fault plan: {exc}") from exc


def _kind(value: Any) -> FaultKind:
    text = str(value).lower()
    if text not in FAULT_KINDS:
        raise UsageError(f"unknown fault kind {value!r} (one of {', '.join(FAULT_KINDS)})")
    return text


def _check(method: str, kind: str) -> None:
    if method not in (*METHODS, "*"):
        raise UsageError(f"fault method must be one of {', '.join(METHODS)} or *, not {method!r}")
    if kind not in FAULT_KINDS:
        raise UsageError(f"unknown fault kind {kind!r} (one of {', '.join(FAULT_KINDS)})")
    if kind == "409" and method not in (*_WRITES, "*"):
        raise UsageError("409 faults apply to writes (POST, PUT, DELETE) only")


@dataclass(frozen=True, slots=True)
class Fault:
    """The decision for one request: a fault kind (None = none) and a delay."""

    kind: FaultKind | None = None
    delay_seconds: float = 0.0


@dataclass(slots=True)
class _MethodState:
    faults: random.Random
    latency: random.Random
    scripted: deque[FaultKind] = field(default_factory=deque)


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject; thread-safe."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._states: dict[str, _MethodState] = {}
        self.set_plan(plan or FaultPlan())

    @property
    def plan(self) -> FaultPlan:
        """The plan in force (``fail_next`` as configured, not what is left of it)."""
        with self._lock:
            return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan; the random sequences restart from the plan's seed."""
        with self._lock:
            self._plan = plan
            self._states = {
                method: _MethodState(
                    random.Random(f"{plan.seed}/{method}/faults"),
                    random.Random(f"{plan.seed}/{method}/latency"),
                )
                for method in METHODS
            }
            for item in plan.fail_next:
                for method in METHODS if item.method == "*" else (item.method,):
                    self._states[method].scripted.extend([item.kind] * item.count)

    def fail_next(self, method: str, kind: FaultKind, count: int = 1) -> None:
        """Make the next ``count`` requests of ``method`` fail with ``kind``."""
        _check(method.upper(), kind)
        with self._lock:
            methods = METHODS if method == "*" else (method.upper(),)
            for name in methods:
                self._states[name].scripted.extend([kind] * count)

    def decide(self, method: str) -> Fault:
        """The fault for the next request of ``method``."""
        with self._lock:
            state = self._states.get(method.upper())
            if state is None:  # HEAD, OPTIONS, ...: never faulted
                return Fault()
            plan = self._plan
            kind: FaultKind | None = None
            if state.scripted:
                scripted = state.scripted.popleft()
                kind = None if scripted == "pass" else scripted
            else:
                rules = plan.rules_for(method.upper())
                if rules:
                    # One draw per request whatever the outcome keeps the sequence aligned.
                    draw = state.faults.random()
                    threshold = 0.0
                    for candidate, rate in rules:
                        threshold += rate
                        if draw < threshold:
                            kind = candidate
                            break
            delay = 0.0
            if plan.latency_ms or plan.jitter_ms:
                jitter = state.latency.uniform(-plan.jitter_ms, plan.jitter_ms)
                delay = max(0.0, plan.latency_ms + jitter) / 1000.0
            return Fault(kind, delay)
