"""The small CI files a licence repository holds, for the forge it lives on (``licsync init``).

A licence repository holds ``licenses/`` and these files only; licsync itself is a pinned tool
installed by each job into a virtual environment in the runner's temporary folder (never into a
shared interpreter), with the extras the sites' authentication needs:

- GitHub: three caller workflows that ``uses:`` licsync's reusable workflows (plan on a pull
  request and in a merge queue, apply on a push to the default branch, the monthly proposal);
- GitLab: one ``.gitlab-ci.yml`` with, per site, a plan job on merge requests and an apply job
  on the default branch in a ``resource_group`` and a protected environment;
- Azure DevOps: one ``azure-pipelines.yml`` with a plan stage on pull requests and, per site, a
  deployment job in an environment (approvals and an exclusive lock are set on it), stages
  locked ``sequential``.

Every licsync command the files run is a plain command line (``licsync ci ...``), so a test
can run them as written. The files are text built here, from values that were checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from licsync import __version__
from licsync.errors import UsageError
from licsync.forge import SITE_NAME

__all__ = ["FORGES", "Scaffold", "files_for", "install_spec"]

FORGES = ("github", "gitlab", "azure")
_EXTRA = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*([ab]|rc|\.post|\.dev)?[0-9]*$")
_WHEEL_URL = re.compile(r"^https://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+\.whl$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_USES = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[A-Za-z0-9_./-]+$")


@dataclass(frozen=True, slots=True)
class Scaffold:
    """What the generated files say.

    Attributes:
        sites: the sites, in order (each a ``site.name`` under ``licenses/``).
        install: the pip requirement that installs licsync (``licsync[ntlm]==1.2.0``, or
            ``licsync @ https://…/licsync-1.2.0-py3-none-any.whl#sha256=…``).
        workflows: GitHub only: ``OWNER/REPO@REF`` of licsync's reusable workflows.
        default_branch: the branch applies run on.
    """

    sites: tuple[str, ...]
    install: str
    workflows: str = ""
    default_branch: str = "main"


def install_spec(
    *, version: str | None, wheel_url: str | None, sha256: str | None, extras: tuple[str, ...]
) -> str:
    """The pip requirement of a pinned licsync: a version, or a wheel by its sha256.

    Raises:
        UsageError: both or neither kind of pin is usable, or a value is malformed.
    """
    for extra in extras:
        if not _EXTRA.fullmatch(extra):
            raise UsageError(f"--extra {extra!r}: a package extra's name (e.g. ntlm)")
    name = f"licsync[{','.join(sorted(set(extras)))}]" if extras else "licsync"
    if wheel_url is not None:
        if version is not None:
            raise UsageError("give --version or --wheel-url, not both")
        if not _WHEEL_URL.fullmatch(wheel_url):
            raise UsageError(f"--wheel-url {wheel_url!r}: an https:// address of a .whl file")
        if sha256 is None or not _SHA256.fullmatch(sha256):
            raise UsageError("--wheel-url needs --sha256 (64 lower-case hex digits) to pin it")
        return f"{name} @ {wheel_url}#sha256={sha256}"
    if sha256 is not None:
        raise UsageError("--sha256 pins a wheel: give --wheel-url too")
    chosen = version or __version__
    if not _VERSION.fullmatch(chosen):
        raise UsageError(f"--version {chosen!r}: a release number such as 1.2.0")
    return f"{name}=={chosen}"


def _check(scaffold: Scaffold, forge: str) -> None:
    if not scaffold.sites:
        raise UsageError("give at least one --site")
    for site in scaffold.sites:
        if not SITE_NAME.fullmatch(site):
            raise UsageError(f"--site {site!r}: letters, digits, '.', '_' and '-'")
    if len(set(scaffold.sites)) != len(scaffold.sites):
        raise UsageError("a --site is given twice")
    if forge == "github" and not _USES.fullmatch(scaffold.workflows):
        raise UsageError(f"--workflows {scaffold.workflows!r}: OWNER/REPO@REF of licsync")
    if not re.fullmatch(r"[A-Za-z0-9._/-]{1,100}", scaffold.default_branch):
        raise UsageError(f"--branch {scaffold.default_branch!r}: a branch name")
    if any(c in scaffold.install for c in "\"'`$\\\n\r"):
        raise UsageError("the install requirement holds quotes or shell characters")


def files_for(forge: str, scaffold: Scaffold) -> dict[str, str]:
    """The files ``licsync init --forge FORGE`` writes: relative path -> text.

    Raises:
        UsageError: an unknown forge or a value that cannot go into the files.
    """
    if forge not in FORGES:
        raise UsageError(f"--forge {forge!r}: one of {', '.join(FORGES)}")
    _check(scaffold, forge)
    if forge == "github":
        return _github(scaffold)
    if forge == "gitlab":
        return {".gitlab-ci.yml": _gitlab(scaffold)}
    return {"azure-pipelines.yml": _azure(scaffold)}


def _header(what: str) -> str:
    return (
        f"# {what}\n"
        f"# Written by `licsync init` (licsync {__version__}); see licsync's docs/ci.md. The\n"
        "# licence repository holds licenses/ and this file; licsync is a pinned tool.\n"
    )


def _sites_json(sites: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in sites) + "]"


# --- GitHub ----------------------------------------------------------------------------------


def _github(s: Scaffold) -> dict[str, str]:
    owner_repo, ref = s.workflows.split("@", 1)
    common = (
        "    with:\n"
        f"      sites: '{_sites_json(s.sites)}'\n"
        f'      licsync: "{s.install}"\n'
        "    secrets: inherit\n"
    )
    plan = (
        _header("Plan each site on a pull request (and in a merge queue) that changes licenses/.")
        + "name: licenses-plan\n\n"
        "on:\n"
        "  pull_request:\n"
        "    paths:\n"
        '      - "licenses/**"\n'
        "  merge_group:\n\n"
        "permissions: {}\n\n"
        "jobs:\n"
        "  plan:\n"
        f"    uses: {owner_repo}/.github/workflows/reusable-plan.yml@{ref}\n"
        "    permissions:\n"
        "      contents: read\n"
        "      pull-requests: write\n" + common
    )
    apply = (
        _header("Apply each site's reviewed plan when a push to the default branch changes it.")
        + "name: licenses-apply\n\n"
        "on:\n"
        "  push:\n"
        f"    branches: [{s.default_branch}]\n"
        "    paths:\n"
        '      - "licenses/**"\n'
        "  workflow_dispatch:\n"
        "    inputs:\n"
        "      site:\n"
        "        description: The site to apply to by hand (an emergency)\n"
        "        required: true\n"
        "      checksum:\n"
        "        description: The checksum (sha256:...) of the plan you read and approve\n"
        "        required: true\n\n"
        "permissions: {}\n\n"
        "jobs:\n"
        "  apply:\n"
        f"    uses: {owner_repo}/.github/workflows/reusable-apply.yml@{ref}\n"
        "    permissions:\n"
        "      contents: read\n"
        "      actions: read\n"
        "      pull-requests: read\n"
        "      issues: write\n"
        "    with:\n"
        f"      sites: '{_sites_json(s.sites)}'\n"
        f'      licsync: "{s.install}"\n'
        "      site: ${{ inputs.site || '' }}\n"
        "      checksum: ${{ inputs.checksum || '' }}\n"
        "    secrets: inherit\n"
    )
    reclaim = (
        _header("Once a month, propose each site's reclaims as a pull request.")
        + "name: licenses-reclaim\n\n"
        "on:\n"
        "  schedule:\n"
        '    - cron: "17 5 1 * *"\n'
        "  workflow_dispatch:\n\n"
        "permissions: {}\n\n"
        "jobs:\n"
        "  propose:\n"
        f"    uses: {owner_repo}/.github/workflows/reusable-propose.yml@{ref}\n"
        "    permissions:\n"
        "      contents: write\n"
        "      pull-requests: write\n" + common
    )
    return {
        ".github/workflows/licenses-plan.yml": plan,
        ".github/workflows/licenses-apply.yml": apply,
        ".github/workflows/licenses-reclaim.yml": reclaim,
    }


# --- GitLab ----------------------------------------------------------------------------------


def _gitlab(s: Scaffold) -> str:
    out = [
        _header("licsync on GitLab CI/CD: validate and plan merge requests, apply merges."),
        "# Set up first (docs/ci.md, GitLab): a project access token (api scope) in the masked\n"
        "# variable LICSYNC_GITLAB_TOKEN; per site a protected environment licenses-SITE (the\n"
        "# write key, deployers only) and an environment licenses-SITE-plan (the read key).\n",
        "workflow:\n"
        "  rules:\n"
        '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n'
        "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n\n"
        "stages: [validate, plan, apply, report]\n\n"
        "variables:\n"
        f'  LICSYNC_INSTALL: "{s.install}"\n'
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"\n'
        "  # licsync in a virtual environment of its own in the job's temporary folder.\n"
        '  LICSYNC_VENV: "$CI_PROJECT_DIR.tmp/licsync"\n\n'
        ".licsync:\n"
        "  image: python:3.12-slim\n"
        "  before_script:\n"
        '    - python -m venv "$LICSYNC_VENV"\n'
        '    - $LICSYNC_VENV/bin/python -m pip install --quiet "$LICSYNC_INSTALL"\n'
        '    - export PATH="$LICSYNC_VENV/bin:$PATH"\n\n'
        "licsync-validate:\n"
        "  extends: .licsync\n"
        "  stage: validate\n"
        "  rules:\n"
        '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n'
        '      changes: ["licenses/**/*"]\n'
        "  script:\n"
        "    - licsync validate licenses --format gitlab > gl-code-quality-report.json\n"
        "  artifacts:\n"
        "    when: always\n"
        "    reports:\n"
        "      codequality: gl-code-quality-report.json\n",
    ]
    for site in s.sites:
        out.append(
            f"\nlicsync-plan-{site}:\n"
            "  extends: .licsync\n"
            "  stage: plan\n"
            f"  environment: {{name: licenses-{site}-plan, action: prepare}}\n"
            "  rules:\n"
            '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n'
            '      changes: ["licenses/**/*"]\n'
            "  variables:\n"
            f"    SITE: {site}\n"
            '    HEAD_SHA: "$CI_COMMIT_SHA"\n'
            "  script:\n"
            "    # Exit 3 (blocked by safety) fails the job after the note says why; no artifact.\n"
            '    - licsync plan licenses --site "$SITE" --format json --out plan.json || echo "$?"'
            " > plan.exit\n"
            '    - licsync ci comment --pr "$CI_MERGE_REQUEST_IID" plan.json\n'
            "    - test ! -f plan.exit\n"
            '    - mkdir -p "licsync-plan-$SITE-$HEAD_SHA"\n'
            '    - cp plan.json "licsync-plan-$SITE-$HEAD_SHA/plan.json"\n'
            "  artifacts:\n"
            '    paths: ["licsync-plan-$SITE-$HEAD_SHA/plan.json"]\n'
            "    expire_in: 30 days\n"
            f"\nlicsync-apply-{site}:\n"
            "  extends: .licsync\n"
            "  stage: apply\n"
            "  # One apply per site at a time; a second merge waits for the first.\n"
            f"  resource_group: licsync-{site}\n"
            f"  environment: {{name: licenses-{site}}}\n"
            "  rules:\n"
            '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"\n'
            '      changes: ["licenses/**/*"]\n'
            "  variables:\n"
            f"    SITE: {site}\n"
            "  script:\n"
            '    - licsync ci reviewed-plan --sha "$CI_COMMIT_SHA" --site "$SITE" --out plan.json\n'
            '    - licsync apply licenses --site "$SITE" --plan plan.json --audit-log audit.jsonl'
            " --detailed-exitcode\n"
            "  artifacts:\n"
            "    when: always\n"
            "    paths: [audit.jsonl]\n"
            "    expire_in: 90 days\n"
            f"\nlicsync-issue-{site}:\n"
            "  extends: .licsync\n"
            "  stage: report\n"
            f"  needs: [licsync-apply-{site}]\n"
            "  rules:\n"
            '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"\n'
            '      changes: ["licenses/**/*"]\n'
            "      when: on_failure\n"
            "  variables:\n"
            f"    SITE: {site}\n"
            "  script:\n"
            "    # Quoted for YAML: the titles hold ': '.\n"
            "    - 'echo \"licsync could not finish applying $CI_COMMIT_SHA to site $SITE:"
            " $CI_PIPELINE_URL\" > issue.md'\n"
            '    - \'licsync ci issue --title "licsync apply needs attention: site $SITE"'
            ' --key "licsync-apply-$SITE" issue.md\'\n'
        )
    return "".join(out)


# --- Azure DevOps ----------------------------------------------------------------------------


def _azure_install(indent: str) -> str:
    lines = [
        "- task: UsePythonVersion@0",
        "  inputs: {versionSpec: '3.12'}",
        "- script: |",
        '    python -m venv "$(Agent.TempDirectory)/licsync"',
        '    "$(Agent.TempDirectory)/licsync/bin/python" -m pip install --quiet'
        ' "$(LICSYNC_INSTALL)"',
        '    echo "##vso[task.prependpath]$(Agent.TempDirectory)/licsync/bin"',
        "  displayName: Install licsync",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


def _azure(s: Scaffold) -> str:
    out = [
        _header("licsync on Azure Pipelines: plan pull requests, apply merges."),
        "# Set up first (docs/ci.md, Azure DevOps): this file as the pipeline; it as the build\n"
        "# validation of the default branch; per site an environment licenses-SITE (approvals\n"
        "# and an Exclusive lock check) and the variable groups licenses-SITE and\n"
        "# licenses-SITE-plan (the write and the read key).\n",
        "trigger:\n"
        f"  branches: {{include: [{s.default_branch}]}}\n"
        "  paths: {include: [licenses]}\n"
        "pr:\n"
        f"  branches: {{include: [{s.default_branch}]}}\n"
        "  paths: {include: [licenses]}\n\n"
        "variables:\n"
        f"  LICSYNC_INSTALL: '{s.install}'\n\n"
        "pool: {vmImage: ubuntu-latest}\n\n"
        "stages:\n"
        "  - stage: plan\n"
        "    condition: eq(variables['Build.Reason'], 'PullRequest')\n"
        "    jobs:\n"
        "      - job: validate\n"
        "        steps:\n"
        + _azure_install(" " * 10)
        + "          - script: licsync validate licenses --format azure\n"
        "            displayName: Validate\n",
    ]
    for site in s.sites:
        job = site.replace("-", "_").replace(".", "_")
        out.append(
            f"      - job: plan_{job}\n"
            "        dependsOn: validate\n"
            "        variables:\n"
            f"          - group: licenses-{site}-plan\n"
            "          - name: SITE\n"
            f"            value: {site}\n"
            "          - name: HEAD_SHA\n"
            "            value: $(System.PullRequest.SourceCommitId)\n"
            "        steps:\n"
            + _azure_install(" " * 10)
            + '          - script: licsync plan licenses --site "$SITE" --format json'
            " --out plan.json\n"
            "            displayName: Plan\n"
            '          - script: licsync ci comment --pr "$SYSTEM_PULLREQUEST_PULLREQUESTID"'
            " plan.json\n"
            "            displayName: Comment on the pull request\n"
            "            condition: succeededOrFailed()\n"
            "            env: {SYSTEM_ACCESSTOKEN: $(System.AccessToken)}\n"
            "          - script: |\n"
            '              mkdir -p "$(Build.ArtifactStagingDirectory)/plan"\n'
            '              cp plan.json "$(Build.ArtifactStagingDirectory)/plan/plan.json"\n'
            "            displayName: Stage the plan\n"
            "          - task: PublishBuildArtifacts@1\n"
            "            inputs:\n"
            "              PathtoPublish: $(Build.ArtifactStagingDirectory)/plan\n"
            "              ArtifactName: licsync-plan-$(SITE)-$(HEAD_SHA)\n"
        )
    out.append(
        "  - stage: apply\n"
        f"    condition: and(ne(variables['Build.Reason'], 'PullRequest'),"
        f" eq(variables['Build.SourceBranch'], 'refs/heads/{s.default_branch}'))\n"
        "    # One run of this stage at a time, in order (with the environments' Exclusive lock).\n"
        "    lockBehavior: sequential\n"
        "    jobs:\n"
    )
    for site in s.sites:
        job = site.replace("-", "_").replace(".", "_")
        out.append(
            f"      - deployment: apply_{job}\n"
            f"        environment: licenses-{site}\n"
            "        variables:\n"
            f"          - group: licenses-{site}\n"
            "          - name: SITE\n"
            f"            value: {site}\n"
            "        strategy:\n"
            "          runOnce:\n"
            "            deploy:\n"
            "              steps:\n"
            "                - checkout: self\n"
            + _azure_install(" " * 16)
            + '                - script: licsync ci reviewed-plan --sha "$BUILD_SOURCEVERSION"'
            ' --site "$SITE" --out plan.json\n'
            "                  displayName: Fetch the reviewed plan\n"
            "                  env: {SYSTEM_ACCESSTOKEN: $(System.AccessToken)}\n"
            '                - script: licsync apply licenses --site "$SITE" --plan plan.json'
            " --audit-log audit.jsonl --detailed-exitcode\n"
            "                  displayName: Apply\n"
            "                - script: |\n"
            '                    echo "licsync could not finish applying $BUILD_SOURCEVERSION to'
            ' site $SITE" > issue.md\n'
            '                    licsync ci issue --title "licsync apply needs attention: site'
            ' $SITE" --key "licsync-apply-$SITE" issue.md\n'
            "                  displayName: Open or update the tracking work item\n"
            "                  condition: failed()\n"
            "                  env: {SYSTEM_ACCESSTOKEN: $(System.AccessToken)}\n"
        )
    return "".join(out)
