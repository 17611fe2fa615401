"""Errors about a site's settings point at the field they concern, at plan time and in validate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_runner import Licsync

CERT_SITE = """\
site:
  name: s
  qrs_url: https://qlik.example.invalid:4242
  auth:
    mode: certificate
    user: INTERNAL\\sa_api
    cert_file: certs/client.pem
    key_file_env: LICSYNC_TEST_KEY
"""

HEADER_SITE = """\
site:
  name: s
  qrs_url: https://qlik.example.invalid
  virtual_proxy: hdr
  auth:
    mode: header
    header_name: X-User
    user: CORP\\svc
  tls:
    ca_file: trust/root.pem
"""


def _site(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "licenses"
    directory.mkdir()
    (directory / "site.yaml").write_text(text, encoding="utf-8")
    return directory


def test_a_missing_certificate_points_at_cert_file(
    tmp_path: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan` blames auth.cert_file's own line (it blamed the `site:` line)."""
    directory = _site(tmp_path, CERT_SITE)
    (tmp_path / "key.pem").write_text("not a key", encoding="utf-8")
    monkeypatch.setenv("LICSYNC_TEST_KEY", str(tmp_path / "key.pem"))
    result = licsync(["plan", str(directory)])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"licsync: error: {directory / 'site.yaml'}:7:16: auth.cert_file: cannot read "
        f"{directory / 'certs' / 'client.pem'}"
    )


def test_a_missing_ca_bundle_points_at_ca_file(tmp_path: Path, licsync: Licsync) -> None:
    """`plan` blames tls.ca_file's own line."""
    directory = _site(tmp_path, HEADER_SITE)
    result = licsync(["plan", str(directory)])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"licsync: error: {directory / 'site.yaml'}:10:14: tls.ca_file: cannot read "
        f"{directory / 'trust' / 'root.pem'}"
    )


def test_a_field_left_out_points_at_its_mapping(tmp_path: Path, licsync: Licsync) -> None:
    """A setting the mode needs but the file lacks is blamed on the `auth:` mapping."""
    text = CERT_SITE.replace("    cert_file: certs/client.pem\n", "")
    # Plain http needs no certificate, so the loader does not ask for one; --qrs-url's https
    # does, and only the client finds it missing.
    directory = _site(tmp_path, text.replace("https://", "http://"))
    result = licsync(["plan", str(directory), "--qrs-url", "https://qlik.example.invalid"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"licsync: error: {directory / 'site.yaml'}:5:5: auth.cert_file: certificate mode needs "
        "auth.cert_file"
    )


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "https://",
        "ftp://qlik",
        "https://qlik example",
        "https://q\tlik",
        "https://q:99999",
    ],
)
def test_a_bad_qrs_url_option_is_a_command_line_error(
    example: Path, licsync: Licsync, url: str
) -> None:
    """A wrong --qrs-url is the command line's fault (exit 64 naming it), not the file's."""
    result = licsync(["plan", "licenses", "--qrs-url", url])
    assert result.exit_code == 64, result.output
    assert "Invalid value for '--qrs-url'" in result.stderr
    assert "site.yaml" not in result.output


def test_validate_warns_about_files_that_do_not_exist(
    tmp_path: Path, licsync: Licsync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Certificate, CA bundle, log folder and export the site names, missing from here: warned
    at their own lines (validate still passes: plan may run elsewhere)."""
    directory = _site(
        tmp_path,
        CERT_SITE
        + "  tls:\n    ca_file: /nonexistent/root.pem\n"
        + "policy:\n  denials:\n    sources:\n      - logs: qlik-logs\n      - csv: denied.csv\n",
    )
    (directory / "denied.csv").write_text("User\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = licsync(["validate", "licenses"])
    assert result.exit_code == 0, result.output
    S = os.sep  # messages name files with the system's separator
    assert result.stdout.splitlines()[:-1] == [
        f"licenses{S}site.yaml:7:16: warning: site.auth.cert_file: licenses{S}certs{S}client.pem "
        f"does not exist (seen from {tmp_path}); plan run from here fails to read this file",
        f"licenses{S}site.yaml:10:14: warning: site.tls.ca_file: {S}nonexistent{S}root.pem does "
        f"not exist (seen from {tmp_path}); plan run from here fails to read this file",
        f"licenses{S}site.yaml:14:15: warning: policy.denials.sources[0].logs: "
        f"licenses{S}qlik-logs does not exist (seen from {tmp_path}); plan run from here fails "
        "to read this folder",
    ]
