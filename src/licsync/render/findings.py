"""The plan's findings as a person reads them: grouped by kind with counts first, one line per
subject and cause, and the detail bounded (``--findings``).

A first plan after a dump can hold hundreds of findings (idle seats, flagged users); listed
one by one they push the changes off the screen. Every rendering shows the count of every
kind; the lines of each kind are bounded (:data:`DEFAULT_PER_KIND`) unless ``--findings``
asks for all of them, none, or only some kinds. The JSON plan always holds every finding.
Pure: findings in, groups out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from licsync.identity import AccessType
from licsync.plan.findings import Finding, FindingKind
from licsync.severity import Severity

__all__ = [
    "ALL_FINDINGS",
    "DEFAULT_PER_KIND",
    "FindingGroup",
    "FindingLine",
    "FindingsShown",
    "group_findings",
]

DEFAULT_PER_KIND = 10
"""Lines of one kind a plan lists by default; the rest are counted, and named by the option
that lists them."""

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class FindingsShown:
    """Which findings a rendering lists line by line (the counts are always shown).

    Attributes:
        kinds: the kinds listed; None: every kind.
        per_kind: at most this many lines of a kind; None: no bound.
    """

    kinds: frozenset[FindingKind] | None = None
    per_kind: int | None = DEFAULT_PER_KIND

    @classmethod
    def parse(cls, text: str) -> FindingsShown:
        """``--findings``: ``all`` (every line), ``none`` (counts only), ``some`` (the default
        bound), or kinds separated by commas (every line of those, counts of the rest).

        Raises:
            ValueError: a word that is none of these, naming the kinds there are.
        """
        words = [w.strip().casefold() for w in text.split(",") if w.strip()]
        if words == ["all"]:
            return cls(per_kind=None)
        if words == ["none"]:
            return cls(kinds=frozenset())
        if words in (["some"], ["default"]):
            return cls()
        known = {k.value: k for k in FindingKind}
        unknown = [w for w in words if w not in known]
        if unknown or not words:
            msg = (
                f"{', '.join(repr(w) for w in unknown) or repr(text)} is not a findings kind: "
                f"give all, none, some, or kinds separated by commas ({', '.join(known)})"
            )
            raise ValueError(msg)
        return cls(kinds=frozenset(known[w] for w in words), per_kind=None)

    def lists(self, kind: FindingKind) -> bool:
        """True when lines of ``kind`` are listed."""
        return self.kinds is None or kind in self.kinds

    @property
    def option(self) -> str:
        """The ``--findings`` value that gives this choice (for hints)."""
        if self.kinds is None:
            return "all" if self.per_kind is None else "some"
        return ",".join(sorted(k.value for k in self.kinds)) or "none"


ALL_FINDINGS = FindingsShown(per_kind=None)


@dataclass(frozen=True, slots=True)
class FindingLine:
    """One subject's finding of one kind; ``also`` are the other access types it holds for
    (the same cause, said once)."""

    finding: Finding
    also: tuple[AccessType, ...] = ()

    @property
    def stale(self) -> bool:
        return self.finding.stale


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """The findings of one kind.

    Attributes:
        kind: the kind.
        severity: the most serious severity among them.
        lines: the lines listed (bounded, or none when the kind is not listed).
        total: how many lines the kind has (one per subject).
    """

    kind: FindingKind
    severity: Severity
    lines: tuple[FindingLine, ...]
    total: int

    @property
    def hidden(self) -> int:
        """Lines of this kind not listed."""
        return self.total - len(self.lines)


def group_findings(findings: Iterable[Finding], shown: FindingsShown) -> list[FindingGroup]:
    """The findings by kind, in the plan's order of kinds, each subject once per kind."""
    by_kind: dict[FindingKind, list[FindingLine]] = {}
    at: dict[tuple[FindingKind, str], int] = {}
    for finding in findings:
        lines = by_kind.setdefault(finding.kind, [])
        key = (finding.kind, finding.subject.casefold())
        if finding.subject and key in at:
            first = lines[at[key]]
            kinds = (first.finding.access_type, *first.also)
            if finding.access_type is not None and finding.access_type not in kinds:
                lines[at[key]] = FindingLine(first.finding, (*first.also, finding.access_type))
            continue
        at[key] = len(lines)
        lines.append(FindingLine(finding))
    groups = []
    for kind in sorted(by_kind, key=lambda k: k.order):
        lines = by_kind[kind]
        listed: Sequence[FindingLine] = ()
        if shown.lists(kind):
            listed = lines if shown.per_kind is None else lines[: shown.per_kind]
        worst = min((line.finding.severity for line in lines), key=_SEVERITY_ORDER.__getitem__)
        groups.append(FindingGroup(kind, worst, tuple(listed), len(lines)))
    return groups
