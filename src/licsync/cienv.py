"""Who and what a CI job is, from the CI's own variables: GitHub Actions, GitLab CI/CD, Azure
Pipelines.

The audit log's ``actor`` says who applied; each CI names the person who started the run, the
commit, the ref, the repository and the run's page in variables of its own. Values are taken
as the CI sets them (strings), only when set; a run's link is built only from parts that are
all present.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["ci_actor", "ci_name"]

_GITHUB = {
    "commit": "GITHUB_SHA",
    "ref": "GITHUB_REF",
    "actor": "GITHUB_ACTOR",
    "repository": "GITHUB_REPOSITORY",
    "workflow": "GITHUB_WORKFLOW",
}
_GITLAB = {
    "commit": "CI_COMMIT_SHA",
    "ref": "CI_COMMIT_REF_NAME",
    "actor": "GITLAB_USER_LOGIN",
    "repository": "CI_PROJECT_PATH",
    "workflow": "CI_JOB_NAME",
    "run_url": "CI_PIPELINE_URL",
    "pull_request": "CI_MERGE_REQUEST_IID",
    "event": "CI_PIPELINE_SOURCE",
}
_AZURE = {
    "commit": "BUILD_SOURCEVERSION",
    "ref": "BUILD_SOURCEBRANCH",
    "actor": "BUILD_REQUESTEDFOR",
    "actor_id": "BUILD_REQUESTEDFORID",
    "repository": "BUILD_REPOSITORY_NAME",
    "workflow": "BUILD_DEFINITIONNAME",
    "pull_request": "SYSTEM_PULLREQUEST_PULLREQUESTID",
    "event": "BUILD_REASON",
}


def ci_name(env: Mapping[str, str]) -> str | None:
    """``github``, ``gitlab`` or ``azure`` when ``env`` is that CI's job, else None."""
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI", "").casefold() == "true":
        return "gitlab"
    if env.get("TF_BUILD", "").casefold() == "true":
        return "azure"
    return None


def ci_actor(env: Mapping[str, str]) -> dict[str, str] | None:
    """The audit log's actor of a CI job (``kind: ci``, ``ci``, then what the CI says), or
    None outside CI."""
    name = ci_name(env)
    if name is None:
        return None
    variables = {"github": _GITHUB, "gitlab": _GITLAB, "azure": _AZURE}[name]
    actor = {key: env[var] for key, var in variables.items() if env.get(var)}
    if name == "github":
        ref = env.get("GITHUB_REF", "")
        if ref.startswith("refs/pull/"):
            actor["pull_request"] = ref.split("/")[2]
        server, repo, run = (
            env.get(v) for v in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
        )
        if server and repo and run:
            actor["run_url"] = f"{server}/{repo}/actions/runs/{run}"
    if name == "azure":
        collection, project, build = (
            env.get(v) for v in ("SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_BUILDID")
        )
        if collection and project and build:
            actor["run_url"] = (
                f"{collection.rstrip('/')}/{_path_part(project)}/_build/results?buildId={build}"
            )
    return {"kind": "ci", "ci": name, **actor}


def _path_part(text: str) -> str:
    return quote(text, safe="")
