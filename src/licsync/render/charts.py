"""Pictures for a monthly review: Mermaid charts that GitHub and GitLab draw from the comment
itself (a fenced ``mermaid`` block), for the Markdown plan and the ``propose`` body.

- capacity per access type after the plan: a pie of allocated, in quarantine and available
  seats (the QMC's numbers);
- the idle-age spread of the seats: a bar chart of days since last use.

Only numbers and fixed words go into a chart: nothing from outside can break its syntax.
"""

from __future__ import annotations

from collections.abc import Mapping

from licsync.identity import AccessType
from licsync.plan import Plan
from licsync.plan.idleages import IDLE_BUCKETS
from licsync.plan.safety import CapacityLine

__all__ = ["capacity_chart", "idle_chart", "plan_charts"]


def plan_charts(plan: Plan) -> list[str]:
    """The plan's charts as Markdown lines (nothing when it has no numbers to draw)."""
    lines: list[str] = []
    for access_type in AccessType:
        line = plan.capacity.get(access_type)
        if line is not None:
            lines += capacity_chart(access_type, line)
    for access_type, counts in plan.idle_ages.items():
        lines += idle_chart(access_type, counts)
    return lines


def capacity_chart(access_type: AccessType, line: CapacityLine) -> list[str]:
    """A pie of the type's seats after the plan; a shortfall is said in the title."""
    slices = (
        ("allocated", line.allocated_after),
        ("in quarantine", line.quarantined_after),
        ("available", max(0, line.available_after)),
    )
    shown = [(label, n) for label, n in slices if n > 0]
    if not shown:
        return []
    short = f", short by {line.shortfall}" if line.shortfall else ""
    title = f"{access_type.value.capitalize()} seats after the plan ({line.total} total{short})"
    return [
        "```mermaid",
        f"pie showData title {title}",
        *(f'    "{label}" : {n}' for label, n in shown),
        "```",
        "",
    ]


def idle_chart(access_type: AccessType, counts: tuple[int, ...] | Mapping[str, int]) -> list[str]:
    """A bar chart of the type's seats by days since last use (quarantined seats aside)."""
    values = list(counts.values()) if isinstance(counts, Mapping) else list(counts)
    if not any(values):
        return []
    labels = ", ".join(f'"{label}"' for label, _ in IDLE_BUCKETS)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{access_type.value.capitalize()} seats now, by days since last use"',
        f"    x-axis [{labels}]",
        f'    y-axis "seats" 0 --> {max(values)}',
        f"    bar [{', '.join(str(n) for n in values)}]",
        "```",
        "",
    ]
