"""The small parts of apply on their own: the rate cap, the site lock, progress lines."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from licsync.apply.lock import lock_path, site_lock, state_directory
from licsync.cli import apply_progress as progress
from licsync.cli.apply_progress import ApplyProgress
from licsync.errors import SiteLocked
from licsync.identity import AccessType
from licsync.plan.changes import Allocate, UserTarget
from licsync.qrs.ratelimit import RateLimit
from licsync.results import Outcome, WriteResult


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_spaces_requests_without_an_initial_burst() -> None:
    clock = FakeClock()
    limit = RateLimit(4, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limit.wait()
    assert clock.slept == pytest.approx([0.25, 0.25, 0.25, 0.25])


def test_rate_limit_gives_threads_their_own_slots() -> None:
    clock = FakeClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.slept.append(seconds)

    limit = RateLimit(10, clock=clock, sleep=sleep)
    threads = [threading.Thread(target=limit.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = sorted(clock.slept)
    assert starts == pytest.approx([0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_rate_limit_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        RateLimit(rate)


def test_state_directory_follows_xdg(tmp_path: Path) -> None:
    assert state_directory({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "licsync"


def test_lock_names_differ_by_where_qrs_is(tmp_path: Path) -> None:
    a = lock_path(tmp_path, "prod", "https://a:4242")
    b = lock_path(tmp_path, "prod", "https://b:4242")
    assert a != b
    assert a.name.startswith("prod-")
    assert lock_path(tmp_path, "../../etc/x", "u").parent == tmp_path / "locks"


def test_a_held_lock_without_its_note_still_refuses(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "prod", "https://a:4242")
    with site_lock(path, site="prod", timeout=0):
        path.with_suffix(".holder.json").unlink()
        with (
            pytest.raises(SiteLocked, match="another process"),
            site_lock(path, site="prod", timeout=0),
        ):
            pass
    with site_lock(path, site="prod", timeout=0):  # released: free again
        pass


def _change(n: int) -> Allocate:
    target = UserTarget(id=f"id-{n}", directory="CORP", userid=f"u{n}")
    return Allocate(
        access_type=AccessType.PROFESSIONAL, user=f"CORP\\u{n}", key=f"corp\\u{n}", target=target
    )


def test_progress_in_a_log_prints_a_line_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    ticks = iter([0.0, 1.0, 11.0, 12.0, 30.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(ticks))
    with ApplyProgress(stream=out) as shown:
        shown.start(4)
        for n in range(4):
            change = _change(n)
            outcome = Outcome.FAILED if n == 3 else Outcome.APPLIED
            shown.result(change, WriteResult(change.id, outcome))
    lines = out.getvalue().splitlines()
    assert lines == [
        "licsync: apply: 2 of 4 changes done (2 applied)",
        "licsync: apply: 4 of 4 changes done (3 applied, 1 failed)",
    ]
