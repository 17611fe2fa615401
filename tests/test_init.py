"""``licsync init``: the CI files of a licence repository for each forge, pinned licsync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cli_runner import Licsync
from licsync import __version__

SHA = "0123456789abcdef" * 4


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_gitlab_has_a_resource_group_and_a_protected_environment_per_site(
    licsync: Licsync, tmp_path: Path
) -> None:
    result = licsync(
        ["init", "--forge", "gitlab", "--site", "prod", "--site", "test", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    ci = _load(tmp_path / ".gitlab-ci.yml")
    for site in ("prod", "test"):
        apply = ci[f"licsync-apply-{site}"]
        assert apply["resource_group"] == f"licsync-{site}"
        assert apply["environment"] == {"name": f"licenses-{site}"}
        assert ci[f"licsync-plan-{site}"]["environment"]["action"] == "prepare"
    assert ci["variables"]["LICSYNC_INSTALL"] == f"licsync=={__version__}"
    assert "venv" in ci[".licsync"]["before_script"][0]
    assert list(tmp_path.iterdir()) == [tmp_path / ".gitlab-ci.yml"]


def test_azure_has_an_environment_per_site_and_a_sequential_lock(
    licsync: Licsync, tmp_path: Path
) -> None:
    result = licsync(["init", "--forge", "azure", "--site", "prod", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pipeline = _load(tmp_path / "azure-pipelines.yml")
    plan, apply = pipeline["stages"]
    assert apply["lockBehavior"] == "sequential"
    (deployment,) = apply["jobs"]
    assert deployment["environment"] == "licenses-prod"
    assert "Agent.TempDirectory" in str(deployment)  # the venv is in the agent's temp folder
    assert {j["job"] for j in plan["jobs"]} == {"validate", "plan_prod"}


def test_github_callers_use_the_pinned_reusable_workflows(licsync: Licsync, tmp_path: Path) -> None:
    result = licsync(
        [
            "init",
            "--forge",
            "github",
            "--site",
            "prod",
            "--workflows",
            f"acme/licsync@{SHA}",
            "--dir",
            str(tmp_path),
        ]
    )
    assert result.exit_code == 0, result.output
    workflows = tmp_path / ".github" / "workflows"
    plan = _load(workflows / "licenses-plan.yml")
    assert plan["jobs"]["plan"]["uses"] == f"acme/licsync/.github/workflows/reusable-plan.yml@{SHA}"
    assert "merge_group" in plan[True]  # YAML 1.1 reads `on` as true
    apply = _load(workflows / "licenses-apply.yml")
    assert set(apply[True]["workflow_dispatch"]["inputs"]) == {"site", "checksum"}
    assert plan["permissions"] == {}
    missing = licsync(["init", "--forge", "github", "--site", "prod", "--dir", str(tmp_path)])
    assert missing.exit_code == 64
    assert "--workflows" in missing.stderr


def test_a_wheel_pinned_by_hash_and_the_ntlm_extra(licsync: Licsync, tmp_path: Path) -> None:
    """A site in ntlm mode makes the jobs install licsync[ntlm]; a wheel needs its sha256."""
    site = tmp_path / "licenses" / "prod"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text(
        "site:\n  name: prod\n  auth:\n    mode: ntlm\n", encoding="utf-8"
    )
    url = "https://files.example.com/licsync-1.0.0-py3-none-any.whl"
    no_hash = licsync(
        ["init", "--forge", "gitlab", "--site", "prod", "--wheel-url", url, "--dir", str(tmp_path)]
    )
    assert no_hash.exit_code == 1
    assert "--wheel-url needs --sha256" in no_hash.stderr
    result = licsync(
        [
            "init",
            "--forge",
            "gitlab",
            "--site",
            "prod",
            "--wheel-url",
            url,
            "--sha256",
            SHA,
            "--dir",
            str(tmp_path),
        ]
    )
    assert result.exit_code == 0, result.output
    ci = _load(tmp_path / ".gitlab-ci.yml")
    assert ci["variables"]["LICSYNC_INSTALL"] == f"licsync[ntlm] @ {url}#sha256={SHA}"


def test_a_negotiate_site_gets_the_negotiate_extra(licsync: Licsync, tmp_path: Path) -> None:
    site = tmp_path / "licenses"
    site.mkdir()
    (site / "site.yaml").write_text(
        "site:\n  name: prod\n  auth:\n    mode: negotiate\n", encoding="utf-8"
    )
    args = ["init", "--forge", "gitlab", "--site", "prod", "--version", "1.0.0"]
    assert licsync([*args, "--dir", str(tmp_path)]).exit_code == 0
    ci = _load(tmp_path / ".gitlab-ci.yml")
    assert ci["variables"]["LICSYNC_INSTALL"] == "licsync[negotiate]==1.0.0"


def test_existing_files_are_kept_unless_force(licsync: Licsync, tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("mine\n", encoding="utf-8")
    args = ["init", "--forge", "gitlab", "--site", "prod", "--dir", str(tmp_path)]
    kept = licsync(args)
    assert kept.exit_code == 1
    assert "already exists: kept; give --force" in kept.stderr
    assert (tmp_path / ".gitlab-ci.yml").read_text(encoding="utf-8") == "mine\n"
    assert licsync([*args, "--force"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--site", "a b"], "--site 'a b'"),
        (["--site", "prod", "--version", "1.0; rm -rf /"], "a release number"),
        (["--site", "prod", "--extra", "ntlm]"], "a package extra"),
        (["--site", "prod", "--site", "prod"], "given twice"),
        (["--site", "prod", "--branch", "main\nx"], "a branch name"),
    ],
)
def test_values_that_cannot_go_into_the_files_are_refused(
    licsync: Licsync, tmp_path: Path, args: list[str], words: str
) -> None:
    result = licsync(["init", "--forge", "azure", "--dir", str(tmp_path), *args])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert list(tmp_path.iterdir()) == []
