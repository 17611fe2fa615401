"""The cyclic collector around big builds: paused, and in a one-command process, frozen after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from licsync import entry, gcpause
from licsync.gcpause import gc_paused

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes is handed back to the collector, and the switch restored."""
    was = gcpause._freeze
    try:
        yield
    finally:
        gcpause._freeze = was
        gcpause._starting = False
        gc.enable()
        gc.unfreeze()


def _build() -> list[list[int]]:
    return [[n] for n in range(5000)]


@pytest.mark.usefixtures("unfrozen")
def test_a_long_lived_process_freezes_nothing() -> None:
    gcpause._freeze = False
    gc.unfreeze()
    with gc_paused():
        assert not gc.isenabled()
        kept = _build()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert len(kept) == 5000


@pytest.mark.usefixtures("unfrozen")
def test_after_freeze_on_resume_what_a_pause_built_is_frozen() -> None:
    gc.unfreeze()
    gcpause.freeze_on_resume()
    with gc_paused():
        kept = _build()
        with gc_paused():  # re-entrant: the inner block neither resumes nor freezes
            assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)


@pytest.mark.usefixtures("unfrozen")
def test_a_disabled_collector_stays_disabled_and_unfrozen() -> None:
    gcpause.freeze_on_resume()
    gc.unfreeze()
    gc.disable()
    try:
        with gc_paused():
            _build()
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


@pytest.mark.usefixtures("unfrozen")
def test_the_console_script_runs_its_command_with_freezing_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``licsync`` (and ``python -m licsync``) is one command, then exit."""
    gcpause._freeze = False
    assert entry.main(["validate", str(REPO / "licenses")]) == 0
    assert gcpause._freeze
    assert gc.isenabled(), "the start's pause ended when the command was loaded"
    assert gc.get_freeze_count() > 0, "what the start imported is frozen"
    assert "licenses" in capsys.readouterr().out


@pytest.mark.usefixtures("unfrozen")
def test_the_start_of_a_command_imports_with_the_collector_paused() -> None:
    gc.unfreeze()
    gcpause.pause_start()
    assert not gc.isenabled()
    kept = _build()
    gcpause.start_done()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)
    gcpause.start_done()  # once is enough: a second command loaded changes nothing
    assert gc.isenabled()


@pytest.mark.usefixtures("unfrozen")
def test_the_start_leaves_a_collector_someone_else_disabled_alone() -> None:
    gc.unfreeze()
    gc.disable()
    gcpause.pause_start()
    gcpause.start_done()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0
