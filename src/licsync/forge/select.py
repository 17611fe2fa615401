"""Which forge a CI job runs on, and its client from that CI's own variables.

Each CI says who it is in a variable it always sets: GitHub Actions ``GITHUB_ACTIONS=true``,
GitLab CI/CD ``GITLAB_CI=true``, Azure Pipelines ``TF_BUILD=True``. ``--forge`` overrides the
guess (a job that talks to one forge from another's runner, or a test).
"""

from __future__ import annotations

from collections.abc import Mapping

from licsync.cienv import ci_name
from licsync.errors import UsageError
from licsync.forge import Forge
from licsync.forge.azure import AzureDevOps
from licsync.forge.azure import settings_from_env as azure_settings
from licsync.forge.github import GitHub
from licsync.forge.github import settings_from_env as github_settings
from licsync.forge.gitlab import GitLab
from licsync.forge.gitlab import settings_from_env as gitlab_settings

__all__ = ["FORGES", "detect", "open_forge"]

FORGES = ("github", "gitlab", "azure")


def detect(env: Mapping[str, str]) -> str | None:
    """The forge whose CI sets ``env``, or None outside CI."""
    return ci_name(env)


def open_forge(name: str | None, env: Mapping[str, str]) -> Forge:
    """The client of forge ``name`` (None: detected), from ``env``.

    Raises:
        UsageError: no forge named and none detected, or a variable is missing or wrong.
    """
    chosen = name or detect(env)
    if chosen is None:
        raise UsageError(
            "which forge? not in GitHub Actions, GitLab CI or Azure Pipelines (none of "
            "GITHUB_ACTIONS, GITLAB_CI, TF_BUILD is set): give --forge github|gitlab|azure"
        )
    if chosen == "github":
        return GitHub(github_settings(env))
    if chosen == "gitlab":
        return GitLab(gitlab_settings(env))
    if chosen == "azure":
        return AzureDevOps(azure_settings(env))
    raise UsageError(f"--forge {chosen!r}: one of {', '.join(FORGES)}")
