"""One ``licsync propose`` run: read the site, plan, decide, edit the files, check, re-plan.

The I/O edge around :mod:`licsync.propose.decide` (pure) and :mod:`licsync.propose.edit`
(pure): it reads the site through the session, reads the desired-state files, and checks the
edited files with licsync's own strict loader (in a temporary copy of the site's YAML files)
before anything may be written. The plan after the proposal is made from that loaded copy, so
it is the plan the next ``licsync plan`` makes once the edits are merged.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from licsync.desired import Desired
from licsync.errors import ConfigError, Problem
from licsync.plan import Reclaim, plan
from licsync.propose.decide import decide
from licsync.propose.edit import edit_files
from licsync.propose.outcome import ProposeRun
from licsync.safefile import read_regular
from licsync.session import Session
from licsync.yamlsafe import MAX_BYTES

__all__ = ["propose_site"]


def propose_site(session: Session) -> ProposeRun:
    """Read the site and its signals, decide the proposal and edit (in memory) the files.

    Raises:
        QrsError: the site cannot be read.
        SignalError: a denial source cannot be read.
        ConfigError: a file cannot be read or edited, or the edited files would not load.
    """
    desired = session.desired
    run = session.plan()
    before, actual, signals, now, coverage = (
        run.plan,
        run.actual,
        run.signals,
        run.now,
        run.coverage,
    )
    proposal = decide(desired, actual, signals, before, now, coverage=coverage)
    texts = {name: _read_text(name) for name in desired.files}
    result = edit_files(texts, proposal, today=now.date(), order=desired.files)
    edits = {name: (texts[name], text) for name, text in result.texts.items()}
    if edits:
        edited = _load_edited(desired, {n: t for n, (_, t) in edits.items()}, texts, now.date())
        # Rules are not edited: the coverage of the plan before holds for the plan after.
        after = plan(edited, actual, signals, now, coverage=coverage)
    else:
        after = before
    proposed = result.proposal
    reclaimed = {(c.access_type, c.key) for c in after.changes if isinstance(c, Reclaim)}
    disagreements = tuple(
        f"{r.user} ({r.access_type})"
        for r in proposed.removals
        if r.holds_seat and (r.access_type, r.key) not in reclaimed
    )
    return ProposeRun(
        site=desired.site.name,
        now=now,
        proposal=proposed,
        before=before,
        after=after,
        edits=edits,
        skipped=(*proposed.kept, *result.skipped),
        disagreements=disagreements,
    )


def _read_text(name: str) -> str:
    try:
        raw = read_regular(Path(name), limit=MAX_BYTES)
    except OSError as exc:
        raise ConfigError([Problem(name, 0, 0, "", f"cannot read: {exc.strerror or exc}")]) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = "cannot edit: not UTF-8 (propose keeps every byte, so it edits UTF-8 only)"
        raise ConfigError([Problem(name, 0, 0, "", msg)]) from exc


def _load_edited(
    desired: Desired, edited: Mapping[str, str], texts: Mapping[str, str], today: dt.date
) -> Desired:
    """The desired state the edited files declare, loaded by the strict loader.

    Raises:
        ConfigError: the edited files would not load (nothing is written then).
    """
    from licsync.load import load_desired  # noqa: PLC0415 - the loader the CLI uses

    root = Path(desired.root)
    with tempfile.TemporaryDirectory(prefix="licsync-propose-") as folder:
        names: dict[str, str] = {}
        for name, text in texts.items():
            relative = _relative(Path(name), root)
            target = Path(folder) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as stream:
                stream.write(edited.get(name, text))
            names[str(target)] = name
        try:
            loaded, _ = load_desired(folder, today=today, site=desired.site.name)
        except ConfigError as exc:
            problems = [
                replace(
                    p,
                    file=names.get(p.file, p.file),
                    message=f"the proposal's edit would not load: {p.message}",
                )
                for p in exc.problems
            ]
            raise ConfigError(problems) from exc
    return loaded


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return Path(os.path.basename(path))
