"""The GitHub Actions workflows: every ``licsync`` call they make exists in the CLI, and they keep
the house rules (least permissions, pinned actions, no ``pull_request_target``, the plan
artifact's name that ``github reviewed-plan`` looks up, secrets only where needed); the calls of
the plan and apply workflows run against the demo site as the workflows run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from cli_runner import Licsync
from inprocess import in_process_simulator
from licsync.cli.main import app
from licsync.keyfile import exposure
from licsync.sim.demo import DEMO_NOW, demo_organisation
from portable import WINDOWS

REPO = Path(__file__).resolve().parent.parent
GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))

SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
RELEASE_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\s*$")
RUNNER = "${{ fromJSON(vars.LICSYNC_RUNNER || '[\"ubuntu-latest\"]') }}"
SITES = "${{ fromJSON(vars.LICSYNC_SITES || '[\"demo\"]') }}"
APPLY_SITES = (
    "${{ github.event_name == 'workflow_dispatch' && fromJSON(format('[\"{0}\"]', inputs.site))"
    " || fromJSON(vars.LICSYNC_SITES || '[\"demo\"]') }}"
)
PLAN_WORKFLOW = GITHUB / "workflows" / "licenses-plan.yml"
APPLY_WORKFLOW = GITHUB / "workflows" / "licenses-apply.yml"
PLAN_ARTIFACT = "licsync-plan-${{ matrix.site }}-${{ github.event.pull_request.head.sha }}"
KEY_FILE = "licsync-client-key.pem"
# Words that end one shell command and start the next.
_SEPARATORS = {"&&", "||", "|", ";"}
_REDIRECTS = re.compile(r"^\d?>>?$|^<$")


@dataclass(frozen=True)
class Call:
    """One ``licsync …`` command line of a ``run:`` step."""

    workflow: str
    job: str
    step: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.workflow} {self.job} [{self.step}]: {shlex.join(self.argv)}"


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def _triggers(document: Mapping[Any, Any]) -> Any:
    # YAML 1.1 reads the key `on` as the boolean true.
    return document.get("on", document.get(True))


def _jobs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _load(path)["jobs"].items()


def _steps(path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_id, job in _jobs(path):
        for step in job.get("steps", []):
            yield job_id, job, step


def _commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a shell script, as words (quotes removed, variables kept)."""
    for line in script.replace("\\\n", " ").splitlines():
        words: list[str] = []
        for word in shlex.split(line, comments=True):
            if word in _SEPARATORS:
                if words:
                    yield words
                words = []
            else:
                words.append(word)
        if words:
            yield words


def _without_redirections(words: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif _REDIRECTS.match(word):
            skip = True
        else:
            kept.append(word)
    return kept


def licsync_calls(path: Path) -> list[Call]:
    """Every ``licsync`` command in the ``run:`` steps of one workflow."""
    calls = []
    for job_id, _job, step in _steps(path):
        for words in _commands(step.get("run", "")):
            if Path(words[0]).name in {"licsync", "licsync.exe"}:
                argv = tuple(_without_redirections(words[1:]))
                calls.append(Call(path.name, job_id, step.get("name", "run"), argv))
    return calls


ALL_CALLS = [call for path in WORKFLOWS for call in licsync_calls(path)]


def problems_of(argv: tuple[str, ...]) -> list[str]:
    """What is wrong with ``licsync ARGV`` against the real command tree (typer's click)."""
    command: Any = typer.main.get_command(app)
    args = list(argv)
    where = "licsync"
    while getattr(command, "commands", None) is not None:  # a group
        while args and args[0].startswith("-"):
            problems = _take_option(command, args, where)
            if problems:
                return problems
        if not args:
            return [f"{where}: no command given"]
        name = args.pop(0)
        sub = command.commands.get(name)
        if sub is None:
            return [f"{where}: no command {name!r} (has {sorted(command.commands)})"]
        command, where = sub, f"{where} {name}"
    positionals: list[str] = []
    while args:
        if args[0] == "--":
            positionals += args[1:]
            break
        if args[0].startswith("-") and args[0] != "-":
            problems = _take_option(command, args, where)
            if problems:
                return problems
        else:
            positionals.append(args.pop(0))
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    if any(p.nargs == -1 for p in arguments):
        return []
    if len(positionals) > sum(p.nargs for p in arguments):
        return [f"{where}: too many arguments {positionals}"]
    missing = [p.name for p in arguments[len(positionals) :] if p.required]
    return [f"{where}: missing argument {name}" for name in missing]


def _take_option(command: Any, args: list[str], where: str) -> list[str]:
    word = args.pop(0)
    name, has_value, _ = word.partition("=")
    options = {
        opt: param
        for param in command.params
        if param.param_type_name == "option"
        for opt in (*param.opts, *param.secondary_opts)
    }
    if name in {"--help", "-h"}:
        return []
    param = options.get(name)
    if param is None:
        return [f"{where}: no option {name} (has {sorted(options)})"]
    if param.is_flag:
        return [f"{where}: {name} takes no value"] if has_value else []
    if not has_value:
        if not args:
            return [f"{where}: {name} needs a value"]
        args.pop(0)
    return []


def test_the_workflows_call_licsync() -> None:
    """The calls the workflows make are found (so the checks below check something)."""
    called = {(c.workflow, c.argv[0]) for c in ALL_CALLS}
    assert called >= {
        ("licenses-plan.yml", "validate"),
        ("licenses-plan.yml", "plan"),
        ("licenses-plan.yml", "ci"),
        ("licenses-apply.yml", "ci"),
        ("licenses-apply.yml", "apply"),
        ("licenses-reclaim.yml", "propose"),
    }


@pytest.mark.parametrize("call", ALL_CALLS, ids=str)
def test_every_licsync_call_names_a_command_and_options_that_exist(call: Call) -> None:
    """Each call's command, options and argument count are those of the real CLI."""
    assert problems_of(call.argv) == [], str(call)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (("plna", "licenses"), "no command 'plna'"),
        (("plan", "--sites", "x"), "no option --sites"),
        (("plan", "--site"), "--site needs a value"),
        (("plan", "--detailed-exitcode=yes"), "takes no value"),
        (("validate", "a", "b"), "too many arguments"),
        (("sim", "certs"), "missing argument"),
        (("sim",), "no command given"),
    ],
)
def test_the_call_checker_catches_what_the_cli_would_refuse(
    argv: tuple[str, ...], problem: str, licsync: Licsync
) -> None:
    """A misspelt command or option, a missing value or argument: found, as the CLI finds it."""
    (found,) = problems_of(argv)
    assert problem in found
    assert licsync(list(argv)).exit_code == 64


def test_every_command_the_workflows_call_is_checked() -> None:
    """A wrong option of any command is a problem, the github and propose commands included."""
    for name in ("apply", "github comment", "github reviewed-plan", "github issue", "propose"):
        assert problems_of((*name.split(), "--no-such-option-anywhere")) != [], name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_at_the_top_and_granted_per_job(path: Path) -> None:
    """``permissions: {}`` for the workflow; each job names exactly what it needs."""
    document = _load(path)
    assert document["permissions"] == {}
    for job_id, job in _jobs(path):
        assert isinstance(job.get("permissions"), dict), f"{path.name} {job_id}"
        assert "write-all" not in str(job["permissions"])
        assert set(job["permissions"].values()) <= {"read", "write", "none"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_named_by_its_release(path: Path) -> None:
    """``uses: owner/repo@<40 hex>  # vX.Y.Z``: a tag can be moved, a commit cannot."""
    uses = [step["uses"] for _, _, step in _steps(path) if "uses" in step]
    assert uses, path.name
    for action in uses:
        assert SHA_PIN.match(action), f"{path.name}: {action}"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert len(lines) == len(uses)
    for line in lines:
        assert RELEASE_COMMENT.search(line), f"{path.name}: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_workflow_runs_on_pull_request_target(path: Path) -> None:
    """``pull_request_target`` runs with secrets on a pull request's say: never."""
    triggers = _triggers(_load(path))
    names = set(triggers) if isinstance(triggers, dict | list) else {triggers}
    assert names.isdisjoint({"pull_request_target", "workflow_run"})
    assert "pull_request_target" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_leave_no_credentials_behind(path: Path) -> None:
    """Every checkout sets ``persist-credentials: false``: later steps find no token in .git."""
    checkouts = [s for _, _, s in _steps(path) if s.get("uses", "").startswith("actions/checkout")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path: Path) -> None:
    """Values reach ``run:`` through ``env:`` only, so no branch name or title becomes code."""
    for job_id, _job, step in _steps(path):
        assert "${{" not in step.get("run", ""), f"{path.name} {job_id} {step.get('name')}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_secrets_only_in_jobs_behind_an_environment(path: Path) -> None:
    """A secret is read only in a job bound to a site's environment, and only by a step."""
    for job_id, job in _jobs(path):
        outside_steps = {key: value for key, value in job.items() if key != "steps"}
        assert "secrets." not in json.dumps(outside_steps), f"{path.name} {job_id}"
        if "secrets." in json.dumps(job.get("steps", [])):
            assert str(job.get("environment", "")).startswith("licenses-"), f"{job_id}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_client_key_goes_to_the_runner_temp_folder_and_is_always_removed(path: Path) -> None:
    """Each job writing the key removes it in a later ``if: always()`` step."""
    for job_id, job in _jobs(path):
        steps = job.get("steps", [])
        writes = [i for i, s in enumerate(steps) if "QLIK_CLIENT_KEY_PEM" in s.get("env", {})]
        if not writes:
            continue
        (write,) = writes
        assert "RUNNER_TEMP" in steps[write]["run"]
        assert KEY_FILE in steps[write]["run"]
        assert "licsync key write --from-env QLIK_CLIENT_KEY_PEM" in " ".join(
            steps[write]["run"].split()
        )
        (remove,) = [s for s in steps[write + 1 :] if "Remove-Item" in s.get("run", "")]
        assert remove["if"] == "always()", f"{path.name} {job_id}"
        assert KEY_FILE in remove["run"]
        assert steps[-1] is remove, "removing the key is the last step"
        users = [s for s in steps if "QLIK_CLIENT_KEY" in s.get("env", {})]
        for step in users:
            assert step["env"]["QLIK_CLIENT_KEY"] == "${{ runner.temp }}/" + KEY_FILE


def _licence_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOWS:
        if path.name.startswith("licenses-"):
            for job_id, job in _jobs(path):
                yield path.name, job_id, job


def test_licence_jobs_run_where_the_repository_variables_say() -> None:
    """``runs-on`` from LICSYNC_RUNNER and the sites from LICSYNC_SITES, as docs/ci.md says."""
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    jobs = list(_licence_jobs())
    assert len(jobs) == 4
    for workflow, job_id, job in jobs:
        assert job["runs-on"] == RUNNER, f"{workflow} {job_id}"
        if job_id != "validate":
            # apply by hand (workflow_dispatch) runs the one site asked for, if it is listed
            expected = APPLY_SITES if workflow == "licenses-apply.yml" else SITES
            assert job["strategy"]["matrix"]["site"] == expected
            assert job["strategy"]["fail-fast"] is False
    for name in ("LICSYNC_RUNNER", "LICSYNC_SITES", "QLIK_CLIENT_KEY_PEM", "LICSYNC_PR_TOKEN"):
        assert name in docs


def test_the_plan_artifact_is_named_as_reviewed_plan_looks_it_up() -> None:
    """``licsync-plan-<site>-<head sha>`` holding the one file ``plan.json``, from ``--out``."""
    path = PLAN_WORKFLOW
    uploads = [s for _, _, s in _steps(path) if s.get("uses", "").startswith("actions/upload")]
    (upload,) = uploads
    assert upload["with"]["name"] == PLAN_ARTIFACT
    assert upload["with"]["path"] == "plan.json"
    # Only on a pull request (not in a merge queue), and never with a status function: the
    # implicit success() keeps a failed or blocked plan from being kept for apply.
    assert upload.get("if") == "${{ github.event_name == 'pull_request' }}"
    (plan,) = [c for c in licsync_calls(path) if c.argv[0] == "plan"]
    assert plan.argv[plan.argv.index("--out") + 1] == "plan.json"
    assert plan.argv[plan.argv.index("--format") + 1] == "json"
    assert not re.search(r"[^-\w${}.\s]", PLAN_ARTIFACT.replace("${{", "").replace("}}", ""))


def test_apply_runs_one_site_at_a_time_behind_its_environment() -> None:
    """A concurrency group per site, never cancelled; the site's protected environment."""
    path = APPLY_WORKFLOW
    ((_, job),) = _jobs(path)
    assert job["environment"] == "licenses-${{ matrix.site }}"
    assert job["concurrency"] == {
        "group": "licenses-apply-${{ matrix.site }}",
        "cancel-in-progress": False,
    }
    triggers = _triggers(_load(path))
    assert triggers["push"] == {"branches": ["main"], "paths": ["licenses/**"]}
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert {name: i["required"] for name, i in inputs.items()} == {"site": True, "checksum": True}
    reviewed, by_hand = [c for c in licsync_calls(path) if c.argv[0] == "apply"]
    assert {"--plan", "--audit-log", "--detailed-exitcode"} <= set(reviewed.argv)
    # The emergency apply is bound to the checksum of the plan a person read.
    assert {"--checksum", "--audit-log", "--detailed-exitcode"} <= set(by_hand.argv)
    for apply in (reviewed, by_hand):
        assert "--auto-approve" not in apply.argv
        assert "--force" not in apply.argv


def test_ci_runs_the_same_script_as_here_on_each_python() -> None:
    """ci.yml runs .ci/run on 3.11, 3.12 and 3.13, and .ci/run lints the workflows."""
    jobs = dict(_jobs(GITHUB / "workflows" / "ci.yml"))
    job = jobs["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    assert job["steps"][-1]["run"] == "bash .ci/run"
    windows = jobs["windows"]
    assert windows["runs-on"] == "windows-latest"
    assert windows["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    assert "pytest" in windows["steps"][-1]["run"]
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/actionlint\n" in script
    assert ".venv/bin/zizmor --offline .github\n" in script


def test_dependabot_keeps_the_pinned_actions_current() -> None:
    """Dependabot watches the github-actions ecosystem, so the pins are upgraded, not frozen."""
    config = _load(GITHUB / "dependabot.yml")
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert "github-actions" in ecosystems


# -- the calls, run as the workflows run them, against the demo site ---------------------------


def _expand(word: str, env: Mapping[str, str]) -> str:
    """``$env:NAME`` (PowerShell, as the steps run) replaced by its value."""
    return re.sub(r"\$env:(\w+)", lambda m: env[m.group(1)], word)


def _step_argv(path: Path, name: str, contexts: Mapping[str, str]) -> list[str]:
    """The ``licsync`` words of the step called ``name``, with its ``env:`` filled in."""
    ((step,),) = [[s for _, _, s in _steps(path) if s.get("name") == name]]
    env = {"RUNNER_TEMP": contexts["runner.temp"]}
    for key, value in step.get("env", {}).items():
        env[key] = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: contexts[m.group(1)], value)
    (words,) = list(_commands(step["run"]))
    assert words[0] == "licsync"
    return [_expand(word, env) for word in _without_redirections(words[1:])]


def test_the_plan_and_apply_steps_work_on_the_demo_site(
    example: Path, tmp_path: Path, licsync: Licsync
) -> None:
    """validate, plan --out plan.json, then apply --plan of that plan, as the steps say (against
    the embedded demo site, which the site file names)."""
    contexts = {"matrix.site": "demo", "runner.temp": str(tmp_path / "temp")}
    (tmp_path / "temp").mkdir()

    validate = licsync(_step_argv(PLAN_WORKFLOW, "Validate", contexts))
    assert validate.exit_code == 0, validate.output

    planned = licsync(_step_argv(PLAN_WORKFLOW, "Plan", contexts))
    assert planned.exit_code == 0, planned.output
    plan = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    assert plan["site"] == "demo"
    assert plan["changes"]

    applied = licsync(_step_argv(APPLY_WORKFLOW, "Apply", contexts))
    assert applied.exit_code == 0, applied.output
    log = tmp_path / "temp" / "licsync-audit.jsonl"  # outside the checkout
    assert not Path("audit.jsonl").exists()
    audit = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert audit[0]["event"] == "start"
    assert audit[-1]["event"] == "end"
    changes = [record for record in audit if record["event"] == "change"]
    assert {r["outcome"] for r in changes} <= {"applied", "already"}
    assert len({json.dumps(r["change"], sort_keys=True) for r in changes}) == len(plan["changes"])


def test_after_the_apply_step_the_next_plan_is_empty(
    example: Path, tmp_path: Path, licsync: Licsync
) -> None:
    """Against one live demo site: the plan step, the apply step of that plan, then the plan
    step again has nothing left to do (the steps' own words, pointed at the simulator)."""
    contexts = {"matrix.site": "demo", "runner.temp": str(tmp_path)}
    with in_process_simulator(demo_organisation()) as sim:
        site = ["--qrs-url", sim.url, "--now", DEMO_NOW.isoformat()]
        planned = licsync([*_step_argv(PLAN_WORKFLOW, "Plan", contexts), *site])
        assert planned.exit_code == 0, planned.output
        reviewed = json.loads(Path("plan.json").read_text(encoding="utf-8"))
        assert reviewed["changes"]

        applied = licsync([*_step_argv(APPLY_WORKFLOW, "Apply", contexts), *site])
        assert applied.exit_code == 0, applied.output

        again = licsync([*_step_argv(PLAN_WORKFLOW, "Plan", contexts), *site])
        assert again.exit_code == 0, again.output
        assert json.loads(Path("plan.json").read_text(encoding="utf-8"))["changes"] == []


def test_a_blocked_plan_fails_the_plan_step(
    example: Path, tmp_path: Path, licsync: Licsync
) -> None:
    """Over a safety cap the step exits 3, and the plan is written for the comment to show."""
    site = example / "site.yaml"
    site.write_text(
        site.read_text(encoding="utf-8").replace("max_reclaims: 10", "max_reclaims: 1"),
        encoding="utf-8",
    )
    contexts = {"matrix.site": "demo", "runner.temp": str(tmp_path)}
    planned = licsync(_step_argv(PLAN_WORKFLOW, "Plan", contexts))
    assert planned.exit_code == 3, planned.output
    assert json.loads(Path("plan.json").read_text(encoding="utf-8"))["safety"]["blocked"] is True


def test_invalid_files_fail_the_validate_step_with_annotations(
    example: Path, tmp_path: Path, licsync: Licsync
) -> None:
    """A misspelt access type: exit 1 and a ``::error file=…`` annotation on that file."""
    professional = example / "professional.yaml"
    professional.write_text(
        professional.read_text(encoding="utf-8").replace("professional:", "profesional:", 1),
        encoding="utf-8",
    )
    contexts = {"matrix.site": "demo", "runner.temp": str(tmp_path)}
    result = licsync(_step_argv(PLAN_WORKFLOW, "Validate", contexts))
    assert result.exit_code == 1
    assert "::error file=licenses/professional.yaml" in result.stdout


def _key_steps() -> Iterator[Any]:
    for path in WORKFLOWS:
        for job_id, job in _jobs(path):
            steps = job.get("steps", [])
            for i, step in enumerate(steps):
                if "QLIK_CLIENT_KEY_PEM" in step.get("env", {}):
                    (remove,) = [s for s in steps[i + 1 :] if "Remove-Item" in s.get("run", "")]
                    yield pytest.param(step, remove, id=f"{path.name} {job_id}")


@pytest.mark.parametrize(("write", "remove"), list(_key_steps()))
def test_the_key_steps_write_the_key_for_the_owner_only_and_remove_it(
    write: dict[str, Any],
    remove: dict[str, Any],
    tmp_path: Path,
    licsync: Licsync,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write step's licsync call, as the runner makes it: the secret, for the owner only
    (mode 0600; on Windows an ACL); the remove step, run by pwsh where there is one."""
    secret = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    monkeypatch.setenv("QLIK_CLIENT_KEY_PEM", secret)
    (words,) = list(_commands(write["run"]))
    assert words[0] == "licsync"
    written = licsync([_expand(word, {"RUNNER_TEMP": str(tmp_path)}) for word in words[1:]])
    assert written.exit_code == 0, written.output
    key = tmp_path / KEY_FILE
    assert key.read_bytes() == secret.encode()
    assert secret not in written.output
    assert exposure(key) is None
    if not WINDOWS:
        assert key.stat().st_mode & 0o777 == 0o600
    pwsh = shutil.which("pwsh")
    if pwsh is None:
        return  # GitHub's runners have it; this machine may not
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path)}
    subprocess.run([pwsh, "-NoProfile", "-Command", remove["run"]], env=env, check=True)
    assert not key.exists()


@pytest.mark.parametrize("path", [p for p in WORKFLOWS if p.name.startswith("licenses-")])
def test_licence_workflows_need_no_bash_and_run_python_in_utf8_mode(path: Path) -> None:
    """pwsh runs every step (on Linux and on a self-hosted Windows runner); Python is UTF-8."""
    document = _load(path)
    assert document["defaults"]["run"]["shell"] == "pwsh"
    assert document["env"]["PYTHONUTF8"] == "1"
    for job_id, job in _jobs(path):
        assert job.get("defaults", {}).get("run", {}).get("shell", "pwsh") == "pwsh", job_id
        for step in job.get("steps", []):
            assert step.get("shell", "pwsh") == "pwsh", f"{job_id} {step.get('name')}"
            assert "$" not in re.sub(r"\$env:\w+|\$LASTEXITCODE|\$code", "", step.get("run", ""))


def test_a_merge_queue_gets_the_plan_check_but_no_comment_or_artifact() -> None:
    """merge_group runs validate and plan on the queued state; only a pull request comments
    and keeps the plan apply will look for."""
    document = _load(PLAN_WORKFLOW)
    assert "merge_group" in _triggers(document)
    assert (
        "github.ref" in document["concurrency"]["group"]
    )  # queue entries do not cancel each other
    steps = {s.get("name"): s for _, _, s in _steps(PLAN_WORKFLOW)}
    assert "github.event_name == 'pull_request'" in steps["Comment on the pull request"]["if"]
    assert "merge_group" in document["jobs"]["validate"]["if"]


@pytest.mark.parametrize("name", ["plan", "apply", "propose"])
def test_the_reusable_workflows_take_what_the_generated_callers_give(name: str) -> None:
    """Each reusable-*.yml is a workflow_call whose inputs are exactly what `licsync init
    --forge github` passes (nothing unknown, nothing required missing)."""
    from licsync.scaffold import Scaffold, files_for

    reusable = _load(GITHUB / "workflows" / f"reusable-{name}.yml")
    inputs = _triggers(reusable)["workflow_call"]["inputs"]
    caller_name = {"plan": "plan", "apply": "apply", "propose": "reclaim"}[name]
    files = files_for("github", Scaffold(("prod",), "licsync==1.0.0", "acme/licsync@" + "a" * 40))
    caller = yaml.safe_load(files[f".github/workflows/licenses-{caller_name}.yml"])
    ((_, job),) = caller["jobs"].items()
    assert job["uses"] == f"acme/licsync/.github/workflows/reusable-{name}.yml@{'a' * 40}"
    given = set(job["with"])
    assert given <= set(inputs)
    assert {k for k, v in inputs.items() if v.get("required")} <= given
    # The caller grants the reusable jobs' permissions (a called job cannot have more).
    for called in reusable["jobs"].values():
        for scope, level in called.get("permissions", {}).items():
            assert job["permissions"].get(scope) in (level, "write"), (name, scope)
