"""``validate``'s problems as each CI shows them on the changed lines: a GitLab Code Quality
report and Azure Pipelines ``##vso[task.logissue]`` commands (GitHub's ``::error`` workflow
commands are in :mod:`licsync.cli.validate`).

A problem's text comes from the files (names, values): it is escaped so that it can neither end
the command nor start another (Azure: ``%``, CR, LF in the message; also ``;`` and ``]`` in a
property), and the Code Quality report is JSON written by :mod:`json`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from licsync.errors import Problem
from licsync.severity import Severity

__all__ = ["azure_logissue", "gitlab_code_quality"]

CHECK_NAME = "licsync-validate"


def gitlab_code_quality(problems: Iterable[Problem]) -> str:
    """A GitLab Code Quality report (``artifacts: reports: codequality``): a JSON array with one
    issue per problem: ``description``, ``check_name``, a stable ``fingerprint``, ``severity``
    (``critical`` for an error, ``minor`` for a warning) and ``location`` (``path`` as given,
    ``lines.begin``: line 1 for a problem of the whole file)."""
    issues = []
    seen: set[str] = set()
    for problem in problems:
        text = f"{problem.field}: {problem.message}" if problem.field else problem.message
        identity = "\x00".join(
            (problem.file, str(problem.line), str(problem.col), problem.field, problem.message)
        )
        fingerprint = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
        if fingerprint in seen:  # GitLab keeps one issue per fingerprint
            continue
        seen.add(fingerprint)
        issues.append(
            {
                "type": "issue",
                "check_name": CHECK_NAME,
                "description": text,
                "categories": ["Bug Risk"],
                "severity": "minor" if problem.severity is Severity.WARNING else "critical",
                "fingerprint": fingerprint,
                "location": {
                    "path": problem.file.replace("\\", "/"),
                    "lines": {"begin": max(problem.line, 1)},
                },
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False)


def azure_logissue(problem: Problem) -> str:
    """An Azure Pipelines logging command that reports the problem on its file and line."""
    kind = "warning" if problem.severity is Severity.WARNING else "error"
    props = [f"type={kind}", f"sourcepath={_azure_property(problem.file.replace(chr(92), '/'))}"]
    if problem.line:
        props.append(f"linenumber={problem.line}")
    if problem.col:
        props.append(f"columnnumber={problem.col}")
    props.append(f"code={CHECK_NAME}")
    text = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return f"##vso[task.logissue {';'.join(props)};]{_azure_data(text)}"


def _azure_data(text: str) -> str:
    # As azure-pipelines-task-lib escapes a command's message.
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _azure_property(text: str) -> str:
    # ... and a property's value, which ';' would end and ']' would close.
    return _azure_data(text).replace(";", "%3B").replace("]", "%5D")
