"""The ``site:`` and ``policy:`` sections read into a Site and a Policy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from licsync.errors import Problem
from licsync.identity import AccessType, Source
from licsync.load.files import File
from licsync.load.schema import dotted_path
from licsync.lookalike import describe_character, hidden_characters, visible
from licsync.policy import (
    DenialSource,
    DenialSourceKind,
    IdlePolicy,
    Ownership,
    Policy,
    ProposalPolicy,
    ProposalStyle,
    SafetyPolicy,
    UserAction,
    protection_from_yaml,
)
from licsync.severity import Severity
from licsync.site import DEFAULT_ACTING_USER, AuthConfig, AuthMode, Site, TlsConfig


def read_site(f: File, problems: list[Problem]) -> Site:
    """The ``site:`` section as a Site, its paths resolved from the file's folder."""
    data: dict[str, Any] = f.doc.data["site"]
    base = f.path.parent
    auth_data: dict[str, Any] = data.get("auth") or {}
    tls_data: dict[str, Any] = data.get("tls") or {}
    mode = AuthMode(auth_data.get("mode", AuthMode.CERTIFICATE.value))
    qrs_url: str = data["qrs_url"]
    if mode is AuthMode.CERTIFICATE and qrs_url.startswith("https://"):
        missing = [k for k in ("cert_file", "key_file_env") if k not in auth_data]
        if missing:
            line, col = f.doc.position(("site", "auth"))
            fields = " and ".join(missing)
            problems.append(
                Problem(
                    f.doc.file,
                    line,
                    col,
                    "site.auth",
                    f"certificate mode over https needs {fields} (the QMC's client.pem and the "
                    "variable naming client_key.pem)",
                )
            )
    if mode is not AuthMode.CERTIFICATE and qrs_url.rstrip("/").endswith(":4242"):
        line, col = f.doc.position(("site", "qrs_url"))
        problems.append(
            Problem(
                f.doc.file,
                line,
                col,
                "site.qrs_url",
                f"{mode.value} mode goes through the proxy (port 443), but the URL names QRS "
                "port 4242, which only accepts client certificates",
                severity=Severity.WARNING,
            )
        )
    acting = auth_data.get("user", "")
    hidden = hidden_characters(acting)
    if hidden:
        line, col = f.doc.position(("site", "auth", "user"))
        message = (
            f"{visible(acting)} contains {describe_character(hidden[0][1])}, which cannot be "
            "seen or is no part of a user id; retype the id"
        )
        problems.append(Problem(f.doc.file, line, col, "site.auth.user", message))
    cert_file = auth_data.get("cert_file")
    ca_file = tls_data.get("ca_file")
    line, col = f.doc.position(("site",), key=True)
    return Site(
        name=data["name"],
        qrs_url=qrs_url,
        virtual_proxy=data.get("virtual_proxy", ""),
        auth=AuthConfig(
            mode=mode,
            user=auth_data.get("user", DEFAULT_ACTING_USER),
            cert_file=str(base / cert_file) if cert_file else None,
            key_file_env=auth_data.get("key_file_env"),
            header_name=auth_data.get("header_name"),
            token_env=auth_data.get("token_env"),
            password_env=auth_data.get("password_env"),
        ),
        tls=TlsConfig(
            ca_file=str(base / ca_file) if ca_file else None,
            verify=not tls_data.get("insecure_skip_verify", False),
            allow_plain_http=tls_data.get("allow_plain_http", False) is True,
        ),
        source=Source(f.doc.file, line, col),
        field_sources=tuple(
            (name, Source(f.doc.file, *f.doc.position(("site", *name.split(".")))))
            for name in _SITE_FIELDS
        ),
        request_timeout=data.get("request_timeout"),
        max_answer_mb=data.get("max_answer_mb"),
    )


# The site's fields a plan-time error can concern (see Site.source_of).
_SITE_FIELDS = (
    "qrs_url",
    "virtual_proxy",
    "auth.mode",
    "auth.user",
    "auth.cert_file",
    "auth.key_file_env",
    "auth.header_name",
    "auth.token_env",
    "auth.password_env",
    "tls.ca_file",
)


def read_policy(found: tuple[File, dict[str, Any]] | None) -> Policy:
    """The ``policy:`` section as a Policy; the defaults when no file declares one."""
    if found is None:
        return Policy()
    f, data = found
    defaults = Policy()
    ownership = dict(defaults.ownership)
    for access_type in AccessType:
        value = (data.get("ownership") or {}).get(access_type.value)
        if value is not None:
            ownership[access_type] = Ownership(value)
    users: dict[str, str] = data.get("users") or {}
    idle: dict[str, Any] = data.get("idle") or {}
    safety: dict[str, Any] = data.get("safety") or {}
    denials: dict[str, Any] = data.get("denials") or {}
    proposals: dict[str, Any] = data.get("proposals") or {}
    base = f.path.parent
    sources = []
    for index, item in enumerate(denials.get("sources") or ()):
        kind, path = next(iter(item.items()))
        line, col = f.doc.position(("policy", "denials", "sources", index, kind))
        resolved = path if os.path.isabs(path) else str(base / path)
        sources.append(
            DenialSource(
                kind=DenialSourceKind(kind),
                path=resolved,
                source=Source(f.doc.file, line, col),
                field=dotted_path(("policy", "denials", "sources", index, kind)),
            )
        )
    return Policy(
        ownership=ownership,
        inactive=UserAction(users.get("inactive", defaults.inactive.value)),
        removed_externally=UserAction(
            users.get("removed_externally", defaults.removed_externally.value)
        ),
        blocked=UserAction(users.get("blocked", defaults.blocked.value)),
        idle=IdlePolicy(
            days=int(idle.get("days", defaults.idle.days)),
            action=UserAction(idle.get("action", defaults.idle.action.value)),
        ),
        protected=tuple(protection_from_yaml(p) for p in data.get("protected") or ()),
        safety=SafetyPolicy(
            max_reclaims=int(safety.get("max_reclaims", defaults.safety.max_reclaims)),
            max_reclaim_share=float(
                safety.get("max_reclaim_share", defaults.safety.max_reclaim_share)
            ),
            share_floor=int(safety.get("share_floor", defaults.safety.share_floor)),
        ),
        proposals=ProposalPolicy(
            denied=ProposalStyle(proposals.get("denied", defaults.proposals.denied.value)),
            access_type=AccessType(
                proposals.get("access_type", defaults.proposals.access_type.value)
            ),
            until_days=int(proposals.get("until_days", defaults.proposals.until_days)),
        ),
        denial_sources=tuple(sources),
        denial_lookback_days=int(denials.get("lookback_days", defaults.denial_lookback_days)),
        denial_max_age_days=int(denials.get("max_age_days", defaults.denial_max_age_days)),
        service_accounts=tuple(denials.get("service_accounts", defaults.service_accounts)),
        audit_log=_relative_to(base, data.get("audit_log")),
    )


def _relative_to(base: Path, path: str | None) -> str | None:
    if path is None:
        return None
    return path if os.path.isabs(path) else str(base / path)
