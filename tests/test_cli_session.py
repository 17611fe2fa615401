"""The session layer the commands share: one site open for a whole command, against the embedded
simulator over real loopback sockets (``qrs_url: embedded``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from licsync.apply.execute import execute
from licsync.apply.writer import QrsWriter
from licsync.errors import QrsReadOnlyError
from licsync.identity import AccessType
from licsync.plan import Reclaim
from licsync.session import EMBEDDED, SessionRequest, open_session
from licsync.sim.demo import DEMO_NOW

REPO = Path(__file__).resolve().parent.parent
PRO = AccessType.PROFESSIONAL


def test_a_writable_session_applies_and_replans_against_the_same_site(example: Path) -> None:
    """What `apply` needs: plan, write, re-plan in one process; the simulator lives throughout."""
    request = SessionRequest(directory=example, writable=True)
    with open_session(request) as session:
        assert session.desired.site.qrs_url == EMBEDDED
        assert session.writable
        assert session.simulator is not None
        assert session.now() == DEMO_NOW
        assert session.target == "the embedded QRS simulator (demo organisation)"
        first = session.plan()
        assert first.now == DEMO_NOW
        assert set(first.timings) == {"load", "read", "logs", "rules", "plan"}
        assert first.requests == 9
        assert session.requests == 9

        victim = next(c for c in first.plan.changes if isinstance(c, Reclaim))
        (result,) = execute([victim], QrsWriter(session.client))
        assert result.ok, result
        after = {a.id: a for a in session.read().allocations_of(victim.access_type)}
        gone = victim.allocation_id not in after
        assert gone or after[victim.allocation_id].quarantined  # freed, or quarantined
        assert session.requests == 9 + 1 + 9  # plan, one DELETE, read

        second = session.plan()
        assert second.requests == 9
        assert second.actual.allocations_of(PRO) != first.actual.allocations_of(PRO)  # re-read
        url = session.simulator.url
    with pytest.raises(httpx.ConnectError):  # the simulator stopped with the session
        httpx.get(f"{url}/qrs/about", timeout=5)


def test_a_read_only_session_refuses_writes_before_sending(example: Path) -> None:
    with open_session(SessionRequest(directory=example)) as session:
        assert not session.writable
        victim = next(c for c in session.plan().plan.changes if isinstance(c, Reclaim))
        assert session.simulator is not None
        session.simulator.reset_counts()
        with pytest.raises(QrsReadOnlyError):
            execute([victim], QrsWriter(session.client))
        assert session.simulator.request_counts() == {}


def test_now_overrides_the_demo_clock(example: Path) -> None:
    now = DEMO_NOW.replace(year=2027)
    with open_session(SessionRequest(directory=example, now=now)) as session:
        assert session.now() == now
        assert session.plan().now == now


def test_validate_and_the_session_do_not_import_the_simulator() -> None:
    """The product loads the simulator only where `embedded` starts it (and in `licsync sim`)."""
    script = (
        "import sys\n"
        "import licsync.cli, licsync.session\n"
        "from licsync.cli import main\n"
        "main(['validate', 'licenses'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('licsync.sim'))\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
