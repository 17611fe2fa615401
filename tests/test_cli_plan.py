"""`licsync plan` as a user runs it: the embedded demo, a served simulator, exit codes, errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from cli_runner import Licsync, edit_file
from inprocess import in_process_simulator
from licsync.forge import plan_marker
from licsync.sim.demo import DEMO_NOW, demo_organisation
from portable import native

REPO = Path(__file__).resolve().parent.parent
DEMO_CHECKSUM_LINE = "Checksum: sha256:"


def test_plan_against_the_embedded_demo(example: Path, licsync: Licsync) -> None:
    """The README's first command: a real plan with changes, findings and a checksum, exit 0."""
    result = licsync(["plan", "licenses"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("licsync plan for site demo at 2026-11-20T09:00:00Z")
    assert "- CORP\\erik.holm  last used 2026-10-11 (40 days ago)" in out
    assert "  ! denied-user (2)\n    CORP\\lena.berg was denied access 3 times" in out
    assert out.splitlines()[-1].startswith(DEMO_CHECKSUM_LINE)
    assert "until 2026-10-31 has passed" in result.stderr  # the loader's warning


def test_detailed_exitcode_reports_changes(example: Path, licsync: Licsync) -> None:
    """--detailed-exitcode exits 2 when the plan has changes."""
    result = licsync(["plan", "licenses", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output


def test_blocked_plan_renders_and_exits_3(example: Path, licsync: Licsync) -> None:
    """Over a safety cap, the plan still renders in full, says what blocks it, and exits 3."""
    edit_file(example / "site.yaml", "max_reclaims: 10", "max_reclaims: 3")
    result = licsync(["plan", "licenses", "--detailed-exitcode"])
    assert result.exit_code == 3, result.output
    assert "BLOCKED by safety checks (apply refuses this plan):" in result.stdout
    assert "  - professional: 4 reclaims exceed safety.max_reclaims 3" in result.stdout
    assert "- CORP\\erik.holm" in result.stdout


def test_json_out_file_and_summary(example: Path, licsync: Licsync) -> None:
    """--format json --out writes the plan to a file and prints a one-line summary."""
    result = licsync(["plan", "licenses", "--format", "json", "--out", "plan.json"])
    assert result.exit_code == 0, result.output
    data = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    assert data["format_version"] == "1.5"
    assert result.stdout == (
        f"licsync: plan for site demo written to plan.json: {data['summary']['changes']} "
        f"changes, {data['summary']['findings']} findings, safety OK, checksum "
        f"{data['checksum']}\n"
    )


def test_markdown_format(example: Path, licsync: Licsync) -> None:
    """--format markdown prints the pull-request comment."""
    result = licsync(["plan", "licenses", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!-- licsync:plan site=demo checksum=sha256:")
    assert "\n### licsync plan for site `demo`" in result.stdout
    # The same marker `github comment` writes, so CI finds either one.
    checksum = result.stdout.split("checksum=", 1)[1].split(" ", 1)[0]
    assert result.stdout.splitlines()[0] == plan_marker("demo", checksum)


def test_served_demo_gives_the_same_plan(example: Path, licsync: Licsync) -> None:
    """`sim serve --demo` and the embedded demo are the same site: same checksum over sockets."""
    embedded = licsync(["plan", "licenses", "--format", "json"])
    with in_process_simulator(demo_organisation()) as sim:
        served = licsync(
            [
                "plan",
                "licenses",
                "--format",
                "json",
                "--qrs-url",
                sim.url,
                "--now",
                "2026-11-20T09:00:00Z",
            ],
        )
        counts = sim.request_counts()
    assert served.exit_code == 0, served.output
    assert json.loads(served.stdout)["checksum"] == json.loads(embedded.stdout)["checksum"]
    assert counts == {"GET": 9}  # read-only, constant number of requests


def test_denial_logs_option_reads_real_qlik_logs(
    example: Path, sample_logs: Path, licsync: Licsync
) -> None:
    """--denial-logs adds a folder: the real sample's 2019 data is too old to count, and stale."""
    result = licsync(["plan", "licenses", "--format", "json", "--denial-logs", str(sample_logs)])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    denied = {f["subject"]: f for f in findings if f["kind"] == "denied-user"}
    assert "DOMAIN\\administrator" not in denied  # older than the 30-day look-back
    stale = [f for f in findings if f["kind"] == "stale-denial-data"]
    assert [f["data"]["path"] for f in stale] == [str(sample_logs)]


def test_sample_logs_within_lookback(example: Path, sample_logs: Path, licsync: Licsync) -> None:
    """Planning as of the sample's day finds the one person the real logs denied: 8 times."""
    result = licsync(
        [
            "plan",
            "licenses",
            "--format",
            "json",
            "--denial-logs",
            str(sample_logs),
            "--now",
            "2019-02-02T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    denied = {f["subject"]: f for f in findings if f["kind"] == "denied-user"}
    assert denied["DOMAIN\\administrator"]["data"]["count"] == 8
    assert "DOMAIN\\qvservice" not in denied


def test_bad_now_is_a_clear_usage_error(example: Path, licsync: Licsync) -> None:
    """A malformed --now is a wrong command line: exit 64, click's message and hint."""
    result = licsync(["plan", "licenses", "--now", "yesterday"])
    assert result.exit_code == 64
    assert result.stderr.endswith(
        "Error: Invalid value for '--now': 'yesterday' is not an ISO-8601 date-time (e.g. "
        "2026-11-20T09:00:00Z)\n"
    )
    assert "Try 'licsync plan -h' for help." in result.stderr


def test_invalid_desired_state_changes_nothing(example: Path, licsync: Licsync) -> None:
    """Bad YAML stops the plan before any request: exit 1, file:line:col named."""
    (example / "broken.yaml").write_text("professional:\n  allocations:\n    - user: nobody\n")
    with in_process_simulator(demo_organisation()) as sim:
        result = licsync(["plan", "licenses", "--qrs-url", sim.url])
        counts = sim.request_counts()
    assert result.exit_code == 1
    assert native("licenses/broken.yaml:3:13: professional.allocations[0].user") in result.stderr
    assert counts == {}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_qrs_is_a_clear_error(example: Path, licsync: Licsync) -> None:
    """A QRS that does not answer is exit 1 with the method and path, no traceback."""
    url = f"http://127.0.0.1:{_closed_port()}"
    result = licsync(["plan", "licenses", "--qrs-url", url])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("licsync: error: GET /qrs/")
    assert "Traceback" not in result.output


def test_secret_never_printed(
    example: Path, monkeypatch: pytest.MonkeyPatch, licsync: Licsync
) -> None:
    """A JWT from the environment never appears in output, even when the request fails."""
    secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw"
    monkeypatch.setenv("QLIK_JWT", secret)
    edit_file(
        example / "site.yaml",
        "    mode: certificate\n",
        "    mode: jwt\n    token_env: QLIK_JWT\n",
    )
    edit_file(example / "site.yaml", 'virtual_proxy: ""', "virtual_proxy: jwt")
    with in_process_simulator(demo_organisation()) as sim:
        result = licsync(["--debug", "plan", "licenses", "--qrs-url", sim.url])
    assert result.exit_code == 1
    assert secret not in result.output
    assert secret[:20] not in result.output
    assert "jwt" in result.stderr.lower()


def test_demo_clock_is_the_default_now() -> None:
    """The embedded demo plans as of its own fixed clock unless --now says otherwise."""
    assert DEMO_NOW.isoformat() == "2026-11-20T09:00:00+00:00"
