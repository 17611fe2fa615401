"""A JSON plan read back (render.fromdata) renders exactly as the plan that wrote it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clock import NOW
from licsync.actual import Actual
from licsync.desired import Desired
from licsync.errors import UsageError
from licsync.plan import plan
from licsync.policy import Policy, SafetyPolicy
from licsync.render import render_json, render_markdown, render_text
from licsync.render.fromdata import plan_from_data
from licsync.signals import Signals
from test_plan_properties import sites


# each example renders a plan three ways and reads each back: half the profile's count
@settings(max_examples=max(3, settings.default.max_examples // 2))
@given(site=sites(), cap=st.sampled_from([None, 0, 1]))
def test_every_rendering_survives_the_round_trip(
    site: tuple[Desired, Actual, Policy], cap: int | None
) -> None:
    """Random sites (every change and finding kind the strategy reaches, blocked or not): the
    read-back plan gives the same JSON, text and Markdown."""
    wanted, state, pol = site
    if cap is not None:  # a plan blocked by the caps, both kinds
        safety = SafetyPolicy(max_reclaims=cap + 5, max_reclaim_share=0.1, share_floor=cap)
        pol = dataclasses.replace(pol, safety=safety)
        wanted = dataclasses.replace(wanted, policy=pol)
    original = plan(wanted, state, Signals(), NOW)
    again = plan_from_data(json.loads(render_json(original)))
    assert render_json(again) == render_json(original)
    assert render_text(again) == render_text(original)
    assert render_markdown(again) == render_markdown(original)


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("changes", 0, "action"), "explode", "plan.changes[0].action: 'explode' is not a known"),
        (("changes", 0, "quarantine"), 1, "plan.changes[0].quarantine: missing or not true or"),
        (("capacity", "professional", "total"), True, "capacity.professional.total: missing or"),
        (("changes", 0, "id", "subject"), "corp\\someone", "does not match the change's fields"),
        (("ownership", "enterprise"), "observe", "plan.ownership.enterprise: not an access type"),
        (("findings", 0), [], "plan.findings[0]: expected an object"),
    ],
    ids=["action", "flag", "bool-count", "id", "access-type", "finding"],
)
def test_a_wrong_field_is_named(path: tuple[object, ...], value: object, words: str) -> None:
    """Each refusal names the JSON path of the field."""
    from builders import PRO, actual, alloc, desired, user

    state = actual([user("CORP\\a")], [alloc(PRO, "CORP\\a", used_days=30)])
    data = json.loads(render_json(plan(desired(), state, Signals(), NOW)))
    data["findings"] = data["findings"] or [{}]
    target = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(UsageError) as raised:
        plan_from_data(data)
    assert words in str(raised.value)
