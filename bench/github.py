"""Benchmark `licsync github comment` on a huge plan, against the GitHub stand-in.

A plan of N changes (default 50,000 reclaims) is written as JSON; then, in the same run:

- ours: `licsync github comment --pr 1 PLAN.json` in-process, against the stand-in of
  ``tests/github_standin.py`` over loopback (read the file, rebuild the plan, render a comment
  cut to 65,536 characters, list the pull request's 250 comments in 3 pages, post it);
- floor: what any comment of this plan costs: ``json.loads`` of the file plus one
  ``render_markdown`` of the plan already in memory (no HTTP).

Target: ratio = ours / floor <= 3 (the cut to fit renders the Markdown a few times: the
renderer's binary search over how many rows fit).

Ends with ``RESULT github ratio=<x> seconds=<t> comment_chars=<c> changes=<n>``.
Run from the repository root: ``python bench/github.py [--changes N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from benchlib import REPO, timed

sys.path.insert(0, str(REPO / "tests"))

from builders import NOW, PRO, actual, alloc, desired, policy, user
from github_standin import OWNER, TOKEN, serve
from github_standin import REPO as GH_REPO
from licsync.cli import main
from licsync.plan import plan
from licsync.policy import SafetyPolicy
from licsync.render import render_json, render_markdown
from licsync.signals import Signals


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=50_000)
    args = parser.parse_args()
    users = [user(f"CORP\\bench.user.{i:06d}") for i in range(args.changes)]
    state = actual(users, [alloc(PRO, u.display, used_days=30) for u in users])
    pol = policy(safety=SafetyPolicy(max_reclaims=10, max_reclaim_share=0.1, share_floor=5))
    big = plan(desired(site_policy=pol), state, Signals(), NOW)
    with tempfile.TemporaryDirectory() as folder, serve() as standin:
        path = Path(folder) / "plan.json"
        path.write_text(render_json(big), encoding="utf-8")
        for i in range(250):
            standin.add_comment(1, f"review comment {i}")
        os.environ.update(
            GITHUB_TOKEN=TOKEN,
            GITHUB_REPOSITORY=f"{OWNER}/{GH_REPO}",
            GITHUB_API_URL=standin.url,
        )

        def ours() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                code = main(["github", "comment", "--pr", "1", str(path)])
            if code != 0:
                raise SystemExit(f"licsync github comment exited {code}")

        def floor() -> None:
            json.loads(path.read_text(encoding="utf-8"))
            render_markdown(big)

        ours()  # warm up (imports, the first connection)
        floor_s = min(timed(floor) for _ in range(3))
        ours_s = min(timed(ours) for _ in range(3))
        body = standin.comments_on(1)[-1]["body"]
        size = path.stat().st_size
    print(f"plan: {args.changes:,} changes, JSON {size / 1e6:.1f} MB")
    print(f"floor (json.loads + one render_markdown): {floor_s:.2f} s")
    print(f"licsync github comment: {ours_s:.2f} s; comment {len(body):,} characters")
    print(
        f"RESULT github ratio={ours_s / floor_s:.2f} seconds={ours_s:.2f} "
        f"comment_chars={len(body)} changes={args.changes}"
    )


if __name__ == "__main__":
    main_bench()
