"""``policy.protected`` by each form, through the CLI against the simulator over sockets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_runner import Licsync
from clock import NOW, NOW_ARG
from licsync.sim import SimStore, Simulator


@pytest.fixture
def sim_store() -> SimStore:
    """One undeclared professional seat per way of being protected, and one unprotected."""
    store = SimStore(NOW)
    store.add_user("INTERNAL", "sa_api", roles=["RootAdmin"])
    people = {
        "tagged": store.add_user("CORP", "tagged", tags=["keeplicense"]),
        "finance": store.add_user("CORP", "owned", custom_properties={"LicenseOwner": "finance"}),
        "external": store.add_user("EXT", "guest"),
        "admin": store.add_user("CORP", "root", roles=["rootadmin"]),
        "plain": store.add_user("CORP", "plain"),
    }
    for user in people.values():
        store.add_allocation("professional", user["id"], last_used=NOW)
    store.set_capacity("professional", 10)
    store.set_capacity("analyzer", 10)
    return store


def _protect(site: Path, entries: str) -> None:
    path = site / "site.yaml"
    text = path.read_text(encoding="utf-8")
    block = re.compile(r"  protected:\n(?:    - .*\n)+")
    assert block.search(text), "the example site's protected block moved"
    path.write_text(
        block.sub(lambda _: "  protected:\n" + entries, text, count=1), encoding="utf-8"
    )


def _plan(licsync: Licsync, sim: Simulator) -> dict[str, object]:
    result = licsync(
        ["plan", "licenses", "--qrs-url", sim.url, "--format", "json", "--now", NOW_ARG]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(
    ("entries", "kept", "protected_by", "words"),
    [
        ("    - tag: KeepLicense\n", "CORP\\tagged", {"tag": "KeepLicense"}, "tag KeepLicense"),
        (
            "    - custom_property: {name: LicenseOwner, value: Finance}\n",
            "CORP\\owned",
            {"custom_property": "LicenseOwner", "value": "Finance"},
            "custom property LicenseOwner=Finance",
        ),
        ("    - directory: ext\n", "EXT\\guest", {"directory": "ext"}, "directory ext"),
        ("    - role: RootAdmin\n", "CORP\\root", {"role": "RootAdmin"}, "role RootAdmin"),
        ("    - corp\\tag*\n", "CORP\\tagged", {"user": "corp\\tag*"}, "user corp\\tag*"),
    ],
    ids=["tag", "custom-property", "directory", "role", "pattern"],
)
def test_each_form_keeps_its_user_and_says_so(
    example: Path,
    licsync: Licsync,
    sim: Simulator,
    *,
    entries: str,
    kept: str,
    protected_by: dict[str, str],
    words: str,
) -> None:
    """A protected user's seat stays; the finding names the protection; the others go."""
    _protect(example, entries)
    plan = _plan(licsync, sim)
    findings = [f for f in plan["findings"] if f["kind"] == "protected-user-kept"]  # type: ignore[attr-defined]
    assert [(f["subject"], f["data"]["protected_by"]) for f in findings] == [(kept, protected_by)]
    assert f"protected ({words})" in findings[0]["message"]
    reclaimed = {c["user"] for c in plan["changes"] if c["action"] == "reclaim"}  # type: ignore[attr-defined]
    assert kept not in reclaimed
    assert "CORP\\plain" in reclaimed


def test_validate_accepts_every_form_and_refuses_a_half_one(
    example: Path, licsync: Licsync
) -> None:
    """The schema knows the new forms; a custom property without a value is an error."""
    _protect(
        example,
        "    - tag: KeepLicense\n"
        "    - custom_property: {name: LicenseOwner, value: Finance}\n"
        "    - directory: INTERNAL\n"
        "    - role: RootAdmin\n",
    )
    assert licsync(["validate", "licenses"]).exit_code == 0
    _protect(example, "    - custom_property: {name: LicenseOwner}\n    - tagg: x\n")
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 1
    assert "policy.protected[0].custom_property: missing required field 'value'" in result.output
    assert "policy.protected[1].tagg: unknown field 'tagg'; did you mean 'tag'?" in result.output
