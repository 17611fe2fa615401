"""Issue 19's exit-70 repros and smaller items: each a clear message with the documented exit
code, bounded memory and time, nothing changed on the site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from cli_runner import Licsync
from clock import DEMO_NOW_ARG
from hostile_server import HostileQrs, drip, raw_answer
from inprocess import in_process_simulator
from licsync.apply.lock import lock_path, site_address
from licsync.apply.reviewed import load_reviewed
from licsync.dump import files as dump_files
from licsync.errors import ForgeError
from licsync.forge.github import GitHub, GitHubSettings
from licsync.forge.provenance import checksum_in
from licsync.qrs.errormap import sanitise_excerpt
from licsync.sim import Simulator, start_simulator
from licsync.sim.demo import demo_organisation

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def _settings(url: str) -> GitHubSettings:
    return GitHubSettings(api_url=url, owner="org", repo="licences", token=TOKEN)


# -- the GitHub client -----------------------------------------------------------------------


@pytest.mark.parametrize("link", ["http://127.0.0.1:99999/next", "http://[::1/next"])
def test_a_broken_next_link_is_a_clear_error(link: str) -> None:
    """A Link header whose URL cannot be parsed (port out of range, broken IPv6 host)."""
    page = raw_answer(b"[]", headers={"Link": f'<{link}>; rel="next"'})
    with HostileQrs({"/repos/org/licences/issues/7/comments": page}) as server:
        github = GitHub(_settings(server.url))
        with github, pytest.raises(ForgeError, match="Link header is not a valid URL"):
            github.put_comment(7, "<!-- licsync", "body")


def test_a_dripping_server_is_cut_off_at_the_commands_deadline() -> None:
    """One byte every 0.2 s keeps every socket read alive; the deadline still ends it."""
    with HostileQrs({"/repos/org/licences/issues/7/comments": drip(0.2)}) as server:
        github = GitHub(_settings(server.url), deadline=1.5)
        started = time.monotonic()
        with github, pytest.raises(ForgeError, match=r"deadline|no answer"):
            github.put_comment(7, "<!-- licsync", "body")
        assert time.monotonic() - started < 30  # a bound against hanging, not a speed target


def test_any_eight_characters_of_a_secret_are_redacted() -> None:
    """A token cut short by the server (its first 20 characters) is not printed either."""
    echoed = f"bad credentials for {TOKEN[:20]}... (or {TOKEN[-9:].upper()})"
    shown = sanitise_excerpt(echoed.encode(), redact=(TOKEN,))
    assert TOKEN[:8] not in shown
    assert TOKEN[-9:].upper() not in shown
    assert "bad credentials for" in shown


# -- reviewed plans and artifacts ------------------------------------------------------------


def _plan(licsync: Licsync, sim: Simulator, out: Path) -> None:
    result = licsync(["plan", "licenses", "--qrs-url", sim.url, "--now", DEMO_NOW_ARG, "--format",
                      "json", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_plan_with_a_byte_order_mark_is_read(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    with in_process_simulator(demo_organisation()) as sim:
        plan = tmp_path / "plan.json"
        _plan(licsync, sim, plan)
        plan.write_bytes(b"\xef\xbb\xbf" + plan.read_bytes())
        reviewed = load_reviewed(plan)
        assert reviewed.ids
        assert checksum_in(plan.read_bytes(), where="artifact") == reviewed.checksum


def test_a_reviewed_plan_is_read_in_memory_a_small_multiple_of_its_size(
    example: Path, licsync: Licsync, tmp_path: Path
) -> None:
    """A plan padded with what reviewing does not need (findings, changes' details): reading
    it keeps only the decisions (decoded whole, a 30 MB plan took 850 MB)."""
    with in_process_simulator(demo_organisation()) as sim:
        plan = tmp_path / "plan.json"
        _plan(licsync, sim, plan)
    data = json.loads(plan.read_text(encoding="utf-8"))
    data["findings"] = [{"kind": "x", "data": {"n": [i, {"k": "v" * 5}]}} for i in range(60_000)]
    for change in data["changes"]:
        change["padding"] = [{"a": i} for i in range(5_000)]
    plan.write_text(json.dumps(data), encoding="utf-8")
    size = plan.stat().st_size
    tracemalloc.start()
    try:
        load_reviewed(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * size, (peak, size)


# -- command lines ---------------------------------------------------------------------------


def test_a_qrs_url_with_a_dns_label_over_63_characters_is_a_usage_error(
    example: Path, licsync: Licsync
) -> None:
    result = licsync(["plan", "licenses", "--qrs-url", f"http://{'a' * 64}.example.com:4242"])
    assert result.exit_code == 64, result.output
    assert "63 characters" in result.output


def test_a_reason_that_is_not_utf8_is_a_usage_error(example: Path, licsync: Licsync) -> None:
    reason = b"\xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of such argv
    result = licsync(["apply", "licenses", "--auto-approve", "--force", "--reason", reason])
    assert result.exit_code == 64, result.output
    assert "--reason: not valid UTF-8" in result.output


def test_sim_serve_bounds_its_users(licsync: Licsync) -> None:
    result = licsync(["sim", "serve", "--users", "99999999999"])
    assert result.exit_code == 64, result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_sim_serve_refuses_a_fifo_snapshot(licsync: Licsync, tmp_path: Path) -> None:
    fifo = tmp_path / "snapshot.json"
    os.mkfifo(fifo)
    result = licsync(["sim", "serve", "--snapshot", str(fifo)])
    assert result.exit_code == 1, result.output
    assert "FIFO" in result.stderr


@pytest.mark.skipif(os.name == "nt" or not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_sim_serve_refuses_a_device_snapshot(licsync: Licsync) -> None:
    result = licsync(["sim", "serve", "--snapshot", "/dev/zero"])
    assert result.exit_code == 1, result.output
    assert "device" in result.stderr


# -- the site lock ---------------------------------------------------------------------------


def test_the_site_lock_is_keyed_on_where_qrs_is_not_how_it_is_spelled(tmp_path: Path) -> None:
    """``localhost`` and ``127.0.0.1`` are one site: one lock; another port or site is not."""
    here = lock_path(tmp_path, "prod", "https://127.0.0.1:4242")
    assert lock_path(tmp_path, "prod", "https://localhost:4242/") == here
    assert lock_path(tmp_path, "prod", "https://LOCALHOST:4242") == here
    assert lock_path(tmp_path, "prod", "https://127.0.0.1:4243") != here
    assert lock_path(tmp_path, "test", "https://127.0.0.1:4242") != here
    assert site_address("https://qlik.invalid") == "qlik.invalid:443"


# -- output that cannot be written -----------------------------------------------------------


def _apply_child(sim: Simulator, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "licsync", "apply", "licenses", "--qrs-url", sim.url,
            "--now", DEMO_NOW_ARG, "--auto-approve"]  # fmt: skip
    return subprocess.run(
        argv, cwd=cwd, stderr=subprocess.PIPE, text=True, timeout=120, check=False, **kwargs
    )


@pytest.mark.skipif(os.name == "nt" or not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_stdout_after_apply_is_exit_1_with_what_was_done(example: Path) -> None:
    with start_simulator(demo_organisation()) as sim, open("/dev/full", "w") as full:
        done = _apply_child(sim, example.parent, stdout=full)
    assert done.returncode == 1, done.stderr
    assert "cannot write the report" in done.stderr
    assert "changes are done on the site" in done.stderr


@pytest.mark.skipif(os.name == "nt", reason="closing fd 1 before exec is POSIX")
def test_a_closed_stdout_after_apply_is_exit_1(example: Path) -> None:
    with start_simulator(demo_organisation()) as sim:
        done = _apply_child(sim, example.parent, preexec_fn=lambda: os.close(1))
    assert done.returncode == 1, done.stderr
    assert "cannot write the report" in done.stderr


# -- dump -----------------------------------------------------------------------------------


def test_a_dump_that_cannot_be_written_leaves_no_empty_folder(
    example: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The files cannot be put in place (a full disk): the folder made for them goes again."""

    def full(files: object, out: Path) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dump_files, "_commit", full)
    out = tmp_path / "dumped"
    with in_process_simulator(demo_organisation()) as sim:
        result = licsync(["dump", "--qrs-url", sim.url, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.stderr
    assert not out.exists()
