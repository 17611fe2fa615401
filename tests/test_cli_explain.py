"""``licsync explain USER [DIR]``: one user's whole story, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import Licsync


def test_explain_tells_where_declared_what_held_and_what_the_plan_does(
    example: Path, licsync: Licsync
) -> None:
    """Declared at file:line with until, the seat with its dates, the plan's reclaim and why."""
    result = licsync(["explain", "corp\\CARLA.DIAZ", "licenses"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("CORP\\carla.diaz as of 2026-11-20T09:00:00Z")
    assert "declared: professional at licenses/professional.yaml:18:13 (until 2026-10-31" in out
    assert "holds: professional seat, allocated 2026-06-23T09:00:00Z, last used 2026-11-18" in out
    assert "plan: reclaim professional (until date passed)" in out


def test_explain_names_the_rules_and_findings(example: Path, licsync: Licsync) -> None:
    """A rule-held idle seat: the declared and the site's rule, the reclaim, the finding."""
    out = licsync(["explain", "CORP\\sara.gran"]).stdout
    assert "rule: analyzer 'Sales analyzers' (declared) covers them" in out
    assert "rule: analyzer 'Sales analyzers' (on the site) covers them" in out
    assert "plan: reclaim analyzer (idle)" in out
    assert "finding: [rule-would-reallocate]" in out
    assert "Pilot dashboards" not in out  # half a rule grants nothing


def test_explain_json_and_denials(example: Path, licsync: Licsync) -> None:
    """A denied user in JSON: the count and dates of the denials, no seat, the finding."""
    result = licsync(["explain", "CORP\\lena.berg", "--format", "json"])
    assert result.exit_code == 0, result.output
    story = json.loads(result.stdout)
    assert story["format_version"] == "1.0"
    assert story["denials"]["count"] == 3
    assert story["seats"] == []
    assert story["declared"] == []
    assert story["plan"]["findings"][0].startswith("[denied-user]")
    unknown = json.loads(licsync(["explain", "CORP\\julia.nord", "--format", "json"]).stdout)
    assert unknown["known_to_qrs"] is False
    assert unknown["declared"][0]["where"] == "licenses/professional.yaml:34:13"


def test_explain_of_nobody_or_a_malformed_id_is_a_clear_error(
    example: Path, licsync: Licsync
) -> None:
    """Unknown everywhere, or not DIRECTORY\\userid: exit 1 saying so, no traceback."""
    nobody = licsync(["explain", "CORP\\nobody"])
    assert nobody.exit_code == 1
    assert "knows nothing of them" in nobody.stderr
    bad = licsync(["explain", "nobody"])
    assert bad.exit_code == 1
    assert "DIRECTORY\\userid" in bad.stderr
    assert "Traceback" not in bad.output + nobody.output
