"""Desired state: what the YAML in ``licenses/`` declares, as frozen values.

User identities are ``DIRECTORY\\userid``. QRS compares them case-insensitively, so every
lookup goes through :func:`user_key`; the spelling from the file is kept for display.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DEFAULT_ACTING_USER",
    "AccessType",
    "AuthConfig",
    "AuthMode",
    "DenialSource",
    "Desired",
    "DesiredAllocation",
    "DesiredRule",
    "DesiredType",
    "IdlePolicy",
    "Ownership",
    "Policy",
    "RuleContext",
    "SafetyPolicy",
    "Site",
    "Source",
    "TlsConfig",
    "UserAction",
    "split_user",
    "user_key",
]


class AccessType(StrEnum):
    """The two per-user licence types licsync manages."""

    PROFESSIONAL = "professional"
    ANALYZER = "analyzer"

    @property
    def title(self) -> str:  # type: ignore[override]  # str.title would be the same text anyway
        """``Professional`` / ``Analyzer``: the spelling QRS uses in type and resource names."""
        return self.value.capitalize()


class RuleContext(StrEnum):
    """Where a licence rule applies; QRS stores it as ``ruleContext`` 0/1/2."""

    BOTH = "both"
    HUB = "hub"
    QMC = "qmc"

    @property
    def qrs_value(self) -> int:
        return _RULE_CONTEXT_TO_QRS[self]

    @classmethod
    def from_qrs(cls, value: int) -> RuleContext:
        for ctx, number in _RULE_CONTEXT_TO_QRS.items():
            if number == value:
                return ctx
        msg = f"unknown ruleContext {value!r}"
        raise ValueError(msg)


_RULE_CONTEXT_TO_QRS = {RuleContext.BOTH: 0, RuleContext.HUB: 1, RuleContext.QMC: 2}


class Ownership(StrEnum):
    """How much of an access type licsync owns on the site."""

    AUTHORITATIVE = "authoritative"  # undeclared explicit allocations and rules are removed
    ADDITIVE = "additive"  # only adds and changes what is declared
    OBSERVE = "observe"  # reports only


class UserAction(StrEnum):
    """What to do with an allocation held by an inactive / removed / blocked or idle user."""

    RECLAIM = "reclaim"
    REPORT = "report"
    IGNORE = "ignore"


DEFAULT_ACTING_USER = "INTERNAL\\sa_api"  # Qlik's built-in API service account


class AuthMode(StrEnum):
    CERTIFICATE = "certificate"
    HEADER = "header"
    JWT = "jwt"
    NTLM = "ntlm"


def split_user(text: str) -> tuple[str, str] | None:
    """Split ``DIRECTORY\\userid`` into its parts, or None when malformed.

    The directory is everything before the first backslash; a user id may itself contain
    backslashes. Surrounding whitespace, empty parts and control characters are malformed.
    """
    directory, sep, userid = text.partition("\\")
    if not sep or not directory or not userid:
        return None
    if text != text.strip() or directory != directory.strip() or userid != userid.strip():
        return None
    if len(directory) > 255 or len(userid) > 255:
        return None
    if _CONTROL.search(text):
        return None
    return directory, userid


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def user_key(directory: str, userid: str) -> str:
    """The case-insensitive identity QRS uses for a user: ``directory\\userid`` casefolded."""
    return f"{directory}\\{userid}".casefold()


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """Where in the desired-state files a value was written (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """How the QRS server certificate is trusted.

    Attributes:
        ca_file: PEM bundle to trust (the site's ``root.pem``); None uses the system store.
        verify: False only when the YAML says ``insecure_skip_verify: true`` by name.
    """

    ca_file: str | None = None
    verify: bool = True


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How licsync authenticates. Secrets appear only as environment-variable names.

    Attributes:
        mode: certificate | header | jwt | ntlm.
        user: the acting user ``DIRECTORY\\userid`` (``X-Qlik-User`` in certificate mode,
            the header value in header mode, the Windows account in ntlm mode).
        cert_file: client certificate PEM (certificate mode).
        key_file_env: variable holding the path of the client key PEM (certificate mode).
        header_name: the virtual proxy's header (header mode).
        token_env: variable holding the JWT (jwt mode).
        password_env: variable holding the Windows password (ntlm mode).
    """

    mode: AuthMode = AuthMode.CERTIFICATE
    user: str = DEFAULT_ACTING_USER
    cert_file: str | None = None
    key_file_env: str | None = None
    header_name: str | None = None
    token_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """One Qlik Sense site.

    Attributes:
        name: the site's name (``--site`` selects by it).
        qrs_url: QRS base URL (``https://node:4242``), or ``embedded`` for the built-in simulator.
        virtual_proxy: prefix for header/jwt/ntlm modes ("" for the default virtual proxy).
    """

    name: str
    qrs_url: str
    auth: AuthConfig = field(default_factory=AuthConfig)
    virtual_proxy: str = ""
    tls: TlsConfig = field(default_factory=TlsConfig)
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class DesiredAllocation:
    """An explicit allocation declared in YAML.

    Attributes:
        user: ``DIRECTORY\\userid`` as spelled in the file.
        key: :func:`user_key` of it.
        until: reclaim after this date (the allocation is kept through that day).
    """

    user: str
    key: str
    note: str = ""
    ticket: str = ""
    until: dt.date | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class DesiredRule:
    """A licence access rule declared in YAML (a QRS access group plus its system rule).

    Attributes:
        name: unique per access type; QRS group and system rule both carry it.
        condition: Qlik rule syntax, e.g. ``user.group = "Sales"``.
        condition_source: where the condition text starts, for syntax errors.
    """

    name: str
    condition: str
    context: RuleContext = RuleContext.HUB
    disabled: bool = False
    comment: str = ""
    source: Source | None = None
    condition_source: Source | None = None


@dataclass(frozen=True, slots=True)
class DesiredType:
    """Everything declared for one access type."""

    allocations: tuple[DesiredAllocation, ...] = ()
    rules: tuple[DesiredRule, ...] = ()


@dataclass(frozen=True, slots=True)
class IdlePolicy:
    """Allocations unused for ``days`` (never-used ones count from creation)."""

    days: int = 90
    action: UserAction = UserAction.REPORT


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """Caps on reclaims per run.

    Attributes:
        max_reclaims: absolute cap per access type.
        max_reclaim_share: cap as a share (0..1) of the type's current allocations ...
        share_floor: ... applied only when the type has at least this many allocations,
            so a small site is not blocked forever.
    """

    max_reclaims: int = 25
    max_reclaim_share: float = 0.10
    share_floor: int = 50


@dataclass(frozen=True, slots=True)
class DenialSource:
    """A place denials are read from.

    Attributes:
        kind: ``logs`` (a folder of ``*_License_Repository*`` files) or ``csv`` (a License
            Monitor export).
        path: resolved against the directory of the YAML file that names it.
    """

    kind: str
    path: str
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """How licsync treats what it finds; see the README's format reference."""

    ownership: Mapping[AccessType, Ownership] = field(
        default_factory=lambda: dict.fromkeys(AccessType, Ownership.ADDITIVE)
    )
    inactive: UserAction = UserAction.REPORT
    removed_externally: UserAction = UserAction.REPORT
    blocked: UserAction = UserAction.REPORT
    idle: IdlePolicy = field(default_factory=IdlePolicy)
    protected: tuple[str, ...] = ()
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    denial_sources: tuple[DenialSource, ...] = ()
    denial_lookback_days: int = 30
    denial_max_age_days: int = 3
    service_accounts: tuple[str, ...] = ("INTERNAL\\*",)


@dataclass(frozen=True, slots=True)
class Desired:
    """A site's whole desired state, merged from every file under its directory.

    Attributes:
        root: the directory the files were read from (relative paths in policy resolve here).
        files: the files merged, sorted.
    """

    site: Site
    types: Mapping[AccessType, DesiredType]
    policy: Policy
    root: str = "."
    files: tuple[str, ...] = ()

    def of(self, access_type: AccessType) -> DesiredType:
        return self.types.get(access_type, DesiredType())
