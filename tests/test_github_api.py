"""The GitHub client under the commands: environment, secrecy, rate limits, pagination, bad
answers; each through the real CLI against the stand-in."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cli_runner import Licsync, Result
from github_standin import REPO_PATH, TOKEN, Canned, GitHubStandIn, github_env, plan_zip

MERGE, HEAD = "a" * 40, "b" * 40
COMMENTS = f"{REPO_PATH}/issues/7/comments"


def _comment(licsync: Licsync, plan_file: Path) -> Result:
    return licsync(["github", "comment", "--pr", "7", str(plan_file)])


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GITHUB_TOKEN": None}, "GITHUB_TOKEN is not set"),
        ({"GITHUB_TOKEN": "two words"}, "GITHUB_TOKEN holds spaces or control characters"),
        ({"GITHUB_REPOSITORY": None}, "GITHUB_REPOSITORY '(not set)': expected OWNER/NAME"),
        ({"GITHUB_REPOSITORY": "acme/licences/x"}, "expected OWNER/NAME"),
        ({"GITHUB_API_URL": "ftp://example.com"}, "GITHUB_API_URL 'ftp://example.com'"),
        ({"GITHUB_API_URL": "http://github.example.com/api/v3"}, "plain http is allowed only"),
        ({"GITHUB_API_URL": "https://u:p@github.example.com"}, "no query, fragment or creden"),
    ],
    ids=["no-token", "bad-token", "no-repo", "bad-repo", "scheme", "plain-http", "userinfo"],
)
def test_a_wrong_environment_exits_1_naming_the_variable(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    env: dict[str, str | None],
    words: str,
) -> None:
    """Missing or wrong GITHUB_* variables: exit 1, the variable named, nothing sent."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert words in result.stderr
    assert github.requests == []


def test_the_default_api_is_github_com(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without GITHUB_API_URL the API root is https://api.github.com."""
    from licsync.forge.github import settings_from_env

    settings = settings_from_env({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "a/b"})
    assert settings.api_url == "https://api.github.com"
    assert TOKEN not in repr(settings)


def test_enterprise_server_api_prefix(
    licsync: Licsync, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GITHUB_API_URL=https://HOST/api/v3 (GitHub Enterprise Server): every path under it,
    pagination links included."""
    with github_env(monkeypatch, prefix="/api/v3") as ghes:
        for i in range(101):
            ghes.add_comment(7, f"c{i}")
        result = _comment(licsync, plan_file)
        assert result.exit_code == 0, result.output
        assert [r.path for r in ghes.requests] == [f"/api/v3{COMMENTS}"] * 3


def test_the_token_never_appears_in_any_output(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, tmp_path: Path
) -> None:
    """Successes, refusals and errors of every command: the token is in none of their output."""
    body = tmp_path / "body.md"
    body.write_text("x", encoding="utf-8")
    github.add_pull(5, head_sha=HEAD, merge_sha=MERGE)
    github.add_artifact(f"licsync-plan-demo-{HEAD}", HEAD, plan_zip(plan_file.read_bytes()))
    github.add_plan_comment(5, plan_file.read_bytes())
    runs = [
        ["github", "comment", "--pr", "7", str(plan_file)],
        ["github", "comment", "--pr", "7", str(plan_file)],
        ["github", "issue", "--title", "t", str(body)],
        ["github", "reviewed-plan", "--sha", MERGE, "--site", "demo", "--out", str(tmp_path / "o")],
        [
            "github",
            "reviewed-plan",
            "--sha",
            "c" * 40,
            "--site",
            "demo",
            "--out",
            str(tmp_path / "o"),
        ],
        ["--debug", "github", "comment", "--pr", "7", str(plan_file)],
    ]
    outputs = [licsync(args) for args in runs]
    github.script(Canned("comments", 401, body=b'{"message": "Bad credentials"}'))
    outputs.append(_comment(licsync, plan_file))
    github.script(Canned("comments", 500, body=TOKEN.encode()[:4] + b" boom"))
    github.script(Canned("comments", 403, body=b'{"message": "Resource not accessible"}'))
    outputs.append(_comment(licsync, plan_file))
    assert [o.exit_code for o in outputs] == [0, 0, 0, 0, 1, 0, 1, 1]
    assert "401: Bad credentials (is GITHUB_TOKEN valid?)" in outputs[6].stderr
    assert "403: Resource not accessible (does the job's `permissions:` grant" in outputs[7].stderr
    for output in outputs:
        assert TOKEN not in output.output
        assert TOKEN[4:20] not in output.output
    assert TOKEN not in (tmp_path / "o").read_text(encoding="utf-8")


def test_waits_out_the_primary_rate_limit(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """403 with x-ratelimit-remaining 0: waits until x-ratelimit-reset, then goes on."""
    reset = int(time.time()) + 120
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    github.script(Canned("comments", 403, headers, b'{"message": "API rate limit exceeded"}'))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 0, result.output
    (waited,) = retry_waits
    assert 100 < waited <= 122
    assert "rate limited (403)" in result.stderr
    assert [r.method for r in github.requests] == ["GET", "GET", "POST"]


@pytest.mark.parametrize(
    ("canned", "expected"),
    [
        (Canned("comments", 429, {"Retry-After": "7"}, b"{}"), [7.0]),
        (Canned("comments", 403, {"Retry-After": "3"}, b'{"message": "secondary"}'), [3.0]),
        (
            Canned("comments", 403, {}, b'{"message": "You have exceeded a secondary rate limit"}'),
            [60.0],
        ),
    ],
    ids=["429-retry-after", "403-retry-after", "secondary-without-headers"],
)
def test_waits_as_github_asks(
    licsync: Licsync,
    github: GitHubStandIn,
    plan_file: Path,
    retry_waits: list[float],
    *,
    canned: Canned,
    expected: list[float],
) -> None:
    """Retry-After is honoured; a secondary limit naming no time waits a minute."""
    github.script(canned)
    result = _comment(licsync, plan_file)
    assert result.exit_code == 0, result.output
    assert retry_waits == expected


def test_a_write_is_retried_only_when_rate_limited(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """A rate-limited POST was not processed, so it is sent again; a 502 on a POST is not
    (the comment may exist): exit 1."""
    github.script(Canned("comments", 429, {"Retry-After": "1"}, b"{}", method="POST"))
    assert _comment(licsync, plan_file).exit_code == 0
    assert len(github.comments_on(7)) == 1
    github.comments.clear()
    github.script(Canned("comments", 502, {}, b"bad gateway", method="POST"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert f"POST {COMMENTS}: GitHub answered 502" in result.stderr


def test_gives_up_after_bounded_tries(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """Rate limited on every try: five tries, four waits, a clear error."""
    for _ in range(5):
        github.script(Canned("comments", 429, {"Retry-After": "2"}, b"{}"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert retry_waits == [2.0] * 4
    assert "429" in result.stderr


def test_refuses_a_wait_longer_than_its_cap(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """A primary limit resetting in an hour: no wait at all, an error saying so."""
    reset = int(time.time()) + 3600
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    github.script(Canned("comments", 403, headers, b"{}"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert "rate limit asks to wait" in result.stderr
    assert retry_waits == []


def test_reads_are_retried_on_server_errors(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, retry_waits: list[float]
) -> None:
    """A 502 on a GET is retried after a short wait."""
    github.script(Canned("comments", 502, {}, b"<html>bad gateway</html>", method="GET"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 0, result.output
    assert len(retry_waits) == 1


def test_a_next_page_on_another_host_is_not_followed(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path
) -> None:
    """A Link header sending the next page elsewhere: refused (the token would follow it)."""
    github.link_origin = "http://127.0.0.2:1"
    for i in range(101):
        github.add_comment(7, f"c{i}")
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert "the next page is on another host" in result.stderr
    assert len(github.requests) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"message": "x"}', "not a listing"),
        (b"[1, 2]", "a listed item is not an object"),
        (b'[{"id": 1, "body": ', "not JSON"),
        (b"\xff" * 10, "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["object", "items", "truncated", "binary", "deep"],
)
def test_bad_answers_are_clear_errors(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, *, body: bytes, words: str
) -> None:
    """Whatever GitHub (or a proxy) answers: a clear error naming the endpoint, exit 1."""
    github.script(Canned("comments", 200, {}, body))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1, result.output
    assert f"GET {COMMENTS}" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_a_huge_answer_is_refused_without_reading_it_all(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer over the cap stops being read at the cap."""
    from licsync.forge import github as forge_github

    monkeypatch.setattr(forge_github, "MAX_JSON_BYTES", 10_000)
    github.script(Canned("comments", 200, {}, b"[" + b" " * 50_000 + b"]"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert "GitHub's answer is over 10,000 bytes" in result.stderr


def test_a_page_of_millions_of_tiny_values_is_refused_before_decoding(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path
) -> None:
    """A page of 3 MB of ``{}`` would decode to ~50 times its size: refused, naming the count."""
    github.script(Canned("comments", 200, {}, b"[" + b",".join([b"{}"] * 1_000_000) + b"]"))
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1, result.output
    assert f"GET {COMMENTS}: GitHub's answer holds more than 500,000 JSON values" in result.stderr


def test_github_unreachable_is_a_clear_error(
    licsync: Licsync, plan_file: Path, monkeypatch: pytest.MonkeyPatch, retry_waits: list[float]
) -> None:
    """Nothing listening: the reads are retried (bounded), then exit 1 naming the endpoint."""
    with github_env(monkeypatch) as standin:
        url = standin.url
    monkeypatch.setenv("GITHUB_API_URL", url)  # the server is gone now
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert f"GET {COMMENTS}: no answer from GitHub (ConnectError)" in result.stderr
    assert len(retry_waits) == 4


def test_a_listing_of_exactly_the_page_cap_is_read_whole(
    licsync: Licsync, github: GitHubStandIn, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As many pages as the cap allows: read, not refused; one more page: refused."""
    from licsync.forge import github as forge_github

    monkeypatch.setattr(forge_github, "MAX_PAGES", 3)
    for i in range(300):
        github.add_comment(7, f"c{i}")
    assert _comment(licsync, plan_file).exit_code == 0
    github.add_comment(7, "one more")
    github.comments = {
        k: v for k, v in github.comments.items() if v["user"] != "github-actions[bot]"
    }
    result = _comment(licsync, plan_file)
    assert result.exit_code == 1
    assert "more than 3 pages; giving up" in result.stderr
