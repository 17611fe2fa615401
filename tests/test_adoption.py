"""Done when: a new repository holding only ``licenses/`` and the CI files ``licsync init``
writes plans on a pull request and applies on merge, against the simulator, with licsync
installed from a built wheel (not from source), for each forge through its stand-in.

The wheel is built once per session and installed (without its dependencies, which come from
the test environment) into a fresh virtual environment; every command runs there as a
subprocess. The commands run are the ``licsync`` command lines of the generated files, as
written, with the CI's variables; what the CI itself does between them (uploading an artifact,
merging) is done to the stand-in.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from azure_standin import AzureStandIn
from built_wheel import REPO, built_wheel
from github_standin import GitHubStandIn, plan_zip
from gitlab_standin import GitLabStandIn
from licsync.identity import AccessType
from licsync.qrs import QrsClient, read_actual
from licsync.sim import SimStore, Simulator, start_simulator
from licsync.sim.seed import synthetic_organisation

START_DAYS = "2026-06-01T12:00:00+00:00"
MERGE, HEAD = "e" * 40, "1" * 40
PR = 7


@dataclass(frozen=True)
class Installed:
    """licsync installed from its wheel into a virtual environment of its own."""

    python: Path
    licsync: Path
    wheel: Path


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    wheel = built_wheel(tmp_path_factory)
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # The dependencies (httpx, PyYAML, ...) from this test environment, behind the venv's own
    # site-packages: licsync itself is the wheel's.
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    where = subprocess.run(
        [str(python), "-c", "import licsync; print(licsync.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # not the source tree's
    return Installed(python, scripts / ("licsync.exe" if os.name == "nt" else "licsync"), wheel)


@pytest.fixture
def site_sim() -> Iterator[Simulator]:
    import datetime as dt

    store: SimStore = synthetic_organisation(400, 4, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    with start_simulator(store) as running:  # the commands run in processes of their own
        yield running


_VARIABLE = re.compile(r"\$\((\w+(?:\.\w+)*)\)|\$\{(\w+)\}|\$(?:env:)?(\w+)")


def _expand(word: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2] or match[3]
        # Azure's $(System.AccessToken) macro is the variable SYSTEM_ACCESSTOKEN.
        key = name.upper().replace(".", "_")
        assert key in env, f"the pipeline uses {match[0]}, which this test does not set"
        return env[key]

    return _VARIABLE.sub(value, word)


def run_lines(
    installed: Installed, script: list[str], env: Mapping[str, str], cwd: Path
) -> list[tuple[list[str], subprocess.CompletedProcess[str]]]:
    """Run the ``licsync`` command lines of ``script`` as the CI's shell would: variables
    expanded, ``> FILE`` writing stdout there, ``|| ...`` ignoring a failure."""
    done = []
    for raw in script:
        for line in raw.splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] != "licsync":
                continue
            tolerant = "||" in words
            words = words[: words.index("||")] if tolerant else words
            target = None
            if ">" in words:
                target = cwd / _expand(words[words.index(">") + 1], env)
                words = words[: words.index(">")]
            argv = [_expand(w, env) for w in words[1:]]
            result = subprocess.run(
                [str(installed.licsync), *argv],
                capture_output=True,
                text=True,
                check=False,
                cwd=cwd,
                env={**env, "PATH": os.environ.get("PATH", "")},
                timeout=300,
            )
            if target is not None:
                target.write_text(result.stdout, encoding="utf-8")
            assert tolerant or result.returncode == 0, (line, result.stdout, result.stderr)
            done.append((argv, result))
    return done


def _base_env(tmp_path: Path) -> dict[str, str]:
    keep = ("SYSTEMROOT", "TEMP", "TMP", "HOME", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def _new_repository(
    installed: Installed, sim: Simulator, tmp_path: Path, env: dict[str, str]
) -> tuple[Path, str]:
    """A repository with only licenses/ (the site dumped from the simulator)."""
    repo = tmp_path / "licences-repo"
    repo.mkdir()
    run_lines(
        installed,
        [f"licsync dump --qrs-url {sim.url} --out licenses --ownership authoritative"],
        env,
        repo,
    )
    site = yaml.safe_load((repo / "licenses" / "site.yaml").read_text(encoding="utf-8"))["site"]
    return repo, str(site["name"])


def _add_two_allocations(repo: Path, sim: Simulator) -> set[str]:
    """The pull request: two people without a seat get a professional one."""

    with QrsClient(sim.url) as client:
        actual = read_actual(client).actual
    holders = {a.key for t in AccessType for a in actual.allocations_of(t)}
    free = sorted(
        f"{u.directory}\\{u.userid}"
        for key, u in actual.users.items()
        if key not in holders
        and u.directory == "CORP"
        and not (u.inactive or u.removed_externally or u.blocked)
    )[:2]
    path = repo / "licenses" / "professional.yaml"
    text = path.read_text(encoding="utf-8")
    entries = "".join(f"    - user: {user}\n" for user in free)
    assert "  allocations:\n" in text
    path.write_text(
        text.replace("  allocations:\n", "  allocations:\n" + entries, 1), encoding="utf-8"
    )
    return set(free)


def _only_licenses_and(repo: Path, *files: str) -> None:
    present = {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()}
    assert {p for p in present if not p.startswith("licenses/")} == set(files)


def _plan_changes(plan_file: Path) -> set[str]:
    return {c.get("user") for c in json.loads(plan_file.read_text(encoding="utf-8"))["changes"]}


@pytest.mark.slow
def test_a_gitlab_project_plans_a_merge_request_and_applies_the_merge(
    installed: Installed, site_sim: Simulator, gitlab: GitLabStandIn, tmp_path: Path
) -> None:
    env = _base_env(tmp_path)
    repo, site = _new_repository(installed, site_sim, tmp_path, env)
    run_lines(installed, [f"licsync init --forge gitlab --site {site} --version 1.0.0"], env, repo)
    _only_licenses_and(repo, ".gitlab-ci.yml")
    pipeline: dict[str, Any] = yaml.safe_load((repo / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert pipeline[f"licsync-apply-{site}"]["resource_group"] == f"licsync-{site}"
    people = _add_two_allocations(repo, site_sim)

    ci = {
        **env,
        **{
            k: v for k, v in os.environ.items() if k.startswith(("CI_", "GITLAB", "LICSYNC_GITLAB"))
        },
    }
    gitlab.add_merge_request(PR, head_sha=HEAD, merged=False)
    merge_request = {
        **ci,
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": str(PR),
        "CI_COMMIT_SHA": HEAD,
    }
    run_lines(installed, pipeline["licsync-validate"]["script"], merge_request, repo)
    report = json.loads((repo / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert all(issue["severity"] == "minor" for issue in report)  # valid: warnings at most
    job = pipeline[f"licsync-plan-{site}"]
    job_env = {
        **merge_request,
        **{k: _expand(str(v), merge_request) for k, v in job["variables"].items()},
    }
    run_lines(installed, job["script"], job_env, repo)
    assert _plan_changes(repo / "plan.json") == people
    (note,) = gitlab.notes_on(PR)
    assert note["body"].startswith(f"<!-- licsync:plan site={site} checksum=")
    # The runner keeps the job's artifact; the merge request is merged.
    gitlab.add_plan_job(PR, site, (repo / "plan.json").read_bytes())
    gitlab.merge_requests[PR].update(state="merged", merge_commit_sha=MERGE)
    gitlab.requests_by_commit.setdefault(MERGE, []).append(PR)
    (repo / "plan.json").unlink()

    push = {**ci, "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": MERGE, "CI_COMMIT_BRANCH": "main"}
    job = pipeline[f"licsync-apply-{site}"]
    run_lines(installed, job["script"], {**push, "SITE": site}, repo)
    audit = [
        json.loads(line) for line in (repo / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert audit[0]["actor"]["ci"] == "gitlab"
    assert {r["subject"] for r in audit if r["event"] == "change"} >= people
    after = run_lines(
        installed, [f"licsync plan licenses --site {site} --detailed-exitcode"], push, repo
    )
    assert after[0][1].returncode == 0


def _steps_scripts(steps: list[dict[str, Any]], *, skip_failure_steps: bool = True) -> list[str]:
    return [
        str(step["script"])
        for step in steps
        if "script" in step and not (skip_failure_steps and step.get("condition") == "failed()")
    ]


@pytest.mark.slow
def test_an_azure_repository_plans_a_pull_request_and_applies_the_merge(
    installed: Installed, site_sim: Simulator, azure: AzureStandIn, tmp_path: Path
) -> None:
    env = _base_env(tmp_path)
    repo, site = _new_repository(installed, site_sim, tmp_path, env)
    run_lines(installed, [f"licsync init --forge azure --site {site}"], env, repo)
    _only_licenses_and(repo, "azure-pipelines.yml")
    pipeline: dict[str, Any] = yaml.safe_load(
        (repo / "azure-pipelines.yml").read_text(encoding="utf-8")
    )
    plan_stage, apply_stage = pipeline["stages"]
    assert apply_stage["lockBehavior"] == "sequential"
    people = _add_two_allocations(repo, site_sim)

    ci = {
        **env,
        **{k: v for k, v in os.environ.items() if k.startswith(("TF_BUILD", "SYSTEM_", "BUILD_"))},
    }
    azure.add_pull(PR, head_sha=HEAD, merge_sha=None, completed=False)
    pull_request = {
        **ci,
        "BUILD_REASON": "PullRequest",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": str(PR),
        "SYSTEM_PULLREQUEST_SOURCECOMMITID": HEAD,
    }
    jobs = {job["job"]: job for job in plan_stage["jobs"]}
    run_lines(installed, _steps_scripts(jobs["validate"]["steps"]), pull_request, repo)
    job = jobs[f"plan_{site.replace('-', '_').replace('.', '_')}"]
    variables = {v["name"]: v["value"] for v in job["variables"] if "name" in v}
    job_env = {**pull_request, **{k: _expand(v, pull_request) for k, v in variables.items()}}
    run_lines(installed, _steps_scripts(job["steps"]), job_env, repo)
    assert _plan_changes(repo / "plan.json") == people
    (thread,) = azure.threads.values()
    assert thread["comments"][0]["content"].startswith(f"<!-- licsync:plan site={site} checksum=")
    # The build publishes the artifact; the pull request is completed.
    (publish,) = [s for s in job["steps"] if s.get("task") == "PublishBuildArtifacts@1"]
    assert _expand(publish["inputs"]["ArtifactName"], job_env) == f"licsync-plan-{site}-{HEAD}"
    azure.add_plan_build(PR, site, (repo / "plan.json").read_bytes())
    azure.add_pull(PR, head_sha=HEAD, merge_sha=MERGE)
    (repo / "plan.json").unlink()

    push = {**ci, "BUILD_REASON": "IndividualCI", "BUILD_SOURCEVERSION": MERGE, "SITE": site}
    (deployment,) = apply_stage["jobs"]
    assert deployment["environment"] == f"licenses-{site}"
    steps = deployment["strategy"]["runOnce"]["deploy"]["steps"]
    run_lines(installed, _steps_scripts(steps), push, repo)
    audit = [
        json.loads(line) for line in (repo / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert audit[0]["actor"]["ci"] == "azure"
    assert {r["subject"] for r in audit if r["event"] == "change"} >= people
    after = run_lines(
        installed, [f"licsync plan licenses --site {site} --detailed-exitcode"], push, repo
    )
    assert after[0][1].returncode == 0


# --- GitHub: the caller workflows run licsync's reusable workflows -----------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _github_value(expression: str, context: Mapping[str, str]) -> str:
    assert expression in context, f"the workflow uses ${{{{ {expression} }}}}, not set here"
    return context[expression]


def _github_if(condition: str, context: Mapping[str, str], cwd: Path) -> bool:
    """The few forms of `if:` the reusable workflows use, evaluated as Actions would."""
    text = _EXPRESSION.sub(lambda m: m[1], condition.strip())
    text = text.replace("github.event_name", repr(context["github.event_name"]))
    text = re.sub(
        r"hashFiles\('([^']+)'\)", lambda m: repr("h" if (cwd / m[1]).exists() else ""), text
    )
    text = text.replace("!cancelled()", "True").replace("always()", "True")
    text = text.replace("failure()", "False").replace("&&", " and ").replace("||", " or ")
    assert re.fullmatch(r"[\w\s'=!()]+", text), text
    return bool(eval(text))


def run_github_job(
    installed: Installed,
    job: Mapping[str, Any],
    context: Mapping[str, str],
    env: Mapping[str, str],
    cwd: Path,
) -> list[str]:
    """Run a job's licsync steps: `run:` lines with their `env:` evaluated; returns the names of
    the `uses:` steps the job would run (for the test to do what they do)."""
    uses = []
    for step in job["steps"]:
        if "if" in step and not _github_if(str(step["if"]), context, cwd):
            continue
        if "uses" in step:
            uses.append(str(step["uses"]).split("@", 1)[0])
            continue
        step_env = {
            k: _EXPRESSION.sub(lambda m: _github_value(m[1], context), str(v))
            for k, v in step.get("env", {}).items()
        }
        run_lines(installed, [str(step["run"])], {**env, **step_env}, cwd)
    return uses


@pytest.mark.slow
def test_a_github_repository_plans_a_pull_request_and_applies_the_merge(
    installed: Installed, site_sim: Simulator, github: GitHubStandIn, tmp_path: Path
) -> None:
    env = _base_env(tmp_path)
    repo, site = _new_repository(installed, site_sim, tmp_path, env)
    pin = "0123456789abcdef" * 2 + "01234567"
    run_lines(
        installed,
        [f"licsync init --forge github --site {site} --workflows acme/licsync@{pin}"],
        env,
        repo,
    )
    callers = {p: f".github/workflows/licenses-{p}.yml" for p in ("plan", "apply", "reclaim")}
    _only_licenses_and(repo, *callers.values())
    plan_caller = yaml.safe_load((repo / callers["plan"]).read_text(encoding="utf-8"))
    called = plan_caller["jobs"]["plan"]["uses"]
    assert called == f"acme/licsync/.github/workflows/reusable-plan.yml@{pin}"
    inputs = plan_caller["jobs"]["plan"]["with"]
    assert json.loads(inputs["sites"]) == [site]
    reusable = {
        name: yaml.safe_load(
            (REPO / ".github" / "workflows" / f"reusable-{name}.yml").read_text(encoding="utf-8")
        )
        for name in ("plan", "apply")
    }
    people = _add_two_allocations(repo, site_sim)
    github.add_pull(PR, head_sha=HEAD, merged=False)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    ci = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": os.environ["GITHUB_REPOSITORY"],
        "GITHUB_API_URL": os.environ["GITHUB_API_URL"],
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
    }
    context = {
        "github.event_name": "pull_request",
        "github.token": os.environ["GITHUB_TOKEN"],
        "github.event.pull_request.number": str(PR),
        "github.sha": MERGE,
        "matrix.site": site,
        "runner.temp": str(runner_temp),
        "secrets.QLIK_CLIENT_KEY_PEM": "",
        "inputs.licsync": inputs["licsync"],
        "inputs.checksum": "",
    }
    run_github_job(installed, reusable["plan"]["jobs"]["validate"], context, ci, repo)
    used = run_github_job(installed, reusable["plan"]["jobs"]["plan"], context, ci, repo)
    assert "actions/upload-artifact" in used
    assert _plan_changes(repo / "plan.json") == people
    (comment,) = github.comments_on(PR)
    assert comment["body"].startswith(f"<!-- licsync:plan site={site} checksum=")
    assert comment["body"] in (runner_temp / "summary.md").read_text(encoding="utf-8")
    # upload-artifact keeps the plan under the name the step gives; the run is the caller's
    # licenses-plan.yml on the pull request (the stand-in's default run); then the merge.
    (upload,) = [
        s
        for s in reusable["plan"]["jobs"]["plan"]["steps"]
        if "upload-artifact" in s.get("uses", "")
    ]
    context["github.event.pull_request.head.sha"] = HEAD
    name = _EXPRESSION.sub(lambda m: _github_value(m[1], context), upload["with"]["name"])
    github.add_artifact(name, HEAD, plan_zip((repo / "plan.json").read_bytes()))
    github.add_pull(PR, head_sha=HEAD, merge_sha=MERGE)
    (repo / "plan.json").unlink()

    context["github.event_name"] = "push"
    run_github_job(installed, reusable["apply"]["jobs"]["apply"], context, ci, repo)
    audit = [
        json.loads(line)
        for line in (runner_temp / "licsync-audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert audit[0]["actor"]["ci"] == "github"
    assert {r["subject"] for r in audit if r["event"] == "change"} >= people
    assert "### licsync apply: site" in (runner_temp / "summary.md").read_text(encoding="utf-8")
    after = run_lines(
        installed, [f"licsync plan licenses --site {site} --detailed-exitcode"], ci, repo
    )
    assert after[0][1].returncode == 0
