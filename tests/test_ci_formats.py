"""Each CI's own ways of showing licsync's output: ``validate --format gitlab`` (a Code Quality
report) and ``--format azure`` (``##vso[task.logissue]``), the audit actor from GitLab's and
Azure Pipelines' variables, and Markdown that no forge turns into a reference."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from cli_runner import Licsync
from licsync.apply.audit import actor_from_environment
from licsync.cli.annotations import azure_logissue, gitlab_code_quality
from licsync.errors import Problem
from licsync.render.escape import md_text
from licsync.severity import Severity

DATA = Path(__file__).resolve().parent / "data"
JOINER = "\u2060"


def _bad(tmp_path: Path) -> tuple[Path, Path]:
    directory = tmp_path / "licenses"
    directory.mkdir()
    target = directory / "bad-enum.yaml"
    shutil.copyfile(DATA / "bad" / "bad-enum.yaml", target)
    shutil.copyfile(DATA / "good" / "site.yaml", directory / "site.yaml")
    return directory, target


def test_gitlab_format_is_a_code_quality_report(licsync: Licsync, tmp_path: Path) -> None:
    directory, target = _bad(tmp_path)
    result = licsync(["validate", str(directory), "--format", "gitlab"])
    assert result.exit_code == 1
    (issue,) = json.loads(result.stdout)
    assert issue["check_name"] == "licsync-validate"
    assert issue["severity"] == "critical"
    assert issue["location"] == {"path": str(target).replace("\\", "/"), "lines": {"begin": 6}}
    assert issue["description"].startswith("analyzer.rules[0].context: 'hubb' is not one of")
    assert re.fullmatch(r"[0-9a-f]{64}", issue["fingerprint"])
    assert "1 error" in result.stderr


def test_gitlab_report_of_valid_files_has_only_warnings(licsync: Licsync, example: Path) -> None:
    """The example is valid (exit 0); its warnings (an expired `until`) are minor issues."""
    result = licsync(["validate", str(example), "--format", "gitlab"])
    assert result.exit_code == 0, result.output
    assert {i["severity"] for i in json.loads(result.stdout)} <= {"minor"}


def test_gitlab_report_fingerprints_are_stable_and_distinct() -> None:
    problems = [
        Problem("a.yaml", 0, 0, "", "whole file"),
        Problem("a.yaml", 3, 1, "f", "x", Severity.WARNING),
        Problem("a.yaml", 3, 1, "f", "x", Severity.WARNING),
        Problem("b\\c.yaml", 3, 1, "f", "x"),
    ]
    report = json.loads(gitlab_code_quality(problems))
    assert len(report) == 3
    assert len({i["fingerprint"] for i in report}) == 3
    assert report[0]["location"]["lines"]["begin"] == 1
    assert report[1]["severity"] == "minor"
    assert report[2]["location"]["path"] == "b/c.yaml"
    assert json.loads(gitlab_code_quality(problems)) == report


def test_azure_format_is_logissue_commands(licsync: Licsync, tmp_path: Path) -> None:
    directory, target = _bad(tmp_path)
    result = licsync(["validate", str(directory), "--format", "azure"])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    path = str(target).replace("\\", "/")
    assert line.startswith(
        f"##vso[task.logissue type=error;sourcepath={path};linenumber=6;columnnumber=16;"
        "code=licsync-validate;]analyzer.rules[0].context: 'hubb' is not one of"
    )


def test_azure_commands_cannot_be_ended_or_forged() -> None:
    """A file name with ; and ], a message with %, CR and LF (which would start a new command
    line: ##vso[task.setvariable ...]): escaped as the agent's task library escapes them."""
    odd = Problem("a;b]c.yaml", 1, 2, "f", "50% done\r\n##vso[task.setvariable variable=x]y")
    line = azure_logissue(odd)
    assert "\n" not in line
    assert "\r" not in line
    assert line == (
        "##vso[task.logissue type=error;sourcepath=a%3Bb%5Dc.yaml;linenumber=1;columnnumber=2;"
        "code=licsync-validate;]f: 50%AZP25 done%0D%0A##vso[task.setvariable variable=x]y"
    )
    warning = azure_logissue(Problem("a.yaml", 0, 0, "", "w", Severity.WARNING))
    assert warning == "##vso[task.logissue type=warning;sourcepath=a.yaml;code=licsync-validate;]w"


def test_the_audit_actor_of_a_gitlab_job() -> None:
    env = {
        "GITLAB_CI": "true",
        "GITLAB_USER_LOGIN": "lena",
        "CI_COMMIT_SHA": "abc123",
        "CI_COMMIT_REF_NAME": "main",
        "CI_PROJECT_PATH": "qlik/licences",
        "CI_PIPELINE_URL": "https://gitlab.example.com/qlik/licences/-/pipelines/9",
        "CI_JOB_NAME": "licsync-apply-prod",
        "CI_PIPELINE_SOURCE": "push",
        "LICSYNC_GITLAB_TOKEN": "glpat-secret",
        "GITHUB_ACTOR": "not-this-one",
    }
    actor = actor_from_environment(env)
    assert actor == {
        "kind": "ci",
        "ci": "gitlab",
        "actor": "lena",
        "commit": "abc123",
        "ref": "main",
        "repository": "qlik/licences",
        "workflow": "licsync-apply-prod",
        "run_url": "https://gitlab.example.com/qlik/licences/-/pipelines/9",
        "event": "push",
    }
    assert "glpat-secret" not in json.dumps(actor)


def test_the_audit_actor_of_an_azure_pipelines_job() -> None:
    env = {
        "TF_BUILD": "True",
        "BUILD_REQUESTEDFOR": "Lena Berg",
        "BUILD_REQUESTEDFORID": "5e1b",
        "BUILD_SOURCEVERSION": "abc123",
        "BUILD_SOURCEBRANCH": "refs/heads/main",
        "BUILD_REPOSITORY_NAME": "licences",
        "BUILD_DEFINITIONNAME": "licences",
        "BUILD_REASON": "IndividualCI",
        "BUILD_BUILDID": "77",
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/fabrikam/",
        "SYSTEM_TEAMPROJECT": "Qlik Licences",
        "SYSTEM_ACCESSTOKEN": "secret-token",
    }
    actor = actor_from_environment(env)
    assert actor["kind"] == "ci"
    assert actor["ci"] == "azure"
    assert actor["actor"] == "Lena Berg"
    assert actor["run_url"] == (
        "https://dev.azure.com/fabrikam/Qlik%20Licences/_build/results?buildId=77"
    )
    assert "secret-token" not in json.dumps(actor)


def test_outside_ci_the_actor_is_local() -> None:
    assert actor_from_environment({"GITLAB_CI": "false"})["kind"] == "local"


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("see !12", "!"),
        ("label ~bug", "~"),
        ('label ~"needs review"', "~"),
        ("milestone %v1.2", "%"),
        ('milestone %"Q4 release"', "%"),
        ("epic &7", "&amp;"),
        ("snippet $42", "$"),
        ("work item #123", "#"),
        ("group/project!5", "!"),
    ],
)
def test_no_forge_reference_survives(text: str, marker: str) -> None:
    """Each GitLab and Azure DevOps reference gets a word joiner right after its marker, so
    none is linked; the text still reads the same."""
    shown = md_text(text)
    assert marker + JOINER in shown
    rendered = MarkdownIt().render(shown)
    assert not re.search(r"[!~%$#&]\d", rendered.replace("&amp;", "&"))
    assert rendered.replace(JOINER, "").replace("\\", "")  # still text


def test_plain_punctuation_is_left_alone() -> None:
    for text in ("50% done", "x != y", "a & b", "cost: $ 5", "~ roughly"):
        assert JOINER not in md_text(text), text
