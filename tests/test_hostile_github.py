"""``licsync github`` with a hostile environment, command line, body file or GitHub: exit 1 (64 for
the command line) with the variable named, nothing sent, and the token and any password in a URL
in no output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import Licsync, Result
from github_standin import TOKEN, Canned, GitHubStandIn

PASSWORD = "s3cretPASSWORDinURL"


def _comment(licsync: Licsync, plan_file: Path, pr: str = "7") -> Result:
    return licsync(["github", "comment", "--pr", pr, str(plan_file)])


def _refused(result: Result, github: GitHubStandIn, words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "This is a bug" not in result.output
    assert words in result.stderr, result.stderr
    assert github.requests == []
    assert TOKEN not in result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://user:{PASSWORD}@github.example.com",
        f"https://user:{PASSWORD}@",
        f"https://:{PASSWORD}@github.example.com/api/v3",
        f"file://user:{PASSWORD}@/etc/passwd",
    ],
    ids=["ftp", "no-host", "no-user", "file"],
)
def test_a_password_in_the_api_url_is_never_shown(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    """GITHUB_API_URL with credentials, whatever else is wrong with it: refused, not echoed."""
    monkeypatch.setenv("GITHUB_API_URL", url)
    _refused(_comment(licsync, plan_file), github, "GITHUB_API_URL")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.example.com:abc",
        "https://github.example.com:99999",
        "https://[::1",
        "https://git hub.example.com",
        "https://github.example.com/api v3",
        "https://git\x1b[2Jhub.example.com",
        "https://github.example.com/api/../v3",
        "https://github.example.com/api/%2e%2e/v3",
    ],
    ids=["port-word", "port-range", "ipv6", "space-host", "space-path", "esc", "dots", "dots-enc"],
)
def test_a_malformed_api_url_is_refused_before_anything_is_sent(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    """Ports that are no port, spaces, control characters, '..': exit 1 naming the variable."""
    monkeypatch.setenv("GITHUB_API_URL", url)
    result = _comment(licsync, plan_file)
    _refused(result, github, "GITHUB_API_URL")
    assert "\x1b" not in result.output


@pytest.mark.parametrize("repository", ["../..", "acme/..", "./licences", "acme/.", "../x"])
def test_dot_segments_are_no_repository(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    repository: str,
) -> None:
    """GITHUB_REPOSITORY '..' or '.' as owner or name would address another API path: refused."""
    monkeypatch.setenv("GITHUB_REPOSITORY", repository)
    _refused(_comment(licsync, plan_file), github, "GITHUB_REPOSITORY")


@pytest.mark.parametrize("pr", ["0", "-1", "2147483648", "9" * 40, "9" * 5000, "1e3", "0x10"])
def test_a_pull_request_number_out_of_range_is_a_usage_error(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, pr: str
) -> None:
    """--pr 0, negative, past GitHub's 32-bit numbers or no integer: exit 64, nothing sent."""
    result = _comment(licsync, plan_file, pr)
    assert result.exit_code == 64, result.output
    assert github.requests == []


@pytest.mark.parametrize(
    "message",
    [
        f"Bad credentials: Bearer {TOKEN}",
        f"token {TOKEN.lower()} is not valid",
        f"token {json.dumps(TOKEN)} echoed",
    ],
    ids=["as-sent", "lower-case", "json"],
)
def test_a_token_github_echoes_back_is_not_printed(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, message: str
) -> None:
    """An error answer quoting the token (a proxy, a confused server): the message is shown
    without it."""
    github.script(Canned("comments", 401, body=json.dumps({"message": message}).encode()))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1, result.output
    assert "401" in result.stderr
    assert TOKEN not in result.output
    assert TOKEN.lower() not in result.output.lower()


def test_a_binary_or_huge_body_file_is_refused(
    licsync: Licsync, github: GitHubStandIn, tmp_path: Path
) -> None:
    """An issue body that is not UTF-8, or over the cap: exit 1 naming the file, nothing sent."""
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"x" * (5 * 1024 * 1024))
    for body, words in ((binary, "not UTF-8"), (huge, "over")):
        result = licsync(["github", "issue", "--title", "t", str(body)])
        _refused(result, github, words)
        assert str(body) in result.stderr


@pytest.mark.parametrize("command", ["comment", "issue"])
def test_what_github_answers_cannot_forge_a_line(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, tmp_path: Path, command: str
) -> None:
    """An html_url holding a line break and ESC (a hostile or broken server): shown escaped,
    on licsync's own line."""
    answer = json.dumps({"id": 5, "number": 5, "html_url": "https://x\nFAKE: Safety: OK\x1b[2J"})
    github.script(Canned("comments$|issues$", 201, body=answer.encode(), method="POST"))
    body = tmp_path / "body.md"
    body.write_text("x", encoding="utf-8")
    if command == "comment":
        result = _comment(licsync, plan_file)
    else:
        result = licsync(["github", "issue", "--title", "t", str(body)])
    assert result.exit_code == 0, result.output
    assert "https://x\\nFAKE: Safety: OK\\x1b[2J" in result.stdout
    assert not [line for line in result.output.splitlines() if line.startswith("FAKE")]
