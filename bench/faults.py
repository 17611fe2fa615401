"""The fault campaign: apply under random write faults and ``kill -9``, checked against the site.

Run from the repository root::

    python bench/faults.py                 # 50 seeds (three to five minutes)
    python bench/faults.py --seeds 10      # fewer
    python bench/faults.py --first 100     # seeds 100.. instead of 0..

Each seed builds the demo organisation plus one more undeclared professional rule, and a
desired state that adds two professional rules: its plan then has rule creates, an update (the
demo's drifted rule), deletes, allocations and reclaims (caps raised so that it is not blocked).
The simulator runs here, over loopback, with random faults on every write (POST, PUT,
DELETE): ``drop-after`` (done, but the answer is lost), 500, 409 and 429, at ``--rate`` in all.
Then up to three runs of ``python -m licsync apply --auto-approve --format json`` in a child
process each; the first or the second (at most one of them) is killed with SIGKILL (``kill -9``;
TerminateProcess on Windows) at a random moment, with probability ``--kill`` each. After every
run, with the faults paused, the site is read (a plan, in this process) and checked:

- **truth**: every item a finished run reported ``applied``, ``completed`` or ``already`` is
  on the site: the fresh plan proposes nothing more for it (for a rule: no change of that rule
  at all) and a deleted rule has neither half left in the simulator's store;
- **audit**: the log's lines are whole JSON (a killed run included), a finished run has its
  start and end records, and every item it sent has a change line;
- **convergence**: after at most three runs the plan is empty, the created rules are whole and
  the deleted ones wholly gone.

The last line is ``RESULT faults seeds=N converged=N false_applied=N audit_gaps=N
runs=<mean runs to converge> max_runs=N killed=N items=N writes=N seconds=N``;
done when converged == seeds and
false_applied == audit_gaps == 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from licsync.cli import main as licsync_main
from licsync.identity import AccessType
from licsync.sim import Simulator, start_simulator
from licsync.sim.demo import DEMO_NOW, demo_organisation
from licsync.sim.entities import GROUP, SYSTEMRULE
from licsync.sim.faults import FaultPlan, FaultRule

REPO = Path(__file__).resolve().parent.parent
NOW = DEMO_NOW.isoformat()
DONE = {"applied", "completed", "already"}
CREATED = ("Campaign rule A", "Campaign rule B")
RULE_KINDS = {"create-rule", "complete-rule", "update-rule", "delete-rule"}
NEW_RULES = (
    '  rules:\n    - name: Campaign rule A\n      condition: user.group = "Nobody A"\n'
    '    - name: Campaign rule B\n      condition: user.group = "Nobody B"\n      context: both\n'
)


@dataclass
class SeedResult:
    """What one seed showed."""

    seed: int
    runs: int = 0
    converged: bool = False
    killed: int = 0
    items: int = 0
    false_applied: list[str] = field(default_factory=list)
    audit_gaps: list[str] = field(default_factory=list)
    writes: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


def write_faults(rate: float, seed: int) -> FaultPlan:
    """``rate`` of the writes fail, spread as the issue's campaign did (25 % drop-after, 10 %
    500, 5 % 409 of 40 %) plus 429 as often as 409: drop-after 5/9, 500 2/9, 409 and 429 1/9."""
    shares = (("drop-after", 5 / 9), ("500", 2 / 9), ("409", 1 / 9), ("429", 1 / 9))
    rules = tuple(
        FaultRule(method, kind, rate * share)  # type: ignore[arg-type]
        for method in ("POST", "PUT", "DELETE")
        for kind, share in shares
    )
    return FaultPlan(seed=seed, rules=rules, retry_after_s=0)


def _site(folder: Path) -> Path:
    shutil.copytree(REPO / "licenses", folder / "licenses")
    example = folder / "licenses"
    pro = example / "professional.yaml"
    pro.write_text(pro.read_text(encoding="utf-8").replace("  rules: []\n", NEW_RULES), "utf-8")
    site = example / "site.yaml"
    site.write_text(
        site.read_text(encoding="utf-8").replace("max_reclaims: 10 ", "max_reclaims: 1000 "),
        "utf-8",
    )
    return example


def _plan(sim: Simulator, folder: Path) -> dict[str, Any]:
    """The site's plan now, read in this process (faults paused by the caller)."""
    out = folder / "check.json"
    here = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = licsync_main(["plan", "licenses", "--qrs-url", sim.url, "--now", NOW,
                                 "--format", "json", "--out", str(out)])  # fmt: skip
    finally:
        os.chdir(here)
    if code not in (0, 2, 3):
        raise RuntimeError(f"plan exited {code}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _rule_halves(sim: Simulator, kind: str, name: str) -> int:
    access = AccessType(kind)
    folded = name.casefold()
    groups = [g for g in sim.store.entities(GROUP[access])[1] if g["name"].casefold() == folded]
    rules = [r for r in sim.store.entities(SYSTEMRULE)[1]
             if r["name"].casefold() == folded and r.get("category") == "License"]  # fmt: skip
    return len(groups) + len(rules)


def _rules_settled(sim: Simulator, seed: int) -> bool:
    """The rules the plan made are whole, the ones it deleted wholly gone (a half left over
    is a finding the plan cannot act on, so an empty plan alone does not prove it)."""
    pro = AccessType.PROFESSIONAL.value
    created = all(_rule_halves(sim, pro, name) == 2 for name in CREATED)
    deleted = ("Legacy power users", f"Campaign old rule {seed}")
    return created and all(_rule_halves(sim, pro, name) == 0 for name in deleted)


def _check_truth(report: dict[str, Any], plan: dict[str, Any], sim: Simulator) -> list[str]:
    """Items reported done that the site does not show."""
    left = {json.dumps(c["id"], sort_keys=True) for c in plan["changes"]}
    rules_left = {
        (c["id"]["access_type"], c["id"]["subject"])
        for c in plan["changes"]
        if c["id"]["kind"] in RULE_KINDS
    }
    false: list[str] = []
    for item in report["items"]:
        if item["status"] not in DONE:
            continue
        ident = item["id"]
        key = json.dumps(ident, sort_keys=True)
        shown = f"{ident['kind']} {ident['access_type']} {ident['subject']}: {item['status']}"
        if key in left:
            false.append(shown + " (the plan still makes it)")
        elif ident["kind"] in RULE_KINDS and (ident["access_type"], ident["subject"]) in rules_left:
            false.append(shown + " (the plan still changes that rule)")
        elif ident["kind"] == "delete-rule":
            name = (item.get("change") or {}).get("name") or ident["subject"]
            if _rule_halves(sim, ident["access_type"], name):
                false.append(shown + " (a half of it is still on the site)")
    return false


def _audit_lines(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The log's records, and what is wrong with its text ("" when every line is whole)."""
    if not path.exists():
        return [], ""
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        return [], "the last line is cut"
    try:
        return [json.loads(line) for line in text.splitlines()], ""
    except json.JSONDecodeError as exc:
        return [], f"a line is not JSON ({exc})"


def _check_audit(records: list[dict[str, Any]], report: dict[str, Any] | None) -> list[str]:
    """A finished run: start and end records, and a change line for every item it sent."""
    if report is None:
        return []
    runs = [r["run"] for r in records if r["event"] == "start"]
    if not runs:
        return ["no start record"]
    mine = [r for r in records if r["run"] == runs[-1]]
    gaps = [] if mine[-1]["event"] == "end" else ["no end record"]
    lined = {json.dumps(r["change"], sort_keys=True) for r in mine if r["event"] == "change"}
    for item in report["items"]:
        if item["attempts"] and json.dumps(item["id"], sort_keys=True) not in lined:
            gaps.append(f"{item['id']['kind']} {item['id']['subject']}: sent, no audit line")
    return gaps


def run_seed(
    seed: int, root: Path, *, rate: float = 0.45, kill: float = 0.5, runs: int = 3
) -> SeedResult:
    """One seed of the campaign (see the module doc)."""
    rng = random.Random(seed)
    result = SeedResult(seed)
    folder = root / f"seed-{seed}"
    folder.mkdir(parents=True)
    _site(folder)
    audit = folder / "audit.jsonl"
    store = demo_organisation()
    store.add_rule(AccessType.PROFESSIONAL, f"Campaign old rule {seed}", 'user.group = "Old"')
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state"), "PYTHONUTF8": "1"}
    with start_simulator(store) as sim:
        for run in range(1, runs + 1):
            sim.set_faults(write_faults(rate, seed * 100 + run))
            argv = [sys.executable, "-m", "licsync", "apply", "licenses", "--qrs-url", sim.url,
                    "--now", NOW, "--auto-approve", "--format", "json",
                    "--audit-log", str(audit)]  # fmt: skip
            child = subprocess.Popen(
                argv,
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            # At most one run of a seed is killed: converging in three runs needs two that end.
            killed = run < runs and not result.killed and rng.random() < kill
            if killed:
                time.sleep(rng.uniform(0.3, 2.5))  # start-up, reads and writes take ~1-3 s
                killed = child.poll() is None
                child.kill()
            out, _ = child.communicate(timeout=600)
            sim.set_faults(FaultPlan())
            result.killed += killed
            result.runs = run
            report = None
            if not killed:
                report = json.loads(out)
                result.items += len(report["items"])
                result.statuses.update(i["status"] for i in report["items"])
            plan = _plan(sim, folder)
            if report is not None:
                result.false_applied += [f"run {run}: {f}" for f in _check_truth(report, plan, sim)]
            records, broken = _audit_lines(audit)
            if broken:
                result.audit_gaps.append(f"run {run}: {broken}")
            result.audit_gaps += [f"run {run}: {g}" for g in _check_audit(records, report)]
            if not plan["changes"] and _rules_settled(sim, seed):
                result.converged = True
                break
        counts = sim.request_counts()
        result.writes = sum(counts.get(m, 0) for m in ("POST", "PUT", "DELETE"))
    return result


def campaign(
    seeds: range, *, rate: float = 0.45, kill: float = 0.5, root: Path | None = None
) -> list[SeedResult]:
    """Every seed of ``seeds``; the results in order."""
    with tempfile.TemporaryDirectory(prefix="licsync-faults-") as temp:
        base = root or Path(temp)
        return [run_seed(seed, base, rate=rate, kill=kill) for seed in seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.45, help="share of writes that fail")
    parser.add_argument("--kill", type=float, default=0.5, help="chance a run is killed")
    args = parser.parse_args()
    started = time.perf_counter()
    results: list[SeedResult] = []
    for seed in range(args.first, args.first + args.seeds):
        with tempfile.TemporaryDirectory(prefix="licsync-faults-") as temp:
            one = run_seed(seed, Path(temp), rate=args.rate, kill=args.kill)
        results.append(one)
        flags = [] if one.converged else ["NOT CONVERGED"]
        flags += one.false_applied + one.audit_gaps
        print(
            f"seed {seed}: runs {one.runs}, killed {one.killed}, items {one.items} "
            f"{dict(sorted(one.statuses.items()))}" + (f"  {'; '.join(flags)}" if flags else ""),
            flush=True,
        )
    converged = [r for r in results if r.converged]
    mean_runs = sum(r.runs for r in converged) / len(converged) if converged else 0.0
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
    print(f"statuses over all finished runs: {dict(sorted(statuses.items()))}")
    print(
        f"RESULT faults seeds={len(results)} converged={len(converged)} "
        f"false_applied={sum(len(r.false_applied) for r in results)} "
        f"audit_gaps={sum(len(r.audit_gaps) for r in results)} runs={mean_runs:.2f} "
        f"max_runs={max((r.runs for r in results), default=0)} "
        f"killed={sum(r.killed for r in results)} items={sum(r.items for r in results)} "
        f"writes={sum(r.writes for r in results)} "
        f"seconds={time.perf_counter() - started:.0f}"
    )


if __name__ == "__main__":
    main()
